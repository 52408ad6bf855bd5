"""Concurrent routing on PostgreSQL: no agent over capacity, no chat assigned twice, counters exact."""

import random
import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import Count

from agents.models import Agent
from chats import services
from chats.choices import ClosedBy, ConversationStatus, EventKind
from chats.models import Conversation, ServiceEvent
from tests.agents.factories import AgentFactory
from tests.shops.factories import BuyerFactory, ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def _run_threads(work, items):
    errors, lock = [], threading.Lock()
    chunks = [items[i::THREADS] for i in range(THREADS)]
    barrier = threading.Barrier(THREADS)

    def runner(chunk):
        try:
            barrier.wait()
            for item in chunk:
                work(item)
        except Exception as error:  # noqa: BLE001 -- reported to the test below
            with lock:
                errors.append(repr(error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=runner, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def _assert_consistent(shop):
    agents = {a.pk: a for a in Agent.objects.filter(shop=shop)}
    held = dict(
        Conversation.objects.filter(shop=shop, status=ConversationStatus.HUMAN)
        .values("agent")
        .annotate(n=Count("pk"))
        .values_list("agent", "n")
    )
    for agent in agents.values():
        assert agent.active_chats <= agent.capacity, agent
        assert agent.active_chats == held.get(agent.pk, 0), (agent, held.get(agent.pk, 0))
    twice = (
        ServiceEvent.objects.filter(shop=shop, kind=EventKind.ASSIGNED)
        .values("conversation")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert list(twice) == []


def test_concurrent_clicks_never_overfill_or_double_assign():
    shop = ShopFactory()
    agents = [AgentFactory(shop=shop, capacity=3) for _ in range(10)]  # 30 seats
    buyers = BuyerFactory.create_batch(20)
    chats = [services.conversation_start(shop=shop, buyer=buyers[i % 20]) for i in range(60)]
    # Every chat is clicked three times (double clicks, retries) by different threads, in random order.
    clicks = [c.pk for c in chats] * 3
    random.Random(7).shuffle(clicks)
    errors = _run_threads(lambda pk: services.transfer_to_human(conversation_id=pk), clicks)
    assert errors == []
    _assert_consistent(shop)
    statuses = dict(
        Conversation.objects.filter(shop=shop).values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    assert statuses == {"human": 30, "queued": 30}
    assert sum(Agent.objects.filter(pk__in=[a.pk for a in agents]).values_list("active_chats", flat=True)) == 30
    queued = Conversation.objects.filter(shop=shop, status="queued").order_by("queued_at", "pk")
    assert [services.queue_position(c) for c in queued] == list(range(1, 31))


def test_concurrent_closes_and_clicks_drain_the_queue_exactly():
    shop = ShopFactory()
    AgentFactory.create_batch(5, shop=shop, capacity=2)  # 10 seats
    first = [services.conversation_start(shop=shop, buyer=BuyerFactory()) for _ in range(10)]
    for chat in first:
        services.transfer_to_human(conversation_id=chat.pk)
    waiting = [services.conversation_start(shop=shop, buyer=BuyerFactory()) for _ in range(40)]
    work = [("close", c.pk) for c in first] + [("click", c.pk) for c in waiting for _ in range(2)]
    random.Random(11).shuffle(work)

    def act(item):
        kind, pk = item
        if kind == "close":
            services.conversation_close(conversation_id=pk, closed_by=ClosedBy.AGENT)
        else:
            services.transfer_to_human(conversation_id=pk)

    assert _run_threads(act, work) == []
    services.queue_sweep()
    _assert_consistent(shop)
    assert Conversation.objects.filter(shop=shop, status="human").count() == 10
    assert Conversation.objects.filter(shop=shop, status="queued").count() == 30
