"""Follow-up tasks and notifications."""

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from backoffice.api.tenancy import ScopedModelSerializer
from chats.choices import NotificationKind
from chats.models import FollowUpTask, Notification


class FollowUpTaskSerializer(ScopedModelSerializer):
    """A follow-up task; ``buyer`` defaults to the conversation's or the order's buyer."""

    class Meta:
        model = FollowUpTask
        fields = [
            "id",
            "shop",
            "kind",
            "content",
            "handler",
            "remind_at",
            "conversation",
            "buyer",
            "order",
            "status",
            "reminded_at",
            "closed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["status", "reminded_at", "closed_at", "created_by", "created_at", "updated_at"]


class FollowUpTaskUpdateSerializer(FollowUpTaskSerializer):
    class Meta(FollowUpTaskSerializer.Meta):
        read_only_fields = [*FollowUpTaskSerializer.Meta.read_only_fields, "shop"]


class NotificationSerializer(ScopedModelSerializer):
    text = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "shop",
            "recipient",
            "kind",
            "text",
            "task",
            "conversation",
            "turn_started_at",
            "due_at",
            "created_at",
            "read_at",
        ]
        read_only_fields = fields

    def get_text(self, notification) -> str:
        if notification.kind == NotificationKind.TASK_DUE and notification.task is not None:
            return _("Task due: %(content)s") % {"content": notification.task.content[:200]}
        started = notification.turn_started_at
        local = timezone.localtime(started, notification.shop.tzinfo).strftime("%Y-%m-%d %H:%M") if started else ""
        return _("A buyer has been waiting for an answer since %(time)s.") % {"time": local}
