"""The chats app's models, one module per feature: conversations (with messages, turns and the service-event log),
the assistant's knowledge base, follow-up work and supervision."""

from .assistant import BotReply, FaqEntry, SynonymGroup
from .conversation import (
    MESSAGE_BODY_MAX_LENGTH,
    Conversation,
    ConversationPartQuerySet,
    ConversationQuerySet,
    Message,
    ServiceEvent,
    Turn,
)
from .followup import AutoReplyDelivery, FollowUpTask, FollowUpTaskQuerySet, Notification, NotificationQuerySet
from .supervision import Export, StaffingShop, Wall

__all__ = [
    "MESSAGE_BODY_MAX_LENGTH",
    "AutoReplyDelivery",
    "BotReply",
    "Conversation",
    "ConversationPartQuerySet",
    "ConversationQuerySet",
    "Export",
    "FaqEntry",
    "FollowUpTask",
    "FollowUpTaskQuerySet",
    "Message",
    "Notification",
    "NotificationQuerySet",
    "ServiceEvent",
    "StaffingShop",
    "SynonymGroup",
    "Turn",
    "Wall",
]
