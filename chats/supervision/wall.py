"""The live supervision wall of a shop (admin: *Supervision walls*): what a shop's managers watch on a screen.

:func:`wall_state` gives everything the page shows, in three statements whatever the number of rows:

- **agents**: every sub-account of the shop with its status, active chats and capacity (online first), and in the
  figures the online agents' seats;
- **waiting**: open chats whose last buyer turn has no response yet (the stored ``chats.Turn`` rows: only a chat's
  last turn can be unanswered), longest wait first, at most ``WAITING_LIMIT`` of them (the counts cover all):
  since when, how long, the chat's agent or the queue. Past ``AT_RISK_SECONDS`` a wait is *at risk* (about to miss the
  3-minute rule), past ``RESPONSE_WITHIN_SECONDS`` it is *missed* (exactly 180 s is still in time, as in the rate);
- **queue**: the shop's queued chats, how many and the oldest wait (since ``queued_at``);
- **left_messages**: the chats where a buyer left a message while nobody was online (``left_message``), how many and
  the oldest (since ``queued_at``); they wait in the same line as the queue, served first when agents come online, and
  are not in *waiting* (they wait for an agent to come online, not for an answer in a live chat);
- **today**: the shop-local day's provisional 3-minute rate and average first response time, from the stored turns,
  to the definitions of ``evaluations.metrics.rollup`` (DESIGN.md): first turns that started in ``[09:00, 21:00)``
  local time, answered within 180 s; the average over answered first turns of the day. *Provisional*: a first turn
  still unanswered and younger than 180 s can go either way, so it is *pending*, counted in neither the numerator
  nor the denominator until it is answered or passes 180 s (then it is missed, as the rollup counts it). Once no turn
  is pending the rate equals the rollup's for the day so far.

Times are compared with ``now`` as given (tests pass a fixed one); waited seconds are computed by the database
(``chats.turns.seconds_between_sql``), like every response time.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import connection
from django.db.models import Case, IntegerField, Value, When

from agents.choices import AgentStatus
from agents.models import Agent
from shops.models import Buyer, Shop
from shops.selectors import local_day_start

from ..choices import ConversationStatus
from ..lifecycle.conversations import OPEN_STATUSES
from ..models import Conversation, Turn
from ..routing.queue import WAITING_STATUSES
from ..sql import as_aware_datetime, fetch_dicts
from ..turns.sql import seconds_between_sql

# The 3-minute rule (DESIGN.md; ``evaluations.metrics.rollup`` has the same constants, tests keep them equal: chats
# may not import evaluations).
RESPONSE_WITHIN_SECONDS = 180
SERVICE_HOURS = (time(9), time(21))
AT_RISK_SECONDS = 120
WAITING_LIMIT = 100

STATUS_ORDER = (AgentStatus.ONLINE, AgentStatus.BUSY, AgentStatus.AWAY, AgentStatus.OFFLINE)
LEVEL_OK, LEVEL_AT_RISK, LEVEL_MISSED = "ok", "at_risk", "missed"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _moment(value: datetime, params: list) -> str:
    """A datetime parameter, typed where the database needs it to subtract it from a column."""
    params.append(connection.ops.adapt_datetimefield_value(value))
    return "CAST(%s AS TIMESTAMP WITH TIME ZONE)" if connection.vendor == "postgresql" else "%s"


def _words(values) -> str:
    return ", ".join(f"'{value}'" for value in values)  # constant choice values of this app, never input


def _waiting_where(shop_id: int, params: list) -> str:
    """The shop's open chats (``c``) joined to their unanswered turn (``t``): the chats waiting for a response."""
    params.append(shop_id)
    return f"c.shop_id = %s AND c.status IN ({_words(OPEN_STATUSES)}) AND t.responded_at IS NULL"


def _level(now: datetime, params: list) -> str:
    """The wait's level: missed past 180 s, at risk past 120 s (strictly: exactly 180 s is still in time)."""
    missed = _moment(now - timedelta(seconds=RESPONSE_WITHIN_SECONDS), params)
    at_risk = _moment(now - timedelta(seconds=AT_RISK_SECONDS), params)
    return (
        f"CASE WHEN t.started_at < {missed} THEN '{LEVEL_MISSED}' "
        f"WHEN t.started_at < {at_risk} THEN '{LEVEL_AT_RISK}' ELSE '{LEVEL_OK}' END"
    )


