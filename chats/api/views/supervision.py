"""Supervision API: chat monitoring (监控查询), exports and staffing (排班), for owners, supervisors and platform staff.

Agents and integration clients get 403 on these routes (404 for another shop's object, as everywhere).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from agents.models import MAX_CAPACITY, Agent, RoutingGroup
from backoffice.api.pagination import CursorPagination, StartedCursorPagination
from backoffice.api.permissions import MANAGERS
from backoffice.api.serializers import ModelSerializer
from backoffice.api.tenancy import (
    ScopedFilterSet,
    ScopedPrimaryKeyRelatedField,
    ScopedViewMixin,
    caller_default_shop,
)
from backoffice.errors import Conflict, Gone
from backoffice.tenancy import caller_for
from backoffice.validators import validate_day
from chats.choices import ExportFormat, ExportKind, ExportStatus, Sender
from chats.models import Conversation, Export, Message
from chats.supervision.exports import export_create
from chats.supervision.monitoring import (
    MonitoringFilters,
    monitoring_conversation_filter,
    monitoring_turns,
    with_figures,
)
from chats.supervision.staffing import DEFAULT_SHIFT_HOURS, DEFAULT_WEEKS, MAX_WEEKS, staffing_heatmap, staffing_plan
from shops.models import Shop

MAX_RANGE_DAYS = 366
TRANSCRIPT_MAX_MESSAGES = 1000
SHOP_REQUIRED = gettext_lazy("Name the shop: you can reach more than one.")


def resolve_shop(request, shop: Shop | None) -> Shop | None:
    """The shop a query is about: the one named, else the caller's only shop (``None`` when ambiguous)."""
    return caller_default_shop(caller_for(request.user), shop)


# --- monitoring -----------------------------------------------------------------------------------------------------


class MonitoringConversationFilter(ScopedFilterSet):
    """Monitoring search. Dates are the shop's local dates (both included); figures filter set-based in SQL."""

    shop = filters.ModelChoiceFilter(queryset=Shop.objects.all(), method="no_op")
    date_from = filters.DateFilter(method="no_op", help_text=gettext_lazy("First local date (chats started)."))
    date_to = filters.DateFilter(method="no_op", help_text=gettext_lazy("Last local date, included."))
    agent = filters.ModelChoiceFilter(queryset=Agent.objects.all(), method="no_op")
    group = filters.ModelChoiceFilter(queryset=RoutingGroup.objects.all(), method="no_op")
    min_response_seconds = filters.NumberFilter(
        method="no_op", min_value=0, help_text=gettext_lazy("Chats with an answered turn at least this slow.")
    )
    unanswered = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="no_op",
        help_text=gettext_lazy("true: chats with an unanswered turn; false: every turn answered."),
    )

    class Meta:
        model = Conversation
        fields = []

    def no_op(self, queryset, name, value):
        return queryset  # every filter is applied together in filter_queryset (dates need the shop's time zone)

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        data = self.form.cleaned_data
        shop = data.get("shop")
        errors = {}
        # Dates far outside any chat history (year 1, year 9999) are refused by ScopedFilterSet's date validator.
        if data.get("date_from") and data.get("date_to"):
            if data["date_to"] < data["date_from"]:
                errors["date_to"] = _("Must not be before date_from.")
            elif (data["date_to"] - data["date_from"]).days >= MAX_RANGE_DAYS:
                errors["date_to"] = _("Ask for at most %(days)d days at once.") % {"days": MAX_RANGE_DAYS}
        if (data.get("date_from") or data.get("date_to")) and resolve_shop(self.request, shop) is None:
            errors["shop"] = str(SHOP_REQUIRED)
        for name in ("agent", "group"):
            if shop is not None and data.get(name) is not None and data[name].shop_id != shop.pk:
                errors[name] = _("Must belong to the same shop.")
        for name, message in errors.items():
            self.form.add_error(name, message)
        return not errors

    def monitoring_filters(self) -> MonitoringFilters:
        data = self.form.cleaned_data
        shop = resolve_shop(self.request, data.get("shop"))
        return MonitoringFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            tz=shop.tzinfo if shop else None,
            agent_id=data["agent"].pk if data.get("agent") else None,
            group_id=data["group"].pk if data.get("group") else None,
            min_response_seconds=float(data["min_response_seconds"])
            if data.get("min_response_seconds") is not None
            else None,
            unanswered={"true": True, "false": False}.get(data.get("unanswered") or ""),
        )

    def filter_queryset(self, queryset):
        shop = self.form.cleaned_data.get("shop")
        if shop is not None:
            queryset = queryset.filter(shop=shop)
        return monitoring_conversation_filter(queryset, self.monitoring_filters())


