"""Typed transfer requests (DESIGN.md "Rules added in round two"): a buyer message in a bot-served chat that asks for
a human is a transfer request with the button's outcomes, messages and queue, whether or not the entry is shown, and
records its source."""

import pytest

from agents.choices import AgentStatus
from backoffice.errors import Conflict
from chats import services
from chats.choices import BotReplyKind, ConversationStatus, Sender, TransferSource
from chats.models import BotReply, Conversation
from events.choices import EventType
from events.models import Event
from tests.agents.factories import AgentFactory
from tests.chats.factories import FaqEntryFactory
from tests.chats.helpers import active, bodies, start

pytestmark = pytest.mark.django_db

GREETING = "Hello, I am the shop's service assistant. How can I help you?"


def chat(shop, *, exposed: bool):
    """A bot chat of an exposed buyer (the entry shown) or of an unexposed one (no entry: the A/B control group)."""
    conversation = start(shop)
    Conversation.objects.filter(pk=conversation.pk).update(transfer_entry_visible=exposed, buyer_exposed=exposed)
    conversation.refresh_from_db()
    return conversation


def typed(conversation, body="转人工"):
    services.message_create(conversation=conversation, sender=Sender.BUYER, body=body)
    conversation.refresh_from_db()
    return conversation


def requested_events(conversation):
    return list(
        Event.objects.filter(conversation_id=conversation.pk, type=EventType.TRANSFER_REQUESTED).values_list(
            "data", flat=True
        )
    )


@pytest.mark.parametrize("exposed", [True, False])
def test_typed_request_is_assigned_like_the_button(shop, exposed):
    agent = AgentFactory(shop=shop, display_name="小王")
    FaqEntryFactory(shop=shop, question="人工服务时间", keywords=["人工"], answer="9点到21点")  # never answered
    conversation = typed(chat(shop, exposed=exposed), "机器人听不懂，叫客服出来")
    assert (conversation.status, conversation.agent_id) == (ConversationStatus.HUMAN, agent.pk)
    assert conversation.transfer_requested_at is not None
    assert conversation.transfer_source == TransferSource.TYPED
    assert bodies(conversation, Sender.BOT) == [GREETING]  # no FAQ answer, no fallback
    assert bodies(conversation, Sender.SYSTEM) == ["Agent 小王 is now serving you."]
    assert active(agent) == 1
    [event] = requested_events(conversation)
    assert (event["outcome"], event["source"]) == ("assigned", "typed")
    reply = BotReply.objects.get(conversation=conversation)
    assert (reply.kind, reply.question) == (BotReplyKind.TRANSFER, "机器人听不懂，叫客服出来")


def test_the_button_needs_the_entry_but_typing_does_not(shop):
    AgentFactory(shop=shop)
    conversation = chat(shop, exposed=False)
    with pytest.raises(Conflict):
        services.transfer_to_human(conversation_id=conversation.pk)
    assert typed(conversation).status == ConversationStatus.HUMAN


def test_typed_request_queued_when_agents_are_full(shop):
    AgentFactory(shop=shop, capacity=0)
    conversation = typed(chat(shop, exposed=True), "人工客服")
    assert conversation.status == ConversationStatus.QUEUED
    assert bodies(conversation, Sender.BOT)[-1] == "All agents are busy. You are number 1 in the queue; please wait."
    [event] = requested_events(conversation)
    assert (event["outcome"], event["source"], event["queue_position"]) == ("queued", "typed", 1)
    # Asking again while queued changes nothing and is not answered by the bot.
    typed(conversation, "快点转人工")
    assert conversation.status == ConversationStatus.QUEUED
    assert len(bodies(conversation, Sender.BOT)) == 2
    assert len(requested_events(conversation)) == 1


def test_typed_request_failed_busy_without_a_queue(shop):
    shop.queue_enabled = False
    shop.save()
    AgentFactory(shop=shop, capacity=0)
    conversation = typed(chat(shop, exposed=False), "找客服")
    assert conversation.status == ConversationStatus.BOT
    assert bodies(conversation, Sender.BOT)[-1] == "All agents are busy right now. Please try again in a moment."
    assert [e["outcome"] for e in requested_events(conversation)] == ["failed_busy"]
    assert conversation.transfer_source == TransferSource.TYPED


def test_typed_request_failed_offline_leaves_a_message(shop):
    AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    conversation = typed(chat(shop, exposed=True), "真人")
    assert conversation.status == ConversationStatus.LEFT_MESSAGE
    assert bodies(conversation, Sender.BOT)[-1] == (
        "No agent is online right now. Please leave a message and we will reply soon."
    )
    assert [(e["outcome"], e["source"]) for e in requested_events(conversation)] == [("failed_offline", "typed")]


