"""Concurrent routing on PostgreSQL: no agent over capacity, no chat assigned twice, counters exact."""

import random
import threading

import pytest
from django.db import close_old_connections, connection, transaction
from django.db.models import Count
from django.utils import timezone

from agents.choices import AgentStatus
from agents.models import Agent
from chats import services
from chats.choices import ClosedBy, ConversationStatus, EventKind, Sender
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


def _hold_open(write, held: threading.Event, release: threading.Event, errors: list):
    """In its own transaction, ``write()`` with foreign keys checked at once, as a deferred check does at commit
    (``FOR KEY SHARE`` on every row written rows reference), and keep the transaction open."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            write()
            held.set()
            release.wait(30)
    except Exception as error:  # noqa: BLE001 -- reported to the test
        errors.append(repr(error))
        held.set()
    finally:
        connection.close()


def _while_open(write, work):
    """``work()`` while another transaction has done ``write()`` and not yet committed; a lock wait of ``work()`` is an
    error (``lock_timeout``), not a delay until that transaction ends."""
    held, release, errors = threading.Event(), threading.Event(), []
    holder = threading.Thread(target=_hold_open, args=(write, held, release, errors))
    holder.start()
    assert held.wait(30)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")
        return work()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release.set()
        holder.join(30)
        assert errors == []


def test_an_agent_whose_message_is_being_committed_still_gets_the_chat():
    """Routing changes an agent's counters, never its key: the agent's own message being committed in another chat
    (its foreign-key check holds the agent's row ``FOR KEY SHARE``, as the metrics rollup's checks do) does not hide
    the only free agent."""
    shop = ShopFactory()
    agent = AgentFactory(shop=shop, capacity=2)
    serving = services.conversation_start(shop=shop, buyer=BuyerFactory())
    services.transfer_to_human(conversation_id=serving.pk)
    waiting = services.conversation_start(shop=shop, buyer=BuyerFactory())

    _while_open(
        lambda: services.message_create(conversation=serving, sender=Sender.AGENT, agent=agent, body="one moment"),
        lambda: services.transfer_to_human(conversation_id=waiting.pk),
    )

    waiting.refresh_from_db()
    assert (waiting.status, waiting.agent_id) == (ConversationStatus.HUMAN, agent.pk)


def test_a_queued_chat_another_transaction_references_is_still_assigned_when_a_seat_frees():
    """The queue drain changes a chat's status and agent, never its key: a follow-up task being created for a queued
    chat (its foreign-key check holds the chat's row ``FOR KEY SHARE``) does not make the drain pass it over."""
    shop = ShopFactory()
    agent = AgentFactory(shop=shop, capacity=1)
    supervisor = AgentFactory(shop=shop, status=AgentStatus.OFFLINE)  # the task's handler, never a routing candidate
    serving = services.conversation_start(shop=shop, buyer=BuyerFactory())
    services.transfer_to_human(conversation_id=serving.pk)
    waiting = services.conversation_start(shop=shop, buyer=BuyerFactory())
    services.transfer_to_human(conversation_id=waiting.pk)
    assert Conversation.objects.get(pk=waiting.pk).status == ConversationStatus.QUEUED

    _while_open(
        lambda: services.task_create(
            shop=shop, handler=supervisor, content="call back", remind_at=timezone.now(), conversation=waiting
        ),
        lambda: services.conversation_close(conversation_id=serving.pk, closed_by=ClosedBy.AGENT),
    )

    waiting.refresh_from_db()
    assert (waiting.status, waiting.agent_id) == (ConversationStatus.HUMAN, agent.pk)
