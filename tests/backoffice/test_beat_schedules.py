"""The beat schedules: one declaration (``backoffice.schedules``) that the migrations leave in the database, that
applying again leaves alone, that keeps an operator's on/off switch; every schedule runs a real task and expires
before its next run, and every task of ours is safe to redeliver (acks late, rejected back to the queue when its
worker dies, bounded in time, retrying database errors with the one policy)."""

import importlib
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from backoffice.celery import app as celery_app
from backoffice.schedules import SCHEDULES, BeatSchedule, Crontab, periodic_tasks_apply

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("shops.", "events.", "agents.", "chats.", "evaluations.")

# Written out by hand from the migrations that created the rows (chats 0003, 0004, 0005, 0008; evaluations 0002, 0004;
# events 0002) and the renamed reminders task: name -> (task, schedule, kwargs, expire_seconds).
NIGHTLY = "evaluations.tasks.daily_metrics_rollup_nightly_task"
EXPECTED = {
    "chats: queue sweep": ("chats.tasks.queue_sweep_task", ("every", 30, "seconds"), {}, 25),
    "chats: close idle conversations": ("chats.tasks.close_idle_conversations_task", ("every", 60, "seconds"), {}, 50),
    "chats: deliver task reminders": ("chats.tasks.followup_reminders_deliver", ("every", 30, "seconds"), {}, 25),
    "chats: missed follow-up reminders": (
        "chats.tasks.missed_followups_notify_task",
        ("every", 60, "seconds"),
        {},
        50,
    ),
    "chats: delete expired export files": (
        "chats.tasks.exports_delete_expired_task",
        ("every", 3600, "seconds"),
        {},
        3000,
    ),
    "chats: set absent agents offline": (
        "chats.tasks.agents_absent_set_offline_task",
        ("every", 15, "seconds"),
        {},
        12,
    ),
    "events: dispatch webhooks": ("events.tasks.webhooks_dispatch_task", ("every", 30, "seconds"), {}, 25),
    "events: retry webhook deliveries": (
        "events.tasks.webhook_deliveries_retry_due_task",
        ("every", 15, "seconds"),
        {},
        12,
    ),
    "events: delete expired events": ("events.tasks.events_delete_expired_task", ("every", 3600, "seconds"), {}, 3000),
    "evaluations: expire overdue rating invites": (
        "evaluations.tasks.rating_invites_expire_overdue_task",
        ("every", 300, "seconds"),
        {},
        240,
    ),
    "evaluations: metrics rollup D-1 (provisional)": (
        NIGHTLY,
        ("crontab", "10", "1", "*", "*", "*", "Asia/Shanghai"),
        {"days_ago": 1},
        21600,
    ),
    "evaluations: metrics rollup D-2 (satisfaction final)": (
        NIGHTLY,
        ("crontab", "30", "1", "*", "*", "*", "Asia/Shanghai"),
        {"days_ago": 2},
        21600,
    ),
    "evaluations: metrics rollup D-4 (FCR final)": (
        NIGHTLY,
        ("crontab", "50", "1", "*", "*", "*", "Asia/Shanghai"),
        {"days_ago": 4},
        21600,
    ),
}
# Distinct schedules among them: intervals of 15, 30, 60, 300 and 3600 seconds; three nightly crontabs.
INTERVALS, CRONTABS = 5, 3


def _period_seconds(task: PeriodicTask) -> float:
    if task.interval is not None:
        return timedelta(**{task.interval.period: task.interval.every}).total_seconds()
    if task.crontab is not None:
        # Crontab schedules here run at most daily at a fixed time; the next run is a day away at the soonest
        # for a schedule with one hour and one minute, less otherwise.
        fixed = task.crontab.minute.isdigit() and task.crontab.hour.isdigit()
        return 24 * 3600 if fixed else 60
    pytest.fail(f"{task.name}: only interval and crontab schedules are used here")


def _schedules() -> list[PeriodicTask]:
    return list(
        PeriodicTask.objects.select_related("interval", "crontab")
        .exclude(name="celery.backend_cleanup")
        .order_by("name")
    )


def _as_expected(task) -> tuple:
    """A row (real or historical model) as an ``EXPECTED`` value."""
    if task.interval is not None:
        schedule = ("every", task.interval.every, task.interval.period)
    else:
        c = task.crontab
        schedule = ("crontab", c.minute, c.hour, c.day_of_week, c.day_of_month, c.month_of_year, str(c.timezone))
    return task.task, schedule, json.loads(task.kwargs), task.expire_seconds


