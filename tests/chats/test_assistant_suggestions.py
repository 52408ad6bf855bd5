"""Agent assist: quick phrases, FAQ answers and footprints for the chat an agent serves."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from agents.choices import AgentRole, PhraseScope
from chats.choices import ConversationStatus, Sender
from tests.agents.factories import AgentFactory, QuickPhraseFactory
from tests.chats.factories import ConversationFactory, FaqEntryFactory, MessageFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory, FootprintFactory

pytestmark = pytest.mark.django_db

START = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


def url(conversation) -> str:
    return f"/api/v1/conversations/{conversation.pk}/suggestions/"


@pytest.fixture
def chat(shop, agent):
    """Agent A serves a buyer who asked when the order ships, after the agent's greeting."""
    buyer = BuyerFactory()
    conversation = ConversationFactory(
        shop=shop, buyer=buyer, status=ConversationStatus.HUMAN, agent=agent, started_at=START
    )
    MessageFactory(conversation=conversation, body="你好", sent_at=START)
    MessageFactory(
        conversation=conversation,
        sender=Sender.AGENT,
        agent=agent,
        body="亲，在的",
        sent_at=START + timedelta(seconds=30),
    )
    MessageFactory(conversation=conversation, body="什么时候发货", sent_at=START + timedelta(minutes=1))
    MessageFactory(conversation=conversation, body="急用", sent_at=START + timedelta(minutes=2))
    return conversation


@pytest.fixture
def phrases(shop, agent):
    other_agent = AgentFactory(shop=shop)
    return {
        "shipping": QuickPhraseFactory(shop=shop, title="发货时间", content="亲，付款后48小时内发货哦"),
        "returns": QuickPhraseFactory(shop=shop, title="退货流程", content="亲，支持七天无理由退货"),
        "greeting": QuickPhraseFactory(shop=shop, title="问候", content="亲，您好，很高兴为您服务"),
        "mine": QuickPhraseFactory(
            shop=shop, scope=PhraseScope.PERSONAL, owner=agent, title="我的发货说明", content="今天下午四点前发货"
        ),
        "theirs": QuickPhraseFactory(
            shop=shop, scope=PhraseScope.PERSONAL, owner=other_agent, title="发货", content="什么时候发货都行"
        ),
    }


def test_suggestions_rank_what_the_agent_may_see(agent_client, shop, chat, phrases):
    FaqEntryFactory(shop=shop, question="什么时候发货", keywords=["发货"], answer="付款后48小时内发货")
    FaqEntryFactory(shop=shop, question="可以退货吗", keywords=["退货"], answer="支持七天无理由退货")
    response = agent_client.get(url(chat))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["turn"] == "什么时候发货\n急用"
    suggested = [phrase["id"] for phrase in body["quick_phrases"]]
    assert suggested[0] == phrases["shipping"].pk
    assert phrases["mine"].pk in suggested
    assert phrases["theirs"].pk not in suggested  # another agent's personal phrase, never
    assert phrases["greeting"].pk not in suggested  # shares no word with the turn
    assert body["quick_phrases"][0]["text"] == "亲，付款后48小时内发货哦"
    assert body["quick_phrases"][0]["title"] == "发货时间"
    assert all(0 < phrase["score"] <= 1 for phrase in body["quick_phrases"])
    assert body["faq"][0]["question"] == "什么时候发货"
    assert body["faq"][0]["answer"] == "付款后48小时内发货"
    assert len(body["faq"]) <= 3 and len(body["quick_phrases"]) <= 3


def test_items_are_the_buyers_latest_distinct_footprints_in_this_shop(agent_client, shop, other_shop, chat):
    for minute in range(7):
        FootprintFactory(
            shop=shop,
            buyer=chat.buyer,
            item_id=f"i{minute}",
            item_title=f"T恤 {minute}",
            viewed_at=START + timedelta(minutes=minute),
        )
    FootprintFactory(
        shop=shop, buyer=chat.buyer, item_id="i2", item_title="T恤 2", viewed_at=START + timedelta(hours=1)
    )
    FootprintFactory(shop=other_shop, buyer=chat.buyer, item_id="elsewhere", viewed_at=START + timedelta(hours=2))
    FootprintFactory(shop=shop, item_id="someone-else", viewed_at=START + timedelta(hours=2))
    items = agent_client.get(url(chat)).json()["items"]
    assert [item["item_id"] for item in items] == ["i2", "i6", "i5", "i4", "i3"]
    assert items[0]["item_title"] == "T恤 2"
    assert datetime.fromisoformat(items[0]["viewed_at"]) == START + timedelta(hours=1)


