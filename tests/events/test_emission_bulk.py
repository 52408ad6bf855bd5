"""Bulk paths emit one event per object, in one outbox INSERT per batch, with a number of queries that does not
grow with the batch: bulk message writes, queue drains, idle ends, the missed follow-up sweep and task reminders."""

from datetime import timedelta

import pytest
from django.db import transaction

from agents.choices import AgentStatus
from agents.models import Agent
from chats import services
from chats.choices import ConversationStatus, NotificationKind, Sender
from chats.lifecycle.messages import messages_bulk_write
from chats.models import Conversation, Message, Notification
from events.choices import Audience, EventType
from events.models import Event
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, FollowUpTaskFactory
from tests.chats.helpers import start
from tests.events.emission import T0, emitted, outbox_inserts, queries, rolled_back, types, who

pytestmark = pytest.mark.django_db


# --- bulk message writes --------------------------------------------------------------------------------------------


def _rows(chats, n, *, with_chat=True):
    rows = []
    for k in range(n):
        conversation = chats[k % len(chats)]
        sent_at = T0 + timedelta(seconds=k)
        if with_chat:
            rows.append(Message(conversation=conversation, sender=Sender.BUYER, body=f"m{k}", sent_at=sent_at))
        else:
            rows.append(Message(conversation_id=conversation.pk, sender=Sender.BUYER, body=f"m{k}", sent_at=sent_at))
    return rows


@pytest.mark.parametrize("with_chat", [True, False], ids=["chats-in-memory", "chat-ids-only"])
def test_messages_bulk_write_emits_one_event_per_message_in_one_insert(shop, agent, with_chat):
    chats = [
        ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN),
        ConversationFactory(shop=shop),
    ]
    counts = []
    for n in (3, 12):
        with emitted() as events, queries() as captured:
            written = messages_bulk_write(messages=_rows(chats, n, with_chat=with_chat))
        assert len(events) == n and set(types(events)) == {EventType.MESSAGE_CREATED}
        assert [e.data["id"] for e in events] == [m.pk for m in written.messages]
        assert outbox_inserts(captured) == 1
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]  # flat: no query per message
    first, second = events[0], events[1]
    assert who(first) == (shop.pk, chats[0].pk, agent.pk, None, Audience.AGENT)
    assert who(second) == (shop.pk, chats[1].pk, None, None, Audience.AGENT)
    assert first.data == {
        "id": written.messages[0].pk,
        "conversation": chats[0].pk,
        "sender": "buyer",
        "agent": None,
        "body": "m0",
        "sent_at": "2024-05-06T18:00:00+08:00",
        "is_auto_reply": False,
        "flags": [],
    }


def test_messages_bulk_write_batches_its_events_like_its_rows(shop):
    chats = [ConversationFactory(shop=shop)]
    with emitted() as events, queries() as captured:
        messages_bulk_write(messages=_rows(chats, 5), batch_size=2)
    assert len(events) == 5
    assert outbox_inserts(captured) == 3


def test_messages_bulk_write_of_history_emits_nothing(shop):
    with emitted() as events, queries() as captured:
        messages_bulk_write(messages=_rows([ConversationFactory(shop=shop)], 4), history=True)
    assert events == [] and outbox_inserts(captured) == 0
    assert Message.objects.count() == 4


def test_messages_bulk_write_rolled_back_emits_nothing(shop):
    chats = [ConversationFactory(shop=shop)]
    assert rolled_back(lambda: messages_bulk_write(messages=_rows(chats, 3))) == []


# --- the queue ------------------------------------------------------------------------------------------------------


def _queue(shop, n):
    """``n`` chats queued for a human (the shop's only agent online has no room)."""
    chats = [start(shop) for _ in range(n)]
    for conversation in chats:
        services.transfer_to_human(conversation_id=conversation.pk)
    assert {c.status for c in Conversation.objects.filter(pk__in=[c.pk for c in chats])} == {"queued"}
    return chats