def _agents(shop: Shop) -> list[dict]:
    rank = Case(
        *(When(status=status, then=Value(order)) for order, status in enumerate(STATUS_ORDER)),
        default=Value(len(STATUS_ORDER)),
        output_field=IntegerField(),
    )
    rows = (
        Agent.objects.filter(shop=shop)
        .annotate(status_rank=rank)
        .order_by("status_rank", "display_name", "pk")
        .values("id", "display_name", "role", "status", "status_changed_at", "active_chats", "capacity")
    )
    return [
        {
            "id": row["id"],
            "name": row["display_name"],
            "role": row["role"],
            "status": row["status"],
            "status_since": row["status_changed_at"],
            "active_chats": row["active_chats"],
            "capacity": row["capacity"],
        }
        for row in rows
    ]


def _waiting(shop: Shop, now: datetime) -> list[dict]:
    """The chats waiting for a response, longest wait first (at most ``WAITING_LIMIT``)."""
    params: list = []  # in the order of the placeholders in the text
    waited = seconds_between_sql(_moment(now, params), "t.started_at")
    level = _level(now, params)
    where = _waiting_where(shop.pk, params)
    params.append(WAITING_LIMIT)
    sql = f"""
SELECT c.id AS conversation_id, c.status, c.agent_id, a.display_name AS agent_name, b.nick AS buyer_nick,
       c.entry_point, t.number AS turn, t.started_at AS since, {waited} AS waited_seconds, {level} AS level
FROM {_table(Conversation)} c
JOIN {_table(Turn)} t ON t.conversation_id = c.id
JOIN {_table(Buyer)} b ON b.id = c.buyer_id
LEFT JOIN {_table(Agent)} a ON a.id = c.agent_id
WHERE {where}
ORDER BY t.started_at, c.id
LIMIT %s"""  # noqa: S608 -- table names of the models, constant choice words; values are params
    rows = fetch_dicts(sql, params)
    for row in rows:
        agent_id, agent_name = row.pop("agent_id"), row.pop("agent_name")
        row["agent"] = {"id": agent_id, "name": agent_name} if agent_id is not None else None
        row["since"] = as_aware_datetime(row["since"])
        row["first_turn"] = row["turn"] == 1
    return rows


def _waiting_counts(shop: Shop, now: datetime, params: list) -> str:
    at_risk = _moment(now - timedelta(seconds=AT_RISK_SECONDS), params)
    missed = _moment(now - timedelta(seconds=RESPONSE_WITHIN_SECONDS), params)
    where = _waiting_where(shop.pk, params)
    return f"""SELECT COUNT(*) AS waiting,
        COALESCE(SUM(CASE WHEN t.started_at < {at_risk} THEN 1 ELSE 0 END), 0) AS waiting_past_at_risk,
        COALESCE(SUM(CASE WHEN t.started_at < {missed} THEN 1 ELSE 0 END), 0) AS waiting_past_missed
    FROM {_table(Conversation)} c JOIN {_table(Turn)} t ON t.conversation_id = c.id
    WHERE {where}"""  # noqa: S608 -- table names of the models, constant choice words; values are params


def _queue(shop: Shop, now: datetime, params: list) -> str:
    """The shop's line in one scan: the queued chats and, beside them, the left messages."""
    queued, left = (f"c.status = '{status}'" for status in (ConversationStatus.QUEUED, ConversationStatus.LEFT_MESSAGE))
    oldest = f"MIN(CASE WHEN {queued} THEN c.queued_at END)"
    oldest_wait = seconds_between_sql(_moment(now, params), oldest)
    params.append(shop.pk)
    return f"""SELECT COALESCE(SUM(CASE WHEN {queued} THEN 1 ELSE 0 END), 0) AS queued,
        {oldest} AS oldest_queued_at, {oldest_wait} AS oldest_wait_seconds,
        COALESCE(SUM(CASE WHEN {left} THEN 1 ELSE 0 END), 0) AS left_messages,
        MIN(CASE WHEN {left} THEN c.queued_at END) AS oldest_left_at
    FROM {_table(Conversation)} c
    WHERE c.shop_id = %s AND c.status IN ({_words(WAITING_STATUSES)})"""  # noqa: S608 -- as above


def _seats(shop: Shop, params: list) -> str:
    online = f"g.status = '{AgentStatus.ONLINE}'"
    params.append(shop.pk)
    return f"""SELECT COUNT(*) AS agents,
        COALESCE(SUM(CASE WHEN {online} THEN 1 ELSE 0 END), 0) AS online,
        COALESCE(SUM(CASE WHEN {online} THEN g.capacity ELSE 0 END), 0) AS online_capacity,
        COALESCE(SUM(CASE WHEN {online} THEN g.active_chats ELSE 0 END), 0) AS online_active_chats
    FROM {_table(Agent)} g WHERE g.shop_id = %s"""  # noqa: S608 -- as above