def test_no_buyer_turn_means_no_suggestions(agent_client, shop, agent, phrases):
    conversation = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent, started_at=START)
    MessageFactory(conversation=conversation, body="什么时候发货", sent_at=START)
    MessageFactory(
        conversation=conversation, sender=Sender.AGENT, agent=agent, body="今天发", sent_at=START + timedelta(minutes=1)
    )
    # An auto-reply or a system message answers nothing: the turn before them is still open.
    body = agent_client.get(url(conversation)).json()
    assert (body["turn"], body["quick_phrases"], body["faq"], body["items"]) == ("", [], [], [])
    MessageFactory(conversation=conversation, body="发什么快递", sent_at=START + timedelta(minutes=2))
    MessageFactory(
        conversation=conversation,
        sender=Sender.SYSTEM,
        agent=agent,
        is_auto_reply=True,
        body="稍等",
        sent_at=START + timedelta(minutes=3),
    )
    assert agent_client.get(url(conversation)).json()["turn"] == "发什么快递"


def test_suggestions_scoping(shop, other_shop, agent, chat, phrases, owner_client, integration_client, staff_client):
    other_agent = AgentFactory(shop=shop)
    assert client_for(other_agent.user).get(url(chat)).status_code == 404  # not their chat
    queued = ConversationFactory(shop=shop, status=ConversationStatus.QUEUED, started_at=START)
    assert client_for(agent.user).get(url(queued)).status_code == 404  # the queue is visible, but not theirs
    foreign = ConversationFactory(shop=other_shop, started_at=START)
    assert client_for(agent.user).get(url(foreign)).status_code == 404
    assert owner_client.get(url(foreign)).status_code == 404
    assert integration_client.get(url(foreign)).status_code == 404
    assert integration_client.get(url(chat)).status_code == 403
    # The owner sees the chat; their suggestions are what they may see: the team's phrases and their own.
    owner_ids = [phrase["id"] for phrase in owner_client.get(url(chat)).json()["quick_phrases"]]
    assert phrases["shipping"].pk in owner_ids
    assert phrases["mine"].pk not in owner_ids and phrases["theirs"].pk not in owner_ids
    # Platform staff see what the chat's agent sees.
    staff_ids = [phrase["id"] for phrase in staff_client.get(url(chat)).json()["quick_phrases"]]
    assert phrases["mine"].pk in staff_ids and phrases["theirs"].pk not in staff_ids
    supervisor = AgentFactory(shop=shop, role=AgentRole.SUPERVISOR)
    assert client_for(supervisor.user).get(url(chat)).status_code == 200


def test_suggestions_query_count_is_flat(shop, agent, chat, phrases, django_assert_num_queries):
    FaqEntryFactory(shop=shop, question="什么时候发货", keywords=["发货"], answer="付款后48小时内发货")

    def fresh_client():
        return client_for(get_user_model().objects.get(pk=agent.user.pk))

    fresh_client().get(url(chat))  # builds the shop's FAQ and phrase indexes
    client = fresh_client()
    # The caller, the conversation, its newest messages, the FAQ index's fingerprint, the phrase index's, the phrases
    # the caller may see, the footprints.
    with django_assert_num_queries(7):
        assert client.get(url(chat)).status_code == 200
    for n in range(40):
        MessageFactory(conversation=chat, body=f"还有{n}号吗", sent_at=START + timedelta(minutes=3, seconds=n))
        QuickPhraseFactory(shop=shop, title=f"库存{n}", content=f"{n}号有货")
        FootprintFactory(shop=shop, buyer=chat.buyer, viewed_at=START + timedelta(seconds=n))
    fresh_client().get(url(chat))  # the phrases changed: their index is rebuilt once
    client = fresh_client()
    with django_assert_num_queries(7):
        body = client.get(url(chat)).json()
    # The turn is read from the newest 30 messages: the last 30 of the 40 buyer messages.
    assert body["turn"].split("\n") == [f"还有{n}号吗" for n in range(10, 40)]
    assert len(body["items"]) == 5
