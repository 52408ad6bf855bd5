"""How domain tasks run and when beat runs them: ``domain_task``, and every beat schedule declared once.

``domain_task`` is ``shared_task`` with late acks and ``TASK_RETRY``, the one retry policy of every task in
``chats``, ``evaluations`` (and any app's ``tasks.py``). Redelivery after a dead worker and the time limits are set
once in the settings (``CELERY_TASK_REJECT_ON_WORKER_LOST``, ``CELERY_TASK_TIME_LIMIT``). It lives here, not in
``backoffice/celery.py``, because that module is process bootstrap that app code does not import.

``SCHEDULES`` is the one declaration of the beat schedules; ``periodic_tasks_apply`` makes the ``django_celery_beat``
rows match it. It runs from the data migration ``evaluations/0008_beat_schedules_declared`` (historical models
through ``apps``) and from ``manage.py setup_periodic_tasks`` (run it on deploy, after ``migrate``, to roll out a
changed declaration). Keep ``periodic_tasks_apply(apps=...)`` working with historical models: that migration calls it
on every fresh database.

What the declaration owns and what the admin keeps:

- A row is found by its ``name``. The task, the schedule (interval or crontab), ``kwargs``, the expiry and the
  description are the declaration's: applying puts them back if they were edited.
- ``enabled`` is the operator's: a new row is created enabled, an existing row keeps its switch, so an operator who
  turned a job off in the admin finds it off after the next deploy. Everything else (args, queue, priority, one-off,
  start time, run counts) is left alone too.
- A schedule removed from the declaration is not deleted; delete its row in a migration.
- ``TASK_RENAMES`` maps old task names to new ones; any row still naming an old task, declared or added in the
  admin, is pointed at the new name. The old names stay registered in Celery as thin aliases, so a row or a queued
  message that still carries one keeps working.

Tasks are named by string only: this module is the lowest layer and imports no app of the project.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from types import MappingProxyType
from typing import Any

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

# A dropped connection, a lock timeout or a locked SQLite file is worth another try; a bug is not. Read-only, so one
# task module cannot change the others' retries.
TASK_RETRY: Mapping[str, Any] = MappingProxyType(
    {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": 5}
)


def domain_task(fn=None, /, **options):
    """``shared_task`` that acks late and retries database errors with backoff; ``options`` override or add."""
    decorator = shared_task(**{"acks_late": True, **TASK_RETRY, **options})
    return decorator if fn is None else decorator(fn)


BEAT_APP = "django_celery_beat"


@dataclass(frozen=True, kw_only=True)
class Crontab:
    """Crontab fields and the zone they are read in (a ``django_celery_beat`` ``CrontabSchedule``)."""

    minute: str
    hour: str
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True, kw_only=True)
class BeatSchedule:
    """One periodic task: runs ``task`` every ``every_seconds`` or on ``crontab``; a run not started within
    ``expire_seconds`` is dropped, so a backlog after an outage is not replayed (shorter than the period)."""

    name: str
    task: str
    description: str
    expire_seconds: int
    every_seconds: int | None = None
    crontab: Crontab | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if (self.every_seconds is None) == (self.crontab is None):
            raise ValueError(f"{self.name}: give exactly one of every_seconds and crontab")
        if self.every_seconds is not None and not 0 < self.expire_seconds < self.every_seconds:
            raise ValueError(f"{self.name}: expire_seconds must be positive and shorter than the interval")
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))


# Nightly metric rollups: each run rolls up every shop's own local day ``today - days_ago``, which has ended whatever
# the shop's zone, so one Asia/Shanghai crontab serves them all. A run missed by more than six hours waits a night.
_ROLLUP_EXPIRES = 6 * 3600

SCHEDULES: tuple[BeatSchedule, ...] = (
    BeatSchedule(
        name="chats: queue sweep",
        task="chats.tasks.queue_sweep_task",
        every_seconds=30,
        expire_seconds=25,
        description="Give free seats to queued chats in every shop (safety net for the on-event routing).",
    ),
    BeatSchedule(
        name="chats: close idle conversations",
        task="chats.tasks.close_idle_conversations_task",
        every_seconds=60,
        expire_seconds=50,
        description="End chats idle for longer than their shop's timeout.",
    ),
    BeatSchedule(
        name="chats: deliver task reminders",
        task="chats.tasks.followup_reminders_deliver",
        every_seconds=30,
        expire_seconds=25,
        description="Turn due follow-up task reminders into notifications, each exactly once.",
    ),
    BeatSchedule(
        name="chats: missed follow-up reminders",
        task="chats.tasks.missed_followups_notify_task",
        every_seconds=60,
        expire_seconds=50,
        description="Remind agents of buyer turns unanswered past their shop's threshold, once per turn.",
    ),
    BeatSchedule(
        name="chats: delete expired export files",
        task="chats.tasks.exports_delete_expired_task",
        every_seconds=3600,
        expire_seconds=3000,
        description="Delete conversation export files past their retention.",
    ),
    BeatSchedule(
        name="chats: set absent agents offline",
        task="chats.tasks.agents_absent_set_offline_task",
        every_seconds=15,
        expire_seconds=12,
        description="Set offline the online agents whose live connection has been silent past the presence grace.",
    ),
    BeatSchedule(
        name="events: dispatch webhooks",
        task="events.tasks.webhooks_dispatch_task",
        every_seconds=30,
        expire_seconds=25,
        description="Fan new events out to webhook subscriptions (safety net for the dispatch after each commit).",
    ),
    BeatSchedule(
        name="events: retry webhook deliveries",
        task="events.tasks.webhook_deliveries_retry_due_task",
        every_seconds=15,
        expire_seconds=12,
        description="Claim due webhook retries and deliveries whose worker died, and send them.",
    ),
    BeatSchedule(
        name="events: delete expired events",
        task="events.tasks.events_delete_expired_task",
        every_seconds=3600,
        expire_seconds=3000,
        description="Delete events past their retention, with their webhook deliveries.",
    ),
    BeatSchedule(
        name="evaluations: expire overdue rating invites",
        task="evaluations.tasks.rating_invites_expire_overdue_task",
        every_seconds=300,
        expire_seconds=240,
        description="Mark rating invites past their 24 hours expired.",
    ),
    BeatSchedule(
        name="evaluations: metrics rollup D-1 (provisional)",
        task="evaluations.tasks.daily_metrics_rollup_nightly_task",
        crontab=Crontab(minute="10", hour="1"),
        kwargs={"days_ago": 1},
        expire_seconds=_ROLLUP_EXPIRES,
        description="Roll up yesterday's metrics for every shop (provisional).",
    ),
    BeatSchedule(
        name="evaluations: metrics rollup D-2 (satisfaction final)",
        task="evaluations.tasks.daily_metrics_rollup_nightly_task",
        crontab=Crontab(minute="30", hour="1"),
        kwargs={"days_ago": 2},
        expire_seconds=_ROLLUP_EXPIRES,
        description="Roll up the metrics of two days ago again: satisfaction is final.",
    ),
    BeatSchedule(
        name="evaluations: metrics rollup D-4 (FCR final)",
        task="evaluations.tasks.daily_metrics_rollup_nightly_task",
        crontab=Crontab(minute="50", hour="1"),
        kwargs={"days_ago": 4},
        expire_seconds=_ROLLUP_EXPIRES,
        description="Roll up the metrics of four days ago again: first-contact resolution is final.",
    ),
)

# Old task name -> new one. Both stay registered in Celery; the old one is a thin alias of the new.
TASK_RENAMES: Mapping[str, str] = MappingProxyType(
    {
        "chats.tasks.task_reminders_deliver_task": "chats.tasks.followup_reminders_deliver",
        "agents.tasks.agent_recount_active_chats_task": "chats.tasks.agents_active_chats_recount",
    }
)


@dataclass(frozen=True)
class SchedulesApplied:
    """What ``periodic_tasks_apply`` did: schedule names created, updated and already right, and how many rows
    outside the declaration had an old task name replaced."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    renamed: int

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.renamed)


