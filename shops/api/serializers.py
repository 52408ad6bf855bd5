from rest_framework import serializers

from backoffice.api.tenancy import ScopedModelSerializer
from shops.choices import SellerView
from shops.models import AfterSalesEvent, Buyer, Footprint, Order, Shop


class ShopSerializer(ScopedModelSerializer):
    class Meta:
        model = Shop
        fields = [
            "id",
            "name",
            "platform",
            "industry",
            "timezone",
            "bot_enabled",
            "queue_enabled",
            "subaccounts_enabled",
            "invite_probability",
            "idle_close_minutes",
            "missed_followup_minutes",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class BuyerSerializer(ScopedModelSerializer):
    class Meta:
        model = Buyer
        fields = ["id", "nick", "credit_level", "registered_at", "verified", "positive_rate", "created_at"]
        read_only_fields = ["created_at"]


class OrderSerializer(ScopedModelSerializer):
    seller_views = serializers.ListField(child=serializers.ChoiceField(SellerView.choices), read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "shop",
            "buyer",
            "external_id",
            "amount",
            "status",
            "placed_at",
            "paid_at",
            "after_sales_open",
            "dispute",
            "rated",
            "seller_views",
        ]


class OrderUpdateSerializer(OrderSerializer):
    class Meta(OrderSerializer.Meta):
        read_only_fields = ["shop", "buyer", "external_id"]


class FootprintSerializer(ScopedModelSerializer):
    class Meta:
        model = Footprint
        fields = ["id", "shop", "buyer", "item_id", "item_title", "viewed_at"]


class AfterSalesEventSerializer(ScopedModelSerializer):
    class Meta:
        model = AfterSalesEvent
        fields = ["id", "shop", "buyer", "kind", "occurred_at"]