def _today(shop: Shop, now: datetime, params: list) -> str:
    """Today's first turns (``number = 1``, started on the shop-local day) summed to the 3-minute figures."""
    day_start = local_day_start(shop, now)
    day = day_start.date()
    hours_from, hours_to = (datetime.combine(day, at, tzinfo=shop.tzinfo) for at in SERVICE_HOURS)
    in_hours = f"t.started_at >= {_moment(hours_from, params)} AND t.started_at < {_moment(hours_to, params)}"
    decided = _moment(now - timedelta(seconds=RESPONSE_WITHIN_SECONDS), params)  # unanswered since before: missed
    params.append(shop.pk)
    day_from = _moment(day_start, params)
    day_to = _moment(datetime.combine(day + timedelta(days=1), time.min, tzinfo=shop.tzinfo), params)
    within = RESPONSE_WITHIN_SECONDS
    return f"""SELECT
        COALESCE(SUM(CASE WHEN x.in_hours = 1 AND x.response_seconds <= {within} THEN 1 ELSE 0 END), 0) AS answered_3m,
        COALESCE(SUM(CASE WHEN x.in_hours = 1 AND (x.response_seconds > {within}
            OR (x.response_seconds IS NULL AND x.decided = 1)) THEN 1 ELSE 0 END), 0) AS missed_3m,
        COALESCE(SUM(CASE WHEN x.in_hours = 1 AND x.response_seconds IS NULL AND x.decided = 0 THEN 1 ELSE 0 END), 0)
            AS pending_3m,
        COUNT(x.response_seconds) AS first_responses,
        AVG(x.response_seconds) AS avg_first_response_seconds
    FROM (
        SELECT t.response_seconds,
               CASE WHEN {in_hours} THEN 1 ELSE 0 END AS in_hours,
               CASE WHEN t.started_at < {decided} THEN 1 ELSE 0 END AS decided
        FROM {_table(Turn)} t
        WHERE t.shop_id = %s AND t.number = 1 AND t.started_at >= {day_from} AND t.started_at < {day_to}
    ) x"""  # noqa: S608 -- as above


def _figures(shop: Shop, now: datetime) -> dict:
    """One statement, one row: the waiting counts, the queue, the online seats and today's first-turn figures."""
    params: list = []  # in the order of the placeholders in the text
    parts = [
        _waiting_counts(shop, now, params),
        _queue(shop, now, params),
        _seats(shop, params),
        _today(shop, now, params),
    ]
    sql = "SELECT * FROM " + " CROSS JOIN ".join(f"({part}) p{n}" for n, part in enumerate(parts))  # noqa: S608
    (row,) = fetch_dicts(sql, params)
    decided = row["answered_3m"] + row["missed_3m"]
    return {
        "waiting_counts": {
            "waiting": row["waiting"],
            "past_at_risk": row["waiting_past_at_risk"],
            "past_missed": row["waiting_past_missed"],
        },
        "queue": {
            "length": row["queued"],
            "oldest_since": as_aware_datetime(row["oldest_queued_at"]),
            "oldest_wait_seconds": row["oldest_wait_seconds"],
        },
        "left_messages": {"count": row["left_messages"], "oldest_since": as_aware_datetime(row["oldest_left_at"])},
        "seats": {
            "agents": row["agents"],
            "online": row["online"],
            "online_capacity": row["online_capacity"],
            "online_active_chats": row["online_active_chats"],
        },
        "today": {
            "date": local_day_start(shop, now).date(),
            "first_turns_in_hours": decided + row["pending_3m"],
            "answered_3m": row["answered_3m"],
            "missed_3m": row["missed_3m"],
            "pending_3m": row["pending_3m"],
            "response_rate_3m": row["answered_3m"] / decided if decided else None,
            "first_responses": row["first_responses"],
            "avg_first_response_seconds": row["avg_first_response_seconds"],
        },
    }


def wall_state(*, shop: Shop, now: datetime) -> dict:
    """Everything the supervision wall of ``shop`` shows at ``now`` (see the module doc): three queries."""
    figures = _figures(shop, now)
    return {
        "shop": {"id": shop.pk, "name": shop.name, "timezone": shop.timezone},
        "now": now,
        "thresholds": {"at_risk_seconds": AT_RISK_SECONDS, "missed_seconds": RESPONSE_WITHIN_SECONDS},
        "agents": _agents(shop),
        "waiting": _waiting(shop, now),
        "waiting_limit": WAITING_LIMIT,
        **figures,
    }