def _declared(schedule: BeatSchedule) -> tuple:
    if schedule.crontab is None:
        when = ("every", schedule.every_seconds, "seconds")
    else:
        c = schedule.crontab
        when = ("crontab", c.minute, c.hour, c.day_of_week, c.day_of_month, c.month_of_year, c.timezone)
    return schedule.task, when, dict(schedule.kwargs), schedule.expire_seconds


def _snapshot() -> tuple:
    rows = PeriodicTask.objects.order_by("pk").values_list(
        "pk", "name", "task", "interval_id", "crontab_id", "kwargs", "expire_seconds", "enabled", "description"
    )
    return (
        list(rows),
        list(IntervalSchedule.objects.values_list("pk", flat=True).order_by("pk")),
        list(CrontabSchedule.objects.values_list("pk", flat=True).order_by("pk")),
    )


def _empty_beat_tables() -> None:
    PeriodicTask.objects.all().delete()
    IntervalSchedule.objects.all().delete()
    CrontabSchedule.objects.all().delete()


def test_every_schedule_names_a_registered_task_and_expires_before_its_next_run():
    celery_app.loader.import_default_modules()
    schedules = _schedules()
    assert len(schedules) >= 4
    for schedule in schedules:
        assert schedule.task in celery_app.tasks, f"{schedule.name}: no task {schedule.task}"
        assert schedule.enabled, schedule.name
        assert schedule.expire_seconds, f"{schedule.name}: no expiry, a backlog would be replayed"
        assert 0 < schedule.expire_seconds < _period_seconds(schedule), schedule.name


def test_every_domain_task_is_acked_late_rejected_on_worker_loss_time_limited_and_retries_db_errors():
    celery_app.loader.import_default_modules()
    tasks = {name: task for name, task in celery_app.tasks.items() if name.startswith(DOMAIN_APPS)}
    assert len(tasks) >= 5
    assert {"chats.tasks.task_reminders_deliver_task", "agents.tasks.agent_recount_active_chats_task"} <= set(tasks)
    conf = celery_app.conf
    for name, task in tasks.items():
        assert task.acks_late, name
        reject = (
            task.reject_on_worker_lost if task.reject_on_worker_lost is not None else conf.task_reject_on_worker_lost
        )
        assert reject, name
        limit = task.time_limit or conf.task_time_limit
        assert limit and limit <= 3600, name
        retry = (task.autoretry_for, task.retry_backoff, task.retry_backoff_max, task.max_retries)
        assert retry == ((OperationalError,), True, 60, 5), name


def test_schedules_declaration_is_the_expected_table():
    assert {schedule.name: _declared(schedule) for schedule in SCHEDULES} == EXPECTED
    assert len(SCHEDULES) == len(EXPECTED)  # no name declared twice


def test_schedules_declaration_refuses_an_expiry_not_shorter_than_the_interval_or_two_schedules():
    with pytest.raises(ValueError, match="shorter than the interval"):
        BeatSchedule(name="x", task="t", description="", every_seconds=30, expire_seconds=30)
    with pytest.raises(ValueError, match="exactly one"):
        nightly = Crontab(minute="1", hour="1")
        BeatSchedule(name="x", task="t", description="", every_seconds=30, crontab=nightly, expire_seconds=10)
    with pytest.raises(ValueError, match="exactly one"):
        BeatSchedule(name="x", task="t", description="", expire_seconds=10)


def test_migrations_leave_exactly_the_declared_rows_and_need_no_apply():
    rows = {task.name: _as_expected(task) for task in _schedules()}
    assert rows == EXPECTED
    assert all(task.enabled for task in _schedules())
    applied = periodic_tasks_apply()
    assert (applied.created, applied.updated, applied.renamed) == ((), (), 0)
    assert sorted(applied.unchanged) == sorted(EXPECTED)


