"""Live push across real processes: an ASGI server (uvicorn) on the test database, WebSocket clients, and the event
written by another process (a Celery worker through the broker, or this test process).

- With Redis the server's channel layer is channels-redis: the worker's commit nudges the server's hub through it. The
  server's safety-net poll is set to a minute, so only a nudge can bring the event within the test's wait; as any
  process on the same Redis may nudge (pub/sub knows no databases), the worker's log shows that its own went out.
- Without Redis (filesystem broker, no ``REDIS_URL``) the layer is in-memory and reaches no other process: the hub's
  poll of the outbox (``LIVE_POLL_SECONDS_LOCAL``) brings an event committed here.
- A client that comes back with ``after`` = the last id it saw gets exactly what it missed, once, then live events.
"""

import contextlib
import json
import socket
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from websockets.sync.client import connect

from agents.choices import AgentRole
from backoffice.celery import app as celery_app
from chats.choices import ConversationStatus
from chats.services import message_create
from chats.tasks import followup_reminders_deliver
from events.feed import events_sequence
from events.models import Event
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, FollowUpTaskFactory
from tests.shops.factories import ShopFactory

from . import processes

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WS_PATH = "/ws/v1/events/"
# Upper bounds, generous for a loaded machine: a wait ends as soon as the event is in.
NUDGED_SECONDS = 20  # the worker's run and the nudge; the server's own poll is a minute away
POLLED_SECONDS = 10  # the hub polls every quarter of a second
QUIET_SECONDS = 1.5  # how long "nothing more arrives" is watched


@contextlib.contextmanager
def asgi_server(tmp_path, broker: str, **extra: str):
    """``uvicorn backoffice.asgi:application`` (one worker) on a free port; yields the WebSocket URL."""
    port = processes.free_port()
    log = tmp_path / "asgi.log"
    env = processes.child_env(broker, BACKOFFICE_VAR_DIR=str(tmp_path / "var"), **extra)
    command = [sys.executable, "-m", "uvicorn", "backoffice.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "info"]
    server = processes.start(command, env, log)

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        processes.wait_for(listening, processes.READY_SECONDS, server, log, "the ASGI server to listen")
        yield f"ws://127.0.0.1:{port}{WS_PATH}", log
    finally:
        processes.stop(server)


def redis_server(tmp_path, broker: str, **extra: str):
    return asgi_server(tmp_path, broker, REDIS_URL=broker, **extra)


def local_server(tmp_path, **extra: str):
    # No Redis anywhere in its settings: the in-memory channel layer, the hub polls the outbox.
    return asgi_server(tmp_path, "filesystem://", REDIS_URL="", **extra)


@contextlib.contextmanager
def live_client(url: str, key: str, after: int | None = None):
    """A connection, authenticated: yields it and the ``ready`` frame."""
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "auth", "token": key, "after": after}))
        ready = json.loads(ws.recv(timeout=10))
        assert ready["type"] == "ready", ready
        yield ws, ready


def events_of(ws, count: int, timeout: float) -> list[dict]:
    """The next ``count`` events (pings skipped) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    found = []
    while len(found) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"got {len(found)} of {count} events within {timeout:.0f}s: {found}")
        try:
            frame = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            continue
        if frame.get("type") != "ping":
            found.append(frame)
    return found


def nothing_more(ws, seconds: float = QUIET_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        assert frame.get("type") == "ping", f"unexpected frame {frame}"


def hub_head(url: str, key: str) -> int:
    """The server hub's head: the ``last_id`` a new connection is told."""
    with live_client(url, key) as (_ws, ready):
        return ready["last_id"]


def token_of(agent) -> str:
    return Token.objects.create(user=agent.user).key


def buyer_message(chat, body: str):
    message = message_create(conversation=chat, sender="buyer", body=body)
    # Waiting: the server's hub may be numbering at this moment, and a sequencer that finds the lock taken returns at
    # once, leaving this event without its position until the hub's run commits.
    events_sequence(wait=True)
    event = Event.objects.get(type="message.created", conversation_id=chat.pk, data__id=message.pk)
    return message, event.position


