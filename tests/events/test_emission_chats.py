"""Chat services emit their outbox events exactly once per change, with the chat's shop, agent and audience, and
nothing when the change rolls back: starting, queueing, assigning, transferring and ending chats, and messages."""

from datetime import timedelta

import pytest

from agents.choices import AgentStatus, AutoReplyTrigger
from agents.models import Agent
from chats import services
from chats.choices import ClosedBy, ConversationStatus, Sender
from chats.models import Conversation, Message
from events.choices import Audience, EventType
from tests.agents.factories import AgentFactory, AutoReplyRuleFactory
from tests.chats.factories import FaqEntryFactory
from tests.chats.helpers import start
from tests.events.emission import T0, emitted, rolled_back, types, who
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db

AT = "2024-05-06T18:00:00+08:00"  # T0 in the shop's (and the API's) time zone
LATER = "2024-05-06T18:05:00+08:00"  # T0 + 5 minutes


def chat(conversation, **fields):
    """The chat as the API renders it, every field spelled out: a bot chat started at T0 unless ``fields`` say."""
    return {
        "id": conversation.pk,
        "shop": conversation.shop_id,
        "buyer": conversation.buyer_id,
        "entry_point": "shop",
        "entry_ref": "",
        "status": "bot",
        "agent": None,
        "group": None,
        "phase": "pre_sales",
        "started_at": AT,
        "ended_at": None,
        "closed_by": "",
        "transfer_entry_visible": True,
        "buyer_exposed": True,
        "queue_position": None,
        "queued_at": None,
        "transfer_requested_at": None,
        "transfer_source": "",
        "assigned_at": None,
        "last_message_at": AT,
        **fields,
    }


def message(row, **fields):
    return {
        "id": row.pk,
        "conversation": row.conversation_id,
        "sender": "buyer",
        "agent": None,
        "body": row.body,
        "sent_at": AT,
        "is_auto_reply": False,
        "flags": [],
        **fields,
    }


def messages_of(conversation):
    return list(Message.objects.filter(conversation=conversation).order_by("pk"))


@pytest.fixture
def bot_chat(shop):
    return start(shop, started_at=T0)


@pytest.fixture
def served(shop, agent):
    """A chat started at T0 and assigned to ``agent`` at T0 (the transfer-to-human entry)."""
    conversation = start(shop, started_at=T0)
    services.transfer_to_human(conversation_id=conversation.pk, now=T0)
    return Conversation.objects.get(pk=conversation.pk)


# --- starting ------------------------------------------------------------------------------------------------------


def test_conversation_start_emits_started_then_the_assistants_greeting(shop):
    with emitted() as events:
        conversation = start(shop, started_at=T0)
    [greeting] = messages_of(conversation)
    assert types(events) == [EventType.CONVERSATION_STARTED, EventType.MESSAGE_CREATED]
    started, greeted = events
    assert who(started) == (shop.pk, conversation.pk, None, None, Audience.AGENT)
    assert started.data == chat(conversation)
    assert who(greeted) == (shop.pk, conversation.pk, None, None, Audience.AGENT)
    assert greeted.data == message(
        greeting, sender="bot", body="Hello, I am the shop's service assistant. How can I help you?"
    )


def test_conversation_start_without_the_assistant_queues_the_chat_for_the_whole_shop(shop):
    shop.bot_enabled = False
    shop.save()
    with emitted() as events:
        conversation = start(shop, started_at=T0)
    assert types(events) == [EventType.CONVERSATION_STARTED, EventType.CONVERSATION_QUEUED]
    waiting = chat(
        conversation,
        status="queued",
        transfer_entry_visible=False,
        queue_position=1,
        queued_at=AT,
        last_message_at=None,
    )
    assert [(who(e), e.data) for e in events] == [
        ((shop.pk, conversation.pk, None, None, Audience.AGENT), waiting),
        ((shop.pk, conversation.pk, None, None, Audience.SHOP), waiting),
    ]
    assert conversation.annotated_queue_position == 1  # the service answers with its place too


