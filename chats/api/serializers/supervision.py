"""Supervision: the monitoring search, chat monitoring rows and transcripts, exports, and staffing queries and plans."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import MAX_CAPACITY
from backoffice.api.serializers import ModelSerializer
from backoffice.api.tenancy import ScopedPrimaryKeyRelatedField, caller_default_shop
from backoffice.callers import caller_for
from backoffice.validators import validate_day
from chats.choices import ExportFormat, ExportKind, ExportStatus, Sender
from chats.models import Conversation, Export, Message
from chats.supervision.monitoring import SHOP_REQUIRED, MonitoringFilters, monitoring_turns
from chats.supervision.staffing import DEFAULT_SHIFT_HOURS, DEFAULT_WEEKS, MAX_WEEKS
from shops.models import Shop

from ..filtersets import MonitoringConversationFilter

TRANSCRIPT_MAX_MESSAGES = 1000
MAX_EXPORT_FILTERS = 20

# --- monitoring -----------------------------------------------------------------------------------------------------


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


# --- exports --------------------------------------------------------------------------------------------------------


class ExportSerializer(ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True, default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", *Export.RECORD_FIELDS, "download_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download_url(self, export) -> str | None:
        if export.status != ExportStatus.DONE or export.file_deleted_at is not None:
            return None
        request = self.context.get("request")
        path = reverse("export-download", kwargs={"pk": export.pk})
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

    def validate_filters(self, value: dict) -> tuple[Shop, MonitoringFilters]:
        """The filters as the monitoring search reads them; their errors stay under ``filters``, by name."""
        if len(value) > MAX_EXPORT_FILTERS:
            raise serializers.ValidationError(_("Too many filters."))
        # JSON booleans arrive as true/false; the filters read query-string words.
        data = {key: str(item).lower() if isinstance(item, bool) else item for key, item in value.items()}
        filterset = MonitoringConversationFilter(
            data=data, queryset=Conversation.objects.none(), request=self.context["request"], shop_required=True
        )
        errors = {name: [_("Unknown filter.")] for name in value if name not in filterset.filters}
        errors.update(
            {name: [_("Give a single value.")] for name, item in value.items() if isinstance(item, dict | list)}
        )
        if errors:
            raise serializers.ValidationError(errors)
        if not filterset.is_valid():
            raise serializers.ValidationError({key: [str(m) for m in msgs] for key, msgs in filterset.errors.items()})
        return filterset.monitoring_query

    def validate(self, attrs):
        attrs["shop"], attrs["filters"] = attrs["filters"]
        return attrs


class ExportCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ExportStatus.choices)


# --- staffing -------------------------------------------------------------------------------------------------------


class HeatmapQuerySerializer(serializers.Serializer):
    shop = ScopedPrimaryKeyRelatedField(queryset=Shop.objects.all(), required=False)
    weeks = serializers.IntegerField(min_value=1, max_value=MAX_WEEKS, default=DEFAULT_WEEKS)

    def validate(self, attrs):
        shop = caller_default_shop(caller_for(self.context["request"].user), attrs.get("shop"))
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
