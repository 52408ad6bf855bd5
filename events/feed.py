"""The feed: events in commit order, each exactly once to a client that always passes the last id it saw.

Why a sequencer and not ``id > after`` on the insert key: on PostgreSQL a sequence value is taken when a row is
inserted, not when its transaction commits, so a reader can see row 11 before row 10's transaction commits, and a
client that then passes ``after=11`` never sees row 10. Holding back rows of transactions newer than the oldest one
in flight (``pg_snapshot_xmin``) is not enough either: a transaction with an older xid can take a higher sequence
value than a younger one still in flight. So ``events_sequence`` numbers committed rows afterwards, one sequencer at a
time (an advisory transaction lock), each run's numbers above the last run's; a run commits all its numbers at
once, so whatever position a reader sees, every lower position is visible to it too. Rows wait unnumbered for the
next read (a feed page, the webhook dispatcher), a few milliseconds.

SQLite has one writer at a time, so insert order is commit order there and a row's position is its row number.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from .models import Event
from .rendering import EVENT_COLUMNS

# pg_advisory lock key of the sequencer: any constant unique to this use ("evts" in ASCII).
SEQUENCER_LOCK = 0x65767473
SEQUENCE = "events_event_position_seq"
BATCH = 10_000


def events_sequence(*, batch: int = BATCH, wait: bool = False) -> int:
    """Give positions to committed events that have none; returns how many were numbered.

    With ``wait`` false a call returns at once when another sequencer is running (its numbers commit shortly).
    """
    table = Event._meta.db_table
    numbered = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT {'pg_advisory_xact_lock' if wait else 'pg_try_advisory_xact_lock'}(%s)", [SEQUENCER_LOCK]
                )
                if not wait and not cursor.fetchone()[0]:
                    return numbered
                # The subquery's rows come out in insert order, so positions follow insert order within a run.
                cursor.execute(
                    f"""
                    UPDATE {table} AS e SET position = n.position
                    FROM (
                        SELECT u.seq, nextval('{SEQUENCE}') AS position
                        FROM (SELECT seq FROM {table} WHERE position IS NULL ORDER BY seq LIMIT %s) AS u
                    ) AS n
                    WHERE e.seq = n.seq
                    """,
                    [batch],
                )
            else:
                cursor.execute(
                    f"UPDATE {table} SET position = seq WHERE seq IN "
                    f"(SELECT seq FROM {table} WHERE position IS NULL ORDER BY seq LIMIT %s)",
                    [batch],
                )
            count = cursor.rowcount
        numbered += count
        if count < batch:
            return numbered


def events_after_rows(queryset, *, after: int, limit: int) -> list[tuple]:
    """Up to ``limit`` events of ``queryset`` after position ``after``, ascending (number them first, with
    ``events_sequence``), as ``EVENT_COLUMNS`` tuples for ``event_json``, ``data`` as its stored JSON text:
    building 1,000 model instances, or decoding 1,000 documents only to encode them again, costs more than the query."""
    return list(
        queryset.filter(position__gt=after)
        .order_by("position")
        .annotate(data_json=Cast("data", TextField()))
        .values_list(*EVENT_COLUMNS)[:limit]
    )
