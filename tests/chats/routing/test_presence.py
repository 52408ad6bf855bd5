"""Presence: an online agent whose live connection has been silent past ``PRESENCE_GRACE_SECONDS`` goes offline
(once, with its service event and ``agent.status_changed``), keeps its chats, and routing passes it by."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.choices import AgentStatus
from agents.models import Agent
from agents.services import agent_presence_touch
from chats import services
from chats.choices import ClosedBy, ConversationStatus, EventKind
from chats.models import Conversation, ServiceEvent
from chats.routing.agent_changes import agents_absent_set_offline
from chats.tasks import agents_absent_set_offline_task
from events.choices import EventType
from events.models import Event
from tests.agents.factories import AgentFactory
from tests.chats.helpers import active, start
from tests.integration.concurrency import run_together

pytestmark = pytest.mark.django_db

GRACE = 60


@pytest.fixture(autouse=True)
def grace(settings):
    settings.PRESENCE_GRACE_SECONDS = GRACE


def online(shop, now, **fields):
    """An agent online for an hour already (the grace runs from coming online, too)."""
    return AgentFactory(shop=shop, status_changed_at=now - timedelta(hours=1), **fields)


def seen(agent, seconds_ago: float, now):
    """The agent's live connection was last heard from ``seconds_ago`` before ``now`` (as a ping records it)."""
    agent_presence_touch(agent_id=agent.pk, at=now - timedelta(seconds=seconds_ago))


def status(agent) -> str:
    return Agent.objects.get(pk=agent.pk).status


def status_service_events(agent) -> list[tuple]:
    rows = ServiceEvent.objects.filter(kind=EventKind.AGENT_STATUS, agent_id=agent.pk).order_by("pk")
    return list(rows.values_list("outcome", "detail", "actor_id"))


def status_events(agent) -> list[str]:
    rows = Event.objects.filter(type=EventType.AGENT_STATUS_CHANGED, agent_id=agent.pk).order_by("seq")
    return [row.data["status"] for row in rows]


def test_agents_absent_set_offline_sets_a_silent_agent_offline_once_and_leaves_it_its_chats(shop):
    now = timezone.now()
    absent = online(shop, now, capacity=3)
    chats = [start(shop) for _ in range(2)]
    for chat in chats:
        assert services.transfer_to_human(conversation_id=chat.pk).agent_id == absent.pk
    seen(absent, GRACE + 1, now)

    assert agents_absent_set_offline(now=now) == 1

    assert status(absent) == AgentStatus.OFFLINE
    assert status_service_events(absent) == [(AgentStatus.OFFLINE, {"from": AgentStatus.ONLINE}, None)]
    assert status_events(absent) == [AgentStatus.OFFLINE]
    # Its chats stay its own, and so does the seat count.
    assert set(Conversation.objects.filter(pk__in=[c.pk for c in chats]).values_list("status", "agent_id")) == {
        (ConversationStatus.HUMAN, absent.pk)
    }
    assert active(absent) == 2


def test_agents_absent_set_offline_leaves_fresh_boundary_never_connected_and_not_online_agents_alone(shop):
    now = timezone.now()
    fresh, boundary, never = online(shop, now), online(shop, now), online(shop, now)
    away = online(shop, now, status=AgentStatus.AWAY)
    just_online = AgentFactory(shop=shop, status_changed_at=now - timedelta(seconds=20))
    absent = online(shop, now)
    seen(fresh, 10, now)
    seen(boundary, GRACE, now)  # exactly the grace: not older than it
    seen(away, 3600, now)  # silent for an hour, but not online: presence only ever turns online into offline
    seen(just_online, 3600, now)  # its app closed an hour ago, it came online 20 s ago: the grace runs from then
    seen(absent, GRACE + 0.001, now)
    # ``never`` has no last_seen_at: it never connected live (an API-only client), so presence says nothing about it.

    assert agents_absent_set_offline(now=now) == 1

    assert [status(a) for a in (fresh, boundary, never, away, just_online, absent)] == [
        AgentStatus.ONLINE,
        AgentStatus.ONLINE,
        AgentStatus.ONLINE,
        AgentStatus.AWAY,
        AgentStatus.ONLINE,
        AgentStatus.OFFLINE,
    ]
    assert ServiceEvent.objects.filter(kind=EventKind.AGENT_STATUS).count() == 1
    assert Event.objects.filter(type=EventType.AGENT_STATUS_CHANGED).count() == 1
    # 41 s later the agent who came online has been online and silent for the whole grace (61 s), and so has the one
    # at the boundary (101 s); the fresh one was heard from 51 s before, and the one never connected stays alone.
    assert agents_absent_set_offline(now=now + timedelta(seconds=41)) == 2
    assert [status(a) for a in (fresh, boundary, never, just_online)] == [
        AgentStatus.ONLINE,
        AgentStatus.OFFLINE,
        AgentStatus.ONLINE,
        AgentStatus.OFFLINE,
    ]


