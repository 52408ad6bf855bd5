"""Chat services, re-exported from their feature packages (``lifecycle``, ``routing``, ``assistant``, ``followup``,
``supervision``, ``turns``) so that ``from chats.services import ...`` keeps working."""

from ..assistant.faq import (
    faq_entry_create,
    faq_entry_delete,
    faq_entry_update,
    synonym_group_create,
    synonym_group_delete,
    synonym_group_update,
)
from ..followup.auto_replies import auto_replies_on_status_change, auto_replies_send
from ..followup.notifications import missed_followups_notify, notification_mark_read
from ..followup.tasks import (
    task_cancel,
    task_check,
    task_complete,
    task_create,
    task_reminders_deliver,
    task_update,
)
from ..lifecycle.conversations import conversation_close, conversation_start, conversations_close_idle, message_create
from ..lifecycle.events import event_record
from ..lifecycle.messages import message_write, messages_bulk_write
from ..routing.agent_changes import (
    agent_recount_active_chats,
    agent_set_status,
    agent_update,
    agents_absent_set_offline,
    routing_group_create,
    routing_group_delete,
    routing_group_update,
)
from ..routing.queue import queue_drain, queue_position, queue_sweep
from ..routing.transfers import TransferResult, conversation_transfer, transfer_to_human
from ..supervision.exports import export_create, export_retry, export_run, exports_delete_expired
from ..turns.store import turns_rebuild, turns_record

__all__ = [
    "TransferResult",
    "agent_recount_active_chats",
    "agent_set_status",
    "agent_update",
    "agents_absent_set_offline",
    "auto_replies_on_status_change",
    "auto_replies_send",
    "conversation_close",
    "conversation_start",
    "conversation_transfer",
    "conversations_close_idle",
    "event_record",
    "export_create",
    "export_retry",
    "export_run",
    "exports_delete_expired",
    "faq_entry_create",
    "faq_entry_delete",
    "faq_entry_update",
    "message_create",
    "message_write",
    "messages_bulk_write",
    "missed_followups_notify",
    "notification_mark_read",
    "queue_drain",
    "queue_position",
    "queue_sweep",
    "routing_group_create",
    "routing_group_delete",
    "routing_group_update",
    "synonym_group_create",
    "synonym_group_delete",
    "synonym_group_update",
    "task_cancel",
    "task_check",
    "task_complete",
    "task_create",
    "task_reminders_deliver",
    "task_update",
    "transfer_to_human",
    "turns_rebuild",
    "turns_record",
]
