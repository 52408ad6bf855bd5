"""Periodic chat tasks: thin, idempotent, scheduled by beat with expiries shorter than their intervals."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from agents.models import Agent
from chats import services
from chats.models import Conversation
from chats.tasks import close_idle_conversations_task, queue_sweep_task
from tests.agents.factories import AgentFactory
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db


def test_queue_sweep_task_runs_twice_safely(shop):
    agent = AgentFactory(shop=shop, capacity=0)
    chat = services.conversation_start(shop=shop, buyer=BuyerFactory())
    services.transfer_to_human(conversation_id=chat.pk)
    Agent.objects.filter(pk=agent.pk).update(capacity=1)  # room appears without a service call
    assert queue_sweep_task.delay().get() == 1
    assert queue_sweep_task.delay().get() == 0
    assert Conversation.objects.get(pk=chat.pk).agent_id == agent.pk
    assert Agent.objects.get(pk=agent.pk).active_chats == 1


def test_idle_close_task_runs_twice_safely(shop):
    chat = services.conversation_start(shop=shop, buyer=BuyerFactory())
    Conversation.objects.filter(pk=chat.pk).update(last_message_at=timezone.now() - timedelta(hours=2))
    assert close_idle_conversations_task.delay().get() == 1
    assert close_idle_conversations_task.delay().get() == 0
    assert Conversation.objects.get(pk=chat.pk).closed_by == "idle"


def test_beat_schedules_exist_with_expiry_shorter_than_interval():
    tasks = {t.task: t for t in PeriodicTask.objects.select_related("interval")}
    for name in ("chats.tasks.queue_sweep_task", "chats.tasks.close_idle_conversations_task"):
        schedule = tasks[name]
        assert schedule.enabled
        assert 0 < schedule.expire_seconds < schedule.interval.every
