from django.db.models import Prefetch
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from agents import services
from agents.api.filtersets import AgentFilter, AutoReplyRuleFilter, QuickPhraseFilter, RoutingGroupFilter
from agents.choices import PhraseScope
from agents.models import Agent, AutoReplyRule, QuickPhrase, RoutingGroup
from agents.resources import IMPORT_MAX_BYTES, dataset_from_upload, quick_phrases_export, quick_phrases_import
from backoffice.api.permissions import MANAGERS, SHOP_STAFF
from backoffice.api.tenancy import caller_default_shop
from backoffice.api.views import READ_WRITE, ScopedModelViewSet
from backoffice.errors import NotAllowed
from backoffice.tenancy import CallerRole
from chats.routing import agent_changes

from .serializers import (
    AgentSerializer,
    AgentStatusSerializer,
    AgentUpdateSerializer,
    AutoReplyDefaultsSerializer,
    AutoReplyRuleSerializer,
    AutoReplyRuleUpdateSerializer,
    QuickPhraseExportSerializer,
    QuickPhraseImportResultSerializer,
    QuickPhraseImportSerializer,
    QuickPhraseSerializer,
    QuickPhraseUpdateSerializer,
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

    def create_instance(self, data):
        services.agent_check_may_manage(caller=self.caller, role=data.get("role"))
        user = data.pop("user")
        return services.agent_create(username=user["username"], **data)

    def update_instance(self, instance, data):
        services.agent_check_may_manage(caller=self.caller, agent=instance, role=data.get("role"))
        return agent_changes.agent_update(agent=instance, **data)

    @extend_schema(request=AgentStatusSerializer, responses=AgentSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        """Set an agent's status. Agents set their own; owners and supervisors anyone's in their shop."""
        agent = self.get_object()
        if self.caller.role == CallerRole.AGENT and agent.pk != self.caller.agent_id:
            raise NotAllowed(_("Agents may change only their own status."))
        serializer = AgentStatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = agent_changes.agent_set_status(
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
        return agent_changes.routing_group_create(**data)

    def update_instance(self, instance, data):
        return agent_changes.routing_group_update(group=instance, **data)

    def destroy_instance(self, instance):
        agent_changes.routing_group_delete(group=instance)


def _caller_shop(view, shop):
    """The shop a collection action is about: given, or the caller's only shop."""
    shop = caller_default_shop(view.caller, shop)
    if shop is None:
        raise ValidationError({"shop": [_("This field is required.")]})
    return shop


class UseFileNegotiation(DefaultContentNegotiation):
    """``?format=`` names the file format here, not DRF's renderer: errors answer JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class QuickPhraseViewSet(ScopedModelViewSet):
    """Saved replies: the team's (owners and supervisors manage them; sub-accounts on) and each agent's own."""

    http_method_names = READ_WRITE
    queryset = QuickPhrase.objects.all()
    filterset_class = QuickPhraseFilter
    ordering_fields = ["id", "shortcut", "category", "usage_count", "created_at"]
    ordering = ["category", "shortcut", "id"]
    write_roles = SHOP_STAFF
    action_roles = {"use": SHOP_STAFF, "export": SHOP_STAFF, "import_file": SHOP_STAFF}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return QuickPhraseUpdateSerializer
        return QuickPhraseSerializer

    def _check_may_change(self, scope: str, owner_id: int | None) -> None:
        owner_id = owner_id if scope == PhraseScope.PERSONAL else None
        services.workbench_check_may_manage(caller=self.caller, model=QuickPhrase, agent_id=owner_id)

    def create_instance(self, data):
        data.setdefault("scope", PhraseScope.PERSONAL)
        if not self.caller.is_platform and data["scope"] == PhraseScope.PERSONAL:
            owner = data.get("owner")
            self._check_may_change(data["scope"], owner.pk if owner is not None else self.caller.agent_id)
            data["owner"] = services.caller_agent(self.caller)
        else:
            self._check_may_change(data["scope"], None)
        return services.quick_phrase_create(**data)

    def update_instance(self, instance, data):
        self._check_may_change(instance.scope, instance.owner_id)
        return services.quick_phrase_update(phrase=instance, **data)

    def destroy_instance(self, instance):
        self._check_may_change(instance.scope, instance.owner_id)
        services.quick_phrase_delete(phrase=instance)

    @extend_schema(request=None, responses=QuickPhraseSerializer)
    @action(detail=True, methods=["post"])
    def use(self, request, pk=None):
        """Count one use of the phrase (the usage counter sorts phrases by popularity)."""
        phrase = services.quick_phrase_use(phrase=self.get_object())
        return Response(QuickPhraseSerializer(phrase, context=self.get_serializer_context()).data)

    @extend_schema(
        parameters=[QuickPhraseExportSerializer],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, XLSX_MEDIA_TYPE): OpenApiTypes.BINARY},
    )
    @action(
        detail=False,
        methods=["get"],
        content_negotiation_class=UseFileNegotiation,
        filter_backends=[],
        pagination_class=None,
    )
    def export(self, request):
        """The team's phrases and the caller's personal ones as a CSV or XLSX file (re-importable)."""
        query = QuickPhraseExportSerializer(data=request.query_params, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        shop = _caller_shop(self, query.validated_data.get("shop"))
        file_format = query.validated_data["format"]
        owner = services.caller_agent(self.caller)
        content = quick_phrases_export(shop=shop, owner=owner, file_format=file_format)
        media_type = XLSX_MEDIA_TYPE if file_format == "xlsx" else "text/csv; charset=utf-8"
        response = HttpResponse(content, content_type=media_type)
        response["Content-Disposition"] = f'attachment; filename="quick-phrases-{shop.pk}.{file_format}"'
        return response

    @extend_schema(
        request={"multipart/form-data": QuickPhraseImportSerializer}, responses=QuickPhraseImportResultSerializer
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
        filter_backends=[],
        pagination_class=None,
    )
    def import_file(self, request):
        """Import a CSV or XLSX file (columns scope, shortcut, title, content, category; at most 1 MB).

        Rows are matched on (scope, owner, shortcut): a re-import updates. Bad rows come back with their row
        number (the header is row 1) and every good row is kept. Agents import personal phrases; team rows need
        an owner or supervisor.
        """
        serializer = QuickPhraseImportSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        shop = _caller_shop(self, serializer.validated_data.get("shop"))
        upload = serializer.validated_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError({"file": [_("The file is larger than 1 MB.")]})
        phrase_file = dataset_from_upload(content=upload.read(), filename=upload.name or "")
        report = quick_phrases_import(
            shop=shop,
            owner=services.caller_agent(self.caller),
            manager=services.caller_manages_team(self.caller),
            upload=phrase_file,
        )
        return Response(QuickPhraseImportResultSerializer(report).data)


class AutoReplyRuleViewSet(ScopedModelViewSet):
    """Auto-replies: the shop's team rules (owners and supervisors; sub-accounts on) and each agent's own."""

    http_method_names = READ_WRITE
    queryset = AutoReplyRule.objects.all()
    filterset_class = AutoReplyRuleFilter
    ordering_fields = ["id", "trigger", "created_at"]
    ordering = ["id"]
    write_roles = SHOP_STAFF
    action_roles = {"defaults": SHOP_STAFF}

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return AutoReplyRuleUpdateSerializer
        return AutoReplyRuleSerializer

    def _check_may_change(self, agent: Agent | None) -> None:
        agent_id = agent.pk if agent is not None else None
        services.workbench_check_may_manage(caller=self.caller, model=AutoReplyRule, agent_id=agent_id)

    def create_instance(self, data):
        self._check_may_change(data.get("agent"))
        return services.auto_reply_rule_create(**data)

    def update_instance(self, instance, data):
        self._check_may_change(instance.agent)
        return services.auto_reply_rule_update(rule=instance, **data)

    def destroy_instance(self, instance):
        self._check_may_change(instance.agent)
        services.auto_reply_rule_delete(rule=instance)

    @extend_schema(request=AutoReplyDefaultsSerializer, responses=AutoReplyRuleSerializer(many=True))
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def defaults(self, request):
        """Add the suggested rules (switched off) for the team, or for ``agent``; existing rules stay as they are."""
        serializer = AutoReplyDefaultsSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        shop, agent = serializer.validated_data["shop"], serializer.validated_data.get("agent")
        self._check_may_change(agent)
        created = services.auto_reply_defaults_create(shop=shop, agent=agent)
        return Response(AutoReplyRuleSerializer(created, many=True, context=self.get_serializer_context()).data)
