from backoffice.api.permissions import INTEGRATIONS
from backoffice.api.views import READ_CREATE, ScopedModelViewSet
from evaluations import services
from evaluations.filtersets import EvaluationFilter, RatingInviteFilter
from evaluations.models import Evaluation, RatingInvite

from .serializers import EvaluationSerializer, RatingInviteSerializer


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
