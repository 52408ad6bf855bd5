"""The service assistant's daily figures on a hand-computed scenario: bot-served chats and their resolution, the
assistant's replies (fallbacks, clarifications) by local day, typed transfer requests, their scopes and the API."""

from datetime import timedelta

import pytest
from django.urls import reverse

from chats import services
from chats.choices import BotReplyKind, Sender, TransferSource
from chats.models import BotReply, Conversation
from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from evaluations.services import daily_metrics_rollup
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import MessageFactory
from tests.chats.helpers import start
from tests.evaluations.test_metrics_rollup import LATER, D, chat, local, row
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

ANSWER, CLARIFY, FALLBACK, TRANSFER = (
    BotReplyKind.ANSWER,
    BotReplyKind.CLARIFICATION,
    BotReplyKind.FALLBACK,
    BotReplyKind.TRANSFER,
)
FIGURES = (
    "conversations",
    "bot_conversations",
    "bot_resolved",
    "bot_resolution_rate",
    "bot_replies",
    "bot_fallbacks",
    "fallback_rate",
    "bot_clarifications",
    "transfer_requests_typed",
)


def bot_chat(shop, start_at, replies, **fields):
    """A chat the assistant greets at ``start_at``; each ``(seconds after start, kind)`` is a buyer message and the
    assistant's reply to it, logged as a ``BotReply`` (a transfer gets no bot message: the buyer is routed)."""
    conversation = chat(shop, start_at, [(0, Sender.BOT)], **fields)
    for offset, kind in replies:
        at = start_at + timedelta(seconds=offset)
        message = MessageFactory(conversation=conversation, sender=Sender.BUYER, body=f"q {offset}", sent_at=at)
        if kind != TRANSFER:
            MessageFactory(conversation=conversation, sender=Sender.BOT, body=f"a {offset}", sent_at=at)
        BotReply.objects.create(
            shop=shop, conversation=conversation, buyer_message=message, kind=kind, question=message.body, at=at
        )
    return conversation


def figures(metrics):
    return {name: getattr(metrics, name) for name in FIGURES}


@pytest.fixture
def scenario():
    """Shop in Asia/Shanghai (UTC+8, so local midnight is 16:00 UTC); D = 2024-05-06."""
    shop = ShopFactory(timezone="Asia/Shanghai")
    agent = AgentFactory(shop=shop)
    group = RoutingGroupFactory(shop=shop, members=[agent])
    # c0, D-1 23:40 (ends 00:40 on D): one reply on D-1, a clarification at 00:05 on D (D's, the chat is D-1's).
    bot_chat(shop, local(23, 40, days=-1), [(300, ANSWER), (25 * 60, CLARIFY)])
    # c1, 10:00, pre-sales, group: ended, never asked for a human: resolved.
    bot_chat(shop, local(10), [(10, ANSWER), (60, CLARIFY), (120, ANSWER)], group=group)
    # c2, 11:00, pre-sales, group: a fallback, then the buyer types 转人工 (entry shown) and reaches the agent.
    bot_chat(
        shop,
        local(11),
        [(10, FALLBACK), (60, TRANSFER)],
        group=group,
        agent=agent,
        transfer_entry_visible=True,
        transfer_requested_at=local(11, 1),
        transfer_source=TransferSource.TYPED,
        assigned_at=local(11, 1),
    )
    # c3, 14:00, after-sales: a fallback, then the buyer clicks the entry and reaches the agent.
    bot_chat(
        shop,
        local(14),
        [(60, FALLBACK)],
        phase="after_sales",
        agent=agent,
        transfer_entry_visible=True,
        transfer_requested_at=local(14, 2),
        transfer_source=TransferSource.BUTTON,
        assigned_at=local(14, 2),
    )
    # c4, 15:00, after-sales, still open: not resolved (so far).
    bot_chat(shop, local(15), [(30, ANSWER), (60, CLARIFY)], phase="after_sales", ended=False)
    # c5, 23:50, pre-sales, group, ends 00:50 on D+1: a fallback at 23:55 (D), an answer and a clarification after
    # local midnight (D+1), though still on D in UTC (16:05 and 16:10 UTC).
    bot_chat(shop, local(23, 50), [(5 * 60, FALLBACK), (15 * 60, ANSWER), (20 * 60, CLARIFY)], group=group)
    # c6, 12:00: a human chat the assistant never wrote in.
    chat(shop, local(12), [(0, Sender.BUYER), (30, Sender.AGENT)], agent=agent, assigned_at=local(12))
    for day in (D - timedelta(days=1), D, D + timedelta(days=1)):
        daily_metrics_rollup(day=day, now=LATER)
    return shop, agent, group


