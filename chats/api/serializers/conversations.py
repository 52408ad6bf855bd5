"""Conversations and their messages, transfers."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import Agent, RoutingGroup
from backoffice.api.tenancy import ScopedModelSerializer, ScopedPrimaryKeyRelatedField
from chats.choices import MessageFlag, TransferOutcome
from chats.models import MESSAGE_BODY_MAX_LENGTH, Conversation, Message
from chats.routing.queue import queue_position


class ConversationSerializer(ScopedModelSerializer):
    queue_position = serializers.SerializerMethodField()
    history = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text=gettext_lazy("Import a past chat: nothing is sent or routed."),
    )

    class Meta:
        model = Conversation
        fields = [
            "id",
            "shop",
            "buyer",
            "entry_point",
            "entry_ref",
            "status",
            "agent",
            "group",
            "phase",
            "started_at",
            "ended_at",
            "closed_by",
            "transfer_entry_visible",
            "buyer_exposed",
            "queue_position",
            "queued_at",
            "transfer_requested_at",
            "transfer_source",
            "assigned_at",
            "last_message_at",
            "history",
        ]
        read_only_fields = [*Conversation.SERVICE_STATE_FIELDS, "phase"]
        extra_kwargs = {"started_at": {"required": False}}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, conversation) -> int | None:
        if hasattr(conversation, "annotated_queue_position"):
            return conversation.annotated_queue_position
        return queue_position(conversation)


class MessageSerializer(ScopedModelSerializer):
    body = serializers.CharField(max_length=MESSAGE_BODY_MAX_LENGTH, trim_whitespace=False)
    flags = serializers.ListField(child=serializers.ChoiceField(MessageFlag.choices), read_only=True)
    history = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text=gettext_lazy("Import history: the assistant does not answer."),
    )

    class Meta:
        model = Message
        fields = ["id", "conversation", "sender", "agent", "body", "sent_at", "is_auto_reply", "flags", "history"]
        read_only_fields = ["conversation", "flags"]
        extra_kwargs = {
            "sender": {"required": False},
            "sent_at": {"required": False},
            "agent": {"required": False},
            "is_auto_reply": {"required": False},
        }


class TransferResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=TransferOutcome.choices)
    agent = serializers.IntegerField(allow_null=True, source="agent_id")
    queue_position = serializers.IntegerField(allow_null=True)


class TransferSerializer(serializers.Serializer):
    """Exactly one of ``agent`` (to a person) or ``group`` (to the best agent with room in a group)."""

    agent = ScopedPrimaryKeyRelatedField(queryset=Agent.objects.all(), required=False)
    group = ScopedPrimaryKeyRelatedField(queryset=RoutingGroup.objects.all(), required=False)

    def validate(self, attrs):
        if ("agent" in attrs) == ("group" in attrs):
            raise serializers.ValidationError({"non_field_errors": [_("Give exactly one of an agent or a group.")]})
        conversation = self.context["conversation"]
        for name, target in attrs.items():
            if target.shop_id != conversation.shop_id:
                raise serializers.ValidationError({name: [_("Must belong to the same shop.")]})
        return attrs
