from django_filters import rest_framework as filters

from backoffice.api.tenancy import ScopedFilterSet

from ..models import Conversation, FaqEntry, FollowUpTask, Message, Notification


class ConversationFilter(ScopedFilterSet):
    started_after = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Conversation
        fields = ["shop", "status", "agent", "group", "buyer", "phase", "entry_point", "transfer_entry_visible"]


class MessageFilter(ScopedFilterSet):
    sent_after = filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="gte")
    sent_before = filters.IsoDateTimeFilter(field_name="sent_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = ["sender", "agent", "is_auto_reply"]


class FaqEntryFilter(ScopedFilterSet):
    q = filters.CharFilter(field_name="question", lookup_expr="icontains")

    class Meta:
        model = FaqEntry
        fields = ["shop", "enabled"]


class FollowUpTaskFilter(ScopedFilterSet):
    remind_after = filters.IsoDateTimeFilter(field_name="remind_at", lookup_expr="gte")
    remind_before = filters.IsoDateTimeFilter(field_name="remind_at", lookup_expr="lt")

    class Meta:
        model = FollowUpTask
        fields = ["shop", "status", "kind", "handler", "conversation", "buyer"]


class NotificationFilter(ScopedFilterSet):
    unread = filters.BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["shop", "kind"]
