from rest_framework import serializers

from backoffice.api.tenancy import ScopedModelSerializer
from chats.choices import MessageFlag
from chats.models import MESSAGE_BODY_MAX_LENGTH, Conversation, Message


class ConversationSerializer(ScopedModelSerializer):
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
            "transfer_entry_visible",
            "queued_at",
            "last_message_at",
        ]
        read_only_fields = [
            "status",
            "agent",
            "group",
            "phase",
            "ended_at",
            "transfer_entry_visible",
            "queued_at",
            "last_message_at",
        ]
        extra_kwargs = {"started_at": {"required": False}}


class MessageSerializer(ScopedModelSerializer):
    body = serializers.CharField(max_length=MESSAGE_BODY_MAX_LENGTH, trim_whitespace=False)
    flags = serializers.ListField(child=serializers.ChoiceField(MessageFlag.choices), read_only=True)

    class Meta:
        model = Message
        fields = ["id", "conversation", "sender", "agent", "body", "sent_at", "is_auto_reply", "flags"]
        read_only_fields = ["conversation", "flags"]
        extra_kwargs = {
            "sender": {"required": False},
            "sent_at": {"required": False},
            "agent": {"required": False},
            "is_auto_reply": {"required": False},
        }
