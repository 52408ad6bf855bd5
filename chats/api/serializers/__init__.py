"""Serializers of the chats API, one module per feature."""

from .assistant import FaqEntrySerializer, FaqEntryUpdateSerializer
from .conversations import ConversationSerializer, MessageSerializer, TransferResultSerializer, TransferSerializer
from .followup import FollowUpTaskSerializer, FollowUpTaskUpdateSerializer, NotificationSerializer

__all__ = [
    "ConversationSerializer",
    "FaqEntrySerializer",
    "FaqEntryUpdateSerializer",
    "FollowUpTaskSerializer",
    "FollowUpTaskUpdateSerializer",
    "MessageSerializer",
    "NotificationSerializer",
    "TransferResultSerializer",
    "TransferSerializer",
]