def test_questions_that_only_mention_humans_get_answers(shop):
    AgentFactory(shop=shop)
    FaqEntryFactory(shop=shop, question="安装要另外收人工费吗", keywords=["安装费", "人工费"], answer="免费安装")
    FaqEntryFactory(shop=shop, question="多久发货", keywords=["发货"], answer="48小时内")
    FaqEntryFactory(shop=shop, question="包邮吗", keywords=["包邮"], answer="包邮")
    FaqEntryFactory(shop=shop, question="有安装视频吗", keywords=["安装视频"], answer="详情页有")
    conversation = typed(chat(shop, exposed=True), "你们人工费怎么算的")
    assert conversation.status == ConversationStatus.BOT
    assert bodies(conversation, Sender.BOT)[-1] == "免费安装"
    assert requested_events(conversation) == []


def test_the_first_source_is_kept(shop):
    AgentFactory(shop=shop, capacity=0)
    conversation = chat(shop, exposed=True)
    services.transfer_to_human(conversation_id=conversation.pk)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.transfer_source) == (ConversationStatus.QUEUED, TransferSource.BUTTON)
    assert [e["source"] for e in requested_events(conversation)] == ["button"]


def test_a_left_message_is_routed_again_by_a_typed_request_and_otherwise_waits(shop):
    agent = AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    FaqEntryFactory(shop=shop, question="多久发货", keywords=["发货"], answer="48小时内")
    conversation = typed(chat(shop, exposed=True), "转人工")
    assert conversation.status == ConversationStatus.LEFT_MESSAGE
    said = len(bodies(conversation, Sender.BOT))
    typed(conversation, "多久发货")  # a message left for the shop: no assistant answer
    assert (conversation.status, len(bodies(conversation, Sender.BOT))) == (ConversationStatus.LEFT_MESSAGE, said)
    type(agent).objects.filter(pk=agent.pk).update(status=AgentStatus.ONLINE)  # online, nothing drained yet
    typed(conversation, "人工客服在吗")
    assert (conversation.status, conversation.agent_id) == (ConversationStatus.HUMAN, agent.pk)
    assert [(e["outcome"], e["source"]) for e in requested_events(conversation)] == [
        ("failed_offline", "typed"),
        ("assigned", "typed"),
    ]


def test_the_api_shows_and_filters_the_source(shop, owner_client):
    AgentFactory(shop=shop)
    typed_chat = typed(chat(shop, exposed=True))
    clicked = chat(shop, exposed=True)
    services.transfer_to_human(conversation_id=clicked.pk)
    chat(shop, exposed=True)  # never asked
    listed = owner_client.get("/api/v1/conversations/", {"shop": shop.pk, "transfer_source": "typed"}).json()
    assert [row["id"] for row in listed["results"]] == [typed_chat.pk]
    detail = owner_client.get(f"/api/v1/conversations/{clicked.pk}/").json()
    assert detail["transfer_source"] == "button"
    assert owner_client.get("/api/v1/conversations/", {"transfer_source": "voice"}).status_code == 400


def test_typed_requests_feed_the_exposed_and_unexposed_comparison(shop):
    """DESIGN "Transfer-to-human rate": kept for unexposed buyers too, who can only type. Hand-computed: exposed
    2 bot chats with the entry shown, 1 request (typed) -> 0.5; unexposed 2 bot chats, 1 typed request -> 0.5."""
    from django.utils import timezone

    from evaluations.choices import MetricScope
    from evaluations.models import DailyMetric
    from evaluations.services import daily_metrics_rollup

    AgentFactory(shop=shop)
    typed(chat(shop, exposed=True), "转人工")
    chat(shop, exposed=True)
    typed(chat(shop, exposed=False), "人工客服")
    chat(shop, exposed=False)
    today = timezone.now().astimezone(shop.tzinfo).date()
    daily_metrics_rollup(day=today, shop_ids=[shop.pk])
    row = DailyMetric.objects.get(shop=shop, date=today, scope=MetricScope.SHOP)
    assert (row.transfer_entry_shown, row.transfer_requests, row.transfer_rate) == (2, 1, 0.5)
    assert (row.bot_conversations_unexposed, row.transfer_requests_unexposed, row.transfer_rate_unexposed) == (
        2,
        1,
        0.5,
    )
    assert row.transfer_requests_typed == 2