def test_queue_drain_inside_a_change_emits_every_assignment_in_one_insert(shop):
    full = AgentFactory(shop=shop, capacity=0)
    chats = _queue(shop, 4)
    Agent.objects.filter(pk=full.pk).update(capacity=10)
    with emitted() as events, queries() as captured, transaction.atomic():
        assert services.queue_drain(shop_id=shop.pk) == 4
    assert outbox_inserts(captured) == 1
    assigned = [e for e in events if e.type == EventType.CONVERSATION_ASSIGNED]
    assert [(e.conversation_id, e.agent_id, e.audience) for e in assigned] == [
        (c.pk, full.pk, Audience.SHOP) for c in chats
    ]
    assert types(events) == [EventType.CONVERSATION_ASSIGNED, EventType.MESSAGE_CREATED] * 4


@pytest.mark.django_db(transaction=True)
def test_queue_sweep_commits_each_assignment_with_its_own_events():
    from tests.shops.factories import ShopFactory

    shop = ShopFactory()
    full = AgentFactory(shop=shop, capacity=0)
    chats = _queue(shop, 3)
    Agent.objects.filter(pk=full.pk).update(capacity=10)
    with emitted() as events, queries() as captured:
        assert services.queue_sweep() == 3
    # Each claim commits by itself (SKIP LOCKED, one chat at a time), its two events in one INSERT with it.
    assert outbox_inserts(captured) == 3
    assert [e.conversation_id for e in events if e.type == EventType.CONVERSATION_ASSIGNED] == [c.pk for c in chats]
    assert len(events) == 6


def test_agent_coming_online_drains_the_queue_with_one_outbox_insert_for_its_assignments(shop, agent):
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.OFFLINE)
    AgentFactory(shop=shop, capacity=0)
    _queue(shop, 3)
    with emitted() as events, queries() as captured:
        services.agent_set_status(agent=agent, status=AgentStatus.ONLINE)
    assert outbox_inserts(captured) == 2  # the status change, then the drain's six events
    assert (
        types(events)
        == [EventType.AGENT_STATUS_CHANGED]
        + [
            EventType.CONVERSATION_ASSIGNED,
            EventType.MESSAGE_CREATED,
        ]
        * 3
    )


# --- idle ends ------------------------------------------------------------------------------------------------------


def _idle_chats(shop, agent, n):
    """``n`` chats idle since T0: half served by ``agent``, half still with the assistant."""
    chats = []
    for k in range(n):
        served = k % 2 == 0
        chats.append(
            ConversationFactory(
                shop=shop,
                started_at=T0,
                last_message_at=T0,
                status=ConversationStatus.HUMAN if served else ConversationStatus.BOT,
                agent=agent if served else None,
            )
        )
    Agent.objects.filter(pk=agent.pk).update(active_chats=(n + 1) // 2, capacity=50)
    return chats


def test_conversations_close_idle_emits_one_ended_per_chat_with_a_flat_query_count(shop, agent):
    counts = []
    for n in (2, 6):
        chats = _idle_chats(shop, agent, n)
        now = T0 + timedelta(hours=2)
        with emitted() as events, queries() as captured:
            assert services.conversations_close_idle(now=now) == n
        assert types(events) == [EventType.CONVERSATION_ENDED] * n
        assert [e.conversation_id for e in events] == [c.pk for c in chats]
        assert [who(e)[2:] for e in events] == [
            (agent.pk if k % 2 == 0 else None, None, Audience.AGENT) for k in range(n)
        ]
        assert outbox_inserts(captured) == 1
        counts.append(len(captured.captured_queries))
        assert Agent.objects.get(pk=agent.pk).active_chats == 0
    assert counts[0] == counts[1]
    ended = events[0].data
    assert (ended["status"], ended["closed_by"], ended["ended_at"]) == ("ended", "idle", "2024-05-06T20:00:00+08:00")
    with emitted() as again:
        assert services.conversations_close_idle(now=now) == 0
    assert again == []


def test_conversations_close_idle_gives_the_freed_seats_to_the_queue_after_the_ends(shop, agent):
    [idle] = _idle_chats(shop, agent, 1)
    Agent.objects.filter(pk=agent.pk).update(capacity=1, active_chats=1)
    [waiting] = _queue(shop, 1)  # the agent is full
    with emitted() as events:
        services.conversations_close_idle(now=T0 + timedelta(hours=2))
    assert [(e.type, e.conversation_id) for e in events] == [
        (EventType.CONVERSATION_ENDED, idle.pk),
        (EventType.CONVERSATION_ASSIGNED, waiting.pk),
        (EventType.MESSAGE_CREATED, waiting.pk),
    ]


# --- notifications --------------------------------------------------------------------------------------------------


def _overdue(shop, agent, n):
    """``n`` human chats of ``agent`` whose buyer has waited since T0."""
    chats = []
    for _ in range(n):
        conversation = ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN, started_at=T0)
        services.message_create(conversation=conversation, sender=Sender.BUYER, body="在吗", sent_at=T0)
        chats.append(conversation)
    return chats


