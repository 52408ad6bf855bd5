"""Daily metric rollup benchmark (PostgreSQL): one day of every shop, against a hand-written SQL baseline.

    python bench/metrics.py [--shops 200] [--conversations 100000] [--messages-per-chat 10] [--repeat 3] [--rebuild]

Builds (once; ``--rebuild`` drops and rebuilds it) ``--shops`` shops in two time zones and ten industries with skewed
sizes, three agents each, 20,000 buyers, ``--conversations`` chats over 30 days (about ``--messages-per-chat``
messages each: bot greetings, buyer turns, agent and bot answers with exponential delays, auto-replies, official
messages, unanswered last turns), rating invites and ratings, and after-sales events, with ``COPY``.

Then, on the same data in the same run, times (best of ``--repeat``, the three in turn):
- ``rollup``: ``daily_metrics_rollup`` of the last day for every shop (every metric, every scope, written), after the
  30-day backfill (``rollup_metrics --from --to``, timed: target < 2 minutes) as the nightly run leaves a live system:
  a re-run (the day's rows updated in place, as the nightly D-2 and D-4 runs do) and the day's first run (its rows
  deleted beforehand, untimed: every row inserted, as the nightly D-1 run does);
- ``baseline``: one hand-written SQL query computing only the 3-minute response rate and the average response time
  of that day for every shop (window functions over the day's messages, nothing written);
and prints both, rows/s (messages of the day's chats per second) and the ratio rollup / baseline (target <= 1.5).
"""

import argparse
import io
import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import _django
from _django import copy_rows

TAG = "[bench-metrics]"
LAST_DAY = date(2026, 10, 31)
DAYS = 30
ZONES = ["Asia/Shanghai"] * 9 + ["Asia/Tokyo"]
INDUSTRIES = ["apparel", "beauty", "home", "digital", "food", "baby", "sports", "books", "pets", "jewelry"]


def _next_id(cursor, table: str) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608 -- constant table names
    return cursor.fetchone()[0]


def _reset_sequence(cursor, table: str) -> None:
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")  # noqa: S608


