"""Chat monitoring API: figures per chat, filters, transcript, roles, bad input and flat query counts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.choices import AgentRole
from chats.choices import ConversationStatus
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.conftest import client_for
from tests.evaluations.factories import EvaluationFactory
from tests.shops.factories import IntegrationClientFactory, ShopFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/monitoring/conversations/"
# 2024-05-06 is a Monday; the shop is in Asia/Shanghai (UTC+8).
MAY6_10H_LOCAL = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)


def chat(shop, script, *, agent=None, group=None, started_at=MAY6_10H_LOCAL):
    """A chat from ``(seconds after start, sender)`` steps; agent messages are the chat agent's."""
    conversation = ConversationFactory(
        shop=shop,
        agent=agent,
        group=group,
        started_at=started_at,
        status=ConversationStatus.HUMAN if agent else ConversationStatus.BOT,
    )
    for offset, sender, *extra in script:
        MessageFactory(
            conversation=conversation,
            sender=sender,
            agent=agent if sender == "agent" else None,
            is_auto_reply="auto" in extra,
            sent_at=started_at + timedelta(seconds=offset),
        )
    return conversation


@pytest.fixture
def floor(shop):
    """Three chats of Shop A with hand-computed figures, and one of another shop."""
    agent_1 = AgentFactory(shop=shop, display_name="Xiao Li")
    agent_2 = AgentFactory(shop=shop, display_name="Xiao Wang")
    group = RoutingGroupFactory(shop=shop, name="售后组", members=[agent_2])
    # fast: turns at 0 (answered at 30: 30 s) and 100 (answered at 160: 60 s) -> first 30, max 60, 2 turns, 0 open.
    fast = chat(shop, [(0, "buyer"), (30, "agent"), (100, "buyer"), (160, "agent")], agent=agent_1)
    # slow: turn at 0 (auto-reply at 5 does not count; answered at 400: 400 s), turn at 500 unanswered.
    slow = chat(
        shop,
        [(0, "buyer"), (5, "agent", "auto"), (400, "agent"), (500, "buyer")],
        agent=agent_2,
        group=group,
        started_at=MAY6_10H_LOCAL + timedelta(hours=1),
    )
    # late: 23:30 local on May 6 is 15:30 UTC; bot answers in 10 s.
    late = chat(shop, [(0, "buyer"), (10, "bot")], started_at=datetime(2024, 5, 6, 15, 30, tzinfo=UTC))
    EvaluationFactory(conversation=slow, score=2)
    other = chat(ShopFactory(name="Shop B"), [(0, "buyer"), (999, "bot")])
    return {"fast": fast, "slow": slow, "late": late, "other": other, "agent_1": agent_1, "group": group}


def figures(response):
    assert response.status_code == 200, response.content
    return {
        row["id"]: (
            row["first_response_seconds"],
            row["max_response_seconds"],
            row["turns"],
            row["unanswered_turns"],
            row["rating"],
        )
        for row in response.json()["results"]
    }


def test_owner_sees_each_chat_of_the_shop_with_its_figures(owner_client, floor):
    assert figures(owner_client.get(URL)) == {
        floor["fast"].pk: (30.0, 60.0, 2, 0, None),
        floor["slow"].pk: (400.0, 400.0, 2, 1, 2),
        floor["late"].pk: (10.0, 10.0, 1, 0, None),
    }


def test_rows_name_the_buyer_agent_and_group(owner_client, floor):
    rows = {row["id"]: row for row in owner_client.get(URL).json()["results"]}
    slow = rows[floor["slow"].pk]
    assert (slow["agent_name"], slow["group_name"], slow["buyer_nick"]) == (
        "Xiao Wang",
        "售后组",
        floor["slow"].buyer.nick,
    )
    assert rows[floor["late"].pk]["agent_name"] is None


def test_dates_are_the_shops_local_days(owner_client, floor):
    # 23:30 on May 6 in Shanghai is 15:30 UTC: it belongs to May 6, not May 7.
    assert set(figures(owner_client.get(URL, {"date_from": "2024-05-06", "date_to": "2024-05-06"}))) == {
        floor["fast"].pk,
        floor["slow"].pk,
        floor["late"].pk,
    }
    assert figures(owner_client.get(URL, {"date_from": "2024-05-07"})) == {}
    assert figures(owner_client.get(URL, {"date_to": "2024-05-05"})) == {}


