"""Chat services: the only way conversations and messages change."""

from .auto_replies import auto_replies_send
from .conversations import conversation_close, conversation_start, conversations_close_idle, message_create
from .faq import faq_entry_create, faq_entry_delete, faq_entry_update
from .notifications import missed_followups_notify, notification_mark_read
from .routing import queue_position
from .tasks import task_cancel, task_complete, task_create, task_reminders_deliver, task_update
from .transfers import TransferResult, conversation_transfer, queue_drain, queue_sweep, transfer_to_human
from .turns import turns_rebuild, turns_record

__all__ = [
    "TransferResult",
    "auto_replies_send",
    "conversation_close",
    "conversation_start",
    "conversation_transfer",
    "conversations_close_idle",
    "faq_entry_create",
    "faq_entry_delete",
    "faq_entry_update",
    "message_create",
    "missed_followups_notify",
    "notification_mark_read",
    "queue_drain",
    "queue_position",
    "queue_sweep",
    "task_cancel",
    "task_complete",
    "task_create",
    "task_reminders_deliver",
    "task_update",
    "transfer_to_human",
    "turns_rebuild",
    "turns_record",
]
