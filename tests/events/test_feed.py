"""The event feed: scoping by role, paging by the last id seen, filters, the sequencer and the writer's rules."""

from datetime import datetime

import pytest
from django.db import transaction

from agents.choices import AgentRole
from events.choices import Audience, EventType
from events.feed import events_sequence
from events.models import Event
from events.outbox import EventDraft, event_emit, events_emit
from tests.agents.factories import AgentFactory
from tests.conftest import client_for
from tests.shops.factories import IntegrationClientFactory

URL = "/api/v1/events/"


def emit(shop, type=EventType.MESSAGE_CREATED, **fields):
    with transaction.atomic():
        return event_emit(type=type, shop_id=shop.pk, data=fields.pop("data", {"n": 1}), **fields)


def ids(response):
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["results"]]


def positions(events):
    for event in events:
        event.refresh_from_db()
    return [event.position for event in events]


@pytest.fixture
def world(shop, other_shop, agent):
    """Events of two shops, one of each audience, for agent A, another agent, and nobody."""
    colleague = AgentFactory(shop=shop, role=AgentRole.AGENT, display_name="Agent B")
    made = {
        "queue": emit(shop, EventType.CONVERSATION_QUEUED, conversation_id=1, audience=Audience.SHOP),
        "mine": emit(shop, conversation_id=2, agent_id=agent.pk),
        "colleague": emit(shop, conversation_id=3, agent_id=colleague.pk),
        "transferred_away": emit(
            shop,
            EventType.CONVERSATION_TRANSFERRED,
            conversation_id=4,
            agent_id=colleague.pk,
            previous_agent_id=agent.pk,
        ),
        "unassigned": emit(shop, conversation_id=5),
        "managers": emit(shop, EventType.EXPORT_FINISHED, audience=Audience.MANAGERS),
        # Named on it, yet managers only: the agent does not see it.
        "managers_naming_agent": emit(shop, EventType.EXPORT_FINISHED, agent_id=agent.pk, audience=Audience.MANAGERS),
        "my_status": emit(shop, EventType.AGENT_STATUS_CHANGED, agent_id=agent.pk),
        "other_shop": emit(other_shop, conversation_id=6, audience=Audience.SHOP),
    }
    events_sequence()
    return {name: Event.objects.get(pk=event.pk).position for name, event in made.items()}


def test_feed_scoping_by_role(world, shop, other_shop, agent, owner, supervisor, integration, staff_user):
    everything_a = [world[name] for name in world if name != "other_shop"]
    assert ids(client_for(staff_user).get(URL)) == sorted(world.values())
    assert ids(client_for(owner.user).get(URL)) == everything_a
    assert ids(client_for(supervisor.user).get(URL)) == everything_a
    assert ids(client_for(integration.user).get(URL)) == everything_a
    other_client = IntegrationClientFactory(shops=[other_shop])
    assert ids(client_for(other_client.user).get(URL)) == [world["other_shop"]]
    # An agent: its shop's queue events, its chats' events (also the one it transferred away), its own status.
    assert ids(client_for(agent.user).get(URL)) == [
        world["queue"],
        world["mine"],
        world["transferred_away"],
        world["my_status"],
    ]


def test_feed_pages_by_the_last_id_seen(shop, owner):
    made = [emit(shop, data={"n": n}) for n in range(5)]
    events_sequence()
    expected = positions(made)
    client = client_for(owner.user)

    first = client.get(URL, {"page_size": 2})
    assert ids(first) == expected[:2]
    assert f"after={expected[1]}" in first.json()["next"]
    second = client.get(first.json()["next"])
    assert ids(second) == expected[2:4]
    third = client.get(second.json()["next"])
    assert ids(third) == expected[4:]
    assert third.json()["next"] is None
    # Polling again with the last id: nothing new, then exactly the one written since.
    assert ids(client.get(URL, {"after": expected[-1]})) == []
    late = emit(shop, data={"n": 5})
    assert ids(client.get(URL, {"after": expected[-1]})) == positions([late])


def test_feed_renders_the_contract_fields(shop, owner, agent):
    event = emit(shop, EventType.MESSAGE_CREATED, conversation_id=7, agent_id=agent.pk, data={"body": "你好"})
    [rendered] = client_for(owner.user).get(URL).json()["results"]
    event.refresh_from_db()
    assert rendered == {
        "id": event.position,
        "type": "message.created",
        "at": rendered["at"],
        "shop": shop.pk,
        "conversation": 7,
        "agent": agent.pk,
        "data": {"body": "你好"},
    }
    assert datetime.fromisoformat(rendered["at"]) == event.at


def test_feed_filters_by_type_shop_and_conversation(world, staff_user, shop, other_shop):
    client = client_for(staff_user)
    assert ids(client.get(URL, {"type": "conversation.queued,export.finished"})) == [
        world["queue"],
        world["managers"],
        world["managers_naming_agent"],
    ]
    assert ids(client.get(URL, {"shop": other_shop.pk})) == [world["other_shop"]]
    assert ids(client.get(URL, {"conversation": 4})) == [world["transferred_away"]]
    assert ids(client.get(URL, {"conversation": 4, "after": world["transferred_away"]})) == []


def test_feed_bad_input_is_a_400(world, owner, other_shop):
    client = client_for(owner.user)
    for params, field in [
        ({"after": "x"}, "after"),
        ({"after": -1}, "after"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 5000}, "page_size"),
        ({"type": "conversation.exploded"}, "type"),
        ({"shop": other_shop.pk}, "shop"),  # another shop is not one the owner may name
        ({"conversation": "abc"}, "conversation"),
    ]:
        response = client.get(URL, params)
        assert response.status_code == 400, (params, response.content)
        assert field in response.json(), (params, response.json())


def test_feed_needs_a_caller(client, world):
    assert client.get(URL).status_code in (401, 403)


def test_feed_query_count_stays_flat(shop, owner, django_assert_max_num_queries):
    client = client_for(owner.user)
    for _ in range(3):
        emit(shop)
    client.get(URL)  # warm the caller lookup paths
    with django_assert_max_num_queries(12) as few:
        client.get(URL)
    for _ in range(40):
        emit(shop)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(ids(client.get(URL))) == 43


def test_events_are_numbered_only_after_the_sequencer_in_insert_order(shop):
    made = [emit(shop, data={"n": n}) for n in range(3)]
    assert positions(made) == [None, None, None]
    assert events_sequence() == 3
    numbered = positions(made)
    assert numbered == sorted(numbered) and len(set(numbered)) == 3
    assert events_sequence() == 0  # nothing left; numbers never change
    assert positions(made) == numbered


def test_events_sequence_works_in_batches(shop):
    with transaction.atomic():
        events_emit([EventDraft(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={"n": n}) for n in range(7)])
    assert events_sequence(batch=3) == 7
    assert not Event.objects.filter(position__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused(shop):
    with pytest.raises(RuntimeError):
        event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={})
    assert not Event.objects.exists()


def test_a_rolled_back_change_leaves_no_event(shop):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={})
        raise Boom
    events_sequence()
    assert not Event.objects.exists()


def test_unknown_type_or_audience_is_a_programming_error(shop):
    with pytest.raises(ValueError), transaction.atomic():
        event_emit(type="chat.exploded", shop_id=shop.pk, data={})
    with pytest.raises(ValueError), transaction.atomic():
        event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={}, audience="everyone")
