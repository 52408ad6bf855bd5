"""Chat services: the only way conversations and messages change."""

from .conversations import conversation_close, conversation_start, conversations_close_idle, message_create
from .faq import faq_entry_create, faq_entry_delete, faq_entry_update
from .routing import queue_position
from .transfers import TransferResult, conversation_transfer, queue_drain, queue_sweep, transfer_to_human

__all__ = [
    "TransferResult",
    "conversation_close",
    "conversation_start",
    "conversation_transfer",
    "conversations_close_idle",
    "faq_entry_create",
    "faq_entry_delete",
    "faq_entry_update",
    "message_create",
    "queue_drain",
    "queue_position",
    "queue_sweep",
    "transfer_to_human",
]