def test_an_event_committed_by_a_celery_worker_reaches_a_client_of_another_process(eager_off, tmp_path):
    broker = processes.broker_url()
    if not broker.startswith(("redis://", "rediss://")):
        pytest.skip("the channels-redis layer needs a Redis broker")
    processes.skip_unless_broker_reachable(broker)
    shop = ShopFactory()
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    handler = AgentFactory(shop=shop)
    task = FollowUpTaskFactory(shop=shop, handler=handler, remind_at=timezone.now() - timedelta(minutes=1))
    key = token_of(owner)

    queue = processes.unique_queue()
    worker_log = tmp_path / "worker.log"
    with (
        redis_server(tmp_path, broker, LIVE_POLL_SECONDS="60") as (url, server_log),
        live_client(url, key) as (ws, ready),
    ):
        worker = processes.start(
            processes.worker_command(queue, "--pool=solo"), processes.child_env(broker, REDIS_URL=broker), worker_log
        )
        try:
            processes.wait_for(
                lambda: " ready." in worker_log.read_text(), processes.READY_SECONDS, worker, worker_log, "the worker"
            )
            with celery_app.connection_for_write(broker) as conn:
                followup_reminders_deliver.apply_async(queue=queue, connection=conn)
            [event] = events_of(ws, 1, NUDGED_SECONDS)
            nothing_more(ws)
        finally:
            processes.stop(worker)
            processes.forget_queue(broker, queue)
    assert worker.returncode == 0, worker_log.read_text()
    # Any process on this Redis may nudge the hub (pub/sub knows no databases): the worker's own nudge went out.
    assert "could not nudge the live hubs" not in worker_log.read_text(), worker_log.read_text()
    assert event["type"] == "notification.created", event
    assert event["id"] > ready["last_id"]
    assert (event["shop"], event["agent"]) == (shop.pk, handler.pk)
    assert event["data"]["task"] == task.pk
    assert (event["data"]["recipient"], event["data"]["kind"]) == (handler.pk, "task_due")
    task.refresh_from_db()
    assert task.reminded_at is not None
    assert "Traceback" not in server_log.read_text(), server_log.read_text()


def test_without_redis_the_hub_polls_the_outbox_for_another_process_s_commits(tmp_path):
    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    chat = ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    key = token_of(agent)

    with local_server(tmp_path) as (url, server_log), live_client(url, key) as (ws, ready):
        nothing_more(ws, 0.5)
        message, position = buyer_message(chat, "在吗？这件有XL码吗")
        [event] = events_of(ws, 1, POLLED_SECONDS)
        nothing_more(ws)
    assert event["type"] == "message.created"
    assert (event["id"], event["data"]["id"], event["agent"]) == (position, message.pk, agent.pk)
    assert event["id"] > ready["last_id"]
    assert "Traceback" not in server_log.read_text(), server_log.read_text()


def test_a_client_back_with_its_last_id_gets_exactly_what_it_missed(tmp_path):
    shop = ShopFactory()
    agent = AgentFactory(shop=shop)
    chat = ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    key, probe = token_of(agent), token_of(AgentFactory(shop=shop, role=AgentRole.OWNER))

    with local_server(tmp_path) as (url, server_log):
        with live_client(url, key) as (ws, _ready):
            _message, seen = buyer_message(chat, "first, seen live")
            [event] = events_of(ws, 1, POLLED_SECONDS)
            assert event["id"] == seen

        missed = [buyer_message(chat, f"while away {n}") for n in range(3)]
        elsewhere = ShopFactory()  # another shop's chat: not this agent's to see
        other = ConversationFactory(shop=elsewhere, agent=AgentFactory(shop=elsewhere), status=ConversationStatus.HUMAN)
        buyer_message(other, "someone else's")
        # Once the hub has read them (a probe's ``ready`` tells its head), the missed ones can only come as replay.
        deadline = time.monotonic() + POLLED_SECONDS
        while hub_head(url, probe) < missed[-1][1]:
            assert time.monotonic() < deadline, "the hub did not read the outbox"
            time.sleep(0.1)

        with live_client(url, key, after=seen) as (ws, ready):
            assert ready["last_id"] >= missed[-1][1]
            replayed = events_of(ws, 3, POLLED_SECONDS)
            assert [e["id"] for e in replayed] == [position for _m, position in missed]
            assert [e["data"]["id"] for e in replayed] == [m.pk for m, _p in missed]
            nothing_more(ws)

            after_return, position = buyer_message(chat, "after the return")
            [live] = events_of(ws, 1, POLLED_SECONDS)
            assert (live["id"], live["data"]["id"]) == (position, after_return.pk)
            nothing_more(ws)
    assert "Traceback" not in server_log.read_text(), server_log.read_text()
