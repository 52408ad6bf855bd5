"""Webhook delivery benchmark (PostgreSQL + Redis): events/s delivered by the real code path vs bare signed POSTs.

    python bench/events_webhooks.py [--events 20000] [--workers 4] [--receivers 2] [--repeat 2]

Builds ``--events`` events of one shop (message payloads, as ``message.created`` stores them) and one subscription to a
local receiver (asyncio processes sharing one port with ``SO_REUSEPORT``, answering ``200 ok`` with keep-alive).
Then, best of ``--repeat`` runs of each, alternating:

1. delivery through the real path: a Celery worker with ``--workers`` prefork processes on Redis
   (``BENCH_BROKER_URL``, default ``redis://127.0.0.1:6379/14``, its default queue emptied first); one
   ``webhooks_dispatch_task`` is enqueued and the clock runs until every delivery is recorded delivered: fan-out from
   the feed in commit order, batches of ``WEBHOOK_DELIVERY_BATCH`` claimed per task, the SSRF check, rendering,
   signing, the POSTs, the recorded results;
2. the yardstick: ``--workers`` processes POSTing the same body, signed afresh each time, through the same client
   (``events.webhooks.client.webhook_post``: urllib3, one kept-alive connection per process and host), the same
   number of POSTs in all, no database.

Prints both rates and their ratio (target >= 0.5). Everything it created is deleted at the end.
"""

import argparse
import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
os.environ["CELERY_BROKER_URL"] = os.environ["BENCH_BROKER_URL"]
os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "1"  # the receiver listens on 127.0.0.1

import _django  # noqa: E402 - the environment above is read when Django is set up

ROOT = Path(__file__).resolve().parent.parent
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
MESSAGE = {
    "id": 1,
    "conversation": 1,
    "sender": "buyer",
    "agent": None,
    "body": "亲，这件衣服有没有XL码？什么时候发货？",
    "sent_at": "2026-12-03T12:00:00.123456+08:00",
    "is_auto_reply": False,
    "flags": [],
}


# --- the receiver ---------------------------------------------------------------------------------------------------


class _Receiver(asyncio.Protocol):
    def __init__(self, counter):
        self.counter = counter
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            with self.counter.get_lock():
                self.counter.value += 1
            self.transport.write(RESPONSE)


def _receive(port: int, counter) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)

    async def serve():
        server = await asyncio.get_running_loop().create_server(lambda: _Receiver(counter), sock=sock)
        await server.serve_forever()

    asyncio.run(serve())


def receivers_start(count: int):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    counter = multiprocessing.Value("q", 0)
    processes = [multiprocessing.Process(target=_receive, args=(port, counter), daemon=True) for _ in range(count)]
    for process in processes:
        process.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return port, counter, processes


# --- the world ------------------------------------------------------------------------------------------------------


def build(events: int, url: str):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from events.choices import Audience, EventType
    from events.feed import events_sequence
    from events.models import Event, WebhookSubscription
    from events.outbox import EventDraft, events_emit
    from events.webhooks.signing import secret_new
    from shops.models import Shop

    tag = uuid.uuid4().hex[:8]
    shop = Shop.objects.create(name=f"Bench webhooks shop {tag}", platform="taobao", industry="apparel")
    user = get_user_model().objects.create(username=f"bench-webhooks-{tag}", is_staff=True)
    # Off while the events are written: nothing is fanned out before the clock starts.
    hook = WebhookSubscription.objects.create(shop=shop, created_by=user, url=url, secret=secret_new(), enabled=False)
    for start in range(0, events, 5000):
        with transaction.atomic():
            events_emit(
                EventDraft(
                    type=EventType.MESSAGE_CREATED,
                    shop_id=shop.pk,
                    conversation_id=n // 20 + 1,
                    audience=Audience.AGENT,
                    data={**MESSAGE, "id": n},
                )
                for n in range(start, min(events, start + 5000))
            )
    events_sequence()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")
    positions = Event.objects.filter(shop=shop).order_by("position").values_list("position", flat=True)
    return shop, user, hook, (positions.first(), positions.last())


def sample_body(shop) -> bytes:
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from events.models import Event
    from events.rendering import EVENT_COLUMNS, event_json

    row = (
        Event.objects.filter(shop=shop)
        .annotate(data_json=Cast("data", TextField()))
        .order_by("position")
        .values_list(*EVENT_COLUMNS)
        .first()
    )
    return event_json(*row).encode()


# --- the real path --------------------------------------------------------------------------------------------------


