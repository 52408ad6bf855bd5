"""Events benchmark (PostgreSQL): the outbox's cost on ``message_create`` and the feed's read throughput.

    python bench/events.py [--part outbox|feed|all] [--messages 1000] [--events 100000] [--page-size 1000]

1. Outbox: ``--messages`` live agent replies through ``chats.services.message_create`` in assigned chats, with the
   outbox and, interleaved in the same run, with the outbox switched off (the event writer and the payload builders
   replaced by no-ops at their call sites); p50 and mean of each and their ratio (target <= 1.15).
2. Feed: ``--events`` events of one shop (bulk-inserted and numbered by the sequencer), paged by a client through
   ``GET /api/v1/events/`` (the whole DRF view: token auth, caller look-up, filterset, sequencer, rendering) as the
   shop's owner, following ``after`` until the end; against a bare loop of the same keyset SELECT through psycopg and
   ``json.dumps`` of each page. Events/s of both and their ratio (target >= 50,000 events/s through the API).

Webhook delivery throughput is ``bench/events_webhooks.py``. Everything created is deleted at the end.
"""

import argparse
import json
import statistics
import time
import uuid

import _django


def feed_build(events: int):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from agents.choices import AgentRole
    from agents.models import Agent
    from events.choices import Audience, EventType
    from events.feed import events_sequence
    from events.outbox import EventDraft, events_emit
    from shops.models import Shop

    tag = uuid.uuid4().hex[:8]
    shop = Shop.objects.create(name=f"Bench events shop {tag}", platform="taobao", industry="apparel")
    user = get_user_model().objects.create(username=f"bench-events-owner-{tag}")
    Agent.objects.create(user=user, shop=shop, role=AgentRole.OWNER, display_name="Bench owner")
    token = Token.objects.create(user=user)
    started = time.perf_counter()
    message = {
        "id": 1,
        "conversation": 1,
        "sender": "buyer",
        "agent": None,
        "body": "亲，这件衣服有没有XL码？什么时候发货？",
        "sent_at": "2026-12-03T12:00:00.123456+08:00",
        "is_auto_reply": False,
        "flags": [],
    }
    for start in range(0, events, 5000):
        with transaction.atomic():
            events_emit(
                EventDraft(
                    type=EventType.MESSAGE_CREATED,
                    shop_id=shop.pk,
                    conversation_id=n // 20 + 1,
                    audience=Audience.AGENT,
                    data={**message, "id": n},
                )
                for n in range(start, min(events, start + 5000))
            )
    numbered = events_sequence()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_event")
    print(f"built {events:,} events, numbered {numbered:,}, in {time.perf_counter() - started:.1f} s")
    return shop, user, token


def feed_run(shop, token, events: int, page_size: int, repeat: int) -> None:
    import psycopg
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="127.0.0.1", **{"wsgi.url_scheme": "https"})

    def through_api() -> int:
        seen, url = 0, f"/api/v1/events/?page_size={page_size}"
        while url:
            response = client.get(url, secure=True)
            assert response.status_code == 200, response.content[:300]
            body = response.json()
            seen += len(body["results"])
            url = body["next"]
        return seen

    settings = connection.settings_dict
    dsn = (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"dbname={settings['NAME']} user={settings['USER']}"
    )
    bare = psycopg.connect(dsn, autocommit=True)

    def bare_loop() -> int:
        seen, after = 0, 0
        while True:
            rows = bare.execute(
                "SELECT position, type, at, shop_id, conversation_id, agent_id, data FROM events_event "
                "WHERE shop_id = %s AND position > %s ORDER BY position LIMIT %s",
                [shop.pk, after, page_size],
            ).fetchall()
            if not rows:
                return seen
            json.dumps(
                [
                    {
                        "id": r[0],
                        "type": r[1],
                        "at": r[2].isoformat(),
                        "shop": r[3],
                        "conversation": r[4],
                        "agent": r[5],
                        "data": r[6],
                    }
                    for r in rows
                ]
            )
            seen += len(rows)
            after = rows[-1][0]

    through_api()  # warm up
    api_rates, bare_rates = [], []
    for _ in range(repeat):
        for name, fn, rates in (("api", through_api, api_rates), ("bare", bare_loop, bare_rates)):
            started = time.perf_counter()
            seen = fn()
            elapsed = time.perf_counter() - started
            assert seen == events, (name, seen)
            rates.append(seen / elapsed)
    bare.close()
    api, base = max(api_rates), max(bare_rates)
    print(
        f"feed through the API, page {page_size}: best {api:,.0f} events/s "
        f"(runs: {', '.join(f'{r:,.0f}' for r in api_rates)})"
    )
    print(f"bare keyset SELECT + json.dumps:     best {base:,.0f} events/s")
    print(
        f"ratio API / bare: {api / base:.2f}   "
        f"target: >= 50,000 events/s through the API: {'met' if api >= 50_000 else 'NOT met'}"
    )


