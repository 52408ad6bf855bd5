"""Chat tasks: thin, idempotent, safe to run twice or on two workers (rows are claimed with locks).

Task names are a contract: beat rows (declared in ``backoffice.schedules``) and queued messages carry them. A renamed
task keeps its old name registered as a thin alias that runs the new task, so messages queued before a deploy and beat
rows the migration has not reached yet still run; the old Python name is a plain reference to the new task, so code
that imports it enqueues the new name. Renamed here (new name <- old name, still registered):

- ``chats.tasks.followup_reminders_deliver`` <- ``chats.tasks.task_reminders_deliver_task``
- ``chats.tasks.agents_active_chats_recount`` <- ``agents.tasks.agent_recount_active_chats_task`` (moved from agents:
  it counts conversations)

An alias can go once no queue and no beat row can hold its name: after a release that ran migration
``evaluations/0008`` and after the queues have drained.
"""

from backoffice.schedules import domain_task
from chats.services import (
    agent_recount_active_chats,
    agents_absent_set_offline,
    conversations_close_idle,
    export_run,
    exports_delete_expired,
    missed_followups_notify,
    queue_sweep,
    task_reminders_deliver,
)


@domain_task
def queue_sweep_task() -> int:
    """Safety net for the queue: give free seats to queued chats in every shop; returns chats assigned."""
    return queue_sweep()


@domain_task
def close_idle_conversations_task() -> int:
    """End chats idle for longer than their shop's timeout; returns chats ended."""
    return conversations_close_idle()


@domain_task
def followup_reminders_deliver() -> int:
    """Deliver due follow-up task reminders as notifications, each exactly once; returns reminders delivered."""
    return task_reminders_deliver()


@domain_task
def missed_followups_notify_task() -> int:
    """Remind agents of buyer turns unanswered past their shop's threshold, once per turn."""
    return missed_followups_notify()


@domain_task
def agents_active_chats_recount(shop_ids: list[int] | None = None) -> int:
    """Rebuild the agents' ``active_chats`` counters from their human chats (every shop, or ``shop_ids``); safe to
    repeat. Returns the agents updated."""
    return agent_recount_active_chats(shop_ids=shop_ids)


@domain_task
def agents_absent_set_offline_task() -> int:
    """Presence: set offline the online agents whose live connection has been silent past the grace; returns how
    many. Safe to run twice or on two workers (agents are claimed with ``SKIP LOCKED``)."""
    return agents_absent_set_offline()


@domain_task
def export_run_task(export_id: int) -> int | None:
    """Write one export's file; a second run finds it claimed and does nothing. Returns the rows written."""
    export = export_run(export_id=export_id)
    return export.rows if export is not None else None


@domain_task
def exports_delete_expired_task() -> int:
    """The beat sweep: delete export files past their retention; returns how many were deleted."""
    return exports_delete_expired()


# --- old names: see the module docstring -------------------------------------------------------------------------

task_reminders_deliver_task = followup_reminders_deliver


@domain_task(name="chats.tasks.task_reminders_deliver_task")
def task_reminders_deliver_task_old_name() -> int:
    """Old name of ``followup_reminders_deliver``, for messages and beat rows that still carry it."""
    return followup_reminders_deliver()


@domain_task(name="agents.tasks.agent_recount_active_chats_task")
def agent_recount_active_chats_task_old_name(shop_ids: list[int] | None = None) -> int:
    """Old name of ``agents_active_chats_recount``, for messages that still carry it."""
    return agents_active_chats_recount(shop_ids=shop_ids)