def test_conversation_start_without_the_assistant_assigns_an_online_agent_at_once(shop, agent):
    shop.bot_enabled = False
    shop.save()
    with emitted() as events:
        conversation = start(shop, started_at=T0)
    assert types(events) == [
        EventType.CONVERSATION_STARTED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.MESSAGE_CREATED,
    ]
    started, assigned, announced = events
    assert who(started) == (shop.pk, conversation.pk, None, None, Audience.AGENT)
    assert started.data["status"] == "queued" and started.data["queue_position"] == 1
    assert who(assigned) == (shop.pk, conversation.pk, agent.pk, None, Audience.SHOP)
    assert assigned.data["status"] == "human" and assigned.data["agent"] == agent.pk
    assert assigned.data["queue_position"] is None and assigned.data["queued_at"] is None
    assert who(announced) == (shop.pk, conversation.pk, agent.pk, None, Audience.AGENT)
    assert announced.data["sender"] == "system" and announced.data["body"] == "Agent Agent A is now serving you."


def test_conversation_start_of_history_emits_nothing(shop):
    with emitted() as events:
        start(shop, started_at=T0, history=True)
    assert events == []


# --- transfer to human ----------------------------------------------------------------------------------------------


def test_transfer_to_human_assigned_emits_the_request_the_assignment_and_its_announcement(shop, agent, bot_chat):
    with emitted() as events:
        result = services.transfer_to_human(conversation_id=bot_chat.pk, now=T0 + timedelta(minutes=5))
    [_greeting, announcement] = messages_of(bot_chat)
    assert types(events) == [
        EventType.TRANSFER_REQUESTED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.MESSAGE_CREATED,
    ]
    requested, assigned, announced = events
    served = chat(
        bot_chat,
        status="human",
        agent=agent.pk,
        transfer_requested_at=LATER,
        transfer_source="button",
        assigned_at=LATER,
        last_message_at=AT,
    )
    assert who(requested) == (shop.pk, bot_chat.pk, agent.pk, None, Audience.AGENT)
    assert requested.data == {**served, "outcome": "assigned", "source": "button"}
    assert (requested.data["outcome"], requested.data["agent"]) == (result.outcome, result.agent_id)
    assert who(assigned) == (shop.pk, bot_chat.pk, agent.pk, None, Audience.SHOP)
    assert assigned.data == served
    assert who(announced) == (shop.pk, bot_chat.pk, agent.pk, None, Audience.AGENT)
    assert announced.data == message(
        announcement, sender="system", body="Agent Agent A is now serving you.", sent_at=LATER
    )
    with emitted() as again:
        assert services.transfer_to_human(conversation_id=bot_chat.pk).outcome == "already_assigned"
    assert again == []  # a click that changes nothing emits nothing


def test_transfer_to_human_queued_puts_the_chat_in_the_shops_queue(shop, bot_chat):
    AgentFactory(shop=shop, capacity=0)  # online, no room
    with emitted() as events:
        result = services.transfer_to_human(conversation_id=bot_chat.pk, now=T0 + timedelta(minutes=5))
    [_greeting, queue_text] = messages_of(bot_chat)
    assert types(events) == [EventType.TRANSFER_REQUESTED, EventType.CONVERSATION_QUEUED, EventType.MESSAGE_CREATED]
    requested, queued, said = events
    waiting = chat(
        bot_chat,
        status="queued",
        queue_position=1,
        queued_at=LATER,
        transfer_requested_at=LATER,
        transfer_source="button",
    )
    assert who(requested) == (shop.pk, bot_chat.pk, None, None, Audience.AGENT)
    assert requested.data == {**waiting, "outcome": "queued", "source": "button"}
    assert requested.data["queue_position"] == result.queue_position == 1
    assert who(queued) == (shop.pk, bot_chat.pk, None, None, Audience.SHOP)
    assert queued.data == waiting
    assert who(said) == (shop.pk, bot_chat.pk, None, None, Audience.AGENT)
    assert said.data == message(
        queue_text,
        sender="bot",
        body="All agents are busy. You are number 1 in the queue; please wait.",
        sent_at=LATER,
    )
    with emitted() as again:
        assert services.transfer_to_human(conversation_id=bot_chat.pk).outcome == "queued"
    assert again == []