def feed(events: int, page_size: int, repeat: int) -> None:
    from events.models import Event

    shop, user, token = feed_build(events)
    try:
        feed_run(shop, token, events, page_size, repeat)
    finally:
        Event.objects.filter(shop=shop).delete()
        from agents.models import Agent

        token.delete()
        Agent.objects.filter(shop=shop).delete()
        shop.delete()
        user.delete()


def outbox(messages: int, blocks: int) -> None:
    """``message_create`` with and without the outbox, interleaved block by block in the same run."""
    from contextlib import contextmanager
    from unittest import mock

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    import chats.lifecycle.conversations as lifecycle
    import chats.lifecycle.messages as writer
    from agents.models import Agent
    from chats.models import Conversation, Message
    from chats.services import message_create
    from events.models import Event
    from shops.models import Buyer, Shop

    tag = uuid.uuid4().hex[:8]
    shop = Shop.objects.create(name=f"Bench outbox shop {tag}", platform="taobao", industry="apparel")
    user = get_user_model().objects.create(username=f"bench-outbox-agent-{tag}")
    agent = Agent.objects.create(user=user, shop=shop, display_name="Bench agent", status="online", capacity=500)
    buyers = Buyer.objects.bulk_create([Buyer(nick=f"bench-outbox-{tag}-{i}") for i in range(200)])
    chats = Conversation.objects.bulk_create(
        [
            Conversation(shop=shop, buyer=b, agent=agent, status="human", phase="pre_sales", started_at=timezone.now())
            for b in buyers
        ]
    )

    @contextmanager
    def without_outbox():
        # The writer and the payload builder at their call sites: what the outbox adds to a message, nothing else.
        with (
            mock.patch.object(writer, "events_emit", lambda drafts: []),
            mock.patch.object(lifecycle, "events_emit", lambda drafts: []),
            mock.patch.object(writer, "message_created", lambda message, conversation: None),
        ):
            yield

    def send(count: int) -> list[float]:
        latencies = []
        for n in range(count):
            chat = chats[n % len(chats)]
            started = time.perf_counter()
            if n % 2:
                message_create(conversation=chat, sender="agent", agent=agent, body="亲，有货的，今天下单明天发货")
            else:
                message_create(conversation=chat, sender="buyer", body="在吗？这件有XL码吗")
            latencies.append(time.perf_counter() - started)
        return latencies

    try:
        send(100)  # warm up
        with without_outbox():
            send(100)
        per_block = max(1, messages // blocks)
        timed = {"with": [], "without": []}
        for _ in range(blocks):
            timed["with"] += send(per_block)
            with without_outbox():
                timed["without"] += send(per_block)
        emitted = Event.objects.filter(shop=shop, type="message.created").count()
        figures = {}
        for name, latencies in timed.items():
            p50, p99 = (_django.percentile(latencies, pct) * 1000 for pct in (50, 99))
            mean = statistics.fmean(latencies) * 1000
            figures[name] = (p50, mean)
            print(
                f"message_create {name + ' the outbox':<20} {len(latencies):>5} msgs  p50 {p50:6.2f} ms  "
                f"mean {mean:6.2f} ms  p99 {p99:6.2f} ms"
            )
        print(f"message.created events written: {emitted:,} (expected {100 + len(timed['with']):,})")
        print(
            f"ratio with / without: p50 {figures['with'][0] / figures['without'][0]:.3f}, "
            f"mean {figures['with'][1] / figures['without'][1]:.3f}   target p50 <= 1.15"
        )
    finally:
        Event.objects.filter(shop=shop).delete()
        Message.objects.filter(conversation__shop=shop).delete()
        shop.conversations.all().delete()
        agent.delete()
        user.delete()
        shop.delete()
        Buyer.objects.filter(pk__in=[b.pk for b in buyers]).delete()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["outbox", "feed", "all"], default="all")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=10, help="alternations of with / without")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _django.setup()
    if args.part in ("outbox", "all"):
        outbox(args.messages, args.blocks)
    if args.part in ("feed", "all"):
        feed(args.events, args.page_size, args.repeat)


if __name__ == "__main__":
    main()
