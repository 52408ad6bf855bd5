from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chats.choices import ConversationStatus
from chats.models import Conversation, Message
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory, OrderFactory

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")


def test_start_conversation_decides_phase_and_bot_service(shop, integration_client):
    buyer = BuyerFactory()
    OrderFactory(shop=shop, buyer=buyer, paid_at=datetime(2026, 11, 10, 12, tzinfo=CST))
    body = {
        "shop": shop.pk,
        "buyer": buyer.pk,
        "entry_point": "order",
        "entry_ref": "TB-9",
        "started_at": "2026-11-20T09:30:00+08:00",
    }
    response = integration_client.post("/api/v1/conversations/", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    # The default rollout is the finished one (every tier started, 100% of buyers): the entry is shown.
    assert (data["phase"], data["status"], data["agent"], data["transfer_entry_visible"]) == (
        "after_sales",
        "bot",
        None,
        True,
    )
    assert data["started_at"] == "2026-11-20T09:30:00+08:00"


def test_start_conversation_without_bot_waits_for_a_human(shop, integration_client):
    shop.bot_enabled = False
    shop.save()
    response = integration_client.post("/api/v1/conversations/", {"shop": shop.pk, "buyer": BuyerFactory().pk})
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["phase"]) == ("queued", "pre_sales")


def test_agents_see_their_chats_and_the_queue_not_colleagues_chats(shop, agent, agent_client, owner_client):
    colleague = AgentFactory(shop=shop)
    mine = ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    theirs = ConversationFactory(shop=shop, agent=colleague, status=ConversationStatus.HUMAN)
    queued = ConversationFactory(shop=shop, status=ConversationStatus.QUEUED)
    ConversationFactory(shop=shop, status=ConversationStatus.BOT)
    listed = {c["id"] for c in agent_client.get("/api/v1/conversations/").json()["results"]}
    assert listed == {mine.pk, queued.pk}
    assert agent_client.get(f"/api/v1/conversations/{theirs.pk}/").status_code == 404
    assert agent_client.get(f"/api/v1/conversations/{theirs.pk}/messages/").status_code == 404
    assert len(owner_client.get("/api/v1/conversations/").json()["results"]) == 4


def test_conversation_filters(shop, owner_client, agent):
    early = ConversationFactory(shop=shop, started_at=datetime(2026, 11, 1, 10, tzinfo=CST))
    late = ConversationFactory(
        shop=shop, started_at=datetime(2026, 11, 3, 10, tzinfo=CST), agent=agent, status=ConversationStatus.HUMAN
    )
    query = {"started_after": "2026-11-02T00:00:00+08:00", "started_before": "2026-11-04T00:00:00+08:00"}
    assert [c["id"] for c in owner_client.get("/api/v1/conversations/", query).json()["results"]] == [late.pk]
    assert [c["id"] for c in owner_client.get("/api/v1/conversations/", {"agent": agent.pk}).json()["results"]] == [
        late.pk
    ]
    assert [c["id"] for c in owner_client.get("/api/v1/conversations/", {"status": "bot"}).json()["results"]] == [
        early.pk
    ]


def test_agent_posts_as_themselves(shop, agent, agent_client):
    conversation = ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    response = agent_client.post(url, {"body": "亲，在的", "sent_at": "2020-01-01T00:00:00+08:00"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["sender"], data["agent"], data["is_auto_reply"], data["flags"]) == ("agent", agent.pk, False, [])
    assert not data["sent_at"].startswith("2020")  # agents cannot back-date messages
    assert agent_client.post(url, {"body": "x", "sender": "buyer"}, format="json").status_code == 400
    other = AgentFactory(shop=shop)
    assert agent_client.post(url, {"body": "x", "agent": other.pk}, format="json").status_code == 400
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_integration_imports_history_with_sent_at(shop, agent, integration_client):
    conversation = ConversationFactory(shop=shop, started_at=datetime(2026, 11, 1, 9, tzinfo=CST))
    url = f"/api/v1/conversations/{conversation.pk}/messages/"
    body = {"body": "在吗", "sent_at": "2026-11-01T09:00:05+08:00", "history": True}
    buyer_msg = integration_client.post(url, body, format="json")
    assert buyer_msg.json()["sender"] == "buyer"
    reply = {"sender": "agent", "agent": agent.pk, "body": "在的", "sent_at": "2026-11-01T09:01:00+08:00"}
    assert integration_client.post(url, reply, format="json").status_code == 201
    earlier = {"body": "你好", "sent_at": "2026-11-01T09:00:01+08:00", "history": True}
    assert integration_client.post(url, earlier, format="json").status_code == 201
    listed = integration_client.get(url).json()["results"]
    assert [m["body"] for m in listed] == ["你好", "在吗", "在的"]
    conversation.refresh_from_db()
    assert conversation.last_message_at == datetime(2026, 11, 1, 9, 1, tzinfo=CST)


def test_messages_are_cursor_paginated_oldest_first(shop, owner):
    conversation = ConversationFactory(shop=shop)
    for minute in range(5):
        MessageFactory(
            conversation=conversation, body=f"m{minute}", sent_at=datetime(2026, 11, 1, 9, minute, tzinfo=CST)
        )
    client = client_for(owner.user)
    first = client.get(f"/api/v1/conversations/{conversation.pk}/messages/", {"page_size": 2}).json()
    assert [m["body"] for m in first["results"]] == ["m0", "m1"]
    assert "cursor=" in first["next"]
    second = client.get(first["next"]).json()
    assert [m["body"] for m in second["results"]] == ["m2", "m3"]


def test_conversations_are_created_only_by_integrations(shop, owner_client, agent_client):
    body = {"shop": shop.pk, "buyer": BuyerFactory().pk}
    assert owner_client.post("/api/v1/conversations/", body).status_code == 403
    assert agent_client.post("/api/v1/conversations/", body).status_code == 403
    assert Conversation.objects.count() == 0
