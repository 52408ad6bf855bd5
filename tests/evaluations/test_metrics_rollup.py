"""Daily metric rollups on hand-computed scenarios: every metric and the edge cases DESIGN.md names."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chats.choices import ConversationStatus, Sender
from chats.models import Conversation
from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from evaluations.services import daily_metrics_rollup
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.shops.factories import BuyerFactory, ShopFactory

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

    assert daily_metrics_rollup(day=D, now=LATER) == 1 + 2 + 1 + 1  # shop, two agents, one phase, one served-by
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


def _service(shop, buyer, start, *, agents, first=Sender.BUYER, phase="after_sales", human=True, hours=1):
    """A human after-sales chat; ``first`` says who wrote first (an agent: a merchant-started contact)."""
    script = [(0, Sender.BOT), (5, first), (60, Sender.AGENT if first == Sender.BUYER else Sender.BUYER)]
    if not human:
        script = [(0, Sender.BOT), (5, Sender.BUYER), (6, Sender.BOT)]
    conversation = chat(
        shop,
        start,
        script,
        agent=agents[-1] if human else None,
        phase=phase,
        buyer=buyer,
        assigned_at=start + timedelta(seconds=4) if human else None,
    )
    conversation.ended_at = start + timedelta(hours=hours)
    conversation.save(update_fields=["ended_at"])
    return conversation


def test_fcr_72_hour_edge_merchant_started_transfers_and_finality():
    shop = ShopFactory()
    a, b = AgentFactory(shop=shop), AgentFactory(shop=shop)
    x, y, z, w, v, u = (BuyerFactory() for _ in range(6))
    first_x = _service(shop, x, local(10), agents=[a])  # ends 11:00
    _service(shop, x, local(11, days=3), agents=[a])  # exactly 72 h after: repeated
    _service(shop, y, local(10), agents=[a])  # ends 11:00
    _service(shop, y, local(11, 0, 1, days=3), agents=[a])  # 72 h and 1 s after: outside the window
    _service(shop, z, local(12), agents=[a], first=Sender.AGENT)  # merchant-started: no service
    _service(shop, z, local(14), agents=[a])  # z's own service, not repeated (z's earlier contact does not count)
    _service(shop, w, local(13), agents=[a], human=False)  # never reached a human
    _service(shop, v, local(13), agents=[a], phase="pre_sales")  # pre-sales
    _service(shop, u, local(15), agents=[a, b])  # transferred a -> b inside one service: one service, b's
    assert first_x.agent == a

    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.fcr_services, metrics.fcr_repeated, metrics.fcr_open) == (4, 1, 0)
    assert metrics.fcr_3d == 0.75
    assert metrics.fcr_final and metrics.satisfaction_final and metrics.final
    assert (row(shop, MetricScope.AGENT, agent=b).fcr_services, row(shop, MetricScope.AGENT, agent=b).fcr_3d) == (
        1,
        1.0,
    )
    after_sales = row(shop, MetricScope.PHASE, phase="after_sales")
    assert (after_sales.fcr_services, after_sales.fcr_3d) == (4, 0.75)
    assert row(shop, MetricScope.PHASE, phase="pre_sales").fcr_3d is None

    # Two days later the 72-hour windows are still open: provisional, and satisfaction is final from D+2 00:00.
    daily_metrics_rollup(day=D, now=local(0, days=2))
    metrics = row(shop)
    assert (metrics.fcr_open, metrics.fcr_final, metrics.satisfaction_final, metrics.final) == (4, False, True, False)
    daily_metrics_rollup(day=D, now=local(23, 59, 59, days=1))
    assert row(shop).satisfaction_final is False


def test_resolution_rate_counts_seekers_once_and_clamps():
    from shops.choices import AfterSalesEventKind as Kind
    from tests.shops.factories import AfterSalesEventFactory

    shop, crowded = ShopFactory(), ShopFactory()
    b1, b2, b3, b4, b5, b6 = (BuyerFactory() for _ in range(6))
    chat(shop, local(10), buyer=b1, phase="after_sales")  # after-sales chat ...
    AfterSalesEventFactory(shop=shop, buyer=b1, kind=Kind.REFUND_REQUEST, occurred_at=local(11))  # ... and a refund
    AfterSalesEventFactory(shop=shop, buyer=b2, kind=Kind.COMPLAINT, occurred_at=local(12))
    AfterSalesEventFactory(shop=shop, buyer=b3, kind=Kind.REFUND_REQUEST, occurred_at=local(9))
    AfterSalesEventFactory(shop=shop, buyer=b3, kind=Kind.REFUND_REQUEST, occurred_at=local(18))
    chat(shop, local(10), buyer=b4, phase="after_sales")  # S = 4 buyers: b1, b2, b3, b4
    chat(shop, local(10, days=-10), buyer=b5)  # b5 contacted the shop 10 days before consulting the platform
    AfterSalesEventFactory(shop=shop, buyer=b5, kind=Kind.PLATFORM_CONSULTATION, occurred_at=local(16))
    chat(shop, local(15, days=-15), buyer=b6)  # 15 days and 1 hour before: too long ago
    AfterSalesEventFactory(shop=shop, buyer=b6, kind=Kind.PLATFORM_CONSULTATION, occurred_at=local(16))
    AfterSalesEventFactory(shop=shop, buyer=b2, kind=Kind.REFUND_REQUEST, occurred_at=local(0, days=1))  # D+1

    AfterSalesEventFactory(shop=crowded, buyer=b1, kind=Kind.COMPLAINT, occurred_at=local(10))
    AfterSalesEventFactory(shop=crowded, buyer=b1, kind=Kind.DISPUTE, occurred_at=local(11))
    AfterSalesEventFactory(shop=crowded, buyer=b2, kind=Kind.COMPLAINT_INTERVENTION, occurred_at=local(11))

    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.resolution_seekers, metrics.platform_consultations, metrics.disputes) == (4, 1, 0)
    assert metrics.resolution_rate == 0.75
    crowded_metrics = row(crowded)
    assert (crowded_metrics.resolution_seekers, crowded_metrics.disputes, crowded_metrics.complaint_interventions) == (
        1,
        1,
        1,
    )
    assert crowded_metrics.resolution_rate == 0.0  # 1 - 2/1, clamped
    assert row(shop, MetricScope.PHASE, phase="after_sales").resolution_rate is None  # a shop-level figure


def test_ratings_belong_to_the_day_the_invite_was_sent():
    from tests.evaluations.factories import EvaluationFactory, RatingInviteFactory

    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    served = chat(shop, local(22), agent=agent)
    late = RatingInviteFactory(conversation=served, sent_at=local(23))
    EvaluationFactory(conversation=served, invite=late, channel="system", score=5, answered_at=local(9, days=1))
    same_day = RatingInviteFactory(conversation=chat(shop, local(10), agent=agent), sent_at=local(11))
    EvaluationFactory(conversation=same_day.conversation, invite=same_day, channel="system", score=2)
    yesterday = RatingInviteFactory(conversation=chat(shop, local(22, days=-1)), sent_at=local(23, 30, days=-1))
    EvaluationFactory(conversation=yesterday.conversation, invite=yesterday, channel="system", score=1)
    ended_today = chat(shop, local(20), agent=agent)  # ends 21:00 on D: its self rating is D's
    EvaluationFactory(conversation=ended_today, channel="self", score=4, answered_at=local(8, days=3))

    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.ratings, metrics.satisfied_ratings) == (3, 2)
    assert metrics.satisfaction_rate == pytest.approx(2 / 3)
    assert row(shop, MetricScope.AGENT, agent=agent).ratings == 3


def test_transfer_rate_for_exposed_and_unexposed_buyers():
    shop = ShopFactory()
    bot = [(0, Sender.BOT), (3, Sender.BUYER), (4, Sender.BOT)]
    for requested in (True, False, False, False):
        chat(
            shop,
            local(10),
            bot,
            transfer_entry_visible=True,
            buyer_exposed=True,
            transfer_requested_at=local(10, 1) if requested else None,
        )
    chat(shop, local(11), bot, buyer_exposed=False)
    chat(shop, local(11), bot, buyer_exposed=False)
    chat(shop, local(11), [(0, Sender.BUYER), (9, Sender.AGENT)], agent=AgentFactory(shop=shop))  # no bot
    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.transfer_requests, metrics.transfer_entry_shown, metrics.transfer_rate) == (1, 4, 0.25)
    assert (metrics.transfer_requests_unexposed, metrics.bot_conversations_unexposed) == (0, 2)
    assert metrics.transfer_rate_unexposed == 0.0


def test_shops_in_two_time_zones_get_their_own_local_day():
    tokyo = ShopFactory(timezone="Asia/Tokyo")
    los_angeles = ShopFactory(timezone="America/Los_Angeles")
    moment = datetime(2024, 5, 6, 16, 30, tzinfo=UTC)  # Tokyo: 05-07 01:30; Los Angeles: 05-06 09:30
    for shop in (tokyo, los_angeles):
        chat(shop, moment, [(0, Sender.BUYER), (60, Sender.AGENT)], agent=AgentFactory(shop=shop))
    daily_metrics_rollup(day=D, now=LATER)
    daily_metrics_rollup(day=D + timedelta(days=1), now=LATER)
    assert row(los_angeles).conversations == 1
    assert (row(los_angeles).first_turns_in_hours, row(los_angeles).response_rate_3m) == (1, 1.0)
    assert row(tokyo).conversations == 0
    tokyo_next = DailyMetric.objects.get(shop=tokyo, date=D + timedelta(days=1), scope=MetricScope.SHOP)
    assert (tokyo_next.conversations, tokyo_next.first_turns_in_hours, tokyo_next.avg_response_seconds) == (1, 0, 60.0)


def test_shops_split_over_several_statements_get_the_same_rows(monkeypatch):
    """Many shops are rolled up in statements of ``SHOPS_PER_STATEMENT`` shops each; the rows do not depend on it."""
    from evaluations.metrics import daily_metric_values, rollup

    shops = [ShopFactory(), ShopFactory(timezone="Asia/Tokyo"), ShopFactory()]
    for n, shop in enumerate(shops):
        agent = AgentFactory(shop=shop)
        chat(shop, local(10 + n), [(0, Sender.BUYER), (60 * (n + 1), Sender.AGENT)], agent=agent)
        DailyMetric.objects.create(
            shop=shop, date=D - timedelta(days=1), scope=MetricScope.SHOP, first_turns_in_hours=2 + n
        )

    def rows():
        key = ("shop_id", "scope", "agent_id", "group_id", "phase", "served_by")
        return sorted(daily_metric_values(day=D, now=LATER), key=lambda values: tuple(str(values[k]) for k in key))

    whole = rows()
    monkeypatch.setattr(rollup, "SHOPS_PER_STATEMENT", 2)
    assert len(rollup.daily_metric_statements(day=D, now=LATER)) == 2
    assert rows() == whole
    shop_rows = {values["shop_id"]: values for values in whole if values["scope"] == MetricScope.SHOP}
    assert [shop_rows[shop.pk]["first_turns_in_hours_7d"] for shop in shops] == [3, 4, 5]
    assert [shop_rows[shop.pk]["avg_response_seconds"] for shop in shops] == [60.0, 120.0, 180.0]
    # Written in two statements, each deleting the rows of its own shops that it no longer gives, and only those.
    stale = [AgentFactory(shop=shop) for shop in shops]
    for agent in stale:
        DailyMetric.objects.create(shop=agent.shop, date=D, scope=MetricScope.AGENT, agent=agent)
    kept = DailyMetric.objects.create(
        shop=shops[2], date=D + timedelta(days=1), scope=MetricScope.AGENT, agent=stale[2]
    )
    assert daily_metrics_rollup(day=D, now=LATER) == len(whole) == 12  # a shop, agent, phase and served-by row each
    assert not DailyMetric.objects.filter(date=D, agent__in=stale).exists()
    assert DailyMetric.objects.filter(date=D).count() == 12 and DailyMetric.objects.filter(pk=kept.pk).exists()


def test_turns_count_on_the_day_they_start():
    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    chat(
        shop,
        local(23, 58),
        [(0, Sender.BUYER), (30, Sender.AGENT), (200, Sender.BUYER), (260, Sender.AGENT)],
        agent=agent,
    )
    daily_metrics_rollup(day=D, now=LATER)
    daily_metrics_rollup(day=D + timedelta(days=1), now=LATER)
    assert (row(shop).conversations, row(shop).responded_turns, row(shop).avg_response_seconds) == (1, 1, 30.0)
    next_day = DailyMetric.objects.get(shop=shop, date=D + timedelta(days=1), scope=MetricScope.SHOP)
    assert (next_day.conversations, next_day.responded_turns, next_day.avg_response_seconds) == (0, 1, 60.0)


def _values(rows):
    skip = {"id"}
    return sorted(
        (tuple((k, v) for k, v in vars(r).items() if k not in skip and not k.startswith("_")) for r in rows), key=str
    )


def test_rerunning_a_day_writes_identical_rows():
    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    group = RoutingGroupFactory(shop=shop, members=[agent])
    chat(shop, local(10), [(0, Sender.BUYER), (100, Sender.AGENT)], agent=agent, group=group)
    _service(shop, BuyerFactory(), local(11), agents=[agent])
    daily_metrics_rollup(day=D, now=LATER)
    first = _values(DailyMetric.objects.all())
    ids = set(DailyMetric.objects.values_list("pk", flat=True))
    assert daily_metrics_rollup(day=D, now=LATER) == len(first) == 7  # shop, agent, group, two phases, bot and human
    assert _values(DailyMetric.objects.all()) == first
    assert set(DailyMetric.objects.values_list("pk", flat=True)) == ids  # updated in place: the same rows
    other = ShopFactory()
    daily_metrics_rollup(day=D, shop_ids=[other.pk], now=LATER)  # one shop: the others' rows stay
    assert DailyMetric.objects.filter(shop=shop).count() == 7
    assert row(shop, MetricScope.GROUP, group=group).avg_response_seconds == 100.0


def test_a_rerun_updates_the_rows_it_keeps_adds_new_ones_and_deletes_those_left_with_nothing():
    shop = ShopFactory()
    a, b = AgentFactory(shop=shop), AgentFactory(shop=shop)
    first = chat(shop, local(10), [(0, Sender.BUYER), (60, Sender.AGENT)], agent=a)
    chat(shop, local(11), agent=b)  # b's chat has no messages: b's row counts only the conversation
    other = ShopFactory()
    chat(other, local(12), agent=AgentFactory(shop=other))
    daily_metrics_rollup(day=D, now=LATER)
    shop_row, a_row, others = row(shop), row(shop, MetricScope.AGENT, agent=a), set(other.daily_metrics.all())
    assert row(shop, MetricScope.AGENT, agent=b).conversations == 1
    Conversation.objects.filter(shop=shop, agent=b).update(agent=None)  # b no longer had that chat
    chat(shop, local(13), [(0, Sender.BUYER)], phase="after_sales")  # a new phase row
    # shop, a, two phases, bot-served (the factory's chats never reached a human)
    assert daily_metrics_rollup(day=D, shop_ids=[shop.pk], now=LATER + timedelta(hours=1)) == 5
    assert not DailyMetric.objects.filter(shop=shop, scope=MetricScope.AGENT, agent=b).exists()  # deleted
    assert row(shop).pk == shop_row.pk and row(shop).conversations == 3 and row(shop).computed_at > LATER
    assert row(shop, MetricScope.AGENT, agent=a).pk == a_row.pk
    assert row(shop, MetricScope.AGENT, agent=a).conversations == 1 == first.agent.daily_metrics.count()
    assert row(shop, MetricScope.PHASE, phase="after_sales").conversations == 1
    assert set(other.daily_metrics.all()) == others  # another shop's rows are not touched
    assert DailyMetric.objects.filter(shop=shop).count() == 5


@pytest.mark.postgres
def test_a_rollup_inside_a_callers_transaction_leaves_its_planner_settings_as_it_found_them():
    from django.db import connection, transaction

    chat(ShopFactory(), local(10), [(0, Sender.BUYER), (60, Sender.BOT)])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = on")
        cursor.execute("SET LOCAL jit = on")
        assert daily_metrics_rollup(day=D, now=LATER) == 3  # shop, phase, bot-served
        cursor.execute("SELECT current_setting('enable_sort'), current_setting('jit')")
        assert cursor.fetchone() == ("on", "on")  # the rollup's own statements ran without sorts and JIT


def test_reception_volume_and_tier_match_the_rollout_figure():
    from chats.lifecycle.conversations import shop_daily_reception_volume

    shop = ShopFactory()
    for days in range(1, 31):  # 45 chats in the 30 days before D
        for _ in range(2 if days <= 15 else 1):
            chat(shop, local(12, days=-days))
    chat(shop, local(23, 59, days=-31))  # too early
    chat(shop, local(0))  # D itself is excluded
    daily_metrics_rollup(day=D, now=LATER)
    assert row(shop).reception_volume == 1.5 == shop_daily_reception_volume(shop=shop, at=local(12))
    assert row(shop).reception_tier == "<100"


def test_reception_volume_reads_the_stored_days_when_all_thirty_were_computed_after_they_ended():
    """The 30-day volume sums the stored shop rows' ``conversations`` (a day's chats are all there once it is over);
    a row computed before its day ended may be short, so that shop is counted from its chats instead."""
    shop, other = ShopFactory(), ShopFactory()
    for days in range(1, 31):  # stored: 4 chats a day for shop (120 in all), 2 for other, each computed next noon
        for owner, started in ((shop, 4), (other, 2)):
            DailyMetric.objects.create(
                shop=owner,
                date=D - timedelta(days=days),
                scope=MetricScope.SHOP,
                conversations=started,
                computed_at=local(12, days=1 - days),
            )
    early = DailyMetric.objects.get(shop=other, date=D - timedelta(days=3))
    early.computed_at = local(23, days=-3)  # during its own day: not trusted
    early.save()
    for days in (2, 5, 9):  # what other's chats really are: 3 in the window
        chat(other, local(10, days=-days))
    chat(shop, local(10, days=-1))  # not counted for shop: its stored rows are complete
    daily_metrics_rollup(day=D, now=LATER)
    assert row(shop).reception_volume == 120 / 30 == 4.0
    assert row(other).reception_volume == 3 / 30 == 0.1


def test_seven_day_badge_and_stars_pool_the_counts():
    shop = ShopFactory()
    for days in range(1, 7):  # D-6..D-1: 10 first turns in hours each, 8 answered; 4 ratings, 4 satisfied
        DailyMetric.objects.create(
            shop=shop,
            date=D - timedelta(days=days),
            scope=MetricScope.SHOP,
            first_turns_in_hours=10,
            first_turns_answered_3m=8,
            ratings=4,
            satisfied_ratings=4,
        )
    DailyMetric.objects.create(
        shop=shop, date=D - timedelta(days=7), scope=MetricScope.SHOP, first_turns_in_hours=100
    )  # D-7: outside the 7 days
    agent = AgentFactory(shop=shop)
    chat(shop, local(10), [(0, Sender.BUYER), (500, Sender.AGENT)], agent=agent)  # missed: 48 of 61
    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.first_turns_in_hours_7d, metrics.first_turns_answered_3m_7d) == (61, 48)
    assert metrics.response_rate_3m_7d == pytest.approx(48 / 61)  # 0.787: no badge
    assert metrics.fast_response_badge is False
    assert (metrics.ratings_7d, metrics.satisfaction_rate_7d, metrics.stars) == (24, 1.0, 3)

    chat(shop, local(11), [(0, Sender.BUYER), (5, Sender.AGENT)], agent=agent)
    chat(shop, local(12), [(0, Sender.BUYER), (5, Sender.AGENT)], agent=agent)  # 50 of 63 = 0.794
    chat(shop, local(13), [(0, Sender.BUYER), (5, Sender.AGENT)], agent=agent)  # 51 of 64 = 0.797
    chat(shop, local(14), [(0, Sender.BUYER), (5, Sender.AGENT)], agent=agent)  # 52 of 65 = 0.8
    daily_metrics_rollup(day=D, now=LATER)
    metrics = row(shop)
    assert (metrics.first_turns_in_hours_7d, metrics.first_turns_answered_3m_7d) == (65, 52)
    assert metrics.fast_response_badge is True  # exactly 80%
    assert metrics.stars == 4  # 80% and 100%: 4 stars; 5 needs 90% and 90%


def _rolled_up_over(in_hours: int, answered_3m: int, ratings: int, satisfied: int) -> DailyMetric:
    """The shop row the rollup gives a shop whose D-6..D-1 hold ``in_hours`` first turns in hours (``answered_3m``
    answered within 180 s) and ``ratings`` ratings (``satisfied`` satisfied), with nothing on D."""
    shop = ShopFactory()
    DailyMetric.objects.create(
        shop=shop,
        date=D - timedelta(days=1),
        scope=MetricScope.SHOP,
        first_turns_in_hours=in_hours,
        first_turns_answered_3m=answered_3m,
        ratings=ratings,
        satisfied_ratings=satisfied,
    )
    daily_metrics_rollup(day=D, shop_ids=[shop.pk], now=LATER)
    return row(shop)


def _stars_from_pooled_rates(answered_3m: int, satisfied: int) -> int:
    """The stars over 100 first turns in hours and 100 ratings in D-6..D-1."""
    return _rolled_up_over(100, answered_3m, 100, satisfied).stars


@pytest.mark.parametrize(
    ("answered_3m", "satisfied", "stars"),
    [(90, 90, 5), (95, 89, 4), (80, 80, 4), (79, 100, 3), (0, 100, 3)],
)
def test_star_levels_follow_the_default_thresholds(answered_3m, satisfied, stars):
    """5 stars from 90% and 90%, 4 from 80% and 80% (both reached, the boundary included), else 3."""
    assert _stars_from_pooled_rates(answered_3m, satisfied) == stars


def test_star_levels_follow_the_settings(settings):
    settings.METRICS_STAR_THRESHOLDS = [{"stars": 5, "response_rate_3m": 0.5, "satisfaction_rate": 0.5}]
    assert _stars_from_pooled_rates(60, 60) == 5
    assert _stars_from_pooled_rates(85, 49) == 3  # the only level left needs both rates


def test_no_rating_in_seven_days_reaches_no_star_level():
    """An undefined satisfaction rate (no rating) reaches nothing, however fast the answers: 3 stars."""
    shop_row = _rolled_up_over(10, 10, 0, 0)
    assert (shop_row.response_rate_3m_7d, shop_row.satisfaction_rate_7d, shop_row.stars) == (1.0, None, 3)


@pytest.mark.parametrize(
    ("started", "tier"), [(2_999, "<100"), (3_000, "100-999"), (30_000, "1000-9999"), (300_000, ">=10000")]
)
def test_reception_tier_boundaries(started, tier):
    """Tier floors 100, 1,000 and 10,000 chats a day (the floor included), from 30 complete stored days."""
    shop = ShopFactory()
    for days in range(1, 31):
        DailyMetric.objects.create(
            shop=shop,
            date=D - timedelta(days=days),
            scope=MetricScope.SHOP,
            conversations=started // 30 + (1 if days <= started % 30 else 0),
            computed_at=local(12, days=1 - days),
        )
    daily_metrics_rollup(day=D, shop_ids=[shop.pk], now=LATER)
    assert (row(shop).reception_volume, row(shop).reception_tier) == (started / 30, tier)


def test_phase_boundary_and_a_buyer_who_pays_after_asking():
    from chats.services import conversation_start
    from tests.shops.factories import OrderFactory

    shop = ShopFactory(bot_enabled=False)
    edge, outside, payer = BuyerFactory(), BuyerFactory(), BuyerFactory()
    OrderFactory(shop=shop, buyer=edge, placed_at=local(0, days=-21), paid_at=local(0, days=-21))  # first instant
    OrderFactory(shop=shop, buyer=outside, placed_at=local(0, days=-22), paid_at=local(23, 59, 59, days=-22))
    conversation_start(shop=shop, buyer=edge, started_at=local(10), history=True)
    conversation_start(shop=shop, buyer=outside, started_at=local(10), history=True)
    conversation_start(shop=shop, buyer=payer, started_at=local(10), history=True)
    OrderFactory(shop=shop, buyer=payer, placed_at=local(10, 5), paid_at=local(10, 6))  # pays after asking
    conversation_start(shop=shop, buyer=payer, started_at=local(15), history=True)  # still pre-sales on D
    daily_metrics_rollup(day=D, now=LATER)
    assert row(shop, MetricScope.PHASE, phase="after_sales").conversations == 1
    assert row(shop, MetricScope.PHASE, phase="pre_sales").conversations == 3
    assert row(shop, MetricScope.PHASE, phase="after_sales").resolution_rate is None
    assert row(shop).resolution_seekers == 1  # the after-sales chat of ``edge``


def test_a_daylight_saving_day_has_23_local_hours():
    shop = ShopFactory(timezone="America/Los_Angeles")
    spring_forward = date(2024, 3, 10)
    la = ZoneInfo("America/Los_Angeles")
    for moment in (
        datetime(2024, 3, 10, 0, 30, tzinfo=la),  # PST, 08:30 UTC
        datetime(2024, 3, 10, 23, 30, tzinfo=la),  # PDT, 06:30 UTC on the 11th
        datetime(2024, 3, 11, 0, 0, tzinfo=la),  # the next local day
        datetime(2024, 3, 9, 23, 59, 59, tzinfo=la),  # the local day before
    ):
        chat(shop, moment)
    daily_metrics_rollup(day=spring_forward, now=LATER)
    assert DailyMetric.objects.get(shop=shop, date=spring_forward, scope=MetricScope.SHOP).conversations == 2


def test_served_by_splits_bot_only_chats_from_chats_that_reached_a_human():
    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    chat(shop, local(10), [(0, Sender.BOT), (5, Sender.BUYER), (7, Sender.BOT)])  # the assistant answers in 2 s
    chat(
        shop,
        local(11),
        [(0, Sender.BOT), (5, Sender.BUYER), (6, Sender.BOT), (30, Sender.BUYER), (150, Sender.AGENT)],
        agent=agent,
        assigned_at=local(11, 0, 20),
    )
    daily_metrics_rollup(day=D, now=LATER)
    bot = row(shop, MetricScope.SERVED_BY, served_by="bot")
    human = row(shop, MetricScope.SERVED_BY, served_by="human")
    assert (bot.conversations, bot.responded_turns, bot.avg_response_seconds) == (1, 1, 2.0)
    assert (human.conversations, human.responded_turns, human.avg_response_seconds) == (1, 2, 60.5)  # 1 s and 120 s
    assert row(shop).avg_response_seconds == pytest.approx(123 / 3)