class MonitoringConversationSerializer(ModelSerializer):
    buyer_nick = serializers.CharField(source="buyer.nick", read_only=True)
    agent_name = serializers.CharField(source="agent.display_name", read_only=True, allow_null=True, default=None)
    group_name = serializers.CharField(source="group.name", read_only=True, allow_null=True, default=None)
    first_response_seconds = serializers.FloatField(read_only=True, allow_null=True)
    max_response_seconds = serializers.FloatField(read_only=True, allow_null=True)
    turns = serializers.IntegerField(read_only=True)
    unanswered_turns = serializers.IntegerField(read_only=True)
    rating = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "shop",
            "buyer",
            "buyer_nick",
            "status",
            "agent",
            "agent_name",
            "group",
            "group_name",
            "phase",
            "started_at",
            "ended_at",
            "first_response_seconds",
            "max_response_seconds",
            "turns",
            "unanswered_turns",
            "rating",
        ]
        read_only_fields = fields


class TranscriptMessageSerializer(ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "sender", "agent", "body", "sent_at", "is_auto_reply", "flags"]
        read_only_fields = fields


class TurnSerializer(serializers.Serializer):
    turn_no = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    responded_at = serializers.DateTimeField(allow_null=True)
    responder_sender = serializers.ChoiceField(choices=[Sender.AGENT, Sender.BOT], allow_null=True)
    responder_agent_id = serializers.IntegerField(allow_null=True)
    response_seconds = serializers.FloatField(allow_null=True)


class MonitoringTranscriptSerializer(MonitoringConversationSerializer):
    """One chat with its figures, its turns (when each started and was answered) and its messages."""

    turn_details = serializers.SerializerMethodField()
    messages = serializers.SerializerMethodField()
    messages_truncated = serializers.SerializerMethodField()

    class Meta(MonitoringConversationSerializer.Meta):
        fields = [*MonitoringConversationSerializer.Meta.fields, "turn_details", "messages", "messages_truncated"]
        read_only_fields = fields

    @extend_schema_field(TurnSerializer(many=True))
    def get_turn_details(self, conversation):
        return TurnSerializer(monitoring_turns(conversation_id=conversation.pk), many=True).data

    def _messages(self, conversation):
        if not hasattr(conversation, "_transcript"):
            rows = list(conversation.messages.order_by("sent_at", "pk")[: TRANSCRIPT_MAX_MESSAGES + 1])
            conversation._transcript = rows
        return conversation._transcript

    @extend_schema_field(TranscriptMessageSerializer(many=True))
    def get_messages(self, conversation):
        return TranscriptMessageSerializer(self._messages(conversation)[:TRANSCRIPT_MAX_MESSAGES], many=True).data

    @extend_schema_field(serializers.BooleanField())
    def get_messages_truncated(self, conversation) -> bool:
        return len(self._messages(conversation)) > TRANSCRIPT_MAX_MESSAGES


class MonitoringConversationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewMixin, viewsets.GenericViewSet
):
    """Chat monitoring: conversations with first/max response time, turns, unanswered turns and rating.

    Owners, supervisors and platform staff only. ``GET …/{id}/`` is the transcript of one chat.
    """

    http_method_names = ["get", "head", "options"]
    queryset = Conversation.objects.select_related("buyer", "agent", "group")
    filterset_class = MonitoringConversationFilter
    filter_backends = [filters.DjangoFilterBackend]
    pagination_class = StartedCursorPagination
    action_roles = {"list": MANAGERS, "retrieve": MANAGERS}

    def get_serializer_class(self):
        return MonitoringTranscriptSerializer if self.action == "retrieve" else MonitoringConversationSerializer

    def filter_queryset(self, queryset):
        # Figures are attached after filtering: they are computed only for the rows a page returns.
        return with_figures(super().filter_queryset(queryset))


# --- exports --------------------------------------------------------------------------------------------------------


class ExportSerializer(ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True, default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "shop",
            "kind",
            "format",
            "filters",
            "status",
            "rows",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "file_deleted_at",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, export) -> str | None:
        if export.status != ExportStatus.DONE or export.file_deleted_at is not None:
            return None
        request = self.context.get("request")
        path = f"/api/v1/exports/{export.pk}/download/"
        return request.build_absolute_uri(path) if request else path


class ExportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    filters = serializers.DictField(
        required=False,
        default=dict,
        help_text=gettext_lazy(
            "The monitoring filters: shop, date_from, date_to, agent, group, min_response_seconds, unanswered."
        ),
    )

    def validate_filters(self, value: dict) -> dict:
        if len(value) > 20:
            raise serializers.ValidationError(_("Too many filters."))
        request = self.context["request"]
        # JSON booleans arrive as true/false; the filters read query-string words.
        data = {key: str(item).lower() if isinstance(item, bool) else item for key, item in value.items()}
        filterset = MonitoringConversationFilter(data=data, queryset=Conversation.objects.none(), request=request)
        errors = {name: [_("Unknown filter.")] for name in value if name not in filterset.filters}
        errors.update(
            {name: [_("Give a single value.")] for name, item in value.items() if isinstance(item, dict | list)}
        )
        if errors:
            raise serializers.ValidationError(errors)
        if not filterset.is_valid():
            raise serializers.ValidationError({key: [str(m) for m in msgs] for key, msgs in filterset.errors.items()})
        shop = resolve_shop(request, filterset.form.cleaned_data.get("shop"))
        if shop is None:
            raise serializers.ValidationError({"shop": [str(SHOP_REQUIRED)]})
        self.context["export_shop"] = shop
        return filterset.monitoring_filters()


class ExportCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ExportStatus.choices)


class FileNegotiation(DefaultContentNegotiation):
    """The download answers a file whatever the Accept header; errors still answer JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportFilter(ScopedFilterSet):
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Export
        fields = ["shop", "kind", "format", "status"]


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewMixin, viewsets.GenericViewSet):
    """Exports of monitored conversations or their messages (CSV/XLSX), written in the background.

    ``POST`` answers ``202 {"id", "status"}``; poll ``GET …/{id}/`` until ``done`` (or ``failed``), then
    ``GET …/{id}/download/`` (409 until done, 410 once the file is past its retention).
    """

    http_method_names = ["get", "post", "head", "options"]
    queryset = Export.objects.select_related("requested_by")
    serializer_class = ExportSerializer
    pagination_class = CursorPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = ExportFilter
    write_roles = MANAGERS
    action_roles = {"list": MANAGERS, "retrieve": MANAGERS, "download": MANAGERS}

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ExportRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        export = export_create(
            shop=serializer.context["export_shop"],
            requested_by=request.user,
            kind=serializer.validated_data["kind"],
            format=serializer.validated_data["format"],
            filters=serializer.validated_data["filters"],
        )
        return Response({"id": export.pk, "status": export.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, CONTENT_TYPES[ExportFormat.CSV]): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES[ExportFormat.XLSX]): OpenApiTypes.BINARY,
        }
    )
    @action(detail=True, methods=["get"], content_negotiation_class=FileNegotiation)
    def download(self, request, pk=None):
        """The export's file (409 while it is not done, 410 once deleted after its retention)."""
        export = self.get_object()
        if export.status != ExportStatus.DONE:
            raise Conflict(_("The export is not ready: it is %(status)s.") % {"status": export.get_status_display()})
        if export.file_deleted_at is not None or not export.file.name:
            raise Gone(_("The export's file was deleted after its retention period; export again."))
        try:
            handle = export.file.open("rb")
        except FileNotFoundError as error:
            raise Gone(_("The export's file is missing; export again.")) from error
        return FileResponse(
            handle, as_attachment=True, filename=export.filename, content_type=CONTENT_TYPES[export.format]
        )


# --- staffing -------------------------------------------------------------------------------------------------------


class HeatmapQuerySerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(queryset=Shop.objects.all(), required=False)
    weeks = serializers.IntegerField(min_value=1, max_value=MAX_WEEKS, default=DEFAULT_WEEKS)

    def validate(self, attrs):
        shop = resolve_shop(self.context["request"], attrs.get("shop"))
        if shop is None:
            raise serializers.ValidationError({"shop": [str(SHOP_REQUIRED)]})
        attrs["shop"] = shop
        return attrs


