"""Every beat schedule the migrations create runs a real task, expires before its next run, and every task of ours
is safe to redeliver (acks late, rejected back to the queue when its worker dies, bounded in time)."""

from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from backoffice.celery import app as celery_app

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("shops.", "agents.", "chats.", "evaluations.")


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


def test_every_schedule_names_a_registered_task_and_expires_before_its_next_run():
    celery_app.loader.import_default_modules()
    schedules = _schedules()
    assert len(schedules) >= 4
    for schedule in schedules:
        assert schedule.task in celery_app.tasks, f"{schedule.name}: no task {schedule.task}"
        assert schedule.enabled, schedule.name
        assert schedule.expire_seconds, f"{schedule.name}: no expiry, a backlog would be replayed"
        assert 0 < schedule.expire_seconds < _period_seconds(schedule), schedule.name


def test_every_domain_task_is_acked_late_rejected_on_worker_loss_and_time_limited():
    celery_app.loader.import_default_modules()
    tasks = {name: task for name, task in celery_app.tasks.items() if name.startswith(DOMAIN_APPS)}
    assert len(tasks) >= 5
    conf = celery_app.conf
    for name, task in tasks.items():
        assert task.acks_late, name
        reject = (
            task.reject_on_worker_lost if task.reject_on_worker_lost is not None else conf.task_reject_on_worker_lost
        )
        assert reject, name
        limit = task.time_limit or conf.task_time_limit
        assert limit and limit <= 3600, name