def test_missed_followups_notify_emits_one_event_per_notification_in_one_insert(shop, agent):
    counts = []
    for n in (2, 5):
        chats = _overdue(shop, agent, n)
        with emitted() as events, queries() as captured:
            assert services.missed_followups_notify(now=T0 + timedelta(hours=1)) == n
        assert types(events) == [EventType.NOTIFICATION_CREATED] * n
        assert sorted(e.conversation_id for e in events) == sorted(c.pk for c in chats)
        assert {who(e)[2:] for e in events} == {(agent.pk, None, Audience.AGENT)}
        assert outbox_inserts(captured) == 1
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    with emitted() as again:
        assert services.missed_followups_notify(now=T0 + timedelta(hours=1)) == 0
    assert again == []


def test_missed_followups_notify_skips_turns_a_concurrent_run_notified(shop, agent, monkeypatch):
    """The unique constraint meets a row another run stored after this one read the turns: that row is dropped, the
    others are stored, and only those emit."""
    from chats.followup import notifications as module

    chats = _overdue(shop, agent, 3)
    real = module._overdue_turns

    def racing(**kwargs):
        rows = real(**kwargs)
        Notification.objects.create(
            shop=shop,
            recipient=agent,
            kind=NotificationKind.MISSED_FOLLOWUP,
            conversation=chats[1],
            turn_started_at=T0,
            due_at=T0 + timedelta(minutes=3),
        )
        return rows

    monkeypatch.setattr(module, "_overdue_turns", racing)
    with emitted() as events:
        assert services.missed_followups_notify(now=T0 + timedelta(hours=1)) == 2
    assert sorted(e.conversation_id for e in events) == sorted([chats[0].pk, chats[2].pk])
    assert Notification.objects.count() == 3


def test_task_reminders_deliver_emits_one_event_per_reminder_in_one_insert(shop, agent):
    counts = []
    for n in (2, 5):
        tasks = FollowUpTaskFactory.create_batch(n, shop=shop, handler=agent, remind_at=T0)
        with emitted() as events, queries() as captured:
            assert services.task_reminders_deliver(now=T0 + timedelta(minutes=1)) == n
        assert types(events) == [EventType.NOTIFICATION_CREATED] * n
        assert [e.data["task"] for e in events] == [t.pk for t in tasks]
        assert {who(e) for e in events} == {(shop.pk, None, agent.pk, None, Audience.AGENT)}
        assert outbox_inserts(captured) == 1
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
    assert events[0].data["text"] == f"Task due: {tasks[0].content}"


def test_task_reminders_rolled_back_emit_nothing(shop, agent):
    FollowUpTaskFactory.create_batch(2, shop=shop, handler=agent, remind_at=T0)
    assert rolled_back(lambda: services.task_reminders_deliver(now=T0 + timedelta(minutes=1))) == []
    assert not Event.objects.filter(type=EventType.NOTIFICATION_CREATED).exists()