def drop():
    """Delete everything the benchmark built (raw deletes: chats and ratings are protected from ORM deletes)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from agents.models import Agent
    from chats.models import Conversation, Message, ServiceEvent, Turn
    from evaluations.models import DailyMetric, Evaluation, InviteDecision, RatingInvite
    from shops.models import AfterSalesEvent, Buyer, Shop

    shops = Shop.objects.filter(name__startswith=TAG)
    with transaction.atomic():  # foreign keys are checked at commit, when every referencing row is gone
        users = list(Agent.objects.filter(shop__in=shops).values_list("user_id", flat=True))
        for queryset in (
            Evaluation.objects.filter(conversation__shop__in=shops),
            RatingInvite.objects.filter(conversation__shop__in=shops),
            InviteDecision.objects.filter(conversation__shop__in=shops),
            Turn.objects.filter(shop__in=shops),
            Message.objects.filter(conversation__shop__in=shops),
            ServiceEvent.objects.filter(shop__in=shops),
            Conversation.objects.filter(shop__in=shops),
            DailyMetric.objects.filter(shop__in=shops),
            AfterSalesEvent.objects.filter(shop__in=shops),
            Agent.objects.filter(shop__in=shops),
            get_user_model().objects.filter(pk__in=users),
            Buyer.objects.filter(nick__startswith="bench-metrics-"),
            shops,
        ):
            queryset._raw_delete(queryset.db)


def build(shop_count: int, conversations: int, per_chat: int, seed: int = 7) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from agents.models import Agent
    from chats.turns import ConversationFilter
    from chats.turns.store import turns_rebuild
    from shops.models import Buyer, Shop

    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction.atomic():
        shops = Shop.objects.bulk_create(
            [
                Shop(
                    name=f"{TAG} {n:03d}",
                    platform="taobao",
                    industry=INDUSTRIES[n % len(INDUSTRIES)],
                    timezone=ZONES[n % len(ZONES)],
                )
                for n in range(shop_count)
            ]
        )
        users = get_user_model().objects.bulk_create(
            [get_user_model()(username=f"bench-metrics-{s.pk}-{k}") for s in shops for k in range(3)]
        )
        agents = Agent.objects.bulk_create(
            [Agent(user=user, shop=shops[i // 3], display_name=user.username) for i, user in enumerate(users)]
        )
        buyers = Buyer.objects.bulk_create([Buyer(nick=f"bench-metrics-{n}") for n in range(20_000)], batch_size=5000)
    agents_by_shop = {}
    for agent in agents:
        agents_by_shop.setdefault(agent.shop_id, []).append(agent.pk)
    weights = [1 / (n + 1) ** 0.8 for n in range(shop_count)]  # a few big shops, a long tail
    first_day = LAST_DAY - timedelta(days=DAYS - 1)
    raw = connection.cursor().cursor
    conversation_id = _next_id(raw, "chats_conversation")
    invite_id = _next_id(raw, "evaluations_ratinginvite")
    totals = {"conversations": 0, "messages": 0, "ratings": 0}
    conversation_columns = [
        "id", "shop_id", "buyer_id", "entry_point", "entry_ref", "status", "agent_id", "group_id", "phase",
        "started_at", "ended_at", "transfer_entry_visible", "buyer_exposed", "transfer_requested_at",
        "transfer_source", "assigned_at", "last_message_at", "closed_by",
    ]  # fmt: skip
    message_columns = ["conversation_id", "sender", "agent_id", "body", "sent_at", "is_auto_reply", "flags"]
    invite_columns = ["id", "conversation_id", "channel", "status", "agent_id", "sent_at", "expires_at", "answered_at"]
    evaluation_columns = ["invite_id", "conversation_id", "channel", "score", "tags", "comment", "answered_at"]
    # Chats are written in the order they started, as a live system appends them (so are their messages).
    starts = []
    for _ in range(conversations):
        shop = rng.choices(shops, weights)[0]
        day = first_day + timedelta(days=rng.randrange(DAYS))
        local = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(shop.timezone)) + timedelta(
            seconds=rng.triangular(0, 86_399, 14 * 3600)
        )
        starts.append((local.astimezone(UTC), shop.pk))
    starts.sort()
    shop_by_id = {shop.pk: shop for shop in shops}
    chunk = 10_000
    for offset in range(0, conversations, chunk):
        message_rows, conversation_rows, invite_rows, evaluation_rows = [], [], [], []
        for start, shop_id in starts[offset : offset + chunk]:
            shop = shop_by_id[shop_id]
            human = rng.random() < 0.6
            bot = rng.random() < 0.7
            agent_id = rng.choice(agents_by_shop[shop.pk]) if human else None
            at = start
            messages = [("bot", None, at, False)] if bot else []
            turns = max(1, round(rng.gauss((per_chat - 0.7) / 2.22, 1.5)))  # about per_chat messages a chat
            for turn in range(turns):
                at += timedelta(seconds=rng.uniform(5, 120))
                for _b in range(1 if rng.random() < 0.8 else 2):
                    messages.append(("buyer", None, at, False))
                    at += timedelta(seconds=rng.uniform(1, 15))
                if rng.random() < 0.03:
                    messages.append(("official", None, at, False))
                if human and rng.random() < 0.05:
                    messages.append(("agent", agent_id, at + timedelta(seconds=1), True))  # an auto-reply
                if turn == turns - 1 and rng.random() < 0.1:
                    continue  # the last turn is left unanswered
                at += timedelta(seconds=min(rng.expovariate(1 / 70), 1800))
                messages.append(("agent", agent_id, at, False) if human else ("bot", None, at, False))
            ended = at + timedelta(minutes=10)
            exposed = rng.random() < 0.5
            visible = bot and exposed
            phase = "after_sales" if rng.random() < 0.3 else "pre_sales"
            conversation_rows.append(
                (conversation_id, shop.pk, rng.choice(buyers).pk, "shop", "", "ended", agent_id, None, phase, start,
                 ended, visible, exposed, start + timedelta(seconds=30) if visible and human else None,
                 "button" if visible and human else "", start + timedelta(seconds=31) if human else None, at, "idle")
            )  # fmt: skip
            for sender, agent, sent_at, auto in messages:
                message_rows.append((conversation_id, sender, agent, "…", sent_at, auto, "[]"))
            if rng.random() < 0.15:
                score = rng.choice([5, 5, 5, 4, 4, 3, 2, 1])
                invite_rows.append(
                    (invite_id, conversation_id, "system", "answered", agent_id, ended, ended + timedelta(hours=24),
                     ended + timedelta(hours=1))
                )  # fmt: skip
                evaluation_rows.append(
                    (invite_id, conversation_id, "system", score, "[]", "", ended + timedelta(hours=1))
                )
                invite_id += 1
            conversation_id += 1
        with transaction.atomic():
            totals["conversations"] += copy_rows(raw, "chats_conversation", conversation_columns, conversation_rows)
            totals["messages"] += copy_rows(raw, "chats_message", message_columns, message_rows)
            copy_rows(raw, "evaluations_ratinginvite", invite_columns, invite_rows)
            totals["ratings"] += copy_rows(raw, "evaluations_evaluation", evaluation_columns, evaluation_rows)
    with transaction.atomic():
        _reset_sequence(raw, "chats_conversation")
        _reset_sequence(raw, "evaluations_ratinginvite")
        kinds = ["refund_request", "complaint", "dispute", "complaint_intervention", "platform_consultation"]
        events = [
            (
                rng.choice(shops).pk,
                rng.choice(buyers).pk,
                rng.choice(kinds),
                datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
                + timedelta(seconds=rng.uniform(0, DAYS * 86400)),
            )
            for _ in range(5000)
        ]
        copy_rows(raw, "shops_aftersalesevent", ["shop_id", "buyer_id", "kind", "occurred_at"], events)
    copied = time.perf_counter()
    # A bulk writer of messages derives their turns in one statement, as the demo seeder and imports do.
    totals["turns"] = turns_rebuild(conversations=ConversationFilter(shop_ids=[shop.pk for shop in shops]))
    return {
        "shops": len(shops),
        **totals,
        "seconds": time.perf_counter() - started,
        "turn_seconds": time.perf_counter() - copied,
    }


BASELINE = """
WITH s AS (
    SELECT m.conversation_id, c.shop_id, m.id, m.sender, m.sent_at,
           LAG(m.sender) OVER (PARTITION BY m.conversation_id ORDER BY m.sent_at, m.id) AS prev
    FROM chats_message m JOIN chats_conversation c ON c.id = m.conversation_id
    WHERE c.shop_id = ANY(%(shops)s) AND c.started_at >= %(lookback)s AND c.started_at < %(hi)s
      AND (c.ended_at IS NULL OR c.ended_at >= %(lo)s)
      AND m.sender IN ('buyer', 'agent', 'bot') AND NOT m.is_auto_reply
), e AS (
    SELECT s.*, ROW_NUMBER() OVER w AS n, LEAD(s.sent_at) OVER w AS answered_at
    FROM s
    WHERE (s.sender = 'buyer' AND s.prev IS DISTINCT FROM 'buyer') OR (s.sender <> 'buyer' AND s.prev = 'buyer')
    WINDOW w AS (PARTITION BY s.conversation_id ORDER BY s.sent_at, s.id)
), t AS (
    SELECT shop_id, n, sent_at, EXTRACT(EPOCH FROM answered_at - sent_at) AS seconds
    FROM e WHERE sender = 'buyer'
)
SELECT shop_id,
       AVG(seconds) FILTER (WHERE sent_at >= %(lo)s AND sent_at < %(hi)s) AS avg_response_seconds,
       COUNT(*) FILTER (WHERE n = 1 AND sent_at >= %(h9)s AND sent_at < %(h21)s AND seconds <= 180)::float
       / NULLIF(COUNT(*) FILTER (WHERE n = 1 AND sent_at >= %(h9)s AND sent_at < %(h21)s), 0) AS response_rate_3m