def worker_start(workers: int, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.base",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": "600",
    }
    command = [
        sys.executable,
        *("-m", "celery", "-A", "backoffice", "worker", "--loglevel=warning"),
        *("--pool=prefork", f"--concurrency={workers}", "--hostname", f"bench-webhooks-{uuid.uuid4().hex[:6]}@%h"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    from backoffice.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text(errors='replace')}")
    return worker


def real_run(hook, positions: tuple[int, int], events: int) -> float:
    from events.models import DeliveryStatus, FeedCursor, WebhookDelivery, WebhookSubscription
    from events.tasks import webhooks_dispatch_task
    from events.webhooks.dispatch import CURSOR

    WebhookDelivery.objects.filter(subscription=hook).delete()
    first_position, last_position = positions
    FeedCursor.objects.update_or_create(name=CURSOR, defaults={"position": first_position - 1})
    WebhookSubscription.objects.filter(pk=hook.pk).update(enabled=True, consecutive_failures=0)
    cursor = FeedCursor.objects.filter(name=CURSOR, position__gte=last_position)
    # Cheap to ask (the partial index of pending deliveries), so the watching costs the run next to nothing.
    pending = WebhookDelivery.objects.filter(subscription=hook, status=DeliveryStatus.PENDING)
    started = time.perf_counter()
    webhooks_dispatch_task.delay()
    deadline = time.monotonic() + 600
    while not cursor.exists() or pending.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{pending.count()} deliveries still pending after 600 s")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    delivered = WebhookDelivery.objects.filter(subscription=hook, status=DeliveryStatus.DELIVERED).count()
    assert delivered == events, f"{delivered} of {events} delivered"
    WebhookSubscription.objects.filter(pk=hook.pk).update(enabled=False)
    failed = WebhookDelivery.objects.filter(subscription=hook).exclude(status=DeliveryStatus.DELIVERED).count()
    assert failed == 0, f"{failed} deliveries not delivered"
    return events / elapsed


# --- the yardstick --------------------------------------------------------------------------------------------------


def _bare(url: str, secret: str, body: bytes, count: int, start, done) -> None:
    import django

    django.setup()
    from events.webhooks.client import webhook_post
    from events.webhooks.guard import webhook_target
    from events.webhooks.signing import signature_header

    target = webhook_target(url)
    start.wait()
    for n in range(count):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Backoffice-Webhooks/1.0",
            "X-Backoffice-Event": "message.created",
            "X-Backoffice-Delivery": str(n),
            "X-Backoffice-Signature": signature_header(secret, body),
        }
        result = webhook_post(target, body, headers, timeout=5.0)
        assert result.ok, result
    done.put(count)


def bare_run(url: str, secret: str, body: bytes, events: int, workers: int) -> float:
    # Fresh interpreters, as Celery's pool processes are fresh for their work: a fork of this process would inherit
    # its broker connection's threads and locks.
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Queue()
    shares = [events // workers + (1 if i < events % workers else 0) for i in range(workers)]
    children = [context.Process(target=_bare, args=(url, secret, body, n, start, done)) for n in shares]
    for child in children:
        child.start()
    time.sleep(5)  # let every child start, import and resolve before the clock starts
    started = time.perf_counter()
    start.set()
    sent = sum(done.get(timeout=600) for _ in children)
    elapsed = time.perf_counter() - started
    for child in children:
        child.join()
    assert sent == events
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--receivers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    url = _django.setup()
    import redis
    from django.conf import settings

    print(f"database {url}, broker {os.environ['CELERY_BROKER_URL']}, batch {settings.WEBHOOK_DELIVERY_BATCH}")
    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).delete("celery")  # the bench's own broker database
    port, counter, receivers = receivers_start(args.receivers)
    receiver_url = f"http://127.0.0.1:{port}/hook"
    shop, user, hook, positions = build(args.events, receiver_url)
    body = sample_body(shop)
    print(f"built {args.events:,} events; body {len(body)} bytes; {args.receivers} receiver processes on :{port}")
    log = ROOT / "var" / "bench-webhooks-worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = worker_start(args.workers, log)
    real, bare = [], []
    try:
        for _ in range(args.repeat):
            bare.append(bare_run(receiver_url, hook.secret, body, args.events, args.workers))
            real.append(real_run(hook, positions, args.events))
            print(f"  run: bare {bare[-1]:,.0f}/s, real path {real[-1]:,.0f}/s")
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        for process in receivers:
            process.terminate()
        from events.models import Event

        Event.objects.filter(shop=shop).delete()
        hook.delete()
        shop.delete()
        user.delete()
        broker = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
        broker.delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery", "_kombu.binding_deadlines")
    print(f"receiver answered {counter.value:,} POSTs")
    pairs = sorted(r / b for r, b in zip(real, bare, strict=True))
    print(f"ratio of each run (real / the bare run just before it): {', '.join(f'{p:.2f}' for p in pairs)}")
    best_real, best_bare = max(real), max(bare)
    print(f"bare signed POSTs, {args.workers} processes:    best {best_bare:,.0f} events/s")
    print(f"real delivery path, {args.workers} worker processes: best {best_real:,.0f} events/s")
    ratio = best_real / best_bare
    print(f"ratio real / bare: {ratio:.2f}   target >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