@pytest.mark.parametrize(
    ("queue_enabled", "agents", "outcome", "text"),
    [
        (True, 0, "failed_offline", "No agent is online right now. Please leave a message and we will reply soon."),
        (False, 1, "failed_busy", "All agents are busy right now. Please try again in a moment."),
    ],
)
def test_transfer_to_human_that_fails_emits_the_request_and_the_assistants_text(
    shop, bot_chat, queue_enabled, agents, outcome, text
):
    shop.queue_enabled = queue_enabled
    shop.save()
    AgentFactory.create_batch(agents, shop=shop, capacity=0)
    with emitted() as events:
        services.transfer_to_human(conversation_id=bot_chat.pk, now=T0 + timedelta(minutes=5))
    [_greeting, said] = messages_of(bot_chat)
    assert types(events) == [EventType.TRANSFER_REQUESTED, EventType.MESSAGE_CREATED]
    assert who(events[0]) == (shop.pk, bot_chat.pk, None, None, Audience.AGENT)
    # Failed offline, the chat waits as a left message (its place in line from the request); failed busy, a bot chat.
    waiting = {"status": "left_message", "queued_at": LATER} if outcome == "failed_offline" else {}
    assert events[0].data == {
        **chat(bot_chat, transfer_requested_at=LATER, transfer_source="button", **waiting),
        "outcome": outcome,
        "source": "button",
    }
    assert events[1].data == message(said, sender="bot", body=text, sent_at=LATER)


# --- manual transfers and the queue ---------------------------------------------------------------------------------


def test_conversation_transfer_is_seen_by_the_new_agent_and_the_one_before(shop, agent, served):
    colleague = AgentFactory(shop=shop, display_name="小王")
    with emitted() as events:
        services.conversation_transfer(conversation_id=served.pk, to_agent=colleague, now=T0 + timedelta(minutes=5))
    assert types(events) == [EventType.CONVERSATION_TRANSFERRED, EventType.MESSAGE_CREATED]
    transferred, said = events
    assert who(transferred) == (shop.pk, served.pk, colleague.pk, agent.pk, Audience.AGENT)
    assert transferred.data == chat(
        served, status="human", agent=colleague.pk, transfer_requested_at=AT, transfer_source="button", assigned_at=AT
    )
    assert who(said) == (shop.pk, served.pk, colleague.pk, None, Audience.AGENT)
    assert said.data["body"] == "Your chat has been transferred to agent 小王."


def test_conversation_transfer_frees_a_seat_that_the_queue_takes(shop, agent, served):
    Agent.objects.filter(pk=agent.pk).update(capacity=1)
    colleague = AgentFactory(shop=shop, status=AgentStatus.BUSY)
    waiting = start(shop)
    services.transfer_to_human(conversation_id=waiting.pk)  # queued: the agent is full, the colleague busy
    Agent.objects.filter(pk=colleague.pk).update(status=AgentStatus.ONLINE)
    with emitted() as events:
        services.conversation_transfer(conversation_id=served.pk, to_agent=colleague)
    assert types(events) == [
        EventType.CONVERSATION_TRANSFERRED,
        EventType.MESSAGE_CREATED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.MESSAGE_CREATED,
    ]
    assert who(events[2]) == (shop.pk, waiting.pk, agent.pk, None, Audience.SHOP)


def test_agent_coming_online_takes_queued_chats_with_one_event_each(shop, agent):
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.OFFLINE)
    other = AgentFactory(shop=shop, capacity=0)  # someone is online, so chats queue
    chats = [start(shop) for _ in range(3)]
    for conversation in chats:
        services.transfer_to_human(conversation_id=conversation.pk)
    with emitted() as events:
        services.agent_set_status(agent=agent, status=AgentStatus.ONLINE)
    assigned = [e for e in events if e.type == EventType.CONVERSATION_ASSIGNED]
    assert [e.conversation_id for e in assigned] == [c.pk for c in chats]
    assert {who(e)[2:] for e in assigned} == {(agent.pk, None, Audience.SHOP)}
    assert types(events).count(EventType.MESSAGE_CREATED) == 3
    assert other.pk not in {e.agent_id for e in events}