def test_assistant_figures_of_the_shop_follow_its_local_day(scenario):
    shop, _agent, _group = scenario
    # Bot-served chats of D: c1..c5; resolved: c1 and c5 (c2, c3 asked for a human, c4 is open).
    # Replies on D: c0 1, c1 3, c2 2, c3 1, c4 2, c5 1 = 10; fallbacks c2, c3, c5; clarifications c0, c1, c4.
    assert figures(row(shop)) == {
        "conversations": 6,
        "bot_conversations": 5,
        "bot_resolved": 2,
        "bot_resolution_rate": 0.4,
        "bot_replies": 10,
        "bot_fallbacks": 3,
        "fallback_rate": 0.3,
        "bot_clarifications": 3,
        "transfer_requests_typed": 1,
    }
    metrics = row(shop)
    # Both sources count as requests (c2 typed, c3 clicked; both with the entry shown).
    assert (metrics.transfer_requests, metrics.transfer_entry_shown, metrics.transfer_rate) == (2, 2, 1.0)
    # The day before: c0 (ended 00:40 on D, no request) and its 23:45 answer.
    before = DailyMetric.objects.get(shop=shop, date=D - timedelta(days=1), scope=MetricScope.SHOP)
    assert figures(before) == {
        "conversations": 1,
        "bot_conversations": 1,
        "bot_resolved": 1,
        "bot_resolution_rate": 1.0,
        "bot_replies": 1,
        "bot_fallbacks": 0,
        "fallback_rate": 0.0,
        "bot_clarifications": 0,
        "transfer_requests_typed": 0,
    }
    # The day after: no chat started, c5's two replies after midnight.
    after = DailyMetric.objects.get(shop=shop, date=D + timedelta(days=1), scope=MetricScope.SHOP)
    assert figures(after) == {
        "conversations": 0,
        "bot_conversations": 0,
        "bot_resolved": 0,
        "bot_resolution_rate": None,
        "bot_replies": 2,
        "bot_fallbacks": 0,
        "fallback_rate": 0.0,
        "bot_clarifications": 1,
        "transfer_requests_typed": 0,
    }


def test_assistant_figures_per_phase(scenario):
    shop, _agent, _group = scenario
    # Pre-sales: c1, c2, c5, c6 started on D (bot-served c1, c2, c5; resolved c1, c5); replies c0 1 + c1 3 + c2 2 +
    # c5 1 = 7 (fallbacks c2, c5; clarifications c0, c1); c2 typed.
    assert figures(row(shop, MetricScope.PHASE, phase="pre_sales")) == {
        "conversations": 4,
        "bot_conversations": 3,
        "bot_resolved": 2,
        "bot_resolution_rate": pytest.approx(2 / 3),
        "bot_replies": 7,
        "bot_fallbacks": 2,
        "fallback_rate": pytest.approx(2 / 7),
        "bot_clarifications": 2,
        "transfer_requests_typed": 1,
    }
    # After-sales: c3 (clicked) and c4 (open); replies c3 1 + c4 2 = 3 (fallback c3, clarification c4).
    assert figures(row(shop, MetricScope.PHASE, phase="after_sales")) == {
        "conversations": 2,
        "bot_conversations": 2,
        "bot_resolved": 0,
        "bot_resolution_rate": 0.0,
        "bot_replies": 3,
        "bot_fallbacks": 1,
        "fallback_rate": pytest.approx(1 / 3),
        "bot_clarifications": 1,
        "transfer_requests_typed": 0,
    }


def test_replies_go_to_the_chats_group_and_served_by_but_to_no_agent(scenario):
    shop, agent, group = scenario
    # The agent has c2, c3 and c6: two bot-served chats, neither resolved; the assistant's replies are nobody's.
    assert figures(row(shop, MetricScope.AGENT, agent=agent)) == {
        "conversations": 3,
        "bot_conversations": 2,
        "bot_resolved": 0,
        "bot_resolution_rate": 0.0,
        "bot_replies": 0,
        "bot_fallbacks": 0,
        "fallback_rate": None,
        "bot_clarifications": 0,
        "transfer_requests_typed": 1,
    }
    # The group holds c1, c2, c5: replies 3 + 2 + 1.
    assert figures(row(shop, MetricScope.GROUP, group=group)) == {
        "conversations": 3,
        "bot_conversations": 3,
        "bot_resolved": 2,
        "bot_resolution_rate": pytest.approx(2 / 3),
        "bot_replies": 6,
        "bot_fallbacks": 2,
        "fallback_rate": pytest.approx(2 / 6),
        "bot_clarifications": 1,
        "transfer_requests_typed": 1,
    }
    # Served by a human: c2, c3, c6 (replies 2 + 1); by the bot alone: c1, c4, c5 and c0's reply (1 + 3 + 2 + 1).
    human = row(shop, MetricScope.SERVED_BY, served_by="human")
    assert (human.bot_conversations, human.bot_resolved, human.bot_replies, human.bot_fallbacks) == (2, 0, 3, 2)
    bot = row(shop, MetricScope.SERVED_BY, served_by="bot")
    assert (bot.bot_conversations, bot.bot_resolved, bot.bot_replies, bot.bot_clarifications) == (3, 2, 7, 3)
    assert bot.fallback_rate == pytest.approx(1 / 7)


