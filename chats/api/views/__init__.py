"""Views of the chats API, one module per feature."""

from .assistant import FaqEntryViewSet
from .conversations import ConversationViewSet, MessageViewSet
from .followup import CreatedCursorPagination, FollowUpTaskViewSet, NotificationViewSet, RemindCursorPagination
from .supervision import ExportViewSet, MonitoringConversationViewSet, StaffingViewSet

__all__ = [
    "ConversationViewSet",
    "CreatedCursorPagination",
    "ExportViewSet",
    "FaqEntryViewSet",
    "FollowUpTaskViewSet",
    "MessageViewSet",
    "MonitoringConversationViewSet",
    "NotificationViewSet",
    "RemindCursorPagination",
    "StaffingViewSet",
]