def test_routing_group_members_take_queued_chats(shop, agent):
    Agent.objects.filter(pk=agent.pk).update(capacity=0)
    conversation = start(shop)
    services.transfer_to_human(conversation_id=conversation.pk)
    newcomer = AgentFactory(shop=shop)
    with emitted() as events:
        services.routing_group_create(shop=shop, name="售前", members=[newcomer])
    assert [(e.type, e.agent_id) for e in events] == [
        (EventType.CONVERSATION_ASSIGNED, newcomer.pk),
        (EventType.MESSAGE_CREATED, newcomer.pk),
    ]


# --- ending ---------------------------------------------------------------------------------------------------------


def test_conversation_close_emits_ended_once_for_the_chats_agent(shop, agent, served):
    with emitted() as events:
        services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.BUYER, now=T0 + timedelta(minutes=5))
    [ended] = events
    assert (ended.type, who(ended)) == (
        EventType.CONVERSATION_ENDED,
        (shop.pk, served.pk, agent.pk, None, Audience.AGENT),
    )
    assert ended.data == chat(
        served,
        status="ended",
        agent=agent.pk,
        ended_at=LATER,
        closed_by="buyer",
        transfer_requested_at=AT,
        transfer_source="button",
        assigned_at=AT,
    )
    with emitted() as again:
        services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.AGENT)
    assert again == []


def test_conversation_close_of_a_queued_chat_tells_the_whole_shop(shop, bot_chat):
    AgentFactory(shop=shop, capacity=0)
    services.transfer_to_human(conversation_id=bot_chat.pk, now=T0)
    with emitted() as events:
        services.conversation_close(conversation_id=bot_chat.pk, closed_by=ClosedBy.BUYER, now=T0)
    [ended] = events
    assert who(ended) == (shop.pk, bot_chat.pk, None, None, Audience.SHOP)
    assert (ended.data["status"], ended.data["queue_position"], ended.data["queued_at"]) == ("ended", None, AT)


def test_conversation_close_frees_a_seat_and_the_queue_is_assigned_after_the_end(shop, agent, served):
    Agent.objects.filter(pk=agent.pk).update(capacity=1)
    waiting = start(shop)
    services.transfer_to_human(conversation_id=waiting.pk)
    with emitted() as events:
        services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.AGENT)
    assert [(e.type, e.conversation_id) for e in events] == [
        (EventType.CONVERSATION_ENDED, served.pk),
        (EventType.CONVERSATION_ASSIGNED, waiting.pk),
        (EventType.MESSAGE_CREATED, waiting.pk),
    ]


# --- messages -------------------------------------------------------------------------------------------------------


def test_message_create_in_a_bot_chat_emits_the_message_and_the_assistants_answer(shop, bot_chat):
    FaqEntryFactory(shop=shop, keywords=["发货"], answer="亲，付款后48小时内发货哦。")
    with emitted() as events:
        services.message_create(conversation=bot_chat, sender=Sender.BUYER, body="什么时候发货", sent_at=T0)
    [_greeting, asked, answered] = messages_of(bot_chat)
    assert types(events) == [EventType.MESSAGE_CREATED, EventType.MESSAGE_CREATED]
    assert [who(e) for e in events] == [(shop.pk, bot_chat.pk, None, None, Audience.AGENT)] * 2
    assert [e.data for e in events] == [
        message(asked, body="什么时候发货"),
        message(answered, sender="bot", body="亲，付款后48小时内发货哦。"),
    ]


def test_message_create_by_the_agent_is_seen_by_the_chats_agent(shop, agent, served):
    with emitted() as events:
        row = services.message_create(
            conversation=served, sender=Sender.AGENT, agent=agent, body="亲，在的", sent_at=T0
        )
    [created] = events
    assert (created.type, who(created)) == (
        EventType.MESSAGE_CREATED,
        (shop.pk, served.pk, agent.pk, None, Audience.AGENT),
    )
    assert created.data == message(row, sender="agent", agent=agent.pk, body="亲，在的")


def test_message_create_carries_the_messages_flags(shop, bot_chat):
    with emitted() as events:
        row = services.message_create(
            conversation=bot_chat, sender=Sender.BUYER, body="see http://evil.example/x", sent_at=T0
        )
    assert events[0].data == message(row, body="see http://evil.example/x", flags=["suspicious_link"])


