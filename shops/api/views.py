from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response

from agents import services as agent_services
from backoffice.api.pagination import CursorPagination
from backoffice.api.permissions import INTEGRATIONS, MANAGERS
from backoffice.api.tenancy import ScopedViewMixin
from backoffice.api.views import READ_CREATE, ScopedModelViewSet
from shops import selectors, services
from shops.api.filtersets import AfterSalesEventFilter, BuyerFilter, FootprintFilter, OrderFilter, ShopFilter
from shops.models import AfterSalesEvent, Buyer, Footprint, Order, Shop

from .serializers import (
    AfterSalesEventSerializer,
    BuyerPanelSerializer,
    BuyerSerializer,
    FootprintSerializer,
    OrderSerializer,
    OrderUpdateSerializer,
    PanelQuerySerializer,
    ShopSerializer,
)


class ShopViewSet(ScopedModelViewSet):
    """Shops and their customer-service settings. Creating a shop is for platform staff."""

    queryset = Shop.objects.all()
    serializer_class = ShopSerializer
    filterset_class = ShopFilter
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["id"]
    write_roles = MANAGERS
    action_roles = {"create": frozenset()}

    def create_instance(self, data):
        return agent_services.shop_create_with_auto_reply_defaults(**data)

    def update_instance(self, instance, data):
        return services.shop_update(shop=instance, **data)


class BuyerViewSet(ScopedModelViewSet):
    """Marketplace buyers, posted by integration clients."""

    queryset = Buyer.objects.all()
    serializer_class = BuyerSerializer
    filterset_class = BuyerFilter
    ordering_fields = ["id", "nick", "registered_at", "credit_level"]
    ordering = ["id"]
    write_roles = INTEGRATIONS

    def create_instance(self, data):
        return services.buyer_create(**data)

    def update_instance(self, instance, data):
        return services.buyer_update(buyer=instance, **data)


class OrderViewSet(ScopedModelViewSet):
    """Orders as the order system reports them; ``view`` filters by one of the seller's five views."""

    queryset = Order.objects.all()
    filterset_class = OrderFilter
    ordering_fields = ["placed_at", "paid_at", "amount", "id"]
    ordering = ["-placed_at", "-id"]
    write_roles = INTEGRATIONS

    def get_serializer_class(self):
        return OrderUpdateSerializer if self.action in ("update", "partial_update") else OrderSerializer

    def create_instance(self, data):
        return services.order_create(**data)

    def update_instance(self, instance, data):
        return services.order_update(order=instance, **data)


class FootprintViewSet(ScopedModelViewSet):
    """Items of a shop a buyer viewed; ``q`` searches titles."""

    http_method_names = READ_CREATE
    queryset = Footprint.objects.all()
    serializer_class = FootprintSerializer
    filterset_class = FootprintFilter
    pagination_class = CursorPagination
    ordering_fields = ["viewed_at", "id"]
    ordering = ["-viewed_at", "-id"]
    write_roles = INTEGRATIONS

    def create_instance(self, data):
        return services.footprint_create(**data)


class AfterSalesEventViewSet(ScopedModelViewSet):
    """Refund requests, complaints, disputes, interventions and platform consultations."""

    http_method_names = READ_CREATE
    queryset = AfterSalesEvent.objects.all()
    serializer_class = AfterSalesEventSerializer
    filterset_class = AfterSalesEventFilter
    pagination_class = CursorPagination
    ordering_fields = ["occurred_at", "id"]
    ordering = ["-occurred_at", "-id"]
    write_roles = INTEGRATIONS

    def create_instance(self, data):
        return services.after_sales_event_create(**data)


class BuyerPanelView(ScopedViewMixin, generics.GenericAPIView):
    """The buyer panel (智能客服 home): a buyer's profile, spend, flags, footprints and orders in one shop.

    Anyone who may read the shop may read it (its staff, its integration clients, platform staff); another
    shop, or a buyer the caller may not see, answers 404.
    """

    http_method_names = ["get", "head", "options"]
    queryset = Shop.objects.all()
    serializer_class = BuyerPanelSerializer
    lookup_url_kwarg = "shop_id"
    filter_backends = []
    pagination_class = None

    @extend_schema(parameters=[PanelQuerySerializer], responses=BuyerPanelSerializer)
    def get(self, request, *args, **kwargs):
        shop = self.get_object()
        buyer = get_object_or_404(Buyer.objects.for_caller(self.caller), pk=self.kwargs["buyer_id"])
        params = PanelQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        panel = selectors.buyer_panel_get(shop=shop, buyer=buyer, **params.validated_data)
        return Response(self.get_serializer(panel).data)
