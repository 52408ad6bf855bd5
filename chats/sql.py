"""The one copy of the small SQL helpers that chats' queries and the metrics rollup share."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone


def in_list_sql(column: str, values: Iterable[int], params: list) -> str:
    """``column IN (%s, ...)`` with the ids appended to ``params`` (``1 = 0`` when there are none); on PostgreSQL
    ``column = ANY(%s)`` with one array parameter, which costs less to send and plan than hundreds of scalars."""
    values = [int(v) for v in values]
    if not values:
        return "1 = 0"
    if connection.vendor == "postgresql":
        params.append(values)
        return f"{column} = ANY(CAST(%s AS BIGINT[]))"
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def id_set_sql(values: Iterable[int], params: list) -> str:
    """A subquery of the ids, for ``IN (...)`` and ``NOT IN (...)``, with one parameter whatever their number (a
    JSON array on SQLite, whose statements take at most 32,766 parameters)."""
    values = [int(v) for v in values]
    if connection.vendor == "postgresql":
        params.append(values)
        return "SELECT unnest(CAST(%s AS BIGINT[]))"
    params.append(json.dumps(values))
    return "SELECT value FROM json_each(%s)"


def fetch_dicts(sql: str, params: Sequence) -> list[dict]:
    """Run a SELECT and return its rows as dicts (tests, admin pages and small reports)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_aware_datetime(value) -> datetime | None:
    """A datetime read by raw SQL, aware on every database: SQLite gives text or naive UTC, PostgreSQL aware ones."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
