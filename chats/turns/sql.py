"""Turns and responses, in SQL: the one implementation of DESIGN.md's turn/response definition.

Definition (DESIGN.md, "Service diagnosis metrics"):

- Only buyer, agent and bot messages that are not auto-replies take part. System messages, official platform
  messages and auto-replies are skipped entirely: they neither start, continue, break nor answer a turn.
- In what remains, ordered within a conversation by ``(sent_at, id)`` (the ``message_conversation_sent`` index),
  a *turn* is a maximal run of buyer messages. Its *response* is the next shop-side message (agent or bot; any
  body, an emoji counts). Response time = response ``sent_at`` minus the turn's *first* message ``sent_at``.
- In that stream a turn start is a buyer row whose previous row is not a buyer row, and a response is a shop row
  whose previous row is a buyer row. Starts and responses therefore alternate (start 1, response 1, start 2, ...):
  the k-th response answers the k-th turn, and only a conversation's last turn can be unanswered.

How it runs: one scan of the selected conversations' messages with two window passes that share the same
partition and order (``LAG`` to find starts and responses, then ``ROW_NUMBER``/``LEAD`` over starts and responses
only), no per-row subquery, so it can sit inside a larger ``WITH turns AS (...)`` aggregate over a day of a whole
platform. Both functions return ``(sql, params)`` with ``%s`` placeholders for ``cursor.execute`` or ``RawSQL``.

Per-turn columns (:func:`turn_rows_sql`): ``conversation_id, shop_id, turn_no`` (1-based), ``started_at``,
``responded_at`` (NULL when unanswered), ``responder_sender`` (``agent``/``bot``), ``responder_agent_id``,
``response_seconds`` (float, NULL when unanswered).

Per-conversation columns (:func:`conversation_summary_sql`): ``conversation_id, shop_id, turns, unanswered_turns,
first_response_seconds`` (the first turn's; NULL when it is unanswered or there is no turn) and
``max_response_seconds`` (over answered turns).

The same turns are kept as rows (``chats.Turn``) by the one writer of messages (``chats.lifecycle.messages``, through
``chats.turns.store``), built from this SQL for bulk writes and checked against it (``chats.turns.check``, and after
every test); daily metrics, auto-replies and the missed follow-up sweep read the rows, monitoring and exports compute
them here.

Conversations are chosen by :class:`ConversationFilter`: shop ids, a ``started_at`` range, explicit ids, an ORM
queryset of conversations, or a raw SQL condition on the alias ``c`` (``chats_conversation``), all ANDed. A caller
filtering by *turn* start time (e.g. a local day) filters the per-turn rows on ``started_at`` in its outer query
and narrows conversations here (e.g. conversations started before the day's end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from ..choices import Sender
from ..sql import in_list_sql

_SHOP_SENDERS = (Sender.AGENT.value, Sender.BOT.value)
# The messages that take part in turns (when they are not auto-replies).
STREAM_SENDERS = (Sender.BUYER.value, *_SHOP_SENDERS)
# The columns of ``chats.Turn`` that :func:`stored_turn_rows_sql` gives, in its order.
TURN_COLUMNS = (
    "conversation_id",
    "shop_id",
    "number",
    "started_at",
    "responded_at",
    "responder_sender",
    "responder_agent_id",
    "response_seconds",
)


def seconds_between_sql(later: str, earlier: str, vendor: str | None = None) -> str:
    """SQL for ``later - earlier`` in seconds as a float: the one place where the SQL dialects differ."""
    vendor = vendor or connection.vendor
    if vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))::double precision"
    if vendor == "sqlite":
        # julianday() is a double in days; rounding to the millisecond removes its binary noise (179.99999...).
        return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)"
    raise NotImplementedError(f"turns: no seconds_between for database vendor {vendor!r}")


@dataclass(frozen=True)
class ConversationFilter:
    """Which conversations' turns to compute; every given condition is ANDed (nothing given = all)."""

    shop_ids: Sequence[int] | None = None
    started_from: datetime | None = None  # conversation started_at >= this (inclusive)
    started_before: datetime | None = None  # conversation started_at < this (exclusive)
    conversation_ids: Sequence[int] | None = None
    conversations: QuerySet | None = None  # any Conversation queryset; its pks are used as a subquery
    where: str | None = None  # raw condition on alias ``c``
    params: Sequence = field(default_factory=tuple)

    def as_sql(self) -> tuple[str, list]:
        parts: list[str] = []
        params: list = []
        if self.shop_ids is not None:
            parts.append(in_list_sql("c.shop_id", self.shop_ids, params))
        if self.conversation_ids is not None:
            parts.append(in_list_sql("c.id", self.conversation_ids, params))
        if self.started_from is not None:
            parts.append("c.started_at >= %s")
            params.append(connection.ops.adapt_datetimefield_value(self.started_from))
        if self.started_before is not None:
            parts.append("c.started_at < %s")
            params.append(connection.ops.adapt_datetimefield_value(self.started_before))
        if self.conversations is not None:
            sub_sql, sub_params = self.conversations.order_by().values("pk").query.sql_with_params()
            parts.append(f"c.id IN ({sub_sql})")
            params.extend(sub_params)
        if self.where:
            parts.append(f"({self.where})")
            params.extend(self.params)
        return (" AND ".join(parts) or "1 = 1"), params