FROM t GROUP BY shop_id
"""


def baseline(day: date) -> dict:
    """The hand-written query, once per time zone (as the rollup does): ``{shop: (avg seconds, 3-minute rate)}``."""
    from django.db import connection

    from shops.models import Shop

    zones = {}
    for shop_id, zone in Shop.objects.filter(name__startswith=TAG).values_list("pk", "timezone"):
        zones.setdefault(zone, []).append(shop_id)
    answered = {}
    with connection.cursor() as cursor:
        for zone, ids in zones.items():
            tz = ZoneInfo(zone)
            lo = datetime.combine(day, datetime.min.time(), tzinfo=tz)
            params = {
                "shops": ids,
                "lo": lo,
                "hi": lo + timedelta(days=1),
                "lookback": lo - timedelta(days=2),
                "h9": lo + timedelta(hours=9),
                "h21": lo + timedelta(hours=21),
            }
            cursor.execute(BASELINE, params)
            answered.update({shop: (avg, rate) for shop, avg, rate in cursor.fetchall()})
    return answered


def vacuum() -> None:
    """VACUUM ANALYZE the tables read, as autovacuum would have by then on a live database (fresh statistics and
    visibility maps, so both sides may use index-only scans)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


TABLES = (
    "chats_conversation",
    "chats_message",
    "chats_turn",
    "evaluations_ratinginvite",
    "evaluations_evaluation",
    "evaluations_dailymetric",
    "shops_aftersalesevent",
)


def day_messages(day: date) -> int:
    from chats.models import Message

    lo = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("Asia/Shanghai"))
    return Message.objects.filter(
        conversation__shop__name__startswith=TAG,
        conversation__started_at__gte=lo - timedelta(days=1),
        conversation__started_at__lt=lo + timedelta(days=1),
    ).count()


def interleaved(repeat: int, **funcs) -> dict:
    """``{name: (best time, last result)}`` for ``funcs`` (``name=(untimed setup or None, timed function)``), run in
    turn ``repeat`` times, so that a change of the machine's load affects them alike."""
    times = {name: [] for name in funcs}
    results = {}
    for _ in range(repeat):
        for name, (setup, func) in funcs.items():
            if setup:
                setup()
            started = time.perf_counter()
            results[name] = func()
            times[name].append(time.perf_counter() - started)
    return {name: (min(times[name]), results[name]) for name in funcs}


