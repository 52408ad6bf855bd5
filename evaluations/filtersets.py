from django_filters import rest_framework as filters

from backoffice.api.tenancy import ScopedFilterSet
from shops.models import Shop

from .models import Evaluation, RatingInvite


class RatingInviteFilter(ScopedFilterSet):
    shop = filters.ModelChoiceFilter(field_name="conversation__shop", queryset=Shop.objects.all())
    sent_after = filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = RatingInvite
        fields = ["shop", "status", "channel", "conversation", "agent"]


class EvaluationFilter(ScopedFilterSet):
    shop = filters.ModelChoiceFilter(field_name="conversation__shop", queryset=Shop.objects.all())
    answered_after = filters.IsoDateTimeFilter(field_name="answered_at", lookup_expr="gte")
    answered_before = filters.IsoDateTimeFilter(field_name="answered_at", lookup_expr="lt")

    class Meta:
        model = Evaluation
        fields = ["shop", "channel", "score", "conversation"]
