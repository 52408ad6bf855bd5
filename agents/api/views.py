from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from agents import services
from agents.choices import AgentRole
from agents.filtersets import AgentFilter, RoutingGroupFilter
from agents.models import Agent, RoutingGroup
from backoffice.api.permissions import MANAGERS, SHOP_STAFF
from backoffice.api.views import READ_WRITE, ScopedModelViewSet
from backoffice.errors import NotAllowed
from backoffice.tenancy import CallerRole

from .serializers import (
    AgentSerializer,
    AgentStatusSerializer,
    AgentUpdateSerializer,
    RoutingGroupSerializer,
    RoutingGroupUpdateSerializer,
)


class AgentViewSet(ScopedModelViewSet):
    """Sub-accounts of a shop. Owners and supervisors manage them; only owners grant the owner role."""

    queryset = Agent.objects.select_related("user").prefetch_related(
        Prefetch("routing_groups", queryset=RoutingGroup.objects.only("pk"))
    )
    filterset_class = AgentFilter
    ordering_fields = ["id", "display_name", "status", "active_chats", "created_at"]
    ordering = ["id"]
    write_roles = MANAGERS
    action_roles = {"status": SHOP_STAFF}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return AgentUpdateSerializer
        return AgentSerializer

    def _check_owner_rule(self, role: str | None, instance: Agent | None = None) -> None:
        touches_owner = role == AgentRole.OWNER or (instance is not None and instance.role == AgentRole.OWNER)
        if touches_owner and self.caller.role not in (CallerRole.OWNER, CallerRole.PLATFORM):
            raise NotAllowed(_("Only the shop owner may create or change an owner account."))

    def create_instance(self, data):
        self._check_owner_rule(data.get("role"))
        user = data.pop("user")
        return services.agent_create(username=user["username"], **data)

    def update_instance(self, instance, data):
        self._check_owner_rule(data.get("role"), instance)
        return services.agent_update(agent=instance, **data)

    @extend_schema(request=AgentStatusSerializer, responses=AgentSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        """Set an agent's status. Agents set their own; owners and supervisors anyone's in their shop."""
        agent = self.get_object()
        if self.caller.role == CallerRole.AGENT and agent.pk != self.caller.agent_id:
            raise NotAllowed(_("Agents may change only their own status."))
        serializer = AgentStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = services.agent_set_status(
            agent=agent, status=serializer.validated_data["status"], actor_id=request.user.pk
        )
        agent = self.get_queryset().get(pk=agent.pk)
        return Response(AgentSerializer(agent, context=self.get_serializer_context()).data)


class RoutingGroupViewSet(ScopedModelViewSet):
    """Routing groups of a shop: which agents receive pre-sales, after-sales or any chats."""

    http_method_names = READ_WRITE
    queryset = RoutingGroup.objects.prefetch_related(Prefetch("members", queryset=Agent.objects.only("pk")))
    filterset_class = RoutingGroupFilter
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["id"]
    write_roles = MANAGERS

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return RoutingGroupUpdateSerializer
        return RoutingGroupSerializer

    def create_instance(self, data):
        return services.routing_group_create(**data)

    def update_instance(self, instance, data):
        return services.routing_group_update(group=instance, **data)

    def destroy_instance(self, instance):
        services.routing_group_delete(group=instance)
