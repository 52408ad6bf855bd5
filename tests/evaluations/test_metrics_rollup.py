"""Daily metric rollups on hand-computed scenarios: every metric and the edge cases DESIGN.md names."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chats.choices import ConversationStatus, Sender
from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from evaluations.services import daily_metrics_rollup
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

D = date(2024, 5, 6)
SHANGHAI = ZoneInfo("Asia/Shanghai")
LATER = datetime(2024, 6, 1, tzinfo=UTC)  # every window of D has closed: rows are final


def local(hour, minute=0, second=0, *, days=0, tz=SHANGHAI):
    return datetime(D.year, D.month, D.day, hour, minute, second, tzinfo=tz) + timedelta(days=days)


def chat(shop, start, script=(), *, agent=None, group=None, phase="pre_sales", ended=True, **fields):
    """A conversation started at ``start`` with ``(seconds after start, sender[, "auto"/"emoji"])`` messages."""
    conversation = ConversationFactory(
        shop=shop,
        started_at=start,
        agent=agent,
        group=group,
        phase=phase,
        status=ConversationStatus.ENDED if ended else ConversationStatus.BOT,
        ended_at=start + timedelta(hours=1) if ended else None,
        **fields,
    )
    for step in script:
        offset, sender = step[0], step[1]
        MessageFactory(
            conversation=conversation,
            sender=sender,
            agent=(step[3] if len(step) > 3 else agent) if sender == Sender.AGENT else None,
            body="👍" if "emoji" in step else f"{sender} +{offset}s",
            is_auto_reply="auto" in step,
            sent_at=start + timedelta(seconds=offset),
        )
    return conversation


def row(shop, scope=MetricScope.SHOP, **dimension):
    return DailyMetric.objects.get(shop=shop, date=D, scope=scope, **dimension)


def test_response_rate_hours_boundaries_auto_replies_official_and_emoji():
    shop = ShopFactory()
    a, b = AgentFactory(shop=shop), AgentFactory(shop=shop)
    chat(shop, local(8, 59, 30), [(29, "buyer"), (39, "agent")], agent=a)  # first turn 08:59:59: outside 09-21
    chat(shop, local(9), [(0, "buyer"), (180, "agent"), (600, "buyer"), (640, "agent")], agent=a)  # 09:00 in, 180 s in
    chat(shop, local(12), [(0, "buyer"), (181, "agent")], agent=b)  # 181 s: missed
    chat(  # 20:59:59 in; the auto-reply and the official message do not answer, the emoji does
        shop,
        local(20, 59, 59),
        [(0, "buyer"), (5, "agent", "auto"), (6, "official"), (100, "agent", "emoji")],
        agent=a,
    )
    chat(shop, local(21), [(0, "buyer"), (30, "agent")], agent=a)  # 21:00:00 is out
    chat(shop, local(15), [(0, "official"), (10, "buyer")], agent=a)  # never answered: missed

    assert daily_metrics_rollup(day=D, now=LATER) == 1 + 2 + 1  # shop, two agents, one phase
    metrics = row(shop)
    assert metrics.conversations == 6
    assert (metrics.first_turns_in_hours, metrics.first_turns_answered_3m) == (4, 2)
    assert metrics.response_rate_3m == 0.5
    # answered turns of D: 10, 180, 40, 181, 100, 30 seconds
    assert (metrics.responded_turns, metrics.response_seconds_total) == (6, 541.0)
    assert metrics.avg_response_seconds == pytest.approx(541 / 6)
    assert (metrics.first_responses, metrics.first_response_seconds_total) == (5, 501.0)
    assert metrics.avg_first_response_seconds == pytest.approx(100.2)
    assert metrics.unanswered_turns == 1
    agent_a = row(shop, MetricScope.AGENT, agent=a)
    assert (agent_a.conversations, agent_a.responded_turns, agent_a.avg_response_seconds) == (5, 5, 72.0)
    assert (agent_a.first_turns_in_hours, agent_a.first_turns_answered_3m, agent_a.unanswered_turns) == (3, 2, 1)
    assert row(shop, MetricScope.AGENT, agent=b).avg_response_seconds == 181.0
    assert row(shop, MetricScope.PHASE, phase="pre_sales").conversations == 6
