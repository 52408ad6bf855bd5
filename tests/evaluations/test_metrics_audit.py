"""Audit of the daily rollups against DESIGN.md, "Service diagnosis metrics", to the letter: hand-computed cases
where the computed numbers used to differ from the definition."""

from datetime import timedelta

import pytest

from chats.choices import Sender
from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from evaluations.services import daily_metrics_rollup
from tests.agents.factories import AgentFactory
from tests.evaluations.test_metrics_rollup import LATER, D, chat, local, row
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_three_minute_rate_follows_the_first_buyer_message_not_the_chat_start():
    """DESIGN: "among conversations whose first buyer message falls between 09:00 and 21:00 local time on D".

    A chat the merchant opened the evening before, whose buyer first writes on D at 10:00, belongs to D's
    3-minute rate; a chat opened on D whose buyer first writes on D+1 at 09:30 belongs to D+1's, not D's.
    """
    shop = ShopFactory()
    a = AgentFactory(shop=shop)
    # Opened by the merchant on D-1 at 20:00; the buyer first writes on D at 10:00, answered in 60 s: D, fast.
    chat(
        shop,
        local(20, days=-1),
        [(0, Sender.AGENT), (14 * 3600, Sender.BUYER), (14 * 3600 + 60, Sender.AGENT)],
        agent=a,
        ended=False,
    )
    # Opened on D at 08:30 by the merchant; the buyer first writes on D+1 at 09:30, answered in 300 s: D+1, missed.
    chat(
        shop,
        local(8, 30),
        [(0, Sender.AGENT), (25 * 3600, Sender.BUYER), (25 * 3600 + 300, Sender.AGENT)],
        agent=a,
        ended=False,
    )
    # An ordinary chat of D: the buyer writes at 11:00, answered in 200 s: D, missed.
    chat(shop, local(11), [(0, Sender.BUYER), (200, Sender.AGENT)], agent=a)

    for day in (D - timedelta(days=1), D, D + timedelta(days=1)):
        daily_metrics_rollup(day=day, now=LATER)

    metrics = row(shop)
    assert metrics.conversations == 2  # the chats opened on D
    assert (metrics.first_turns_in_hours, metrics.first_turns_answered_3m) == (2, 1)  # the merchant's and 11:00
    assert metrics.response_rate_3m == 0.5
    agent_a = row(shop, MetricScope.AGENT, agent=a)
    assert (agent_a.first_turns_in_hours, agent_a.first_turns_answered_3m) == (2, 1)
    assert row(shop, MetricScope.SERVED_BY, served_by="bot").first_turns_in_hours == 2  # neither reached a human

    before = DailyMetric.objects.get(shop=shop, date=D - timedelta(days=1), scope=MetricScope.SHOP)
    assert (before.conversations, before.first_turns_in_hours, before.response_rate_3m) == (1, 0, None)
    after = DailyMetric.objects.get(shop=shop, date=D + timedelta(days=1), scope=MetricScope.SHOP)
    assert (after.conversations, after.first_turns_in_hours, after.first_turns_answered_3m) == (0, 1, 0)
    assert after.response_rate_3m == 0.0


def test_seven_day_pool_is_the_same_when_the_shops_come_as_a_generator():
    """DESIGN: the badge pools D-6..D. ``daily_metric_values`` read ``shop_ids`` twice, so a generator gave the
    shops of D but no stored day before D: the 7-day figures were D's alone."""
    from evaluations.metrics import daily_metric_values

    shop = ShopFactory()
    DailyMetric.objects.create(
        shop=shop, date=D - timedelta(days=1), scope=MetricScope.SHOP, first_turns_in_hours=4, first_turns_answered_3m=1
    )
    chat(shop, local(10), [(0, Sender.BUYER), (60, Sender.AGENT)], agent=AgentFactory(shop=shop))
    [values] = [v for v in daily_metric_values(day=D, shop_ids=iter([shop.pk]), now=LATER) if v["scope"] == "shop"]
    assert (values["first_turns_in_hours_7d"], values["first_turns_answered_3m_7d"]) == (5, 2)
    assert values["response_rate_3m_7d"] == 0.4
    assert values["fast_response_badge"] is False


def test_fcr_a_buyer_who_clicks_transfer_to_human_started_the_service_even_if_the_agent_greets_first():
    """DESIGN: "human after-sales services on D that the buyer started (merchant-started contacts excluded; a
    bot-to-human ... transfer continues the same service)".

    The buyer opens a bot chat and clicks 转人工 without typing; the assigned agent greets first. The rollup used to
    take the agent's greeting for a merchant-started contact and drop the service, and the buyer's second such chat
    within 72 hours was not seen as a repeat either.
    """
    from tests.shops.factories import BuyerFactory

    shop = ShopFactory()
    a = AgentFactory(shop=shop)
    x, y = BuyerFactory(), BuyerFactory()

    def clicked(buyer, start):  # bot greeting, the click at +3 s, assigned at +4 s, the agent greets, the buyer asks
        return chat(
            shop,
            start,
            [(0, Sender.BOT), (10, Sender.AGENT), (60, Sender.BUYER), (90, Sender.AGENT)],
            agent=a,
            buyer=buyer,
            phase="after_sales",
            transfer_entry_visible=True,
            buyer_exposed=True,
            transfer_requested_at=start + timedelta(seconds=3),
            assigned_at=start + timedelta(seconds=4),
        )

    clicked(x, local(10))  # ends 11:00 on D: a service of D
    clicked(x, local(10, days=1))  # 23 hours after it ended: a repeat
    clicked(y, local(12))  # y's service of D, not repeated
    # A real merchant-started contact: no click, the agent writes first. Still excluded.
    chat(
        shop,
        local(14),
        [(0, Sender.AGENT), (60, Sender.BUYER), (90, Sender.AGENT)],
        agent=a,
        buyer=BuyerFactory(),
        phase="after_sales",
        assigned_at=local(14),
    )

    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.fcr_services, metrics.fcr_repeated, metrics.fcr_open) == (2, 1, 0)
    assert metrics.fcr_3d == 0.5
    assert (metrics.transfer_entry_shown, metrics.transfer_requests, metrics.transfer_rate) == (2, 2, 1.0)
    assert row(shop, MetricScope.AGENT, agent=a).fcr_3d == 0.5
