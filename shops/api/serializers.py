from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from backoffice.api.serializers import ModelSerializer
from backoffice.api.tenancy import ScopedModelSerializer
from shops.choices import SellerView
from shops.models import AfterSalesEvent, Buyer, Footprint, Order, Shop
from shops.selectors import PANEL_DEFAULT_LIMIT, PANEL_MAX_LIMIT


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


class PanelQuerySerializer(serializers.Serializer):
    """Query parameters of the buyer panel."""

    footprints_limit = serializers.IntegerField(
        min_value=1, max_value=PANEL_MAX_LIMIT, default=PANEL_DEFAULT_LIMIT, help_text=_("Footprints to return.")
    )
    footprint_q = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, help_text=_("Item title contains.")
    )
    orders_limit = serializers.IntegerField(
        min_value=1, max_value=PANEL_MAX_LIMIT, default=PANEL_DEFAULT_LIMIT, help_text=_("Orders to return per view.")
    )


class PanelBuyerSerializer(ModelSerializer):
    class Meta:
        model = Buyer
        fields = ["id", "nick", "credit_level", "registered_at", "verified", "positive_rate"]
        read_only_fields = fields


class PanelFootprintSerializer(ModelSerializer):
    class Meta:
        model = Footprint
        fields = ["id", "item_id", "item_title", "viewed_at"]
        read_only_fields = fields


class PanelOrdersSerializer(serializers.Serializer):
    """The newest orders in each of the seller's five views."""

    def get_fields(self):
        return {view: OrderSerializer(many=True, read_only=True) for view in SellerView.values}


class PanelOrderCountsSerializer(serializers.Serializer):
    """The number of orders in each of the seller's five views."""

    def get_fields(self):
        return {view: serializers.IntegerField(read_only=True) for view in SellerView.values}


class BuyerPanelSerializer(serializers.Serializer):
    """The buyer panel (智能客服 home) of one (shop, buyer)."""

    shop = serializers.IntegerField(source="shop.pk", read_only=True)
    buyer = PanelBuyerSerializer(read_only=True)
    total_spend = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    order_count = serializers.IntegerField(read_only=True)
    paid_order_count = serializers.IntegerField(read_only=True)
    average_order_value = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True)
    last_trade_at = serializers.DateTimeField(read_only=True, allow_null=True)
    new_platform_user = serializers.BooleanField(read_only=True)
    new_to_shop = serializers.BooleanField(read_only=True)
    footprints = PanelFootprintSerializer(many=True, read_only=True)
    order_counts = PanelOrderCountsSerializer(read_only=True)
    orders = PanelOrdersSerializer(read_only=True)
