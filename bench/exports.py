"""Message export benchmark (PostgreSQL): 1,000,000 message rows to CSV, against ``COPY ... TO STDOUT`` of them.

    python bench/exports.py [--messages 1000000] [--per-chat 10] [--repeat 2] [--rebuild]

Builds (once; ``--rebuild`` drops and rebuilds it) one shop with ``--messages / --per-chat`` chats spread evenly over
30 days, ``--per-chat`` messages each (buyer, agent and bot, Chinese bodies of 20-120 characters, some starting with
``=`` or ``-`` so neutralisation has work), with ``COPY``.

Then, in the same run:
- ``export 100k`` and ``export 1M``: ``export_run`` of a messages CSV export (the Celery task's body), each in a fresh
  Python process, for the chats of the first 3 days (about 100,000 messages) and for all of them; it prints rows/s
  and the process's peak RSS (target: peak RSS at 1M / at 100k <= 1.2);
- ``COPY``: ``COPY (<the export's own SELECT>) TO STDOUT (FORMAT csv)`` of the same 1M rows through psycopg, written to
  a file (no neutralisation, no local times): the floor for moving those rows out of PostgreSQL into a file;
and the ratio of the export's throughput to COPY's (target >= 0.4). Times are the best of ``--repeat`` runs (the
machine is shared); peak RSS is the largest seen.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

import _django
from _django import copy_rows

TAG = "[bench-exports]"
FIRST_DAY = datetime(2026, 9, 30, 16, tzinfo=UTC)  # midnight of 1 October in the shop's Asia/Shanghai
DAYS = 30
WORDS = ["亲", "在的", "请问", "这款", "有货吗", "什么时候发货", "可以便宜点吗", "尺码偏大吗", "好的", "谢谢", "收到"]


def _shop():
    from shops.models import Shop

    return Shop.objects.filter(name=TAG).first()


def drop() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from agents.models import Agent
    from chats.models import Export
    from shops.models import Buyer

    shop = _shop()
    if shop is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        Export.objects.filter(shop=shop).delete()
        # A million rows: plain SQL rather than the ORM's cascade collector.
        cursor.execute(
            "DELETE FROM chats_message WHERE conversation_id IN (SELECT id FROM chats_conversation WHERE shop_id = %s)",
            [shop.pk],
        )
        cursor.execute("DELETE FROM chats_conversation WHERE shop_id = %s", [shop.pk])
        users = list(Agent.objects.filter(shop=shop).values_list("user_id", flat=True))
        Agent.objects.filter(shop=shop).delete()
        get_user_model().objects.filter(pk__in=users).delete()
        shop.delete()
        Buyer.objects.filter(nick__startswith="bench-exports-").delete()


def build(messages: int, per_chat: int, seed: int = 11) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from agents.models import Agent
    from shops.models import Buyer, Shop

    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction.atomic():
        shop = Shop.objects.create(name=TAG, platform="taobao", industry="apparel", timezone="Asia/Shanghai")
        agents = [
            Agent.objects.create(
                user=get_user_model().objects.create(username=f"bench-exports-{shop.pk}-{n}"),
                shop=shop,
                display_name=f"客服{n:02d}",
            )
            for n in range(8)
        ]
        buyers = Buyer.objects.bulk_create([Buyer(nick=f"bench-exports-{n}") for n in range(20_000)], batch_size=5000)
    raw = connection.cursor().cursor
    raw.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM chats_conversation")
    conversation_id = raw.fetchone()[0]
    chats = messages // per_chat
    step = DAYS * 86400 / chats
    conversation_columns = ["id", "shop_id", "buyer_id", "entry_point", "entry_ref", "status", "agent_id", "phase",
                            "started_at", "ended_at", "transfer_entry_visible", "buyer_exposed", "last_message_at",
                            "closed_by"]  # fmt: skip
    message_columns = ["conversation_id", "sender", "agent_id", "body", "sent_at", "is_auto_reply", "flags"]
    written = 0
    for offset in range(0, chats, 10_000):
        conversation_rows, message_rows = [], []
        for n in range(offset, min(chats, offset + 10_000)):
            start = FIRST_DAY + timedelta(seconds=n * step)
            agent = rng.choice(agents).pk
            at = start
            for k in range(per_chat):
                sender = "buyer" if k % 2 == 0 else ("agent" if k > 1 else "bot")
                body = "".join(rng.choice(WORDS) for _ in range(rng.randint(4, 24)))
                if rng.random() < 0.02:
                    body = rng.choice(["=", "-", "+", "@"]) + body
                message_rows.append(
                    (conversation_id, sender, agent if sender == "agent" else None, body, at, False, "[]")
                )
                at += timedelta(seconds=rng.uniform(3, 90))
            conversation_rows.append(
                (conversation_id, shop.pk, rng.choice(buyers).pk, "shop", "", "ended", agent, "pre_sales", start,
                 at + timedelta(minutes=5), False, False, at, "idle")
            )  # fmt: skip
            conversation_id += 1
        with transaction.atomic():
            copy_rows(raw, "chats_conversation", conversation_columns, conversation_rows)
            written += copy_rows(raw, "chats_message", message_columns, message_rows)
    raw.execute(
        "SELECT setval(pg_get_serial_sequence('chats_conversation', 'id'), (SELECT MAX(id) FROM chats_conversation))"
    )
    for table in ("chats_conversation", "chats_message"):
        raw.execute(f"ANALYZE {table}")
    return {"chats": chats, "messages": written, "seconds": time.perf_counter() - started}


def run_export_child(date_to: str | None) -> dict:
    """In a fresh process: create and run one messages CSV export; report rows, seconds and peak RSS."""
    from chats.models import Export
    from chats.supervision.exports import export_run

    shop = _shop()
    filters = {"date_from": "2026-10-01", "date_to": date_to} if date_to else {}
    export = Export.objects.create(shop=shop, kind="messages", format="csv", filters=filters)
    started = time.perf_counter()
    export_run(export_id=export.pk)
    seconds = time.perf_counter() - started
    export.refresh_from_db()
    size = export.file.size if export.file else 0
    if export.file:
        export.file.delete(save=False)
    return {
        "status": export.status,
        "error": export.error,
        "rows": export.rows,
        "seconds": seconds,
        "bytes": size,
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def run_export(date_to: str | None) -> dict:
    args = [sys.executable, __file__, "--child"] + ([date_to] if date_to else ["all"])
    output = subprocess.run(args, check=True, capture_output=True, text=True, env=os.environ).stdout  # noqa: S603
    return json.loads(output.strip().splitlines()[-1])


def copy_baseline() -> dict:
    """``COPY (the export's SELECT) TO STDOUT`` for every message of the shop, into a file."""
    from django.db import connection

    from chats.models import Conversation
    from chats.supervision.exports import export_rows_sql

    shop = _shop()
    sql, params, _columns = export_rows_sql(
        kind="messages", conversations=Conversation.objects.filter(shop=shop), tz_name=shop.timezone
    )
    connection.ensure_connection()
    raw = connection.connection
    rows = 0
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, raw.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for block in copy:
                out.write(block)
                rows += bytes(block).count(b"\n")
        size = out.tell()
    raw.commit()
    return {"rows": rows, "seconds": time.perf_counter() - started, "bytes": size}


def _best(results: list[dict]) -> dict:
    """The fastest run, with the largest peak RSS of all runs."""
    best = dict(min(results, key=lambda result: result["seconds"]))
    best["max_rss_kb"] = max(result["max_rss_kb"] for result in results)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-chat", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = _django.setup()
    if args.child:
        print(json.dumps(run_export_child(None if args.child == "all" else args.child)))
        return
    print(f"database: {url.rsplit('@', 1)[-1]}")
    if args.rebuild:
        drop()
    if _shop() is None:
        built = build(args.messages, args.per_chat)
        print(f"built: {built['chats']:,} chats, {built['messages']:,} messages in {built['seconds']:.1f} s")
    small = _best([run_export("2026-10-03") for _ in range(args.repeat)])  # 3 of 30 days: 100k messages
    big = _best([run_export(None) for _ in range(args.repeat)])
    baseline = min((copy_baseline() for _ in range(args.repeat)), key=lambda result: result["seconds"])
    for name, result in (("export 100k", small), ("export 1M", big)):
        if result["status"] != "done":
            raise SystemExit(f"{name} failed: {result['error']}")
        rate = result["rows"] / result["seconds"]
        print(
            f"{name:12s} {result['rows']:>9,} rows in {result['seconds']:6.2f} s = {rate:>9,.0f} rows/s,"
            f" {result['bytes'] / 1e6:7.1f} MB, peak RSS {result['max_rss_kb'] / 1024:6.1f} MiB"
        )
    print(
        f"{'COPY':12s} {baseline['rows']:>9,} rows in {baseline['seconds']:6.2f} s = "
        f"{baseline['rows'] / baseline['seconds']:>9,.0f} rows/s, {baseline['bytes'] / 1e6:7.1f} MB"
    )
    rss_ratio = big["max_rss_kb"] / small["max_rss_kb"]
    speed_ratio = (big["rows"] / big["seconds"]) / (baseline["rows"] / baseline["seconds"])
    print(f"peak RSS 1M / 100k: {rss_ratio:.2f} (target <= 1.2)")
    print(f"export / COPY throughput: {speed_ratio:.2f}x (target >= 0.4)")


if __name__ == "__main__":
    main()
