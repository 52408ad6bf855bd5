from django_filters import rest_framework as filters

from backoffice.api.tenancy import ScopedFilterSet

from .models import Agent, RoutingGroup


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
