"""Live push: in each ASGI process one hub tails the outbox and hands every new event to the open connections that
may see it, in commit order, each exactly once.

The outbox is the source of truth, so an event committed by any process (web, Celery worker, beat) reaches every
ASGI process: the hub reads what the sequencer numbered (``events.feed``) after the last position it handed out.
How soon it looks:

- with a channel layer that crosses processes (``channels-redis``, configured when Redis is; ``CHANNEL_LAYERS``),
  every commit that stored events sends a nudge to the group ``NUDGE_GROUP`` and every hub reads at once; it also
  reads every ``LIVE_POLL_SECONDS`` as a safety net (a nudge lost with a Redis restart costs that much latency);
- without one (``make run`` on SQLite: the in-memory layer reaches no other process) the hub reads every
  ``LIVE_POLL_SECONDS_LOCAL`` (a quarter of a second), and the process's own commits nudge it at once.

A connection joins with the last id its client saw: under the hub's lock it is told the current head (``ready``),
is sent every event it may see between the two (the replay, from the feed), and from then on gets the hub's events
above the head, so no event is skipped or sent twice whatever commits meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db.models import Max, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from backoffice.tenancy import Caller

from .feed import events_sequence
from .models import Event, event_visible_to
from .rendering import event_json

logger = logging.getLogger(__name__)

NUDGE_GROUP = "events.committed"
PAGE = 1000
# What the hub reads of each event: who may see it, then what ``event_json`` renders.
_COLUMNS = ("audience", "previous_agent_id", "position", "type", "at", "shop_id", "conversation_id", "agent_id")


@dataclass(frozen=True, slots=True)
class LiveEvent:
    position: int
    shop_id: int
    audience: str
    agent_id: int | None
    previous_agent_id: int | None
    text: str  # the event as the feed renders it

    def visible_to(self, caller: Caller) -> bool:
        return event_visible_to(
            caller,
            shop_id=self.shop_id,
            audience=self.audience,
            agent_id=self.agent_id,
            previous_agent_id=self.previous_agent_id,
        )


def events_read(*, after: int, limit: int = PAGE, caller: Caller | None = None) -> list[LiveEvent]:
    """Committed events after position ``after`` (numbered first), rendered; only the caller's if one is given.

    Waits for a sequencer run of another process rather than skipping it, or the events that run numbers would wait
    for the next nudge or poll."""
    events_sequence(wait=True)
    queryset = Event.objects.all() if caller is None else Event.objects.for_caller(caller)
    rows = (
        queryset.filter(position__gt=after)
        .order_by("position")
        .annotate(data_json=Cast("data", TextField()))
        .values_list(*_COLUMNS, "data_json")[:limit]
    )
    zone = timezone.get_current_timezone()
    return [
        LiveEvent(
            position=position,
            shop_id=shop_id,
            audience=audience,
            agent_id=agent_id,
            previous_agent_id=previous_agent_id,
            text=event_json(position, type_, at, shop_id, conversation_id, agent_id, data_json, zone=zone),
        )
        for audience, previous_agent_id, position, type_, at, shop_id, conversation_id, agent_id, data_json in rows
    ]


def events_head() -> int:
    """The highest position handed out so far (0 when there is none)."""
    events_sequence(wait=True)
    return Event.objects.aggregate(head=Max("position"))["head"] or 0


class Listener:
    """What the hub needs of a connection: who it is, and a way to send it events (in order)."""

    caller: Caller
    cursor: int

    async def push(self, texts: list[str]) -> None:  # pragma: no cover - the interface
        raise NotImplementedError


class Hub:
    """One per process (``hub()``), living on the ASGI server's event loop."""

    def __init__(self):
        # The hub's database work runs on a thread of its own: on the shared one of database_sync_to_async it would
        # queue behind every connection's keepalive (a token look-up and a presence touch each), which at 2,000
        # connections kept that thread half busy and put ~150 ms on the p99 of a push (bench/push.py --trace).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="events-live-hub")
        self.position: int | None = None
        self.listeners: set[Listener] = set()
        self.lock = asyncio.Lock()
        self.wake = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    async def join(self, listener: Listener, *, after: int | None, ready: Callable[[int], Awaitable[None]]) -> int:
        """Register ``listener``: ``ready(head)`` is awaited, then the replay after ``after`` is pushed."""
        async with self.lock:
            self._start()
            if self.position is None:
                self.position = await self._db(events_head)()
            head = self.position
            await ready(head)
            cursor = head if after is None else min(after, head)
            while cursor < head:
                page = await self._db(events_read)(after=cursor, caller=listener.caller)
                page = [event for event in page if event.position <= head]
                if not page:
                    break
                await listener.push([event.text for event in page])
                cursor = page[-1].position
            listener.cursor = head
            self.listeners.add(listener)
            return head

    def _db(self, fn):
        return DatabaseSyncToAsync(fn, thread_sensitive=False, executor=self.executor)

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    def nudge(self) -> None:
        self.wake.set()

    async def read_once(self) -> int:
        """Hand every event committed since the last read to the listeners that may see it; how many were read."""
        read = 0
        async with self.lock:
            if self.position is None:
                self.position = await self._db(events_head)()
                return 0
            while True:
                page = await self._db(events_read)(after=self.position)
                if not page:
                    return read
                read += len(page)
                self.position = page[-1].position
                for listener in list(self.listeners):
                    texts = [e.text for e in page if e.position > listener.cursor and e.visible_to(listener.caller)]
                    listener.cursor = max(listener.cursor, page[-1].position)
                    if texts:
                        try:
                            await listener.push(texts)
                        except Exception:  # a connection closing under us must not stop the others
                            logger.exception("live push to a connection failed")
                            self.listeners.discard(listener)
                if len(page) < PAGE:
                    return read

    def _start(self) -> None:
        if self.tasks:
            return
        loop = asyncio.get_running_loop()
        self.tasks.append(loop.create_task(self._tail()))
        if _layer_crosses_processes():
            self.tasks.append(loop.create_task(self._listen()))

    async def _tail(self) -> None:
        interval = settings.LIVE_POLL_SECONDS if _layer_crosses_processes() else settings.LIVE_POLL_SECONDS_LOCAL
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=interval)
            self.wake.clear()
            try:
                await self.read_once()
            except Exception:  # a database hiccup: try again on the next round
                logger.exception("live hub read failed")
                await asyncio.sleep(interval)

    async def _listen(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(NUDGE_GROUP, channel)
        while True:
            try:
                await layer.receive(channel)
                self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: the tail's own polling carries on meanwhile
                logger.exception("live hub lost its channel layer; retrying")
                await asyncio.sleep(1)


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """This event loop's hub (one ASGI server loop per process; tests run one loop each)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(id(loop))
    if found is None or found.tasks and found.tasks[0].get_loop() is not loop:
        found = _hubs[id(loop)] = Hub()
    return found


def hubs_close() -> None:
    """Close the hubs' database connections and threads (tests, whose event loops each get a hub, call it)."""
    from django.db import connections

    for found in list(_hubs.values()):
        for task in found.tasks:
            if not task.get_loop().is_closed():
                task.get_loop().call_soon_threadsafe(task.cancel)
        found.executor.submit(connections.close_all).result(timeout=10)
        found.executor.shutdown(wait=True)
    _hubs.clear()


def _layer_crosses_processes() -> bool:
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return "channels_redis" in backend


# Writers' side: after each commit that stored events, nudge the hubs. The nudge goes out from one background thread
# with its own event loop, so a request or a task never waits on Redis for it (a lost nudge costs a poll interval).
# Nudges are coalesced: at most one is published per LIVE_NUDGE_WINDOW_SECONDS (20 ms); a commit inside the window is
# covered by the one published at its end. A publish costs the writing process about half a millisecond of CPU, which
# on every message would be a tenth of message_create (bench/events.py).
class _Nudger:
    def __init__(self):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending = threading.Event()
        self.guard = threading.Lock()
        self.last_sent = 0.0

    def send(self) -> None:
        if not _layer_crosses_processes():
            for local in list(_hubs.values()):  # this process's own hubs (make run, tests)
                loop = local.tasks[0].get_loop() if local.tasks else None
                if loop is not None and not loop.is_closed():
                    loop.call_soon_threadsafe(local.wake.set)
            return
        if self.pending.is_set():
            return  # one already on its way covers this commit too
        self.pending.set()
        delay = max(0.0, self.last_sent + settings.LIVE_NUDGE_WINDOW_SECONDS - time.monotonic())
        self._loop().call_soon_threadsafe(self._schedule, delay)

    def _schedule(self, delay: float) -> None:  # on the nudger's loop
        if delay:
            self.loop.call_later(delay, lambda: self.loop.create_task(self._group_send()))
        else:
            self.loop.create_task(self._group_send())

    async def _group_send(self) -> None:
        from channels.layers import get_channel_layer

        # Cleared before publishing: a commit from now on needs (and schedules) a nudge of its own.
        self.pending.clear()
        self.last_sent = time.monotonic()
        try:
            await get_channel_layer().group_send(NUDGE_GROUP, {"type": "events.committed"})
        except Exception:  # Redis away: the hubs poll
            logger.warning("could not nudge the live hubs", exc_info=True)

    def _loop(self) -> asyncio.AbstractEventLoop:
        with self.guard:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                threading.Thread(target=self.loop.run_forever, name="events-live-nudge", daemon=True).start()
            return self.loop


_nudger = _Nudger()


def live_nudge() -> None:
    """Registered with the outbox (``consumer_register``): run after every commit that stored events."""
    _nudger.send()
