from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from backoffice.api.tenancy import ScopedFilterSet

from ..models import Agent, AutoReplyRule, QuickPhrase, RoutingGroup


class AgentFilter(ScopedFilterSet):
    display_name = filters.CharFilter(lookup_expr="icontains")
    group = filters.ModelChoiceFilter(field_name="routing_groups", queryset=RoutingGroup.objects.all())

    class Meta:
        model = Agent
        fields = ["shop", "role", "status"]


class RoutingGroupFilter(ScopedFilterSet):
    name = filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = RoutingGroup
        fields = ["shop", "phase", "is_default"]


class QuickPhraseFilter(ScopedFilterSet):
    search = filters.CharFilter(method="filter_search", label=_("Shortcut, title or content contains"))
    category = filters.CharFilter()

    class Meta:
        model = QuickPhrase
        fields = ["shop", "scope", "category"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(shortcut__icontains=value) | Q(title__icontains=value) | Q(content__icontains=value))


class AutoReplyRuleFilter(ScopedFilterSet):
    personal = filters.BooleanFilter(field_name="agent", lookup_expr="isnull", exclude=True)

    class Meta:
        model = AutoReplyRule
        fields = ["shop", "agent", "trigger", "enabled"]
