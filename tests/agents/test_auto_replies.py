"""Auto-replies: rules by role and scope, each trigger in the message pipeline, once per occasion, never a response."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from agents.choices import AgentStatus, AutoReplyTrigger
from agents.models import AutoReplyRule
from agents.services import shop_create_with_auto_reply_defaults
from chats import services
from chats.choices import ConversationStatus, Sender
from chats.models import Message
from chats.turns import ConversationFilter, turn_rows_sql
from tests.agents.factories import AgentFactory, AutoReplyRuleFactory
from tests.chats.factories import ConversationFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/auto-replies/"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


@pytest.fixture
def chat(shop, agent):
    return ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent, started_at=T0)


def buyer_says(conversation, at, body="在吗？", **kwargs):
    return services.message_create(conversation=conversation, sender=Sender.BUYER, body=body, sent_at=at, **kwargs)


def agent_says(conversation, at):
    return services.message_create(
        conversation=conversation, sender=Sender.AGENT, agent=conversation.agent, body="在的", sent_at=at
    )


def auto_replies(conversation):
    return list(
        Message.objects.filter(conversation=conversation, is_auto_reply=True)
        .order_by("sent_at", "pk")
        .values_list("body", flat=True)
    )


def set_status(agent, status):
    agent.status = status
    agent.save(update_fields=["status"])


# --- triggers ----------------------------------------------------------------------------------------------------


def test_first_message_of_the_local_day_gets_one_reply_per_buyer(shop, agent, chat):
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.FIRST_MESSAGE_OF_DAY, content="早上好")
    buyer_says(chat, T0)
    buyer_says(chat, T0 + timedelta(minutes=1))
    agent_says(chat, T0 + timedelta(minutes=2))
    buyer_says(chat, T0 + timedelta(hours=3))
    assert auto_replies(chat) == ["早上好"]
    reply = Message.objects.get(conversation=chat, is_auto_reply=True)
    assert (reply.sender, reply.agent_id, reply.sent_at) == (Sender.SYSTEM, agent.pk, T0)
    # Another chat of the same buyer the same day: not again.
    second = ConversationFactory(shop=shop, buyer=chat.buyer, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(second, T0 + timedelta(hours=4))
    assert auto_replies(second) == []
    # Another buyer: yes.
    third = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(third, T0 + timedelta(hours=4))
    assert auto_replies(third) == ["早上好"]


def test_the_day_is_the_shops_local_day(shop, chat):
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.FIRST_MESSAGE_OF_DAY, content="hello")
    # 15:59 and 16:01 UTC are 23:59 and 00:01 in Shanghai: two local days. 00:01 and 15:59 UTC are one.
    buyer_says(chat, datetime(2026, 3, 2, 0, 1, tzinfo=UTC))
    buyer_says(chat, datetime(2026, 3, 2, 15, 59, tzinfo=UTC))
    buyer_says(chat, datetime(2026, 3, 2, 16, 1, tzinfo=UTC))
    assert auto_replies(chat) == ["hello", "hello"]


@pytest.mark.parametrize(
    ("status", "trigger"),
    [(AgentStatus.AWAY, AutoReplyTrigger.AGENT_AWAY), (AgentStatus.BUSY, AutoReplyTrigger.AGENT_BUSY)],
)
def test_busy_or_away_agent_replies_once_per_buyer_turn(shop, agent, chat, status, trigger):
    AutoReplyRuleFactory(shop=shop, trigger=trigger, content=f"{status} now")
    set_status(agent, status)
    buyer_says(chat, T0)
    buyer_says(chat, T0 + timedelta(seconds=30))  # same turn
    assert auto_replies(chat) == [f"{status} now"]
    agent_says(chat, T0 + timedelta(minutes=1))
    buyer_says(chat, T0 + timedelta(minutes=2))  # a new turn
    assert auto_replies(chat) == [f"{status} now", f"{status} now"]
    set_status(agent, AgentStatus.ONLINE)
    agent_says(chat, T0 + timedelta(minutes=3))
    buyer_says(chat, T0 + timedelta(minutes=4))
    assert len(auto_replies(chat)) == 2


def test_over_capacity_replies_above_the_threshold_only(shop, agent, chat):
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.OVER_CAPACITY, threshold=3, content="many buyers")
    agent.active_chats = 3
    agent.save(update_fields=["active_chats"])
    buyer_says(chat, T0)
    assert auto_replies(chat) == []  # 3 is not more than 3
    agent.active_chats = 4
    agent.save(update_fields=["active_chats"])
    buyer_says(chat, T0 + timedelta(seconds=10))
    buyer_says(chat, T0 + timedelta(seconds=20))
    assert auto_replies(chat) == ["many buyers"]


def test_away_wins_over_capacity_one_availability_reply_per_turn(shop, agent, chat):
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="away")
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.OVER_CAPACITY, threshold=0, content="many")
    agent.status, agent.active_chats = AgentStatus.AWAY, 1
    agent.save(update_fields=["status", "active_chats"])
    buyer_says(chat, T0)
    set_status(agent, AgentStatus.ONLINE)
    buyer_says(chat, T0 + timedelta(seconds=5))  # same turn: over capacity now, but the turn had its reply
    assert auto_replies(chat) == ["away"]


def test_personal_rule_wins_over_the_team_rule(shop, agent, chat):
    colleague = AgentFactory(shop=shop, status=AgentStatus.AWAY)
    set_status(agent, AgentStatus.AWAY)
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="team text")
    AutoReplyRuleFactory(shop=shop, agent=agent, trigger=AutoReplyTrigger.AGENT_AWAY, content="my own text")
    buyer_says(chat, T0)
    other = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=colleague)
    buyer_says(other, T0)
    assert auto_replies(chat) == ["my own text"]
    assert auto_replies(other) == ["team text"]


def test_disabled_rules_and_team_rules_without_subaccounts_send_nothing(shop, agent, chat):
    set_status(agent, AgentStatus.AWAY)
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="team text")
    AutoReplyRuleFactory(shop=shop, agent=agent, trigger=AutoReplyTrigger.AGENT_BUSY, content="off", enabled=False)
    shop.subaccounts_enabled = False
    shop.save()
    buyer_says(chat, T0)
    assert auto_replies(chat) == []
    AutoReplyRuleFactory(shop=shop, agent=agent, trigger=AutoReplyTrigger.AGENT_AWAY, content="personal")
    agent_says(chat, T0 + timedelta(minutes=1))
    buyer_says(chat, T0 + timedelta(minutes=2))
    assert auto_replies(chat) == ["personal"]


def test_no_auto_reply_for_history_imports_or_bot_served_chats(shop, agent, chat):
    set_status(agent, AgentStatus.AWAY)
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="away")
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.FIRST_MESSAGE_OF_DAY, content="hi")
    buyer_says(chat, T0, history=True)
    bot_chat = ConversationFactory(shop=shop, status=ConversationStatus.BOT)
    buyer_says(bot_chat, T0)
    assert auto_replies(chat) == [] and auto_replies(bot_chat) == []


def test_auto_replies_never_count_as_responses(shop, agent, chat):
    set_status(agent, AgentStatus.AWAY)
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="away")
    buyer_says(chat, T0)
    agent_says(chat, T0 + timedelta(seconds=200))
    assert auto_replies(chat) == ["away"]
    sql, params = turn_rows_sql(ConversationFilter(conversation_ids=[chat.pk]))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT response_seconds, responder_sender FROM ({sql}) t", params)  # noqa: S608
        assert cursor.fetchall() == [(200.0, "agent")]


def test_a_buyer_message_without_rules_costs_one_indexed_query(shop, chat):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        buyer_says(chat, T0)
    tables = ("agents_autoreplyrule", "chats_autoreplydelivery", "agents_agent")
    workbench = [q["sql"] for q in queries if any(table in q["sql"] for table in tables)]
    assert len(workbench) == 1
    assert "agents_autoreplyrule" in workbench[0]


# --- rules through the API ---------------------------------------------------------------------------------------


def test_new_shops_get_the_suggested_team_rules_switched_off():
    shop = shop_create_with_auto_reply_defaults(name="New shop", platform="taobao", industry="toys")
    rules = AutoReplyRule.objects.filter(shop=shop)
    assert sorted(rules.values_list("trigger", "enabled", "agent")) == [
        ("agent_away", False, None),
        ("agent_busy", False, None),
        ("first_message_of_day", False, None),
        ("over_capacity", False, None),
    ]
    assert rules.get(trigger="over_capacity").threshold == 5


def test_owner_switches_a_suggested_rule_on(owner_client, shop):
    response = owner_client.post(f"{URL}defaults/", {"shop": shop.pk}, format="json")
    assert response.status_code == 200
    assert len(response.json()) == 4
    assert owner_client.post(f"{URL}defaults/", {"shop": shop.pk}, format="json").json() == []  # idempotent
    rule = AutoReplyRule.objects.get(shop=shop, trigger="agent_away")
    response = owner_client.patch(f"{URL}{rule.pk}/", {"enabled": True}, format="json")
    assert response.status_code == 200 and response.json()["enabled"] is True


def test_agent_manages_only_its_personal_rules(agent_client, agent, shop):
    colleague = AgentFactory(shop=shop)
    team = AutoReplyRuleFactory(shop=shop)
    theirs = AutoReplyRuleFactory(shop=shop, agent=colleague)
    body = {"shop": shop.pk, "agent": agent.pk, "trigger": "agent_busy", "content": "busy!"}
    response = agent_client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    mine = response.json()["id"]
    assert {row["id"] for row in agent_client.get(URL).json()["results"]} == {team.pk, mine}
    assert agent_client.post(URL, {**body, "agent": None}, format="json").status_code == 403  # team rule
    assert agent_client.post(URL, {**body, "agent": colleague.pk}, format="json").status_code == 403
    assert agent_client.patch(f"{URL}{team.pk}/", {"content": "x"}, format="json").status_code == 403
    assert agent_client.patch(f"{URL}{theirs.pk}/", {"content": "x"}, format="json").status_code == 404
    assert agent_client.patch(f"{URL}{mine}/", {"enabled": False}, format="json").json()["enabled"] is False
    assert agent_client.delete(f"{URL}{mine}/").status_code == 204


def test_rule_input_errors_are_400(owner_client, shop):
    body = {"shop": shop.pk, "trigger": "over_capacity", "content": "many"}
    response = owner_client.post(URL, body, format="json")
    assert response.status_code == 400 and "threshold" in response.json()
    assert owner_client.post(URL, {**body, "threshold": 5}, format="json").status_code == 201
    response = owner_client.post(URL, {**body, "threshold": 6}, format="json")
    assert response.status_code == 400 and "trigger" in response.json()  # one team rule per trigger
    response = owner_client.post(URL, {**body, "trigger": "sleepy"}, format="json")
    assert response.status_code == 400 and "trigger" in response.json()


def test_team_rules_need_subaccounts(owner_client, owner, shop):
    shop.subaccounts_enabled = False
    shop.save()
    body = {"shop": shop.pk, "trigger": "agent_away", "content": "away"}
    response = owner_client.post(URL, body, format="json")
    assert response.status_code == 400 and "agent" in response.json()
    assert owner_client.post(URL, {**body, "agent": owner.pk}, format="json").status_code == 201


def test_supervisor_manages_team_rules(supervisor, shop):
    client = client_for(supervisor.user)
    response = client.post(URL, {"shop": shop.pk, "trigger": "agent_away", "content": "稍等"}, format="json")
    assert response.status_code == 201
    assert response.json()["agent"] is None


def test_rules_of_one_shop_never_reach_another_shops_chats(shop):
    other_agent = AgentFactory(status=AgentStatus.AWAY)
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY)
    chat = ConversationFactory(
        shop=other_agent.shop, status=ConversationStatus.HUMAN, agent=other_agent, buyer=BuyerFactory()
    )
    buyer_says(chat, T0)
    assert auto_replies(chat) == []


def test_going_away_tells_buyers_already_waiting_once_per_turn(shop, agent, chat):
    from chats.routing.agent_changes import agent_set_status

    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="away")
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_BUSY, content="busy")
    answered = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(chat, T0)
    buyer_says(answered, T0)
    agent_says(answered, T0 + timedelta(seconds=30))
    agent_set_status(agent=agent, status=AgentStatus.AWAY)
    assert auto_replies(chat) == ["away"]
    assert auto_replies(answered) == []  # nobody waiting there
    agent_set_status(agent=agent, status=AgentStatus.BUSY)
    buyer_says(chat, T0 + timedelta(minutes=1))  # still the same unanswered turn
    assert auto_replies(chat) == ["away"]
    agent_set_status(agent=agent, status=AgentStatus.ONLINE)
    assert auto_replies(chat) == ["away"]
