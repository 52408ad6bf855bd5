"""Periodic chat tasks: thin, idempotent, scheduled by beat with expiries shorter than their intervals."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from agents.models import Agent
from chats import services
from chats.choices import ConversationStatus
from chats.models import Conversation
from chats.tasks import agents_active_chats_recount, close_idle_conversations_task, queue_sweep_task
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory
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


def test_agents_active_chats_recount_fixes_counters_and_is_idempotent(shop, agent, other_shop):
    ConversationFactory.create_batch(2, shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.QUEUED)
    elsewhere = AgentFactory(shop=other_shop)
    Agent.objects.filter(pk__in=[agent.pk, elsewhere.pk]).update(active_chats=9)

    for _ in range(2):
        agents_active_chats_recount.delay(shop_ids=[shop.pk])
        agent.refresh_from_db()
        elsewhere.refresh_from_db()
        assert agent.active_chats == 2
        assert elsewhere.active_chats == 9  # another shop's counter is left alone


def test_agents_active_chats_recount_without_ids_covers_every_shop(agent, other_shop):
    AgentFactory(shop=other_shop)
    Agent.objects.update(active_chats=3)

    assert agents_active_chats_recount() == 2
    assert agents_active_chats_recount() == 2
    assert set(Agent.objects.values_list("active_chats", flat=True)) == {0}