class PlanQuerySerializer(HeatmapQuerySerializer):
    date = serializers.DateField(
        required=False, help_text=gettext_lazy("The local day to plan (default: tomorrow in the shop's time zone).")
    )
    target = serializers.FloatField(min_value=0.01, max_value=0.999, default=0.8)
    within_seconds = serializers.FloatField(min_value=1, max_value=86_400, default=180)
    handle_seconds = serializers.FloatField(
        min_value=1,
        max_value=86_400,
        required=False,
        help_text=gettext_lazy("Seconds a chat occupies an agent's seat (default: measured from recent chats)."),
    )
    concurrency = serializers.IntegerField(
        min_value=1,
        max_value=MAX_CAPACITY,
        required=False,
        help_text=gettext_lazy("Chats an agent serves at once (default: the shop's agents' average capacity)."),
    )
    shift_hours = serializers.IntegerField(min_value=1, max_value=24, default=DEFAULT_SHIFT_HOURS)
    volume_factor = serializers.FloatField(
        min_value=0.1,
        max_value=100,
        default=1.0,
        help_text=gettext_lazy("Scales the forecast, e.g. 5 for a promotion day such as 11.11."),
    )

    def validate_date(self, value):
        try:
            validate_day(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "date" not in attrs:
            attrs["date"] = timezone.now().astimezone(attrs["shop"].tzinfo).date() + timedelta(days=1)
        return attrs


class HeatmapCellSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text=gettext_lazy("ISO weekday: 1 Monday … 7 Sunday."))
    hour = serializers.IntegerField(help_text=gettext_lazy("Local hour, 0–23."))
    conversations = serializers.IntegerField()
    average = serializers.FloatField(help_text=gettext_lazy("Conversations per week in this cell."))


class PlanHourSerializer(serializers.Serializer):
    hour = serializers.IntegerField()
    forecast = serializers.FloatField()
    agents_needed = serializers.IntegerField()
    expected_service_level = serializers.FloatField(allow_null=True)


class ShiftSerializer(serializers.Serializer):
    start_hour = serializers.IntegerField()
    end_hour = serializers.IntegerField()
    agents = serializers.IntegerField()


class ShiftPlanSerializer(serializers.Serializer):
    shop = serializers.IntegerField(source="shop.pk")
    date = serializers.DateField(source="day")
    weeks = serializers.IntegerField()
    target = serializers.FloatField()
    within_seconds = serializers.FloatField()
    handle_seconds = serializers.FloatField()
    concurrency = serializers.IntegerField()
    shift_hours = serializers.IntegerField()
    volume_factor = serializers.FloatField()
    peak_agents = serializers.IntegerField()
    agent_hours = serializers.IntegerField()
    hours = PlanHourSerializer(many=True)
    shifts = ShiftSerializer(many=True)


class StaffingViewSet(ScopedViewMixin, viewsets.GenericViewSet):
    """Staffing: the weekday x hour heatmap, agents needed per hour (Erlang C with concurrency), shift plan."""

    http_method_names = ["get", "head", "options"]
    queryset = Shop.objects.all()
    filter_backends = []
    pagination_class = None
    serializer_class = HeatmapCellSerializer
    action_roles = {"heatmap": MANAGERS, "plan": MANAGERS, "shift_plan": MANAGERS}

    def _params(self, serializer_class):
        params = serializer_class(data=self.request.query_params, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        return params.validated_data

    @extend_schema(parameters=[HeatmapQuerySerializer], responses=HeatmapCellSerializer(many=True))
    @action(detail=False, methods=["get"])
    def heatmap(self, request):
        """Conversations started per ISO weekday and local hour over the last ``weeks`` whole weeks."""
        params = self._params(HeatmapQuerySerializer)
        cells = staffing_heatmap(shop=params["shop"], weeks=params["weeks"])
        return Response(HeatmapCellSerializer(cells, many=True).data)

    def _plan(self):
        params = self._params(PlanQuerySerializer)
        return staffing_plan(
            shop=params["shop"],
            day=params["date"],
            target=params["target"],
            within_seconds=params["within_seconds"],
            handle_seconds=params.get("handle_seconds"),
            concurrency=params.get("concurrency"),
            weeks=params["weeks"],
            shift_hours=params["shift_hours"],
            volume_factor=params["volume_factor"],
        )

    @extend_schema(parameters=[PlanQuerySerializer], responses=PlanHourSerializer(many=True))
    @action(detail=False, methods=["get"])
    def plan(self, request):
        """Per local hour of ``date``: forecast chats, agents needed to reach ``target`` within ``within_seconds``."""
        return Response(PlanHourSerializer(self._plan().hours, many=True).data)

    @extend_schema(parameters=[PlanQuerySerializer], responses=ShiftPlanSerializer)
    @action(detail=False, methods=["get"], url_path="shift-plan")
    def shift_plan(self, request):
        """The plan with the inputs it used and the shifts that cover every hour's need."""
        return Response(ShiftPlanSerializer(self._plan()).data)
