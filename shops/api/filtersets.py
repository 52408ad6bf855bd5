from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from backoffice.api.tenancy import ScopedFilterSet

from ..choices import SellerView
from ..models import AfterSalesEvent, Buyer, Footprint, Order, Shop


class ShopFilter(ScopedFilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Shop
        fields = ["platform", "industry", "bot_enabled", "queue_enabled", "subaccounts_enabled"]


class BuyerFilter(ScopedFilterSet):
    nick = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Buyer
        fields = ["verified", "credit_level"]


class OrderFilter(ScopedFilterSet):
    view = filters.ChoiceFilter(choices=SellerView.choices, method="filter_view", label=_("seller view"))
    placed_after = filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["shop", "buyer", "status", "external_id", "after_sales_open", "dispute"]

    def filter_view(self, queryset, name, value):
        return queryset.in_seller_view(value)


class FootprintFilter(ScopedFilterSet):
    q = filters.CharFilter(field_name="item_title", lookup_expr="icontains", label=_("item title contains"))
    viewed_after = filters.IsoDateTimeFilter(field_name="viewed_at", lookup_expr="gte")
    viewed_before = filters.IsoDateTimeFilter(field_name="viewed_at", lookup_expr="lt")

    class Meta:
        model = Footprint
        fields = ["shop", "buyer", "item_id"]


class AfterSalesEventFilter(ScopedFilterSet):
    occurred_after = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AfterSalesEvent
        fields = ["shop", "buyer", "kind"]