def test_a_queued_chat_goes_to_the_online_agent_not_to_the_absent_one(shop):
    now = timezone.now()
    absent = online(shop, now, capacity=1, last_assigned_at=now - timedelta(hours=2))
    present = online(shop, now, capacity=1, last_assigned_at=now - timedelta(hours=1))
    first, second, waiting = start(shop), start(shop), start(shop)
    assert services.transfer_to_human(conversation_id=first.pk).agent_id == absent.pk  # idle longest
    assert services.transfer_to_human(conversation_id=second.pk).agent_id == present.pk
    assert services.transfer_to_human(conversation_id=waiting.pk).outcome == "queued"
    seen(absent, GRACE + 5, now)
    seen(present, 5, now)
    assert agents_absent_set_offline(now=now) == 1

    # The absent agent's seat frees up, but it is offline: the queued chat waits.
    services.conversation_close(conversation_id=first.pk, closed_by=ClosedBy.AGENT)
    assert Conversation.objects.get(pk=waiting.pk).status == ConversationStatus.QUEUED
    assert (active(absent), status(absent)) == (0, AgentStatus.OFFLINE)
    # The online agent's seat frees up: the queued chat is theirs.
    services.conversation_close(conversation_id=second.pk, closed_by=ClosedBy.AGENT)
    assert set(Conversation.objects.filter(pk=waiting.pk).values_list("status", "agent_id")) == {
        (ConversationStatus.HUMAN, present.pk)
    }
    # A new request passes the absent agent by, though it has room and the online one has none.
    assert services.transfer_to_human(conversation_id=start(shop).pk).outcome == "queued"
    assert active(absent) == 0


def test_agents_absent_set_offline_task_twice_changes_the_agent_once(shop):
    now = timezone.now()
    absent = online(shop, now)
    seen(absent, GRACE + 30, now)
    assert agents_absent_set_offline_task.delay().get() == 1
    assert agents_absent_set_offline_task.delay().get() == 0
    assert status(absent) == AgentStatus.OFFLINE
    assert len(status_service_events(absent)) == 1
    assert status_events(absent) == [AgentStatus.OFFLINE]


def test_reconnecting_does_not_set_the_agent_online(shop):
    now = timezone.now()
    absent = online(shop, now)
    seen(absent, GRACE + 1, now)
    agents_absent_set_offline(now=now)

    agent_presence_touch(agent_id=absent.pk)  # the app connects again: connect, then pings

    assert status(absent) == AgentStatus.OFFLINE
    assert agents_absent_set_offline() == 0  # nothing to do for an offline agent, however fresh
    assert status_events(absent) == [AgentStatus.OFFLINE]
    # Coming back online is the agent's own status change.
    services.agent_set_status(agent=absent, status=AgentStatus.ONLINE, actor_id=absent.user_id)
    assert status(absent) == AgentStatus.ONLINE
    assert agents_absent_set_offline() == 0  # just touched: within the grace


def _queries(now) -> int:
    with CaptureQueriesContext(connection) as queries:
        agents_absent_set_offline(now=now)
    return len(queries)


# The batch: its savepoint, the one locking read of up to PRESENCE_SWEEP_BATCH agents, the release.
BATCH_QUERIES = 3
# Each agent's status change (``agent_set_status``), nothing of the sweep's own: two savepoints; the locked read with
# the event's fields; ``full_clean``: the user, the shop and the one-agent-per-login checks (3) and four check
# constraints, each a savepoint, a SELECT and a release (12); the UPDATE; the ``agent.status_changed`` INSERT; a
# release; the service event's INSERT; the refresh; the last release.
STATUS_CHANGE_QUERIES = 2 + 1 + 3 + 12 + 1 + 1 + 1 + 1 + 1 + 1


def test_agents_absent_set_offline_reads_once_per_batch_and_adds_only_the_status_change_per_agent(shop):
    now = timezone.now()
    assert _queries(now) == BATCH_QUERIES  # nobody absent
    one = online(shop, now)
    seen(one, GRACE + 1, now)
    assert _queries(now) == BATCH_QUERIES + STATUS_CHANGE_QUERIES == 27
    three = [online(shop, now) for _ in range(3)]
    for agent in three:
        seen(agent, GRACE + 1, now)
    assert _queries(now) == BATCH_QUERIES + 3 * STATUS_CHANGE_QUERIES == 75


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reconnect_in_flight_wins_over_the_sweep(shop):
    """A ping's UPDATE holding the agent's row when the sweep reads: the sweep skips the agent (``SKIP LOCKED``)
    rather than setting it offline under a fresh ``last_seen_at``; it stays online once the ping commits."""
    now = timezone.now()
    agent = online(shop, now)
    seen(agent, GRACE + 10, now)
    touched, release = threading.Event(), threading.Event()

    def ping():
        try:
            with transaction.atomic():
                agent_presence_touch(agent_id=agent.pk, at=now)
                touched.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=ping)
    thread.start()
    try:
        assert touched.wait(10)
        started = time.monotonic()
        assert agents_absent_set_offline(now=now) == 0
        assert time.monotonic() - started < 5  # skipped, not waited for
    finally:
        release.set()
        thread.join(30)
    assert agents_absent_set_offline(now=now) == 0  # the committed ping: within the grace
    assert status(agent) == AgentStatus.ONLINE
    assert status_service_events(agent) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_set_each_absent_agent_offline_once(shop):
    now = timezone.now()
    agents = [online(shop, now) for _ in range(6)]
    for agent in agents:
        seen(agent, GRACE + 1, now)

    results = run_together(4, lambda: agents_absent_set_offline(now=now))

    assert all(isinstance(result, int) for result in results) and sum(results) == 6, results
    assert set(Agent.objects.filter(pk__in=[a.pk for a in agents]).values_list("status", flat=True)) == {"offline"}
    assert ServiceEvent.objects.filter(kind=EventKind.AGENT_STATUS).count() == 6
    assert Event.objects.filter(type=EventType.AGENT_STATUS_CHANGED).count() == 6