def turn_rows_sql(conversations: ConversationFilter | None = None) -> tuple[str, list]:
    """``(sql, params)`` of a SELECT giving one row per turn of the chosen conversations (see the module doc)."""
    where, params = (conversations or ConversationFilter()).as_sql()
    seconds = seconds_between_sql("e.next_sent_at", "e.sent_at")
    buyer = Sender.BUYER.value
    shop_senders = ", ".join(f"'{s}'" for s in _SHOP_SENDERS)
    stream_order = "PARTITION BY m.conversation_id ORDER BY m.sent_at, m.id"
    event_order = "PARTITION BY s.conversation_id ORDER BY s.sent_at, s.id"
    sql = f"""
SELECT e.conversation_id AS conversation_id,
       e.shop_id AS shop_id,
       (e.event_no + 1) / 2 AS turn_no,
       e.sent_at AS started_at,
       e.next_sent_at AS responded_at,
       e.next_sender AS responder_sender,
       e.next_agent_id AS responder_agent_id,
       {seconds} AS response_seconds
FROM (
    SELECT s.conversation_id, s.shop_id, s.sender, s.sent_at,
           ROW_NUMBER() OVER ({event_order}) AS event_no,
           LEAD(s.sent_at) OVER ({event_order}) AS next_sent_at,
           LEAD(s.sender) OVER ({event_order}) AS next_sender,
           LEAD(s.agent_id) OVER ({event_order}) AS next_agent_id
    FROM (
        SELECT m.conversation_id, c.shop_id, m.id, m.sender, m.agent_id, m.sent_at,
               LAG(m.sender) OVER ({stream_order}) AS prev_sender
        FROM chats_message m
        JOIN chats_conversation c ON c.id = m.conversation_id
        WHERE m.sender IN ('{buyer}', {shop_senders}) AND NOT m.is_auto_reply AND {where}
    ) s
    WHERE (s.sender = '{buyer}' AND (s.prev_sender IS NULL OR s.prev_sender <> '{buyer}'))
       OR (s.sender <> '{buyer}' AND s.prev_sender = '{buyer}')
) e
WHERE e.sender = '{buyer}'
"""
    return sql, params


def stored_turn_rows_sql(conversations: ConversationFilter) -> tuple[str, list]:
    """``(sql, params)``: the chosen conversations' turns as rows of ``chats.Turn`` (``TURN_COLUMNS``; no responder
    is ``''``), what the stored turns must equal."""
    turns_sql, params = turn_rows_sql(conversations)
    sql = f"""
SELECT t.conversation_id AS conversation_id, t.shop_id AS shop_id, t.turn_no AS number, t.started_at AS started_at,
       t.responded_at AS responded_at, COALESCE(t.responder_sender, '') AS responder_sender,
       t.responder_agent_id AS responder_agent_id, t.response_seconds AS response_seconds
FROM ({turns_sql}) t
"""
    return sql, params


def chosen_conversation_ids_sql(conversations: ConversationFilter) -> tuple[str, list]:
    """``(sql, params)`` of a SELECT of the chosen conversations' ids (for ``conversation_id IN (...)``)."""
    where, params = conversations.as_sql()
    return f"SELECT c.id FROM chats_conversation c WHERE {where}", params


def conversation_summary_sql(conversations: ConversationFilter | None = None) -> tuple[str, list]:
    """``(sql, params)`` of a SELECT giving one row per chosen conversation that has at least one turn."""
    turns_sql, params = turn_rows_sql(conversations)
    sql = f"""
SELECT t.conversation_id AS conversation_id,
       MIN(t.shop_id) AS shop_id,
       COUNT(*) AS turns,
       COUNT(*) - COUNT(t.responded_at) AS unanswered_turns,
       MAX(CASE WHEN t.turn_no = 1 THEN t.response_seconds END) AS first_response_seconds,
       MAX(t.response_seconds) AS max_response_seconds
FROM ({turns_sql}) t
GROUP BY t.conversation_id
"""
    return sql, params