def test_rerun_updates_the_figures_in_place(scenario):
    shop, _agent, _group = scenario
    before = {(m.scope, m.agent_id, m.group_id, m.phase, m.served_by): m.pk for m in DailyMetric.objects.filter(date=D)}
    daily_metrics_rollup(day=D, now=LATER)
    assert figures(row(shop))["bot_replies"] == 10
    # The open chat ends without a request, one of its replies goes away: the same rows, updated.
    open_chat = Conversation.objects.get(shop=shop, ended_at__isnull=True)
    Conversation.objects.filter(pk=open_chat.pk).update(status="ended", ended_at=local(16))
    BotReply.objects.filter(conversation=open_chat, kind=CLARIFY).delete()
    daily_metrics_rollup(day=D, now=LATER)
    after = {(m.scope, m.agent_id, m.group_id, m.phase, m.served_by): m.pk for m in DailyMetric.objects.filter(date=D)}
    assert after == before
    metrics = row(shop)
    assert (metrics.bot_resolved, metrics.bot_resolution_rate) == (3, 0.6)
    assert (metrics.bot_replies, metrics.bot_clarifications, metrics.fallback_rate) == (9, 2, pytest.approx(3 / 9))


def test_replies_written_by_the_assistant_itself_are_counted():
    """Through ``message_create`` on a bot chat of a shop without FAQ entries: a fallback, then a typed request."""
    shop = ShopFactory(timezone="Asia/Shanghai")
    conversation = start(shop, started_at=local(10))
    for offset, body in ((10, "今天天气怎么样"), (30, "转人工")):
        services.message_create(
            conversation=conversation, sender=Sender.BUYER, body=body, sent_at=local(10) + timedelta(seconds=offset)
        )
    conversation.refresh_from_db()
    assert conversation.transfer_source == TransferSource.TYPED
    kinds = sorted(BotReply.objects.filter(conversation=conversation).values_list("kind", flat=True))
    assert kinds == [FALLBACK, TRANSFER]
    daily_metrics_rollup(day=D, now=LATER)
    assert figures(row(shop)) == {
        "conversations": 1,
        "bot_conversations": 1,  # the greeting
        "bot_resolved": 0,
        "bot_resolution_rate": 0.0,
        "bot_replies": 2,
        "bot_fallbacks": 1,
        "fallback_rate": 0.5,
        "bot_clarifications": 0,
        "transfer_requests_typed": 1,
    }


def test_daily_api_answers_the_assistant_figures(owner_client, shop, agent):
    shop.timezone = "Asia/Shanghai"
    shop.save()
    bot_chat(shop, local(10), [(10, ANSWER), (60, CLARIFY), (120, FALLBACK)])
    bot_chat(
        shop,
        local(11),
        [(10, TRANSFER)],
        agent=agent,
        transfer_requested_at=local(11, 0, 10),
        transfer_source=TransferSource.TYPED,
        assigned_at=local(11, 0, 10),
    )
    daily_metrics_rollup(day=D, now=LATER)
    response = owner_client.get("/api/v1/metrics/daily/", {"date_from": "2024-05-06", "date_to": "2024-05-06"})
    assert response.status_code == 200, response.content
    (body,) = response.json()["results"]
    assert {name: body[name] for name in FIGURES} == {
        "conversations": 2,
        "bot_conversations": 2,
        "bot_resolved": 1,
        "bot_resolution_rate": 0.5,
        "bot_replies": 4,
        "bot_fallbacks": 1,
        "fallback_rate": 0.25,
        "bot_clarifications": 1,
        "transfer_requests_typed": 1,
    }
    phase = owner_client.get("/api/v1/metrics/daily/", {"date_from": "2024-05-06", "phase": "pre_sales"}).json()
    (pre_sales,) = phase["results"]
    assert (pre_sales["scope"], pre_sales["bot_replies"], pre_sales["bot_conversations"]) == ("phase", 4, 2)


def test_dashboard_shows_the_assistant_section(admin_client, shop):
    DailyMetric.objects.create(
        shop=shop,
        date=D,
        scope=MetricScope.SHOP,
        bot_conversations=40,
        bot_resolved=30,
        bot_resolution_rate=0.75,
        bot_replies=200,
        bot_fallbacks=25,
        fallback_rate=0.125,
        bot_clarifications=12,
        transfer_requests_typed=7,
    )
    url = reverse("admin:evaluations_dailymetric_dashboard", args=[shop.pk])
    response = admin_client.get(url, {"date": D.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Service assistant" in html
    cards = {card["label"]: (card["value"], card["detail"]) for card in response.context["assistant"]}
    assert cards == {
        "Bot-served chats": ("40", ""),
        "Bot resolution rate": ("75.0%", "30/40"),
        "Fallback rate": ("12.5%", "25/200"),
        "Clarifications": ("12", ""),
        "Typed transfer requests": ("7", ""),
    }
    response = admin_client.get(url, {"date": D.isoformat()}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "服务助手解决率" in response.content.decode()
