"""Periodic chat tasks: thin, idempotent, safe to run twice or on two workers (rows are claimed with locks)."""

from celery import shared_task
from django.db import OperationalError

from .services import conversations_close_idle, missed_followups_notify, queue_sweep, task_reminders_deliver

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 5}


@shared_task(acks_late=True, **RETRY)
def queue_sweep_task() -> int:
    """Safety net for the queue: give free seats to queued chats in every shop; returns chats assigned."""
    return queue_sweep()


@shared_task(acks_late=True, **RETRY)
def close_idle_conversations_task() -> int:
    """End chats idle for longer than their shop's timeout; returns chats ended."""
    return conversations_close_idle()


@shared_task(acks_late=True, **RETRY)
def task_reminders_deliver_task() -> int:
    """Deliver due follow-up task reminders, each exactly once; returns reminders delivered."""
    return task_reminders_deliver()


@shared_task(acks_late=True, **RETRY)
def missed_followups_notify_task() -> int:
    """Remind agents of buyer turns unanswered past their shop's threshold, once per turn."""
    return missed_followups_notify()


@shared_task(acks_late=True, **RETRY)
def export_run_task(export_id: int) -> int | None:
    """Write one export's file; a second run finds it claimed and does nothing. Returns the rows written."""
    from .services.exports import export_run

    export = export_run(export_id=export_id)
    return export.rows if export is not None else None


@shared_task(acks_late=True, **RETRY)
def exports_delete_expired_task() -> int:
    """The beat sweep: delete export files past their retention; returns how many were deleted."""
    from .services.exports import exports_delete_expired

    return exports_delete_expired()