def test_filters_by_agent_group_min_response_and_unanswered(owner_client, floor):
    def ids(**params):
        return set(figures(owner_client.get(URL, params)))

    assert ids(agent=floor["agent_1"].pk) == {floor["fast"].pk}
    assert ids(group=floor["group"].pk) == {floor["slow"].pk}
    assert ids(min_response_seconds=60) == {floor["fast"].pk, floor["slow"].pk}
    assert ids(min_response_seconds=60.5) == {floor["slow"].pk}
    assert ids(min_response_seconds=401) == set()
    assert ids(unanswered="true") == {floor["slow"].pk}
    assert ids(unanswered="false") == {floor["fast"].pk, floor["late"].pk}
    assert ids(unanswered="false", min_response_seconds=20) == {floor["fast"].pk}


def test_transcript_has_messages_and_turns(owner_client, floor):
    response = owner_client.get(f"{URL}{floor['slow'].pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["first_response_seconds"], body["turns"], body["unanswered_turns"], body["rating"]) == (400.0, 2, 1, 2)
    assert [m["sender"] for m in body["messages"]] == ["buyer", "agent", "agent", "buyer"]
    assert body["messages_truncated"] is False
    turns = [(t["turn_no"], t["responder_sender"], t["response_seconds"]) for t in body["turn_details"]]
    assert turns == [(1, "agent", 400.0), (2, None, None)]
    started = datetime.fromisoformat(body["turn_details"][0]["started_at"].replace("Z", "+00:00"))
    assert started == MAY6_10H_LOCAL + timedelta(hours=1)


@pytest.mark.parametrize("role", [AgentRole.OWNER, AgentRole.SUPERVISOR])
def test_managers_may_monitor(shop, floor, role):
    client = client_for(AgentFactory(shop=shop, role=role).user)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}{floor['fast'].pk}/").status_code == 200


def test_agents_and_integrations_may_not_monitor(shop, agent, agent_client, integration_client, floor):
    served_by_the_agent = chat(shop, [(0, "buyer"), (5, "agent")], agent=agent)
    for client in (agent_client, integration_client):
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}{served_by_the_agent.pk}/").status_code == 403
        assert client.get(f"{URL}{floor['other'].pk}/").status_code == 404


def test_other_shops_chats_are_404_and_not_listed(owner_client, floor):
    assert floor["other"].pk not in figures(owner_client.get(URL))
    assert owner_client.get(f"{URL}{floor['other'].pk}/").status_code == 404


def test_platform_staff_see_every_shop_and_name_one_for_dates(staff_client, floor):
    assert floor["other"].pk in figures(staff_client.get(URL))
    response = staff_client.get(URL, {"date_from": "2024-05-06"})
    assert response.status_code == 400
    assert "shop" in response.json()
    by_shop = staff_client.get(URL, {"date_from": "2024-05-06", "shop": floor["fast"].shop_id})
    assert set(figures(by_shop)) == {floor["fast"].pk, floor["slow"].pk, floor["late"].pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2024-05-07", "date_to": "2024-05-06"}, "date_to"),
        ({"date_from": "2023-01-01", "date_to": "2024-05-06"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"min_response_seconds": "-1"}, "min_response_seconds"),
        ({"min_response_seconds": "fast"}, "min_response_seconds"),
        ({"agent": "999999"}, "agent"),
        ({"unanswered": "maybe"}, "unanswered"),
    ],
)
def test_bad_filters_are_400_with_the_field(owner_client, floor, params, field):
    response = owner_client.get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_agent_of_another_shop_named_with_a_shop_is_400(staff_client, floor):
    other_agent = AgentFactory(shop=floor["other"].shop)
    response = staff_client.get(URL, {"shop": floor["fast"].shop_id, "agent": other_agent.pk})
    assert response.status_code == 400
    assert "agent" in response.json()


def _queries(user, params=None):
    client = client_for(get_user_model().objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"page_size": 200, **(params or {})})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("params", [{}, {"min_response_seconds": 1, "unanswered": "false", "date_from": "2024-05-06"}])
def test_list_query_count_is_flat(shop, owner, params):
    group = RoutingGroupFactory(shop=shop)

    def grow(n):
        for _ in range(n):
            agent = AgentFactory(shop=shop)
            conversation = chat(shop, [(0, "buyer"), (30, "agent"), (90, "buyer"), (95, "agent")], agent=agent)
            conversation.group = group
            conversation.save(update_fields=["group"])
            EvaluationFactory(conversation=conversation, score=4)

    grow(2)
    small_queries, small_rows = _queries(owner.user, params)
    grow(8)
    big_queries, big_rows = _queries(owner.user, params)
    assert (small_rows, big_rows) == (2, 10)
    assert big_queries == small_queries


def test_integration_of_the_shop_is_refused_but_staff_of_no_shop_see_nothing(floor):
    client = client_for(IntegrationClientFactory(shops=[floor["fast"].shop]).user)
    assert client.get(URL).status_code == 403
