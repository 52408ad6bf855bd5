"""Leave a message (留言, DESIGN.md "Rules added in round two"): a transfer failing because nobody is online keeps the
chat waiting as ``left_message``, in the shop's line, until an agent comes online."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from agents.choices import AgentStatus
from agents.models import Agent
from chats import services
from chats.choices import ClosedBy, ConversationStatus, NotificationKind, Sender
from chats.models import Notification, Turn
from chats.routing.agent_changes import agent_set_status, agent_update
from chats.routing.queue import queue_position
from chats.supervision.wall import wall_state
from events.choices import EventType
from events.models import Event
from tests.agents.factories import AgentFactory
from tests.chats.helpers import active, bodies, start
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db

OFFLINE_TEXT = "No agent is online right now. Please leave a message and we will reply soon."


def _leave_message(shop, *, at=None):
    """A bot chat whose transfer request failed offline: now a left-message chat."""
    conversation = start(shop, started_at=at)
    result = services.transfer_to_human(conversation_id=conversation.pk, now=at)
    assert result.outcome == "failed_offline"
    conversation.refresh_from_db()
    return conversation


def _say(conversation, body, *, sender=Sender.BUYER, at=None, agent=None):
    return services.message_create(conversation=conversation, sender=sender, body=body, sent_at=at, agent=agent)


@pytest.fixture
def offline_agent(shop):
    return AgentFactory(shop=shop, status=AgentStatus.OFFLINE, display_name="小李", capacity=2)


def test_failed_offline_leaves_the_chat_waiting_with_the_invite(shop, offline_agent):
    conversation = start(shop)
    now = timezone.now()
    result = services.transfer_to_human(conversation_id=conversation.pk, now=now)
    assert (result.outcome, result.agent_id, result.queue_position) == ("failed_offline", None, None)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.queued_at, conversation.agent_id) == (
        ConversationStatus.LEFT_MESSAGE,
        now,
        None,
    )
    assert conversation.ended_at is None
    assert bodies(conversation, Sender.BOT)[-1] == OFFLINE_TEXT
    assert queue_position(conversation) is None  # its place is its queued_at; the buyer is told no number


def test_the_zh_hans_offline_text_invites_a_message(shop, offline_agent):
    with translation.override("zh-hans"):
        conversation = _leave_message(shop)
    assert "留言" in bodies(conversation, Sender.BOT)[-1]


def test_buyer_messages_get_no_bot_answer_and_stay_unanswered_until_an_agent_answers(shop, offline_agent):
    t0 = timezone.now() - timedelta(minutes=30)
    conversation = _leave_message(shop, at=t0)
    bot_before = bodies(conversation, Sender.BOT)
    _say(conversation, "我想问下能不能改地址", at=t0 + timedelta(minutes=1))
    _say(conversation, "转人工", at=t0 + timedelta(minutes=2))  # typed here: nothing answers, the chat waits as it is
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.LEFT_MESSAGE
    assert bodies(conversation, Sender.BOT) == bot_before  # no assistant answer: it would count as a response
    last = Turn.objects.filter(conversation=conversation).order_by("-number").first()
    assert (last.started_at, last.responded_at) == (t0 + timedelta(minutes=1), None)

    agent_set_status(agent=offline_agent, status=AgentStatus.ONLINE)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.agent_id) == (ConversationStatus.HUMAN, offline_agent.pk)
    last.refresh_from_db()
    assert last.responded_at is None  # the assignment's system message is no response
    answered_at = timezone.now()
    _say(conversation, "亲，可以改的", sender=Sender.AGENT, agent=offline_agent, at=answered_at)
    last.refresh_from_db()
    assert last.responded_at == answered_at


def test_an_agent_coming_online_takes_the_line_oldest_first_within_capacity(shop, offline_agent):
    """Queued chats and left messages are one line by queued_at; the agent takes as many as its capacity allows."""
    t0 = timezone.now() - timedelta(hours=2)
    older = _leave_message(shop, at=t0)
    newer = _leave_message(shop, at=t0 + timedelta(minutes=10))
    newest = _leave_message(shop, at=t0 + timedelta(minutes=20))
    # Someone comes online full and queues one chat between the left messages' times and now.
    full = AgentFactory(shop=shop, capacity=0)
    queued = start(shop, started_at=t0 + timedelta(minutes=15))
    assert services.transfer_to_human(conversation_id=queued.pk, now=t0 + timedelta(minutes=15)).outcome == "queued"
    queued.refresh_from_db()
    # In one line: two left messages (at t0 and t0+10) are ahead of the queued chat.
    assert queue_position(queued) == 3
    agent_set_status(agent=full, status=AgentStatus.OFFLINE)

    agent_set_status(agent=offline_agent, status=AgentStatus.ONLINE)  # capacity 2
    for chat in (older, newer, queued, newest):
        chat.refresh_from_db()
    assert [older.status, newer.status] == [ConversationStatus.HUMAN, ConversationStatus.HUMAN]
    assert (older.agent_id, newer.agent_id) == (offline_agent.pk, offline_agent.pk)
    assert (queued.status, newest.status) == (ConversationStatus.QUEUED, ConversationStatus.LEFT_MESSAGE)
    assert queue_position(queued) == 1
    assert active(offline_agent) == 2
    assert bodies(older, Sender.SYSTEM) == ["Agent 小李 is now serving you."]
    assert older.queued_at is None and older.assigned_at is not None

    # A seat frees: the queued chat (older than the last left message) is next, then the left message.
    services.conversation_close(conversation_id=older.pk, closed_by=ClosedBy.AGENT)
    queued.refresh_from_db()
    newest.refresh_from_db()
    assert (queued.status, newest.status) == (ConversationStatus.HUMAN, ConversationStatus.LEFT_MESSAGE)
    services.conversation_close(conversation_id=newer.pk, closed_by=ClosedBy.AGENT)
    newest.refresh_from_db()
    assert (newest.status, newest.agent_id) == (ConversationStatus.HUMAN, offline_agent.pk)
    assert active(offline_agent) == 2


def test_left_messages_are_routed_whether_or_not_the_shop_queues(shop, offline_agent):
    shop.queue_enabled = False
    shop.save()
    conversation = _leave_message(shop)
    agent_set_status(agent=offline_agent, status=AgentStatus.ONLINE)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.HUMAN


def test_the_assigned_agent_is_notified_once(shop, offline_agent):
    t0 = timezone.now() - timedelta(minutes=40)
    conversation = _leave_message(shop, at=t0)
    mark = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    agent_set_status(agent=offline_agent, status=AgentStatus.ONLINE)
    (notification,) = Notification.objects.filter(conversation=conversation)
    assert (notification.kind, notification.recipient_id, notification.turn_started_at) == (
        NotificationKind.LEFT_MESSAGE,
        offline_agent.pk,
        t0,
    )
    events = list(Event.objects.filter(seq__gt=mark).order_by("seq"))
    types = [event.type for event in events]
    assert EventType.CONVERSATION_ASSIGNED in types and EventType.NOTIFICATION_CREATED in types
    assert types.index(EventType.CONVERSATION_ASSIGNED) < types.index(EventType.NOTIFICATION_CREATED)
    created = events[types.index(EventType.NOTIFICATION_CREATED)]
    assert (created.agent_id, created.data["kind"], created.data["conversation"]) == (
        offline_agent.pk,
        "left_message",
        conversation.pk,
    )
    # The notification is listed in the agent's inbox.
    listed = client_for(offline_agent.user).get("/api/v1/notifications/").json()["results"]
    assert [(n["kind"], n["conversation"]) for n in listed] == [("left_message", conversation.pk)]
    # Going offline and online again changes nothing for a chat already assigned; a queued chat gets no notification.
    agent_set_status(agent=offline_agent, status=AgentStatus.OFFLINE)
    agent_set_status(agent=offline_agent, status=AgentStatus.ONLINE)
    assert Notification.objects.filter(kind=NotificationKind.LEFT_MESSAGE).count() == 1


def test_a_queued_chat_assigned_gets_no_left_message_notification(shop):
    full = AgentFactory(shop=shop, capacity=0)
    queued = start(shop)
    assert services.transfer_to_human(conversation_id=queued.pk).outcome == "queued"
    agent_update(agent=full, capacity=1)
    queued.refresh_from_db()
    assert queued.status == ConversationStatus.HUMAN
    assert not Notification.objects.exists()


def test_the_idle_close_sweep_leaves_left_messages_open(shop, offline_agent):
    long_ago = timezone.now() - timedelta(days=2)
    waiting = _leave_message(shop, at=long_ago)
    idle_bot_chat = start(shop, started_at=long_ago)
    assert services.conversations_close_idle(now=timezone.now()) == 1
    waiting.refresh_from_db()
    idle_bot_chat.refresh_from_db()
    assert (waiting.status, idle_bot_chat.status) == (ConversationStatus.LEFT_MESSAGE, ConversationStatus.ENDED)


def test_a_left_message_assigned_is_not_ended_as_idle_at_once(shop, offline_agent):
    long_ago = timezone.now() - timedelta(days=1)
    conversation = _leave_message(shop, at=long_ago)
    _say(conversation, "明早回我就行", at=long_ago + timedelta(minutes=1))
    agent_set_status(agent=offline_agent, status=AgentStatus.ONLINE)
    assert services.conversations_close_idle(now=timezone.now()) == 0
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.HUMAN


def test_an_agent_or_supervisor_can_end_a_left_message(shop, offline_agent):
    conversation = _leave_message(shop)
    services.conversation_close(conversation_id=conversation.pk, closed_by=ClosedBy.AGENT)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.closed_by) == (ConversationStatus.ENDED, ClosedBy.AGENT)


def test_a_second_request_while_still_offline_says_nothing_more(shop, offline_agent):
    t0 = timezone.now() - timedelta(minutes=10)
    conversation = _leave_message(shop, at=t0)
    _say(conversation, "在吗", at=t0 + timedelta(minutes=1))
    again = services.transfer_to_human(conversation_id=conversation.pk, now=t0 + timedelta(minutes=2))
    assert (again.outcome, again.agent_id, again.queue_position) == ("failed_offline", None, None)
    conversation.refresh_from_db()
    assert (conversation.status, conversation.queued_at) == (ConversationStatus.LEFT_MESSAGE, t0)  # its place kept
    assert bodies(conversation, Sender.BOT).count(OFFLINE_TEXT) == 1
    assert Turn.objects.filter(conversation=conversation, responded_at__isnull=True).count() == 1


def test_a_second_request_once_an_agent_is_online_is_assigned(shop, offline_agent):
    conversation = _leave_message(shop)
    # Online, but no drain has run yet (the row changed outside the services): the buyer's click routes the chat.
    Agent.objects.filter(pk=offline_agent.pk).update(status=AgentStatus.ONLINE)
    result = services.transfer_to_human(conversation_id=conversation.pk)
    assert (result.outcome, result.agent_id) == ("assigned", offline_agent.pk)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.HUMAN
    assert Notification.objects.filter(conversation=conversation, kind=NotificationKind.LEFT_MESSAGE).count() == 1


def test_a_second_request_with_agents_online_but_full_keeps_its_place(shop, offline_agent):
    conversation = _leave_message(shop)
    AgentFactory(shop=shop, status=AgentStatus.ONLINE, capacity=0)
    bot_before = bodies(conversation, Sender.BOT)
    result = services.transfer_to_human(conversation_id=conversation.pk)
    assert (result.outcome, result.queue_position) == ("queued", None)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.LEFT_MESSAGE
    assert bodies(conversation, Sender.BOT) == bot_before


def test_agents_see_their_shops_left_messages_and_not_other_shops(shop, other_shop, offline_agent):
    conversation = _leave_message(shop)
    mine = client_for(offline_agent.user)
    listed = mine.get("/api/v1/conversations/", {"status": "left_message"}).json()["results"]
    assert [(c["id"], c["status"], c["queue_position"]) for c in listed] == [(conversation.pk, "left_message", None)]
    assert mine.get(f"/api/v1/conversations/{conversation.pk}/").status_code == 200
    assert mine.get(f"/api/v1/conversations/{conversation.pk}/messages/").status_code == 200
    stranger = client_for(AgentFactory(shop=other_shop).user)
    assert stranger.get(f"/api/v1/conversations/{conversation.pk}/").status_code == 404
    assert stranger.get(f"/api/v1/conversations/{conversation.pk}/messages/").status_code == 404
    assert stranger.get("/api/v1/conversations/", {"status": "left_message"}).json()["results"] == []


def test_the_transfer_endpoint_answers_failed_offline(shop, integration_client, offline_agent):
    created = integration_client.post("/api/v1/conversations/", {"shop": shop.pk, "buyer": BuyerFactory().pk})
    assert created.status_code == 201, created.content
    url = f"/api/v1/conversations/{created.json()['id']}/transfer-to-human/"
    assert integration_client.post(url).json() == {"outcome": "failed_offline", "agent": None, "queue_position": None}
    assert integration_client.get(f"/api/v1/conversations/{created.json()['id']}/").json()["status"] == "left_message"
    assert integration_client.post(url).json() == {"outcome": "failed_offline", "agent": None, "queue_position": None}


def test_the_wall_counts_left_messages_beside_the_queue(shop, offline_agent):
    t0 = timezone.now() - timedelta(minutes=30)
    _leave_message(shop, at=t0)
    _leave_message(shop, at=t0 + timedelta(minutes=5))
    state = wall_state(shop=shop, now=timezone.now())
    assert state["left_messages"] == {"count": 2, "oldest_since": t0}
    assert state["queue"]["length"] == 0
