"""The supervision wall's state (``chats.supervision.wall.wall_state``) on a hand-computed day, against the rollup."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.choices import AgentRole, AgentStatus
from chats.choices import ConversationStatus, Sender
from chats.supervision import wall
from chats.supervision.wall import wall_state
from evaluations.choices import MetricScope
from evaluations.metrics import rollup
from evaluations.metrics.rollup import daily_metric_values
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import BuyerFactory, ShopFactory

pytestmark = pytest.mark.django_db

D = date(2026, 3, 10)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=SHANGHAI)


def local(hour, minute=0, second=0, *, days=0, tz=SHANGHAI):
    return datetime(D.year, D.month, D.day, hour, minute, second, tzinfo=tz) + timedelta(days=days)


def chat(shop, start, script=(), *, agent=None, status=ConversationStatus.ENDED, nick=None, **fields):
    """A chat started at ``start`` with ``(seconds after start, sender[, "auto"])`` messages."""
    conversation = ConversationFactory(
        shop=shop,
        buyer=BuyerFactory(**({"nick": nick} if nick else {})),
        started_at=start,
        agent=agent,
        status=status,
        ended_at=start + timedelta(minutes=30) if status == ConversationStatus.ENDED else None,
        queued_at=fields.pop("queued_at", start if status == ConversationStatus.QUEUED else None),
        **fields,
    )
    for step in script:
        offset, sender = step[0], step[1]
        MessageFactory(
            conversation=conversation,
            sender=sender,
            agent=agent if sender == Sender.AGENT else None,
            is_auto_reply="auto" in step,
            sent_at=start + timedelta(seconds=offset),
        )
    return conversation


@pytest.fixture
def day():
    """The hand-computed day of one shop, seen at 15:00 local time (the comments give each chat's part)."""
    shop = ShopFactory(name="Wall shop")
    an = AgentFactory(shop=shop, display_name="An", status=AgentStatus.ONLINE, capacity=2, active_chats=2)
    li = AgentFactory(shop=shop, display_name="Li", status=AgentStatus.ONLINE, capacity=5, active_chats=2)
    wang = AgentFactory(shop=shop, display_name="Wang", status=AgentStatus.BUSY, capacity=3, active_chats=1)
    AgentFactory(shop=shop, display_name="Zhao", role=AgentRole.OWNER, status=AgentStatus.OFFLINE, capacity=4)
    human = ConversationStatus.HUMAN
    chats = {
        # Ended, first turn in hours: 30 s (within), 180 s exactly (within), 240 s (missed), never answered (missed).
        "fast": chat(shop, local(10), [(0, "buyer"), (30, "agent")], agent=li),
        "edge": chat(shop, local(11), [(0, "buyer"), (180, "agent")], agent=li),
        "slow": chat(shop, local(12), [(0, "buyer"), (240, "agent")], agent=wang),
        "unanswered_ended": chat(shop, local(9, 30), [(0, "buyer")], agent=li),
        # 08:30 is outside 09:00-21:00: not in the rate, in the average first response (100 s).
        "early": chat(shop, local(8, 30), [(0, "buyer"), (100, "agent")], agent=li),
        # Open and waiting. 240 s: missed (rate and wall).
        "missed": chat(shop, local(14, 56), [(0, "buyer")], agent=li, status=human, nick="buyer-missed"),
        # 180 s exactly: still in time, so pending in the rate; past 120 s on the wall.
        "at_180": chat(shop, local(14, 57), [(0, "buyer")], agent=an, status=human, nick="buyer-180"),
        # 130 s: pending, past 120 s.
        "at_risk": chat(shop, local(14, 57, 50), [(0, "buyer")], agent=an, status=human, nick="buyer-130"),
        # 120 s exactly, answered only by an auto-reply (never a response): pending, not yet past 120 s.
        "auto": chat(shop, local(14, 58), [(0, "buyer"), (1, "agent", "auto")], agent=li, status=human),
        # First turn answered in 10 s (within); its second turn has waited 100 s.
        "second_turn": chat(shop, local(13), [(0, "buyer"), (10, "agent"), (7100, "buyer")], agent=wang, status=human),
        # Queued since 14:58, its buyer wrote at 14:59:30 (30 s, pending).
        "queued": chat(
            shop, local(14, 58), [(90, "buyer")], status=ConversationStatus.QUEUED, queued_at=local(14, 58), nick="q"
        ),
        # Queued since 14:55 without a buyer message: in the queue, not waiting for a response.
        "queued_silent": chat(shop, local(14, 55), status=ConversationStatus.QUEUED),
        # Yesterday's: nothing today.
        "yesterday": chat(shop, local(12, days=-1), [(0, "buyer"), (60, "agent")], agent=li),
    }
    other = ShopFactory(name="Other shop")
    other_agent = AgentFactory(shop=other, status=AgentStatus.ONLINE)
    chat(other, local(14, 59), [(0, "buyer")], agent=other_agent, status=human)
    chat(other, local(10), [(0, "buyer"), (500, "agent")], agent=other_agent)
    chat(other, local(14), status=ConversationStatus.QUEUED)
    return shop, chats


def test_wall_state_shows_agents_online_first_with_their_seats(day):
    shop, _ = day
    state = wall_state(shop=shop, now=NOW)
    assert [(a["name"], a["status"], a["active_chats"], a["capacity"]) for a in state["agents"]] == [
        ("An", "online", 2, 2),
        ("Li", "online", 2, 5),
        ("Wang", "busy", 1, 3),
        ("Zhao", "offline", 0, 4),
    ]
    assert state["seats"] == {"agents": 4, "online": 2, "online_capacity": 7, "online_active_chats": 4}


def test_wall_state_lists_chats_waiting_longest_first_with_their_levels(day):
    shop, chats = day
    state = wall_state(shop=shop, now=NOW)
    waiting = [
        (row["conversation_id"], row["waited_seconds"], row["level"], row["turn"], row["status"])
        for row in state["waiting"]
    ]
    assert waiting == [
        (chats["missed"].pk, 240.0, "missed", 1, "human"),
        (chats["at_180"].pk, 180.0, "at_risk", 1, "human"),  # exactly 180 s is still in time
        (chats["at_risk"].pk, 130.0, "at_risk", 1, "human"),
        (chats["auto"].pk, 120.0, "ok", 1, "human"),  # exactly 120 s is not past it; the auto-reply is no answer
        (chats["second_turn"].pk, 100.0, "ok", 2, "human"),
        (chats["queued"].pk, 30.0, "ok", 1, "queued"),
    ]
    first = state["waiting"][0]
    assert first["since"] == local(14, 56)
    assert first["agent"]["name"] == "Li" and first["buyer_nick"] == "buyer-missed" and first["first_turn"]
    assert state["waiting"][-1]["agent"] is None
    assert state["waiting_counts"] == {"waiting": 6, "past_at_risk": 3, "past_missed": 1}


def test_wall_state_queue_length_and_oldest_wait(day):
    shop, chats = day
    queue = wall_state(shop=shop, now=NOW)["queue"]
    assert queue == {"length": 2, "oldest_since": local(14, 55), "oldest_wait_seconds": 300.0}


def test_wall_state_today_counts_pending_first_turns_in_neither_part_of_the_rate(day):
    shop, _ = day
    today = wall_state(shop=shop, now=NOW)["today"]
    # In hours: answered within 180 s fast, edge, second_turn (3); missed slow, unanswered_ended, missed (3); pending
    # at_180, at_risk, auto, queued (4). Answered first turns of the day: 30, 180, 240, 100 (early), 10.
    assert today == {
        "date": D,
        "first_turns_in_hours": 10,
        "answered_3m": 3,
        "missed_3m": 3,
        "pending_3m": 4,
        "response_rate_3m": 0.5,
        "first_responses": 5,
        "avg_first_response_seconds": pytest.approx(112.0),
    }


def test_wall_state_today_equals_the_rollup_once_nothing_is_pending(day):
    """At 23:00 every first turn of the day is decided: the wall's figures are the daily rollup's."""
    shop, _ = day
    late = local(23)
    today = wall_state(shop=shop, now=late)["today"]
    assert (today["answered_3m"], today["missed_3m"], today["pending_3m"]) == (3, 7, 0)
    (metric,) = [
        row
        for row in daily_metric_values(day=D, shop_ids=[shop.pk], now=late)
        if row["scope"] == MetricScope.SHOP and row["shop_id"] == shop.pk
    ]
    assert today["response_rate_3m"] == pytest.approx(metric["response_rate_3m"]) == pytest.approx(0.3)
    assert today["first_turns_in_hours"] == metric["first_turns_in_hours"] == 10
    assert today["answered_3m"] == metric["first_turns_answered_3m"]
    assert today["avg_first_response_seconds"] == pytest.approx(metric["avg_first_response_seconds"])
    assert today["first_responses"] == 5


def test_wall_rule_constants_are_the_metrics_ones():
    assert wall.RESPONSE_WITHIN_SECONDS == rollup.RESPONSE_WITHIN_SECONDS
    assert wall.SERVICE_HOURS == rollup.SERVICE_HOURS


def test_wall_state_today_is_the_shops_local_day():
    shop = ShopFactory(timezone="America/New_York")
    agent = AgentFactory(shop=shop)
    tz = ZoneInfo("America/New_York")
    now = datetime(2026, 3, 10, 10, 0, tzinfo=tz)
    chat(shop, datetime(2026, 3, 9, 23, 30, tzinfo=tz), [(0, "buyer"), (20, "agent")], agent=agent)  # yesterday there
    chat(shop, datetime(2026, 3, 10, 0, 10, tzinfo=tz), [(0, "buyer"), (40, "agent")], agent=agent)  # out of hours
    chat(shop, datetime(2026, 3, 10, 9, 0, tzinfo=tz), [(0, "buyer"), (200, "agent")], agent=agent)  # 09:00: in, missed
    today = wall_state(shop=shop, now=now)["today"]
    assert today["date"] == date(2026, 3, 10)
    assert (today["first_turns_in_hours"], today["answered_3m"], today["missed_3m"]) == (1, 0, 1)
    assert today["response_rate_3m"] == 0.0
    assert today["avg_first_response_seconds"] == pytest.approx(120.0)  # (40 + 200) / 2


def test_wall_state_of_an_empty_shop():
    shop = ShopFactory()
    state = wall_state(shop=shop, now=datetime(2026, 3, 10, 7, tzinfo=UTC))
    assert state["agents"] == [] and state["waiting"] == []
    assert state["queue"] == {"length": 0, "oldest_since": None, "oldest_wait_seconds": None}
    assert state["today"]["response_rate_3m"] is None and state["today"]["avg_first_response_seconds"] is None
    assert state["waiting_counts"] == {"waiting": 0, "past_at_risk": 0, "past_missed": 0}


def test_wall_state_lists_at_most_the_limit_and_counts_every_waiting_chat(day, monkeypatch):
    shop, chats = day
    monkeypatch.setattr(wall, "WAITING_LIMIT", 2)
    state = wall_state(shop=shop, now=NOW)
    assert [row["conversation_id"] for row in state["waiting"]] == [chats["missed"].pk, chats["at_180"].pk]
    assert state["waiting_counts"]["waiting"] == 6


def test_wall_state_query_count_is_flat_as_rows_grow(day):
    shop, _ = day

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            wall_state(shop=shop, now=NOW)
        return len(ctx.captured_queries)

    before = queries()
    agent = AgentFactory(shop=shop, status=AgentStatus.ONLINE)
    for minute in range(10):
        chat(shop, local(14, 50 + minute % 10), [(0, "buyer")], agent=agent, status=ConversationStatus.HUMAN)
        chat(shop, local(11, minute), [(0, "buyer"), (20, "agent")], agent=agent)
        chat(shop, local(14, minute), status=ConversationStatus.QUEUED)
    assert queries() == before == 3