def test_migration_applies_the_declaration_with_historical_models_over_the_old_rows():
    """From the rows the earlier migrations made (old reminders task name), with an operator's edits on top, the
    migration's forward function, run with historical models, gives the declared rows and keeps the switch."""
    _empty_beat_tables()
    apps = MigrationExecutor(connection).loader.project_state(("evaluations", "0008_beat_schedules_declared")).apps
    for module, function in [
        ("chats.migrations.0003_periodic_tasks", "create_schedules"),
        ("chats.migrations.0004_workbench", "create_schedules"),
        ("chats.migrations.0005_supervision", "create_retention_schedule"),
        ("evaluations.migrations.0002_periodic_tasks", "create_schedule"),
        ("evaluations.migrations.0004_metrics_schedules", "create_schedules"),
    ]:
        getattr(importlib.import_module(module), function)(apps, None)
    old_reminders = PeriodicTask.objects.get(name="chats: deliver task reminders")
    assert old_reminders.task == "chats.tasks.task_reminders_deliver_task"
    PeriodicTask.objects.filter(pk=old_reminders.pk).update(enabled=False)  # the operator switched it off
    operators = PeriodicTask.objects.create(
        name="ops: recount active chats",
        task="agents.tasks.agent_recount_active_chats_task",
        interval=IntervalSchedule.objects.create(every=600, period="seconds"),
        expire_seconds=500,
    )

    migration = importlib.import_module("evaluations.migrations.0008_beat_schedules_declared")
    migration.apply_declared_schedules(apps, None)

    rows = {task.name: _as_expected(task) for task in _schedules() if task.pk != operators.pk}
    assert rows == EXPECTED
    assert PeriodicTask.objects.get(pk=old_reminders.pk).enabled is False
    operators.refresh_from_db()
    assert (operators.task, operators.expire_seconds) == ("chats.tasks.agents_active_chats_recount", 500)
    assert PeriodicTasks.last_change() is not None  # beat is told to reload
    assert (IntervalSchedule.objects.count(), CrontabSchedule.objects.count()) == (INTERVALS + 1, CRONTABS)


def test_periodic_tasks_apply_twice_changes_nothing():
    _empty_beat_tables()
    first = periodic_tasks_apply()
    assert sorted(first.created) == sorted(EXPECTED)
    assert (first.updated, first.unchanged, first.renamed) == ((), (), 0)
    before, stamp = _snapshot(), PeriodicTasks.last_change()
    assert (len(before[0]), len(before[1]), len(before[2])) == (len(EXPECTED), INTERVALS, CRONTABS)

    second = periodic_tasks_apply()

    assert (second.created, second.updated, second.renamed) == ((), (), 0)
    assert sorted(second.unchanged) == sorted(EXPECTED)
    assert _snapshot() == before  # same rows, same ids, same values
    assert PeriodicTasks.last_change() == stamp  # nothing written, so beat does not reload


def test_periodic_tasks_apply_keeps_an_operators_disable_and_restores_the_rest():
    periodic_tasks_apply()
    row = PeriodicTask.objects.get(name="chats: queue sweep")
    row.enabled, row.expire_seconds, row.kwargs = False, 999, '{"x": 1}'
    row.save()  # as the admin saves it

    applied = periodic_tasks_apply()

    assert applied.updated == ("chats: queue sweep",)
    row.refresh_from_db()
    assert (row.enabled, row.expire_seconds, row.kwargs) == (False, 25, "{}")


def test_periodic_tasks_apply_reuses_the_oldest_of_duplicate_schedules():
    periodic_tasks_apply()
    interval = PeriodicTask.objects.get(name="chats: queue sweep").interval
    IntervalSchedule.objects.create(every=30, period="seconds")  # a duplicate made in the admin
    applied = periodic_tasks_apply()
    assert applied.updated == ()
    assert PeriodicTask.objects.get(name="chats: queue sweep").interval_id == interval.pk


def test_setup_periodic_tasks_command_reports_what_it_did():
    periodic_tasks_apply()
    PeriodicTask.objects.filter(name="chats: queue sweep").delete()
    PeriodicTask.objects.filter(name="chats: close idle conversations").update(expire_seconds=5)
    PeriodicTask.objects.create(
        name="ops: reminders",
        task="chats.tasks.task_reminders_deliver_task",
        interval=IntervalSchedule.objects.get(every=60, period="seconds"),
        expire_seconds=50,
    )
    out = io.StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    assert out.getvalue() == (
        "created: chats: queue sweep\n"
        "updated: chats: close idle conversations\n"
        "renamed the task of 1 other periodic task(s)\n"
        "1 created, 1 updated, 11 unchanged.\n"
    )
    assert PeriodicTask.objects.get(name="ops: reminders").task == "chats.tasks.followup_reminders_deliver"

    out = io.StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    assert out.getvalue() == "0 created, 0 updated, 13 unchanged.\n"
