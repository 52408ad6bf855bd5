"""``/ws/v1/events/``: auth, ready, replay after an id, live events in commit order, scoping by role, 4401/4403."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from rest_framework.authtoken.models import Token

from agents.choices import AgentRole
from backoffice.asgi import application
from backoffice.tenancy import NOBODY, Caller, CallerRole
from events.choices import Audience, EventType
from events.feed import events_sequence
from events.models import Event, event_visible_to
from events.outbox import event_emit
from tests.agents.factories import AgentFactory, StaffUserFactory
from tests.shops.factories import IntegrationClientFactory, ShopFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/ws/v1/events/"


def emit(shop, type=EventType.MESSAGE_CREATED, **fields):
    with transaction.atomic():
        return event_emit(type=type, shop_id=shop.pk, data=fields.pop("data", {"n": 1}), **fields)


def position(event) -> int:
    events_sequence()
    return Event.objects.get(pk=event.pk).position


def token_of(user) -> str:
    return Token.objects.create(user=user).key


async def connect(key, after=None):
    client = WebsocketCommunicator(application, URL)
    connected, _ = await client.connect()
    assert connected
    await client.send_to(text_data=json.dumps({"type": "auth", "token": key, "after": after}))
    return client


async def frames(client, count, timeout=3):
    return [json.loads(await client.receive_from(timeout=timeout)) for _ in range(count)]


async def closed_with(client, timeout=3):
    output = await client.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output["code"]


def run(coroutine_fn):
    return async_to_sync(coroutine_fn)()


def test_bad_token_missing_auth_and_bad_frames_are_closed():
    async def scenario():
        client = await connect("not-a-token")
        assert await closed_with(client) == 4401
        client = WebsocketCommunicator(application, URL)
        await client.connect()
        await client.send_to(text_data=json.dumps({"type": "hello"}))
        assert await closed_with(client) == 4401
        client = WebsocketCommunicator(application, URL)
        await client.connect()
        await client.send_to(text_data="not json")
        assert await closed_with(client) == 4400

    run(scenario)


def test_after_must_be_a_whole_number():
    key = token_of(StaffUserFactory())

    async def scenario():
        client = await connect(key, after="12")
        assert await closed_with(client) == 4400

    run(scenario)


def test_ready_then_replay_after_the_id_then_live_events_in_order():
    shop = ShopFactory()
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    old = [emit(shop, data={"n": n}) for n in range(3)]
    seen = position(old[0])
    head = position(old[-1])
    key = token_of(owner.user)

    async def scenario():
        client = await connect(key, after=seen)
        ready, *replayed = await frames(client, 3)
        assert ready == {"type": "ready", "last_id": head}
        assert [e["data"]["n"] for e in replayed] == [1, 2]
        assert [e["id"] for e in replayed] == sorted(e["id"] for e in replayed)
        await database_sync_to_async(lambda: [emit(shop, data={"n": n}) for n in (3, 4)])()
        live = await frames(client, 2)
        assert [e["data"]["n"] for e in live] == [3, 4]
        assert live[0]["id"] > head and live[0]["type"] == "message.created" and live[0]["shop"] == shop.pk
        assert await client.receive_nothing(timeout=0.3)
        await client.disconnect()

    run(scenario)


def test_after_null_replays_nothing_and_a_late_client_gets_only_new_events():
    shop = ShopFactory()
    key = token_of(AgentFactory(shop=shop, role=AgentRole.SUPERVISOR).user)
    emit(shop, data={"n": "old"})

    async def scenario():
        client = await connect(key, after=None)
        [ready] = await frames(client, 1)
        assert ready["type"] == "ready"
        assert await client.receive_nothing(timeout=0.3)
        await database_sync_to_async(lambda: emit(shop, data={"n": "new"}))()
        [event] = await frames(client, 1)
        assert event["data"] == {"n": "new"} and event["id"] > ready["last_id"]
        await client.disconnect()

    run(scenario)


def test_live_scoping_by_role():
    shop, other = ShopFactory(), ShopFactory()
    agent = AgentFactory(shop=shop, role=AgentRole.AGENT)
    colleague = AgentFactory(shop=shop, role=AgentRole.AGENT)
    keys = {
        "staff": token_of(StaffUserFactory()),
        "owner": token_of(AgentFactory(shop=shop, role=AgentRole.OWNER).user),
        "agent": token_of(agent.user),
        "integration": token_of(IntegrationClientFactory(shops=[shop]).user),
        "other_integration": token_of(IntegrationClientFactory(shops=[other]).user),
    }

    def emit_all():
        emit(shop, EventType.CONVERSATION_QUEUED, conversation_id=1, audience=Audience.SHOP, data={"e": "queue"})
        emit(shop, conversation_id=2, agent_id=agent.pk, data={"e": "mine"})
        emit(shop, conversation_id=3, agent_id=colleague.pk, data={"e": "colleague"})
        emit(shop, EventType.EXPORT_FINISHED, audience=Audience.MANAGERS, data={"e": "export"})
        emit(other, conversation_id=4, audience=Audience.SHOP, data={"e": "other shop"})
        emit(shop, EventType.AGENT_STATUS_CHANGED, agent_id=agent.pk, data={"e": "end"})  # the agent's own status

    expected = {
        "staff": ["queue", "mine", "colleague", "export", "other shop", "end"],
        "owner": ["queue", "mine", "colleague", "export", "end"],
        "integration": ["queue", "mine", "colleague", "export", "end"],
        "agent": ["queue", "mine", "end"],
        "other_integration": ["other shop"],
    }

    async def scenario():
        clients = {name: await connect(key) for name, key in keys.items()}
        for client in clients.values():
            assert (await frames(client, 1))[0]["type"] == "ready"
        await database_sync_to_async(emit_all)()
        for name, client in clients.items():
            got = [e["data"]["e"] for e in await frames(client, len(expected[name]))]
            assert got == expected[name], name
            assert await client.receive_nothing(timeout=0.2), name
            await client.disconnect()

    run(scenario)


def test_a_deleted_token_or_deactivated_agent_is_closed_with_4403(settings):
    settings.LIVE_PING_SECONDS = 0.2
    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    supervisor = AgentFactory(shop=shop, role=AgentRole.SUPERVISOR)
    agent_key, supervisor_key = token_of(agent.user), token_of(supervisor.user)

    async def scenario():
        by_token = await connect(agent_key)
        by_user = await connect(supervisor_key)
        assert (await frames(by_token, 1))[0]["type"] == "ready"
        assert (await frames(by_user, 1))[0]["type"] == "ready"
        assert (await frames(by_token, 1))[0] == {"type": "ping"}  # alive while access stands
        await database_sync_to_async(Token.objects.filter(key=agent_key).delete)()
        await database_sync_to_async(
            lambda: type(supervisor.user).objects.filter(pk=supervisor.user.pk).update(is_active=False)
        )()
        for client in (by_token, by_user):
            while True:
                output = await client.receive_output(timeout=3)
                if output["type"] == "websocket.close":
                    assert output["code"] == 4403
                    break

    run(scenario)


def test_connecting_and_pinging_touch_the_agents_presence(settings):
    settings.LIVE_PING_SECONDS = 0.2
    agent = AgentFactory()
    key = token_of(agent.user)
    assert agent.last_seen_at is None

    async def scenario():
        client = await connect(key)
        await frames(client, 1)
        await database_sync_to_async(agent.refresh_from_db)()
        first = agent.last_seen_at
        assert first is not None
        await frames(client, 1)  # a ping
        await asyncio.sleep(0.05)
        await database_sync_to_async(agent.refresh_from_db)()
        assert agent.last_seen_at > first
        await client.disconnect()

    run(scenario)


def test_client_ping_is_answered():
    key = token_of(StaffUserFactory())

    async def scenario():
        client = await connect(key)
        await frames(client, 1)
        await client.send_to(text_data='{"type": "ping"}')
        assert await frames(client, 1) == [{"type": "pong"}]
        await client.disconnect()

    run(scenario)


def test_the_live_filter_equals_the_feed_scoping():
    shop, other = ShopFactory(), ShopFactory()
    a, b = AgentFactory(shop=shop), AgentFactory(shop=shop)
    for audience in Audience.values:
        for agent_id, previous in [(None, None), (a.pk, None), (b.pk, a.pk), (b.pk, None)]:
            for target in (shop, other):
                emit(target, audience=audience, agent_id=agent_id, previous_agent_id=previous)
    callers = [
        Caller(1, CallerRole.PLATFORM, None),
        Caller(2, CallerRole.INTEGRATION, frozenset([shop.pk, other.pk])),
        Caller(3, CallerRole.OWNER, frozenset([shop.pk]), 99),
        Caller(4, CallerRole.SUPERVISOR, frozenset([other.pk]), 98),
        Caller(a.user_id, CallerRole.AGENT, frozenset([shop.pk]), a.pk),
        Caller(b.user_id, CallerRole.AGENT, frozenset([shop.pk]), b.pk),
        Caller(7, CallerRole.AGENT, frozenset([shop.pk]), None),
        NOBODY,
    ]
    events = list(Event.objects.all())
    for caller in callers:
        scoped = set(Event.objects.for_caller(caller).values_list("pk", flat=True))
        in_memory = {
            e.pk
            for e in events
            if event_visible_to(
                caller,
                shop_id=e.shop_id,
                audience=e.audience,
                agent_id=e.agent_id,
                previous_agent_id=e.previous_agent_id,
            )
        }
        assert in_memory == scoped, caller
