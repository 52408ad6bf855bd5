"""Reminders on PostgreSQL: claimers racing, a claimer holding rows, and a crashed claimer deliver each once."""

import threading

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from chats import services
from chats.models import FollowUpTask, Notification
from tests.agents.factories import AgentFactory
from tests.chats.factories import FollowUpTaskFactory

from .concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _due_tasks(count):
    agent = AgentFactory()
    past = timezone.now() - timezone.timedelta(minutes=1)
    return [FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=past) for _ in range(count)]


def test_two_claimers_deliver_each_reminder_exactly_once():
    _due_tasks(60)
    results = run_together(2, lambda: services.task_reminders_deliver(batch=7))
    assert sorted(results) == sorted(r for r in results if isinstance(r, int))  # no claimer failed
    assert sum(results) == 60
    per_task = Notification.objects.values("task").annotate(n=Count("pk"))
    assert per_task.count() == 60
    assert {row["n"] for row in per_task} == {1}
    assert FollowUpTask.objects.filter(reminded_at__isnull=True).count() == 0


def test_many_claimers_deliver_each_reminder_exactly_once():
    _due_tasks(40)
    results = run_together(6, lambda: services.task_reminders_deliver(batch=3))
    assert sum(results) == 40
    assert Notification.objects.count() == 40


def test_rows_held_by_another_claimer_are_skipped_not_waited_for_and_delivered_after_its_crash():
    tasks = _due_tasks(10)
    held_ids = [task.pk for task in tasks[:4]]
    holding, release, outcome = threading.Event(), threading.Event(), {}

    def stuck_claimer():
        # A worker that claimed four reminders and then died before committing.
        try:
            with transaction.atomic():
                list(FollowUpTask.objects.select_for_update().filter(pk__in=held_ids))
                holding.set()
                release.wait(timeout=30)
                raise RuntimeError("worker crashed")
        except RuntimeError:
            outcome["rolled_back"] = True
        finally:
            connection.close()

    thread = threading.Thread(target=stuck_claimer)
    thread.start()
    assert holding.wait(timeout=30)
    try:
        assert services.task_reminders_deliver() == 6  # the free ones, at once: no waiting on the held rows
        assert set(Notification.objects.values_list("task_id", flat=True)) == {t.pk for t in tasks[4:]}
    finally:
        release.set()
        thread.join(timeout=30)
    assert outcome == {"rolled_back": True}
    assert services.task_reminders_deliver() == 4
    assert services.task_reminders_deliver() == 0
    assert Notification.objects.count() == 10