def forget(shop_ids: list[int], day: date | None = None) -> None:
    """Delete the shops' stored rows (of ``day`` only, if given) in their own transaction: before a run, what earlier
    runs left; before a timed first run, the day's rows, so that every row is inserted, as the nightly D-1 run does."""
    from evaluations.models import DailyMetric

    rows = DailyMetric.objects.filter(shop_id__in=shop_ids)
    (rows if day is None else rows.filter(date=day)).delete()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-per-chat", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    url = _django.setup()
    from django.core.management import call_command

    from evaluations.services import daily_metrics_rollup
    from shops.models import Shop

    print(f"database: {url.rsplit('@', 1)[-1]}")
    if args.rebuild:
        drop()
    shop_ids = list(Shop.objects.filter(name__startswith=TAG).values_list("pk", flat=True))
    if not shop_ids:
        built = build(args.shops, args.conversations, args.messages_per_chat)
        print(
            f"built {built['shops']} shops, {built['conversations']:,} conversations, {built['messages']:,} messages, "
            f"{built['ratings']:,} ratings in {built['seconds']:.1f} s, of which deriving the {built['turns']:,} turns "
            f"{built['turn_seconds']:.1f} s"
        )
        shop_ids = list(Shop.objects.filter(name__startswith=TAG).values_list("pk", flat=True))
    first = LAST_DAY - timedelta(days=DAYS - 1)
    # A running system has rolled up every day before the one measured (the nightly run): the day before the data
    # (so the 30-day volume of every day reads stored rows), then the timed 30-day backfill.
    # Whatever earlier runs left is deleted first, so that every run measures the same state: each day rolled up once.
    forget(shop_ids)
    vacuum()
    daily_metrics_rollup(day=first - timedelta(days=1), shop_ids=shop_ids)
    started = time.perf_counter()
    call_command("rollup_metrics", "--from", first.isoformat(), "--to", LAST_DAY.isoformat(), stdout=io.StringIO())
    backfill = time.perf_counter() - started
    vacuum()
    day = LAST_DAY
    messages = day_messages(day)
    baseline(day)  # warm the cache for both
    rerun = interleaved(
        args.repeat,
        baseline=(None, lambda: baseline(day)),
        rollup=(None, lambda: daily_metrics_rollup(day=day, shop_ids=shop_ids)),
    )
    base_time, answered = rerun["baseline"]
    rollup_time, written = rerun["rollup"]
    # Apart: each first run leaves the deleted rows' dead entries behind (until VACUUM), which the re-runs would meet.
    fresh = interleaved(
        args.repeat,
        baseline=(None, lambda: baseline(day)),
        rollup=(lambda: forget(shop_ids, day), lambda: daily_metrics_rollup(day=day, shop_ids=shop_ids)),
    )
    first_base, first_time = fresh["baseline"][0], fresh["rollup"][0]
    print(f"day {day}: ~{messages:,} messages in the day's chats, {len(shop_ids)} shops")
    print(f"baseline (3-minute rate + average response time, SQL): {base_time * 1000:.0f} ms, {len(answered)} shops")
    print(f"rollup (every metric, every scope, written), a re-run: {rollup_time * 1000:.0f} ms, {written} rows updated")
    print(
        f"rollup, the day's first run (rows inserted): {first_time * 1000:.0f} ms (baseline {first_base * 1000:.0f} ms)"
    )
    print(f"rows/s: rollup {messages / rollup_time:,.0f} messages/s, baseline {messages / base_time:,.0f} messages/s")
    ratios = f"{rollup_time / base_time:.2f} re-run, {first_time / first_base:.2f} first run"
    print(f"ratio rollup / baseline: {ratios} (target <= 1.5)")
    from evaluations.models import DailyMetric

    stored = {
        row.shop_id: (row.avg_response_seconds, row.response_rate_3m)
        for row in DailyMetric.objects.filter(date=day, scope="shop", shop_id__in=shop_ids)
    }
    disagree = [
        shop
        for shop, (avg, rate) in answered.items()
        if any(
            (a is None) != (b is None) or (a is not None and abs(float(a) - float(b)) > 1e-6)
            for a, b in ((avg, stored[shop][0]), (rate, stored[shop][1]))
        )
    ]
    print(f"rollup and baseline agree on {len(answered) - len(disagree)} of {len(answered)} shops")
    print(f"backfill {first}..{LAST_DAY} ({DAYS} days, all shops): {backfill:.1f} s (target < 120 s)")


if __name__ == "__main__":
    main()
