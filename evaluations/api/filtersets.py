from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from agents.models import Agent, RoutingGroup
from backoffice.api.tenancy import ScopedFilterSet
from shops.choices import ServicePhase
from shops.models import Shop

from ..choices import MetricScope, ServedBy
from ..models import DailyMetric, Evaluation, RatingInvite


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


class DailyMetricFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("Must not be before date_from."))
        return data


class DailyMetricFilter(ScopedFilterSet):
    """Rows of one scope: ``scope`` if given, else agent rows with ``agent``, group rows with ``group``, phase rows
    with ``phase``, served-by rows with ``served_by``, and the shop rows otherwise."""

    shop = filters.ModelChoiceFilter(queryset=Shop.objects.all())
    date_from = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = filters.DateFilter(field_name="date", lookup_expr="lte")
    agent = filters.ModelChoiceFilter(queryset=Agent.objects.all())
    group = filters.ModelChoiceFilter(queryset=RoutingGroup.objects.all())
    phase = filters.ChoiceFilter(choices=ServicePhase.choices)
    served_by = filters.ChoiceFilter(choices=ServedBy.choices)
    scope = filters.ChoiceFilter(choices=MetricScope.choices)
    final = filters.BooleanFilter()

    class Meta:
        model = DailyMetric
        form = DailyMetricFilterForm
        fields = ["shop", "date_from", "date_to", "agent", "group", "phase", "served_by", "scope", "final"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if data.get("scope"):
            return queryset
        dimensions = (
            ("agent", MetricScope.AGENT),
            ("group", MetricScope.GROUP),
            ("phase", MetricScope.PHASE),
            ("served_by", MetricScope.SERVED_BY),
        )
        for dimension, scope in dimensions:
            if data.get(dimension):
                return queryset.filter(scope=scope)
        return queryset.filter(scope=MetricScope.SHOP)