def periodic_tasks_apply(*, apps=None, schedules: tuple[BeatSchedule, ...] = SCHEDULES) -> SchedulesApplied:
    """Create or update the beat rows of ``schedules`` (keyed by name; ``enabled`` of existing rows kept) and point
    rows naming an old task at its new name. Idempotent: a second run writes nothing."""
    if apps is None:
        from django.apps import apps
    PeriodicTask = apps.get_model(BEAT_APP, "PeriodicTask")
    created, updated, unchanged = [], [], []
    with transaction.atomic():
        for schedule in schedules:
            owned = _owned_fields(schedule, apps)
            row = PeriodicTask.objects.filter(name=schedule.name).first()
            if row is not None and not _differs(row, owned):
                unchanged.append(schedule.name)
                continue
            _, was_created = PeriodicTask.objects.update_or_create(
                name=schedule.name, defaults=owned, create_defaults={**owned, "enabled": True}
            )
            (created if was_created else updated).append(schedule.name)
        renamed = sum(PeriodicTask.objects.filter(task=old).update(task=new) for old, new in TASK_RENAMES.items())
        applied = SchedulesApplied(tuple(created), tuple(updated), tuple(unchanged), renamed)
        if applied.changed:
            # Beat reloads its schedule when this stamp moves. The real model's save() moves it, but neither a
            # historical model (in a migration) nor a bulk update() does.
            apps.get_model(BEAT_APP, "PeriodicTasks").objects.update_or_create(
                ident=1, defaults={"last_update": timezone.now()}
            )
    return applied


def _owned_fields(schedule: BeatSchedule, apps) -> dict[str, Any]:
    if schedule.every_seconds is not None:
        IntervalSchedule = apps.get_model(BEAT_APP, "IntervalSchedule")
        interval = _first_or_create(IntervalSchedule, every=schedule.every_seconds, period="seconds")
        crontab = None
    else:
        interval = None
        crontab = _first_or_create(apps.get_model(BEAT_APP, "CrontabSchedule"), **asdict(schedule.crontab))
    return {
        "task": schedule.task,
        "interval": interval,
        "crontab": crontab,
        "solar": None,
        "clocked": None,
        "kwargs": json.dumps(dict(schedule.kwargs), sort_keys=True),
        "expire_seconds": schedule.expire_seconds,
        "expires": None,  # an absolute expiry set in the admin would clash with expire_seconds
        "description": schedule.description,
    }


def _first_or_create(model, **lookup):
    # Not get_or_create: schedule tables have no unique constraint, and a duplicate made in the admin would raise
    # MultipleObjectsReturned. The oldest match is reused, so applying again finds the same row.
    return model.objects.filter(**lookup).order_by("pk").first() or model.objects.create(**lookup)


def _differs(row, owned: Mapping[str, Any]) -> bool:
    for key, value in owned.items():
        if key in ("interval", "crontab", "solar", "clocked"):
            if getattr(row, f"{key}_id") != (value.pk if value is not None else None):
                return True
        elif key == "kwargs":
            try:
                current = json.loads(row.kwargs or "{}")
            except ValueError:
                return True
            if current != json.loads(value):
                return True
        elif getattr(row, key) != value:
            return True
    return False