def test_message_create_as_history_emits_nothing(shop, agent, served):
    with emitted() as events:
        services.message_create(
            conversation=served, sender=Sender.BUYER, body="旧消息", sent_at=T0 - timedelta(days=1), history=True
        )
    assert events == []
    assert Message.objects.filter(conversation=served, body="旧消息").exists()


def test_auto_replies_are_messages_too(shop, agent, served):
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.AWAY)
    AutoReplyRuleFactory(shop=shop, agent=agent, trigger=AutoReplyTrigger.AGENT_AWAY, content="I'm away.")
    with emitted() as events:
        asked = services.message_create(conversation=served, sender=Sender.BUYER, body="在吗", sent_at=T0)
    reply = Message.objects.get(conversation=served, is_auto_reply=True)
    assert [e.data for e in events] == [
        message(asked, body="在吗"),
        message(reply, sender="system", agent=agent.pk, body="I'm away.", is_auto_reply=True),
    ]
    assert {who(e) for e in events} == {(shop.pk, served.pk, agent.pk, None, Audience.AGENT)}


def test_an_auto_reply_that_already_went_out_is_taken_back_with_its_event(shop, agent, served):
    AutoReplyRuleFactory(
        shop=shop, agent=agent, trigger=AutoReplyTrigger.FIRST_MESSAGE_OF_DAY, content="Welcome!", threshold=None
    )
    services.message_create(conversation=served, sender=Sender.BUYER, body="在吗", sent_at=T0)
    with emitted() as events:
        asked = services.message_create(
            conversation=served, sender=Sender.BUYER, body="还在吗", sent_at=T0 + timedelta(minutes=1)
        )
    # The day's greeting was sent for the first message: the second send clashes and its savepoint takes back the
    # message and its message.created alike.
    assert [e.data["id"] for e in events] == [asked.pk]
    assert Message.objects.filter(conversation=served, is_auto_reply=True).count() == 1


def test_agent_turning_away_tells_waiting_buyers_with_message_events(shop, agent, served):
    services.message_create(conversation=served, sender=Sender.BUYER, body="在吗", sent_at=T0)
    AutoReplyRuleFactory(shop=shop, agent=agent, trigger=AutoReplyTrigger.AGENT_AWAY, content="I'm away.")
    with emitted() as events:
        services.agent_set_status(agent=agent, status=AgentStatus.AWAY)
    assert types(events) == [EventType.AGENT_STATUS_CHANGED, EventType.MESSAGE_CREATED]
    assert events[1].data["body"] == "I'm away." and events[1].data["is_auto_reply"] is True


# --- rolled back: no event ------------------------------------------------------------------------------------------


def _rollback_cases():
    def start_chat(shop, agent, chat):
        start(shop, buyer=BuyerFactory())

    def post(shop, agent, chat):
        services.message_create(conversation=chat, sender=Sender.AGENT, agent=agent, body="在的")

    def transfer(shop, agent, chat):
        services.conversation_transfer(conversation_id=chat.pk, to_agent=AgentFactory(shop=shop))

    def close(shop, agent, chat):
        services.conversation_close(conversation_id=chat.pk, closed_by=ClosedBy.AGENT)

    def request(shop, agent, chat):
        services.transfer_to_human(conversation_id=start(shop).pk)

    def status(shop, agent, chat):
        services.agent_set_status(agent=agent, status=AgentStatus.BUSY)

    def close_idle(shop, agent, chat):
        services.conversations_close_idle(now=T0 + timedelta(days=1))

    return [start_chat, post, transfer, close, request, status, close_idle]


@pytest.mark.parametrize("change", _rollback_cases(), ids=lambda change: change.__name__)
def test_a_rolled_back_chat_change_emits_nothing(shop, agent, served, change):
    Conversation.objects.filter(pk=served.pk).update(last_message_at=T0)
    assert rolled_back(lambda: change(shop, agent, served)) == []
    assert Conversation.objects.get(pk=served.pk).status == ConversationStatus.HUMAN
