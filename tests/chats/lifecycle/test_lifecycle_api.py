"""The chat lifecycle through the API: outcomes, status codes, roles."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.choices import AgentStatus
from chats.models import Conversation
from shops.models import RolloutConfig
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db


def _start(client, shop):
    response = client.post("/api/v1/conversations/", {"shop": shop.pk, "buyer": BuyerFactory().pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_transfer_to_human_outcomes_over_the_api(shop, integration_client):
    agent = AgentFactory(shop=shop, capacity=1)
    first = _start(integration_client, shop)
    url = f"/api/v1/conversations/{first['id']}/transfer-to-human/"
    assert integration_client.post(url).json() == {"outcome": "assigned", "agent": agent.pk, "queue_position": None}
    assert integration_client.post(url).json() == {
        "outcome": "already_assigned",
        "agent": agent.pk,
        "queue_position": None,
    }
    second = _start(integration_client, shop)
    answer = integration_client.post(f"/api/v1/conversations/{second['id']}/transfer-to-human/").json()
    assert answer == {"outcome": "queued", "agent": None, "queue_position": 1}
    listed = integration_client.get("/api/v1/conversations/", {"status": "queued"}).json()["results"]
    assert [(c["id"], c["queue_position"]) for c in listed] == [(second["id"], 1)]


def test_transfer_to_human_without_entry_is_409(shop, integration_client):
    config = RolloutConfig.current()
    config.exposure_percent = 0
    config.save()
    conversation = _start(integration_client, shop)
    assert conversation["transfer_entry_visible"] is False
    response = integration_client.post(f"/api/v1/conversations/{conversation['id']}/transfer-to-human/")
    assert response.status_code == 409
    assert "not shown" in response.json()["detail"]


def test_shop_staff_do_not_click_the_buyers_entry(shop, integration_client, agent_client):
    conversation = _start(integration_client, shop)
    Conversation.objects.filter(pk=conversation["id"]).update(status="queued")  # visible to agents
    assert agent_client.post(f"/api/v1/conversations/{conversation['id']}/transfer-to-human/").status_code == 403


def test_agent_transfers_own_chat_to_a_colleague_and_closes(shop, agent, integration_client):
    conversation = _start(integration_client, shop)
    integration_client.post(f"/api/v1/conversations/{conversation['id']}/transfer-to-human/")
    colleague = AgentFactory(shop=shop, status=AgentStatus.ONLINE)
    assert Conversation.objects.get(pk=conversation["id"]).agent_id == agent.pk
    client = client_for(agent.user)
    url = f"/api/v1/conversations/{conversation['id']}/transfer/"
    assert client.post(url, {}, format="json").status_code == 400
    assert client.post(url, {"agent": colleague.pk, "group": 1}, format="json").status_code == 400
    moved = client.post(url, {"agent": colleague.pk}, format="json")
    assert moved.status_code == 200
    assert moved.json()["agent"] == colleague.pk
    # No longer the agent's chat: invisible to them now.
    assert client.post(f"/api/v1/conversations/{conversation['id']}/close/").status_code == 404
    closed = client_for(colleague.user).post(f"/api/v1/conversations/{conversation['id']}/close/")
    assert (closed.status_code, closed.json()["status"], closed.json()["closed_by"]) == (200, "ended", "agent")


def test_transfer_to_an_unavailable_agent_is_409(shop, agent, integration_client, owner_client):
    conversation = _start(integration_client, shop)
    integration_client.post(f"/api/v1/conversations/{conversation['id']}/transfer-to-human/")
    offline = AgentFactory(shop=shop, status=AgentStatus.OFFLINE)
    empty_group = RoutingGroupFactory(shop=shop)
    url = f"/api/v1/conversations/{conversation['id']}/transfer/"
    assert owner_client.post(url, {"agent": offline.pk}, format="json").status_code == 409
    assert owner_client.post(url, {"group": empty_group.pk}, format="json").status_code == 409
    assert owner_client.post(url, {"agent": agent.pk}, format="json").status_code == 409  # already theirs


def test_buyer_closes_through_the_integration(shop, integration_client):
    conversation = _start(integration_client, shop)
    closed = integration_client.post(f"/api/v1/conversations/{conversation['id']}/close/").json()
    assert (closed["status"], closed["closed_by"]) == ("ended", "buyer")
    again = integration_client.post(f"/api/v1/conversations/{conversation['id']}/close/")
    assert again.status_code == 200
    message = integration_client.post(f"/api/v1/conversations/{conversation['id']}/messages/", {"body": "hi"})
    assert message.status_code == 409


def test_agent_may_post_only_in_chats_they_serve(shop, agent, agent_client, integration_client):
    conversation = _start(integration_client, shop)
    url = f"/api/v1/conversations/{conversation['id']}/messages/"
    Conversation.objects.filter(pk=conversation["id"]).update(status="queued")
    assert agent_client.post(url, {"body": "hi"}, format="json").status_code == 409


def test_bot_answers_buyer_messages_over_the_api(shop, integration_client, owner_client):
    faq = {"shop": shop.pk, "question": "发货时间", "keywords": ["发货", " 发货 ", ""], "answer": "48小时内发货"}
    created = owner_client.post("/api/v1/faq-entries/", faq, format="json")
    assert created.status_code == 201
    assert created.json()["keywords"] == ["发货"]
    conversation = _start(integration_client, shop)
    url = f"/api/v1/conversations/{conversation['id']}/messages/"
    integration_client.post(url, {"body": "什么时候发货呀"}, format="json")
    bodies = [m["body"] for m in integration_client.get(url).json()["results"]]
    assert bodies[-2:] == ["什么时候发货呀", "48小时内发货"]


def test_agents_read_the_faq_but_do_not_edit_it(shop, agent_client):
    assert agent_client.get("/api/v1/faq-entries/").status_code == 200
    body = {"shop": shop.pk, "question": "Q", "answer": "A"}
    assert agent_client.post("/api/v1/faq-entries/", body, format="json").status_code == 403


def test_agent_going_online_over_the_api_takes_the_queue(shop, integration_client, agent):
    conversation = _start(integration_client, shop)
    client = client_for(agent.user)
    client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": "offline"}, format="json")
    full = AgentFactory(shop=shop, capacity=0)
    assert full.status == "online"
    integration_client.post(f"/api/v1/conversations/{conversation['id']}/transfer-to-human/")
    assert Conversation.objects.get(pk=conversation["id"]).status == "queued"
    answer = client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": "online"}, format="json").json()
    assert answer["active_chats"] == 1
    assert Conversation.objects.get(pk=conversation["id"]).agent_id == agent.pk


def test_queue_positions_in_the_list_cost_no_query_per_row(shop, integration_client, staff_user):
    AgentFactory(shop=shop, capacity=0)

    def list_queries():
        client = client_for(type(staff_user).objects.get(pk=staff_user.pk))  # fresh: no cached tenancy lookup
        with CaptureQueriesContext(connection) as ctx:
            rows = client.get("/api/v1/conversations/", {"status": "queued"}).json()["results"]
        return len(ctx.captured_queries), [r["queue_position"] for r in rows]

    for _ in range(2):
        c = _start(integration_client, shop)
        integration_client.post(f"/api/v1/conversations/{c['id']}/transfer-to-human/")
    small, positions = list_queries()
    for _ in range(4):
        c = _start(integration_client, shop)
        integration_client.post(f"/api/v1/conversations/{c['id']}/transfer-to-human/")
    big, more_positions = list_queries()
    assert small == big
    assert positions == [2, 1]  # newest first
    assert more_positions == [6, 5, 4, 3, 2, 1]
