"""An event's ``data`` is the object exactly as the API renders it (API.md, events): each payload kind, emitted by a
change made through the API, compared with what the real endpoint answers for the same object (DRF test client)."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

import chats.tasks  # noqa: F401 -- registers the export task that the export service enqueues by name
from agents.choices import AgentStatus
from agents.models import Agent
from chats import services as chat_services
from chats.models import Conversation, Notification
from evaluations.random_source import use_random_source
from events.choices import EventType
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import FollowUpTaskFactory
from tests.conftest import client_for
from tests.events.emission import emitted
from tests.events.test_emission_others import Always
from tests.shops.factories import BuyerFactory

pytestmark = pytest.mark.django_db

CONVERSATIONS = "/api/v1/conversations/"


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def the(events, type):  # noqa: A002 - the event's word
    [event] = [e for e in events if e.type == type]
    return event


def conversation_api(client, conversation_id):
    return ok(client.get(f"{CONVERSATIONS}{conversation_id}/"))


def messages_api(client, conversation_id):
    return {m["id"]: m for m in ok(client.get(f"{CONVERSATIONS}{conversation_id}/messages/"))["results"]}


def without(data, *names):
    return {key: value for key, value in data.items() if key not in names}


@pytest.fixture(autouse=True)
def _owner_offline(owner):
    """The owner has a sub-account too: offline, so that chats go to ``agent``."""
    Agent.objects.filter(pk=owner.pk).update(status=AgentStatus.OFFLINE)


@pytest.fixture
def new_chat(shop, integration_client):
    def post(**body):
        return ok(integration_client.post(CONVERSATIONS, {"shop": shop.pk, "buyer": BuyerFactory().pk, **body}), 201)

    return post


def test_a_started_chat_and_its_greeting_are_rendered_as_the_api_renders_them(new_chat, owner_client):
    with emitted() as events:
        answer = new_chat(entry_point="item", entry_ref="item-42")
    assert the(events, EventType.CONVERSATION_STARTED).data == conversation_api(owner_client, answer["id"]) == answer
    greeting = the(events, EventType.MESSAGE_CREATED).data
    assert greeting == messages_api(owner_client, answer["id"])[greeting["id"]]


def test_queued_chats_carry_their_place_in_the_queue_as_the_api_shows_it(shop, new_chat, owner_client):
    shop.bot_enabled = False
    shop.save()
    new_chat()
    with emitted() as events:
        second = new_chat()
    api = conversation_api(owner_client, second["id"])
    assert api["queue_position"] == 2
    assert the(events, EventType.CONVERSATION_STARTED).data == api == second
    assert the(events, EventType.CONVERSATION_QUEUED).data == api


@pytest.mark.parametrize("room", [True, False], ids=["assigned", "queued"])
def test_transfer_to_human_events_render_the_chat_and_the_apis_answer(
    shop, new_chat, integration_client, owner_client, room
):
    AgentFactory(shop=shop, capacity=5 if room else 0)
    chat = new_chat()
    with emitted() as events:
        answer = ok(integration_client.post(f"{CONVERSATIONS}{chat['id']}/transfer-to-human/"))
    api = conversation_api(owner_client, chat["id"])
    requested = the(events, EventType.TRANSFER_REQUESTED).data
    assert without(requested, "outcome", "source") == api
    assert (requested["outcome"], requested["agent"], requested["queue_position"]) == (
        answer["outcome"],
        answer["agent"],
        answer["queue_position"],
    )
    result = the(events, EventType.CONVERSATION_ASSIGNED if room else EventType.CONVERSATION_QUEUED)
    assert result.data == api
    said = the(events, EventType.MESSAGE_CREATED).data
    assert said == messages_api(owner_client, chat["id"])[said["id"]]


def test_transferred_and_ended_chats_are_the_apis_answers(shop, agent, agent_client, new_chat, owner_client):
    colleague = AgentFactory(shop=shop)
    chat = new_chat()
    chat_services.transfer_to_human(conversation_id=chat["id"])
    url = f"{CONVERSATIONS}{chat['id']}"
    with emitted() as moved:
        transferred = ok(agent_client.post(f"{url}/transfer/", {"agent": colleague.pk}, format="json"))
    assert (
        the(moved, EventType.CONVERSATION_TRANSFERRED).data == transferred == conversation_api(owner_client, chat["id"])
    )
    with emitted() as closing:
        closed = ok(client_for(colleague.user).post(f"{url}/close/"))
    assert the(closing, EventType.CONVERSATION_ENDED).data == closed == conversation_api(owner_client, chat["id"])


def test_a_message_is_rendered_as_an_item_of_the_messages_list(shop, agent, agent_client, new_chat, owner_client):
    chat = new_chat()
    chat_services.transfer_to_human(conversation_id=chat["id"])
    with emitted() as events:
        posted = ok(agent_client.post(f"{CONVERSATIONS}{chat['id']}/messages/", {"body": "亲，在的"}), 201)
    [created] = events
    assert created.data == messages_api(owner_client, chat["id"])[posted["id"]] == posted


def test_a_buyer_message_with_a_flag_and_the_assistants_answer(new_chat, integration_client, owner_client):
    chat = new_chat()
    with emitted() as events:
        ok(integration_client.post(f"{CONVERSATIONS}{chat['id']}/messages/", {"body": "看 http://evil.example"}), 201)
    listed = messages_api(owner_client, chat["id"])
    assert [e.data for e in events] == [listed[e.data["id"]] for e in events]
    assert events[0].data["flags"] == ["suspicious_link"]


def test_an_agent_is_rendered_as_the_agents_endpoint_renders_it(shop, agent, agent_client):
    RoutingGroupFactory(shop=shop, name="售后", members=[agent])
    RoutingGroupFactory(shop=shop, name="Pre-sales", members=[agent])
    with emitted() as events:
        answer = ok(agent_client.post(f"/api/v1/agents/{agent.pk}/status/", {"status": AgentStatus.AWAY}))
    [changed] = events
    assert changed.data == answer == ok(agent_client.get(f"/api/v1/agents/{agent.pk}/"))
    assert len(answer["groups"]) == 2


def test_notifications_are_rendered_as_the_recipients_list_renders_them(shop, agent, agent_client, new_chat):
    now = timezone.now()
    chat = new_chat(started_at=(now - timedelta(hours=3)).isoformat())
    chat_services.transfer_to_human(conversation_id=chat["id"])
    FollowUpTaskFactory(shop=shop, handler=agent, remind_at=now - timedelta(minutes=1), content="x" * 300)
    chat_services.message_create(
        conversation=Conversation.objects.get(pk=chat["id"]),
        sender="buyer",
        body="在吗",
        sent_at=now - timedelta(hours=2),
    )
    with emitted() as events:
        chat_services.task_reminders_deliver(now=now)
        chat_services.missed_followups_notify(now=now)
    listed = {n["id"]: n for n in ok(agent_client.get("/api/v1/notifications/"))["results"]}
    assert len(events) == Notification.objects.count() == 2
    assert {e.data["kind"] for e in events} == {"task_due", "missed_followup"}
    for event in events:
        assert event.data == listed[event.data["id"]]


def test_invites_and_evaluations_are_rendered_as_their_endpoints_render_them(
    shop, agent, agent_client, new_chat, integration_client, owner_client
):
    shop.invite_probability = Decimal("1")
    shop.save()
    chat = new_chat()
    chat_services.transfer_to_human(conversation_id=chat["id"])
    with use_random_source(Always()), emitted() as events:
        chat_services.conversation_close(conversation_id=chat["id"], closed_by="buyer")
        from evaluations.services import rating_invite_decide

        rating_invite_decide(conversation_id=chat["id"])
    sent = the(events, EventType.INVITE_SENT).data
    invites = {i["id"]: i for i in ok(owner_client.get("/api/v1/evaluation-invites/"))["results"]}
    assert sent == invites[sent["id"]]
    with emitted() as rating:
        answer = ok(
            integration_client.post(
                "/api/v1/evaluations/", {"invite": sent["id"], "score": 5, "tags": ["耐心"]}, format="json"
            ),
            201,
        )
    [created] = rating
    assert created.data == answer == ok(owner_client.get(f"/api/v1/evaluations/{answer['id']}/"))


def test_an_export_is_rendered_as_the_exports_endpoint_renders_it(
    shop, owner_client, new_chat, django_capture_on_commit_callbacks
):
    new_chat()
    with emitted() as events, django_capture_on_commit_callbacks(execute=True):
        created = ok(
            owner_client.post("/api/v1/exports/", {"kind": "messages", "format": "csv", "filters": {}}, format="json"),
            202,
        )
    [finished] = events
    api = ok(owner_client.get(f"/api/v1/exports/{created['id']}/"))
    assert without(finished.data, "download_url") == without(api, "download_url")
    # The API makes the link absolute with the request's host; an event has no request, so it carries the path.
    assert finished.data["download_url"] == urlsplit(api["download_url"]).path
    assert api["status"] == "done"
