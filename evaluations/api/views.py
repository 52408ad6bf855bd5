from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from backoffice.api.pagination import CursorPagination
from backoffice.api.permissions import INTEGRATIONS, MANAGERS, IsShopMember
from backoffice.api.tenancy import ScopedViewMixin
from backoffice.api.views import READ_CREATE, ScopedModelViewSet
from backoffice.callers import caller_for
from evaluations import services
from evaluations.api.filtersets import DailyMetricFilter, EvaluationFilter, RatingInviteFilter
from evaluations.metrics import shop_peers_get
from evaluations.models import DailyMetric, Evaluation, RatingInvite
from shops.models import Shop

from .serializers import (
    DailyMetricSerializer,
    EvaluationSerializer,
    PeersQuerySerializer,
    PeersSerializer,
    RatingInviteSerializer,
)


class RatingInviteViewSet(ScopedModelViewSet):
    """Rating invites of a shop's chats: pending, answered or expired (answerable for 24 hours)."""

    http_method_names = ["get", "head", "options"]
    queryset = RatingInvite.objects.all()
    serializer_class = RatingInviteSerializer
    filterset_class = RatingInviteFilter
    ordering_fields = ["sent_at", "id"]
    ordering = ["-sent_at", "-id"]


class EvaluationViewSet(ScopedModelViewSet):
    """Buyers' ratings, posted by the buyer's client (an integration): 410 past 24 hours, 409 when answered."""

    http_method_names = READ_CREATE
    queryset = Evaluation.objects.all()
    serializer_class = EvaluationSerializer
    filterset_class = EvaluationFilter
    ordering_fields = ["answered_at", "score", "id"]
    ordering = ["-answered_at", "-id"]
    write_roles = INTEGRATIONS

    def create_instance(self, data):
        return services.evaluation_submit(**data)


class IsMetricsReader(permissions.BasePermission):
    """Metrics are for a shop's owner and supervisors, and platform staff; agents and integrations get 403."""

    message = _("Only the shop's owner and supervisors may see its metrics.")

    def has_permission(self, request, view) -> bool:
        caller = caller_for(request.user)
        return caller.is_platform or caller.role in MANAGERS


class DailyMetricCursorPagination(CursorPagination):
    ordering = ("-date", "-id")


class DailyMetricViewSet(ScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily service-diagnosis rows of the caller's shops (one scope per request, the shop rows by default).

    Days are shop-local. Rates are fractions in [0, 1], ``null`` when their denominator is 0; every rate comes with
    its counts. ``final`` is false until the day's ratings (D+2) and 72-hour FCR windows have closed.
    """

    queryset = DailyMetric.objects.all()
    serializer_class = DailyMetricSerializer
    filterset_class = DailyMetricFilter
    pagination_class = DailyMetricCursorPagination
    permission_classes = [IsShopMember, IsMetricsReader]
    ordering_fields = ["date", "id"]
    ordering = ["-date", "-id"]


class ShopPeersViewSet(ScopedViewMixin, viewsets.GenericViewSet):
    """Peer comparison (同行同层) of a shop's day: value, peer median, percentile and peer count per metric."""

    queryset = Shop.objects.all()
    serializer_class = PeersSerializer
    permission_classes = [IsShopMember, IsMetricsReader]
    filter_backends = []
    pagination_class = None

    @extend_schema(
        parameters=[
            OpenApiParameter("shop", int, description="Optional when the caller belongs to one shop."),
            OpenApiParameter("date", OpenApiTypes.DATE, required=True, description="The shop-local day."),
        ],
        responses={200: PeersSerializer},
    )
    def list(self, request):
        query = PeersQuerySerializer(data=request.query_params, context={"request": request, "caller": self.caller})
        query.is_valid(raise_exception=True)
        peers = shop_peers_get(shop=query.validated_data["shop"], day=query.validated_data["date"])
        if peers is None:
            raise NotFound(_("This shop has no metrics for this day yet."))
        return Response(PeersSerializer(peers).data)
