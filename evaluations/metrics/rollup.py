"""Daily service-diagnosis rollups, computed in the database (DESIGN.md, "Service diagnosis metrics").

Read-only: :func:`daily_metric_values` returns the ``DailyMetric`` values of one local day of some (or all) shops
(:func:`daily_metric_rows`, the same as unsaved rows); the service ``daily_metrics_rollup`` upserts them in one
transaction (a re-run updates the stored rows in place) and deletes the day's rows it no longer gives.

How it runs: a shop's day D is its own local day (``[00:00 D, 00:00 D+1)`` in its zone, DST included). One
statement (:func:`daily_metric_statements`) gives every row of D for every chosen shop, whatever its zone: the CTE
``b`` holds each shop's bounds (computed in Python, per zone), and each part reads the hull of those days for the
chosen shops (constants the planner can estimate) joined to ``b`` for the exact bounds. The parts: the conversations
of D (0/1 facts), the turns of D (the stored ``chats.Turn`` rows, which the writers of messages keep equal to
``chats.turns``; an index range rather than every conversation's message stream), the assistant's replies of D
(``chats.BotReply``, an index range of each shop's) and the ratings of D, summed per shop, agent, group, phase and
served-by (``fine``) and then per scope (``sc``: one branch per scope, so each row key comes from one branch); the
shop rows join their after-sales seekers and events and their 30-day volume, and every row joins the sums of its
stored rows of D-6..D-1 (``k``). Every rate, badge, star and flag is derived in SQL. The
service writes it with ``INSERT ... SELECT ... ON CONFLICT``: no row passes through Python.

Definitions, to the letter of DESIGN.md, and the choices it leaves open:

- **Conversations of D**: those whose ``started_at`` falls on the shop-local day D. ``conversations`` counts them.
- **Turns and responses**: ``chats.turns`` (the one implementation: a turn is a maximal run of buyer messages; its
  response the next agent or bot message that is not an auto-reply; system and official messages never count; an
  emoji counts). Turn-based figures attribute each turn to the day its *first message* was sent (turn start), so a
  chat that crosses midnight gives its later turns to D+1.
- **3-minute response rate** = ``first_turns_answered_3m / first_turns_in_hours``: among the conversations whose
  first turn (first buyer message) was sent in ``[09:00, 21:00)`` local time on D (09:00:00 is in, 21:00:00 is out),
  whatever day the conversation itself started (a chat opened the evening before, or by the merchant, whose buyer
  first writes on D belongs to D), the share whose first turn was answered within 180 s (exactly 180 s is in).
  Unanswered is missed.
- **Average response time** = ``response_seconds_total / responded_turns`` over every answered turn that started on
  D; **average first response time** likewise over answered first turns (``turn_no = 1``) that started on D.
- **Satisfaction rate** = ``satisfied_ratings / ratings`` (satisfied: 4 or 5). A rating belongs to the local day its
  invite was sent (system and agent invites), a self rating to the day its conversation ended, whatever day the
  buyer answered. ``satisfaction_final`` from the start of D+2 (local).
- **After-sales 3-day FCR** = ``1 - fcr_repeated / fcr_services``. A *service* is a conversation (a bot-to-human or
  agent-to-agent transfer stays inside it) that reached a human (``assigned_at`` set), in the after-sales phase,
  started by the buyer: the buyer asked for a human with the transfer-to-human entry (``transfer_requested_at``
  set: the buyer's bot chat continues, whoever then writes first), or its first buyer-or-agent message is the
  buyer's (otherwise an agent writing first is a merchant-started contact, excluded; bot greetings, system and
  official messages do not decide). The services of D
  are those started on D. A service is *repeated* when the same buyer started another such service with the shop
  within 72 hours after this one ended: ``ended_at < other.started_at <= ended_at + 72 h``. A service not yet ended
  (or whose 72 hours have not passed) is *open*: it counts as not repeated so far, and ``fcr_final`` stays false
  until no service of D is open and every conversation of D has ended (an open chat can still reach a human).
- **After-sales resolution rate** (shop rows only) = ``clamp(1 - (P + Disp + Comp) / S, 0, 1)``: S = distinct buyers
  who sought after-sales help on D (an after-sales conversation started on D, a refund request or a complaint on
  D; one per buyer per day); P = platform consultations on D by buyers who contacted the shop (started a
  conversation) in the 15 days (360 hours) before the consultation; Disp = disputes on D; Comp = complaint
  interventions on D. The counts are kept unclamped.
- **Transfer-to-human rate** = ``transfer_requests / transfer_entry_shown``: conversations of D whose entry was
  shown (which implies the bot served them first) and those of them with a transfer request (a chat counts once,
  however often the buyer clicked). Kept also for unexposed buyers: ``transfer_requests_unexposed /
  bot_conversations_unexposed`` over bot-served conversations (the assistant wrote in them) of buyers outside the
  exposure bucket, so the two groups can be compared. A typed request (the buyer wrote that they want a human, e.g.
  转人工) sets ``transfer_requested_at`` as a click does, so every count of requests above holds both sources;
  ``transfer_requests_typed`` counts the conversations of D whose first request was typed (``transfer_source``).
- **Bot-served conversations** = ``bot_conversations``: the conversations of D in which the assistant wrote (a
  message sent by the bot: its greeting, so every chat that started with the assistant on, an answer, a
  clarification or a fallback), whoever served them later, all buyers (exposed or not). **Bot resolution rate** =
  ``bot_resolved / bot_conversations``: those of them that have ended (``ended_at`` set, by the time of the run)
  without any transfer request (``transfer_requested_at`` null, whatever its source); a chat still open counts as
  not resolved so far (the day is recomputed as usual).
- **Assistant replies** = ``bot_replies``: the ``chats.BotReply`` rows (one per live buyer message the assistant
  answered) whose buyer message was sent on the shop-local day D (``at``), whatever day their conversation started,
  so a chat that crosses midnight gives its later replies to D+1 (like turns). ``bot_fallbacks`` and
  ``bot_clarifications`` are those of kind ``fallback`` and ``clarification``; **fallback rate** =
  ``bot_fallbacks / bot_replies``.
- **Reception volume** (shop rows) = conversations started in the 30 local days before D (D excluded) / 30, the
  same figure as ``chats.lifecycle.conversations.shop_daily_reception_volume``; ``reception_tier`` by
  ``RECEPTION_TIER_FLOORS`` (the floor included). The count is the sum of the stored shop rows of those days when
  all 30 were computed after their day ended, else counted from the conversations (see :func:`_reception_volumes`).
- **7-day figures**: the 3-minute counts and rating counts of D-6..D pooled (sums of the stored rows of D-6..D-1
  plus D). ``fast_response_badge``: pooled 3-minute rate >= ``METRICS_FAST_RESPONSE_BADGE_RATE`` (0.8).
  ``stars``: the first level of ``METRICS_STAR_THRESHOLDS`` whose 3-minute and satisfaction thresholds the pooled
  rates both reach, else 3; an undefined rate (no data) reaches nothing.
- **final** = ``satisfaction_final and fcr_final``.
- **Served by**: ``human`` for a conversation that reached a human agent (``assigned_at`` set), else ``bot`` (served
  by the assistant alone, or by nobody); turns, assistant replies and ratings follow their conversation.
- **Per agent, group and phase**: conversation-based figures go to the conversation's agent (who has or last had the
  chat), group and phase (fixed at its start by the 21-day rule, ``shops.selectors.buyer_service_phase``). Turns
  go to the agent who answered them (a turn answered by the bot belongs to no agent; an unanswered turn to the
  conversation's agent), and to the conversation's group and phase. Ratings go to the rated conversation's.
  Assistant replies go to no agent (like the turns the bot answered: there are no agent rows of them) and to their
  conversation's group, phase and served-by; bot-served conversations, bot resolutions and typed transfer requests
  are conversation facts and follow the conversation, its agent included (a bot chat that reached a human).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from chats.choices import BotReplyKind, Sender, TransferSource
from chats.models import BotReply, Conversation, Message, Turn
from chats.sql import fetch_dicts, in_list_sql
from shops.choices import AfterSalesEventKind, ServicePhase
from shops.models import AfterSalesEvent, Shop

from ..choices import RECEPTION_TIER_FLOORS, SATISFIED_SCORES, MetricScope, ReceptionTier, ServedBy
from ..models import DailyMetric, Evaluation, RatingInvite

RESPONSE_WITHIN_SECONDS = 180
SERVICE_HOURS = (time(9), time(21))
FCR_WINDOW = timedelta(hours=72)
CONSULTATION_CONTACT_WINDOW = timedelta(days=15)
VOLUME_DAYS = 30
POOLED_DAYS = 7
# Turns of a day come from conversations started up to this long before it (and not ended before it): a chat
# closes after at most 24 idle hours, so one still producing turns two days after its start is not a real case.
TURN_LOOKBACK = timedelta(days=2)

DIMENSIONS = ("scope", "shop_id", "agent_id", "group_id", "phase", "served_by")
# The key of a stored row, as the unique index ``daily_metric_one_row`` has it (the writer's ``ON CONFLICT`` target).
DAILY_METRIC_KEY = "shop_id, scope, date, COALESCE(agent_id, 0), COALESCE(group_id, 0), phase, served_by"
DAILY_METRIC_KEY_COLUMNS = ("date", *DIMENSIONS)


@dataclass(frozen=True)
class LocalDay:
    """One shop-local day in one time zone, as aware datetimes (wall-clock arithmetic, so DST days are right)."""

    day: date
    tz: ZoneInfo

    def at(self, moment: time, days: int = 0) -> datetime:
        return datetime.combine(self.day + timedelta(days=days), moment, tzinfo=self.tz)

    @property
    def start(self) -> datetime:
        return self.at(time.min)

    @property
    def end(self) -> datetime:
        return self.at(time.min, days=1)


def _db_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _shifted(column: str, delta: timedelta, params: list) -> str:
    """SQL for ``column + delta`` (a datetime column), as the ORM writes it for each database."""
    if connection.vendor == "sqlite":
        params.append(round(delta.total_seconds() * 1_000_000))
        return f"django_format_dtdelta('+', {column}, %s)"
    params.append(delta)
    return f"({column} + %s)"


def _words(values) -> str:
    """A constant list of choice values as SQL (the values are this module's own constants, never input)."""
    return ", ".join(f"'{value}'" for value in values)


# --- the statement ------------------------------------------------------------------------------------------------
# One SELECT gives every row of D for every chosen shop, whatever its time zone: the CTE ``b`` holds each shop's own
# bounds (its local day, 09:00 and 21:00, the turn lookback, the 30-day volume start); every part reads the chosen
# shops over the hull of their days (``Chosen``: constants for the planner) and joins ``b`` for the exact bounds.
# Values are params; building the text takes about 2 ms for 200 shops.

BOUNDS = ("shop_id", "zone_no", "lo", "hi", "h9", "h21", "lookback", "volume_lo", "satisfaction_final")

CONVERSATION_MEASURES = {
    "conversations": "1",
    "open_conversations": "is_open",
    "fcr_services": "fcr_service",
    "fcr_repeated": "fcr_service * fcr_followed",
    "fcr_open": "fcr_service * fcr_window_open",
    "transfer_entry_shown": "entry_shown",
    "transfer_requests": "entry_requested",
    "bot_conversations_unexposed": "unexposed * bot_served",
    "transfer_requests_unexposed": "unexposed * bot_served * requested",
    "transfer_requests_typed": "typed",
    "bot_conversations": "bot_served",
    "bot_resolved": "bot_served * (1 - is_open) * (1 - requested)",
}
FIRST_TURN_MEASURES = {
    "first_turns_in_hours": "1",
    "first_turns_answered_3m": f"CASE WHEN response_seconds <= {RESPONSE_WITHIN_SECONDS} THEN 1 ELSE 0 END",
}
TURN_MEASURES = {
    "responded_turns": "CASE WHEN response_seconds IS NOT NULL THEN 1 ELSE 0 END",
    "response_seconds_total": "response_seconds",
    "first_responses": "CASE WHEN turn_no = 1 AND response_seconds IS NOT NULL THEN 1 ELSE 0 END",
    "first_response_seconds_total": "CASE WHEN turn_no = 1 THEN response_seconds END",
    "unanswered_turns": "CASE WHEN response_seconds IS NULL THEN 1 ELSE 0 END",
}
BOT_REPLY_MEASURES = {
    "bot_replies": "1",
    "bot_fallbacks": f"CASE WHEN kind = '{BotReplyKind.FALLBACK}' THEN 1 ELSE 0 END",
    "bot_clarifications": f"CASE WHEN kind = '{BotReplyKind.CLARIFICATION}' THEN 1 ELSE 0 END",
}
RATING_MEASURES = {"ratings": "1", "satisfied_ratings": "satisfied"}
MEASURE_GROUPS = (CONVERSATION_MEASURES, FIRST_TURN_MEASURES, TURN_MEASURES, BOT_REPLY_MEASURES, RATING_MEASURES)
COUNTS = tuple(name for group in MEASURE_GROUPS for name in group)
# Shop rows only: after-sales seekers and events of D, and the conversations of the 30 days before it (the parts
# they come from).
SHOP_FACT_SOURCES = {
    "seekers_": "seek.seekers",
    "consultations_": "ev.platform_consultations",
    "disputes_": "ev.disputes",
    "interventions_": "ev.complaint_interventions",
    "started_30d_": "vol.started",
}
POOLED_COUNTS = ("first_turns_in_hours", "first_turns_answered_3m", "ratings", "satisfied_ratings")
PREVIOUS = tuple(f"{name}_prev" for name in POOLED_COUNTS)  # sums of the stored rows of D-6..D-1
SECONDS = ("response_seconds_total", "first_response_seconds_total")  # the measures that are not counts


def _sum(name: str, expr: str | None = None) -> str:
    """``SUM`` of a measure (of ``expr``, by default the column ``name``); a count stays an integer (PostgreSQL would
    widen it to ``numeric``, slow to add up)."""
    expr = expr or name
    return f"SUM({expr})" if name in SECONDS else f"CAST(SUM({expr}) AS INTEGER)"


def _measures(names, given: dict[str, str]) -> str:
    """Every branch of a UNION lists the same columns in the same order; those a branch does not give are 0."""
    return ", ".join(f"{given.get(name, '0')} AS {name}" for name in names)


@dataclass(frozen=True)
class Chosen:
    """The chosen shops and the hull of their local days, as constants the planner can estimate and use in index
    ranges (``b`` then holds each shop's exact bounds)."""

    shop_ids: tuple[int, ...]
    lo: datetime  # the earliest local start of D
    hi: datetime  # the latest local end of D
    day_ends: tuple[tuple, ...] = ()  # per zone (``b.zone_no``), the ends of its days D-30..D-1, as database values

    def where(self, shop: str, moment: str, params: list, *, lo: datetime | None = None) -> str:
        """``shop IN (...) AND lo <= moment < hi`` (the hull; ``lo`` overrides its start)."""
        shops = in_list_sql(shop, self.shop_ids, params)
        params += [_db_datetime(lo or self.lo), _db_datetime(self.hi)]
        return f"{shops} AND {moment} >= %s AND {moment} < %s"


def _first_party_is_buyer(conversation: str) -> str:
    """The sender of the conversation's first buyer-or-agent message is the buyer (bots and system do not decide)."""
    return (
        f"(SELECT m.sender FROM {_table(Message)} m WHERE m.conversation_id = {conversation}.id "
        f"AND m.sender IN ({_words([Sender.BUYER, Sender.AGENT])}) ORDER BY m.sent_at, m.id LIMIT 1) = '{Sender.BUYER}'"
    )


def _buyer_started(conversation: str) -> str:
    """The buyer started the chat: they asked for a human (transfer-to-human), or wrote before any agent did. A
    CASE, so the message lookup runs only when there was no transfer request."""
    return (
        f"CASE WHEN {conversation}.transfer_requested_at IS NOT NULL THEN 1 "
        f"WHEN {_first_party_is_buyer(conversation)} THEN 1 ELSE 0 END = 1"
    )


def _conversations_of_day(chosen: Chosen, now: datetime, params: list) -> str:
    """``conv``: one row per conversation of D with 0/1 facts for the conversation-based metrics. Nested CASEs are
    evaluated in order, so the per-chat lookups run only for the chats they concern."""
    human_after_sales = f"c.assigned_at IS NOT NULL AND c.phase = '{ServicePhase.AFTER_SALES}'"
    repeat_until = _shifted("c.ended_at", FCR_WINDOW, params)
    repeat = f"""EXISTS (
        SELECT 1 FROM {_table(Conversation)} v
        WHERE v.buyer_id = c.buyer_id AND v.shop_id = c.shop_id
          AND v.started_at > c.ended_at AND v.started_at <= {repeat_until}
          AND v.assigned_at IS NOT NULL AND v.phase = '{ServicePhase.AFTER_SALES}' AND {_buyer_started("v")})"""
    bot_served = (
        f"EXISTS (SELECT 1 FROM {_table(Message)} m WHERE m.conversation_id = c.id AND m.sender = '{Sender.BOT}')"
    )
    params.append(_db_datetime(now - FCR_WINDOW))
    return f"""
    SELECT c.id, c.shop_id, c.buyer_id, c.agent_id, c.group_id, c.phase,
           CASE WHEN c.assigned_at IS NULL THEN '{ServedBy.BOT}' ELSE '{ServedBy.HUMAN}' END AS served_by,
           CASE WHEN c.ended_at IS NULL THEN 1 ELSE 0 END AS is_open,
           CASE WHEN {human_after_sales} THEN CASE WHEN {_buyer_started("c")} THEN 1 ELSE 0 END ELSE 0 END
               AS fcr_service,
           CASE WHEN {human_after_sales} THEN CASE WHEN {repeat} THEN 1 ELSE 0 END ELSE 0 END AS fcr_followed,
           CASE WHEN c.ended_at IS NULL OR c.ended_at > %s THEN 1 ELSE 0 END AS fcr_window_open,
           CASE WHEN c.transfer_entry_visible THEN 1 ELSE 0 END AS entry_shown,
           CASE WHEN c.transfer_entry_visible AND c.transfer_requested_at IS NOT NULL THEN 1 ELSE 0 END
               AS entry_requested,
           CASE WHEN {bot_served} THEN 1 ELSE 0 END AS bot_served,
           CASE WHEN c.buyer_exposed THEN 0 ELSE 1 END AS unexposed,
           CASE WHEN c.transfer_requested_at IS NOT NULL THEN 1 ELSE 0 END AS requested,
           CASE WHEN c.transfer_source = '{TransferSource.TYPED}' THEN 1 ELSE 0 END AS typed
    FROM {_table(Conversation)} c JOIN b ON b.shop_id = c.shop_id AND c.started_at >= b.lo AND c.started_at < b.hi
    WHERE {chosen.where("c.shop_id", "c.started_at", params)}"""


def _chats_with_turns(chosen: Chosen, params: list) -> str:
    """``cs``: the conversations that can have turns on D in the hull of the chosen shops' days (started up to
    ``TURN_LOOKBACK`` before it), with their dimensions; ``dt`` applies each shop's own bounds (its lookback, and not
    ended before D). No filter on the end here: it keeps a third of the range, which the planner estimates at a
    thirtieth."""
    in_hull = chosen.where("c.shop_id", "c.started_at", params, lo=chosen.lo - TURN_LOOKBACK)
    return f"""
    SELECT c.id, c.started_at, c.ended_at, c.agent_id, c.group_id, c.phase,
           CASE WHEN c.assigned_at IS NULL THEN '{ServedBy.BOT}' ELSE '{ServedBy.HUMAN}' END AS served_by
    FROM {_table(Conversation)} c
    WHERE {in_hull}"""


def _turns_of_day(chosen: Chosen, params: list) -> str:
    """``dt``: the turn measures of D (the stored turns that started on D) summed per their conversation's
    dimensions and the agent who answered them, so that ``fine`` adds up a row per key rather than one per turn.

    The turns and chats in the hull are joined first (both sides are index ranges the planner estimates well, so it
    hashes), then each shop's own bounds apply: joined to ``b`` first, the estimate drops tenfold and the planner
    loops over the chats' primary key instead, 13,000 lookups for 200 shops. ``OFFSET 0`` keeps that order on
    PostgreSQL."""
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    keys = "shop_id, agent_id, turn_agent_id, group_id, phase, served_by"
    first_turns = {name: f"CASE WHEN in_hours = 1 THEN {expr} ELSE 0 END" for name, expr in FIRST_TURN_MEASURES.items()}
    sums = ", ".join(f"{_sum(name, expr)} AS {name}" for name, expr in (first_turns | TURN_MEASURES).items())
    return f"""
    SELECT {keys}, {sums} FROM (
    SELECT t.shop_id, t.agent_id, t.group_id, t.phase, t.served_by, t.turn_no, t.response_seconds,
           CASE WHEN t.responded_at IS NULL THEN t.agent_id ELSE t.responder_agent_id END AS turn_agent_id,
           CASE WHEN t.turn_no = 1 AND t.started_at >= b.h9 AND t.started_at < b.h21 THEN 1 ELSE 0 END AS in_hours
    FROM (
        SELECT t.shop_id, t.number AS turn_no, t.started_at, t.responded_at, t.response_seconds,
               t.responder_agent_id, c.started_at AS chat_started_at, c.ended_at, c.agent_id, c.group_id, c.phase,
               c.served_by
        FROM {_table(Turn)} t JOIN cs c ON c.id = t.conversation_id
        WHERE {chosen.where("t.shop_id", "t.started_at", params)}{fence}
    ) t JOIN b ON b.shop_id = t.shop_id AND t.started_at >= b.lo AND t.started_at < b.hi
        AND t.chat_started_at >= b.lookback AND (t.ended_at IS NULL OR t.ended_at >= b.lo)
    ) d GROUP BY {keys}"""


def _bot_replies_of_day(chosen: Chosen, params: list) -> str:
    """``br``: the assistant's replies of D (their buyer message sent on D) summed per their conversation's group,
    phase and served-by; they belong to no agent. An index range of each shop's replies (``bot_reply_shop_at``), and
    the conversation by its primary key."""
    keys = "shop_id, group_id, phase, served_by"
    sums = ", ".join(f"{_sum(name, expr)} AS {name}" for name, expr in BOT_REPLY_MEASURES.items())
    return f"""
    SELECT {keys}, {sums} FROM (
    SELECT r.shop_id, r.kind, c.group_id, c.phase,
           CASE WHEN c.assigned_at IS NULL THEN '{ServedBy.BOT}' ELSE '{ServedBy.HUMAN}' END AS served_by
    FROM {_table(BotReply)} r JOIN b ON b.shop_id = r.shop_id AND r.at >= b.lo AND r.at < b.hi
    JOIN {_table(Conversation)} c ON c.id = r.conversation_id
    WHERE {chosen.where("r.shop_id", "r.at", params)}
    ) d GROUP BY {keys}"""


def _ratings_of_day(chosen: Chosen, params: list) -> str:
    """``r``: the ratings of D (invite sent on D, or a self rating of a conversation that ended on D), one row each.
    Two branches rather than one OR, so each can use its own index (the invite's send time, the chat's end)."""
    columns = (
        "c.shop_id, c.agent_id, c.group_id, c.phase, "
        f"CASE WHEN c.assigned_at IS NULL THEN '{ServedBy.BOT}' ELSE '{ServedBy.HUMAN}' END AS served_by, "
        f"CASE WHEN e.score IN ({', '.join(str(score) for score in SATISFIED_SCORES)}) THEN 1 ELSE 0 END AS satisfied"
    )
    params += [_db_datetime(chosen.lo), _db_datetime(chosen.hi)]
    return f"""
    SELECT {columns}
    FROM {_table(RatingInvite)} i JOIN {_table(Evaluation)} e ON e.invite_id = i.id
    JOIN {_table(Conversation)} c ON c.id = e.conversation_id
    JOIN b ON b.shop_id = c.shop_id AND i.sent_at >= b.lo AND i.sent_at < b.hi
    WHERE i.sent_at >= %s AND i.sent_at < %s
    UNION ALL
    SELECT {columns}
    FROM {_table(Evaluation)} e JOIN {_table(Conversation)} c ON c.id = e.conversation_id
    JOIN b ON b.shop_id = c.shop_id AND c.ended_at >= b.lo AND c.ended_at < b.hi AND c.started_at < b.hi
    WHERE e.invite_id IS NULL"""


def _resolution_seekers(chosen: Chosen, params: list) -> str:
    """``seek``: S per shop, the distinct buyers with an after-sales chat, refund request or complaint on D."""
    requests = _words([AfterSalesEventKind.REFUND_REQUEST, AfterSalesEventKind.COMPLAINT])
    return f"""
    SELECT shop_id, COUNT(DISTINCT buyer_id) AS seekers FROM (
        SELECT shop_id, buyer_id FROM conv WHERE phase = '{ServicePhase.AFTER_SALES}'
        UNION ALL
        SELECT a.shop_id, a.buyer_id
        FROM {_table(AfterSalesEvent)} a JOIN b ON b.shop_id = a.shop_id AND a.occurred_at >= b.lo
            AND a.occurred_at < b.hi
        WHERE {chosen.where("a.shop_id", "a.occurred_at", params)} AND a.kind IN ({requests})
    ) s GROUP BY shop_id"""


def _after_sales_events(chosen: Chosen, params: list) -> str:
    """``ev``: P (platform consultations by buyers who started a chat with the shop in the 15 days before), Disp
    and Comp per shop on D."""
    contact_from = _shifted("a.occurred_at", -CONSULTATION_CONTACT_WINDOW, params)
    in_hull = chosen.where("a.shop_id", "a.occurred_at", params)
    recent_contact = f"""EXISTS (
            SELECT 1 FROM {_table(Conversation)} v
            WHERE v.buyer_id = a.buyer_id AND v.shop_id = a.shop_id
              AND v.started_at < a.occurred_at AND v.started_at >= {contact_from})"""
    return f"""
    SELECT a.shop_id,
           SUM(CASE WHEN a.kind = '{AfterSalesEventKind.PLATFORM_CONSULTATION}' THEN
               CASE WHEN {recent_contact} THEN 1 ELSE 0 END ELSE 0 END) AS platform_consultations,
           SUM(CASE WHEN a.kind = '{AfterSalesEventKind.DISPUTE}' THEN 1 ELSE 0 END) AS disputes,
           SUM(CASE WHEN a.kind = '{AfterSalesEventKind.COMPLAINT_INTERVENTION}' THEN 1 ELSE 0 END)
               AS complaint_interventions
    FROM {_table(AfterSalesEvent)} a JOIN b ON b.shop_id = a.shop_id AND a.occurred_at >= b.lo
        AND a.occurred_at < b.hi
    WHERE {in_hull}
    GROUP BY a.shop_id"""


def _reception_volumes(chosen: Chosen, day: date, params: list) -> tuple[str, str, str]:
    """``sm``, ``stored`` and ``vol``: conversations started in the 30 local days before D, per shop.

    Read from the stored shop rows of those days, whose ``conversations`` is that count, when all 30 were computed
    after their day had ended (a day's conversations are all there once it is over: ``Chosen.day_ends``, on
    PostgreSQL one two-dimensional array indexed by zone and day, else the CTE ``vd``); a shop without them is counted
    from its conversations (an index range per shop). Runs in date order (backfills, the nightly run) keep the stored
    rows complete, so the count is rarely needed.
    """
    first = day - timedelta(days=VOLUME_DAYS)
    shop_rows = f"""
    SELECT m.shop_id, m.date, m.computed_at, m.conversations FROM {_table(DailyMetric)} m
    WHERE {_stored_days(chosen, first, day, params)} AND m.scope = '{MetricScope.SHOP}'"""
    if connection.vendor == "postgresql":
        params += [[list(ends) for ends in chosen.day_ends], first - timedelta(days=1)]
        ended = "m.computed_at >= (CAST(%s AS TIMESTAMP WITH TIME ZONE[]))[b.zone_no + 1][m.date - CAST(%s AS DATE)]"
        day_ends = f"WHERE {ended}"
    else:
        day_ends = "JOIN vd ON vd.zone_no = b.zone_no AND vd.day = m.date AND m.computed_at >= vd.ends"
    stored = f"""
    SELECT m.shop_id, COUNT(*) AS days, SUM(m.conversations) AS started
    FROM sm m JOIN b ON b.shop_id = m.shop_id
    {day_ends}
    GROUP BY m.shop_id"""
    volume = f"""
    SELECT b.shop_id, CASE WHEN st.days = {VOLUME_DAYS} THEN st.started ELSE (
        SELECT COUNT(*) FROM {_table(Conversation)} c
        WHERE c.shop_id = b.shop_id AND c.started_at >= b.volume_lo AND c.started_at < b.lo
    ) END AS started
    FROM b LEFT JOIN stored st ON st.shop_id = b.shop_id"""
    return shop_rows, stored, volume


def _stored_days(chosen: Chosen, first: date, end: date, params: list) -> str:
    """The stored rows (alias ``m``) of the chosen shops dated ``first`` up to ``end`` (excluded)."""
    shops = in_list_sql("m.shop_id", chosen.shop_ids, params)
    params += [connection.ops.adapt_datefield_value(first), connection.ops.adapt_datefield_value(end)]
    return f"{shops} AND m.date >= %s AND m.date < %s"


def _previous_days(chosen: Chosen, day: date, params: list) -> str:
    """``prev``: the pooled counts of the stored rows of D-6..D-1, per row key."""
    dimensions = ", ".join(f"m.{name}" for name in DIMENSIONS)
    sums = ", ".join(f"{_sum(name, f'm.{name}')} AS {name}_prev" for name in POOLED_COUNTS)
    return (
        f"SELECT {dimensions}, {sums} FROM {_table(DailyMetric)} m "
        f"WHERE {_stored_days(chosen, day - timedelta(days=POOLED_DAYS - 1), day, params)} GROUP BY {dimensions}"
    )


def _scopes() -> str:
    """``sc``: the rows of D, one per row key (``DIMENSIONS``), with their summed counts. The shop row of every chosen
    shop (even on a day without chats) carries its after-sales and volume facts; the agent, group, phase and
    served-by rows are the ``fine`` rows summed per their key, for the keys present on D. Each key comes from one
    branch, so the branches are not added up again."""
    null_id = "CAST(NULL AS BIGINT)"
    scopes = [
        (MetricScope.AGENT, "agent_id", null_id, "''", "''", "agent_id", "WHERE agent_id IS NOT NULL"),
        (MetricScope.GROUP, null_id, "group_id", "''", "''", "group_id", "WHERE group_id IS NOT NULL"),
        (MetricScope.PHASE, null_id, null_id, "phase", "''", "phase", ""),
        (MetricScope.SERVED_BY, null_id, null_id, "''", "served_by", "served_by", ""),
    ]
    no_facts = _measures(SHOP_FACT_SOURCES, {})
    # A key whose turns all went unanswered sums no seconds: 0, as on the shop row.
    sums = ", ".join(
        f"COALESCE({_sum(name)}, 0) AS {name}" if name in SECONDS else f"{_sum(name)} AS {name}" for name in COUNTS
    )
    branches = [
        f"SELECT '{scope.value}' AS scope, shop_id, {a} AS agent_id, {g} AS group_id, {p} AS phase, "
        f"{b} AS served_by, {sums}, {no_facts} FROM fine {where} GROUP BY shop_id, {key}"
        for scope, a, g, p, b, key, where in scopes
    ]
    return "\nUNION ALL\n".join([_shop_rows(), *branches])


def _fine() -> str:
    """Every conversation, first turn in hours, turn, assistant reply and rating of D as one row of its measures,
    summed per shop, agent, group, phase and served-by (the finest key of every scope). Turns count for the agent who
    answered them (an unanswered turn for the chat's agent), assistant replies for no agent; everything else for the
    conversation's agent."""
    dimensions = "shop_id, agent_id, group_id, phase, served_by"
    sources = [
        ("conv", "agent_id", "", CONVERSATION_MEASURES),
        ("dt", "agent_id", "WHERE first_turns_in_hours > 0", {name: name for name in FIRST_TURN_MEASURES}),
        ("dt", "turn_agent_id", "", {name: name for name in TURN_MEASURES}),
        ("br", "CAST(NULL AS BIGINT)", "", {name: name for name in BOT_REPLY_MEASURES}),
        ("r", "agent_id", "", RATING_MEASURES),
    ]
    rows = "\n    UNION ALL\n    ".join(
        f"SELECT shop_id, {agent} AS agent_id, group_id, phase, served_by, {_measures(COUNTS, given)} "
        f"FROM {source} {where}"
        for source, agent, where, given in sources
    )
    sums = ", ".join(f"{_sum(name)} AS {name}" for name in COUNTS)
    return f"\n    SELECT {dimensions}, {sums} FROM (\n    {rows}\n    ) x GROUP BY {dimensions}"


def _shop_rows() -> str:
    """Shop rows: one for every chosen shop (``b``), with its day's counts (the ``fine`` rows summed per shop), and
    its seekers, events and volume (integers, like the other branches' columns)."""
    counts = ", ".join(f"COALESCE(f.{name}, 0) AS {name}" for name in COUNTS)
    facts = ", ".join(f"CAST(COALESCE({source}, 0) AS INTEGER) AS {name}" for name, source in SHOP_FACT_SOURCES.items())
    sums = ", ".join(f"{_sum(name)} AS {name}" for name in COUNTS)
    return (
        f"SELECT '{MetricScope.SHOP}' AS scope, b.shop_id, CAST(NULL AS BIGINT) AS agent_id, "
        f"CAST(NULL AS BIGINT) AS group_id, '' AS phase, '' AS served_by, {counts}, {facts}\n"
        f"FROM b LEFT JOIN (SELECT shop_id, {sums} FROM fine GROUP BY shop_id) f ON f.shop_id = b.shop_id\n"
        "LEFT JOIN seek ON seek.shop_id = b.shop_id LEFT JOIN ev ON ev.shop_id = b.shop_id\n"
        "LEFT JOIN vol ON vol.shop_id = b.shop_id"
    )


# --- the statement ------------------------------------------------------------------------------------------------
# Every figure of a row is derived in SQL, to the letter of the module doc: a rate is ``numerator / denominator`` in
# IEEE doubles, NULL when the denominator is 0 (API.md); stars take the first level of ``METRICS_STAR_THRESHOLDS``
# that both 7-day rates reach, else 3; the tier is the highest of ``RECEPTION_TIER_FLOORS`` the volume reaches, else
# under 100. So the rollup writes with ``INSERT ... SELECT ... ON CONFLICT`` and no row passes through Python.


def _double(expr: str) -> str:
    kind = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    return f"CAST({expr} AS {kind})"


def _rate_sql(numerator: str, denominator: str) -> str:
    return f"CASE WHEN {denominator} > 0 THEN {_double(numerator)} / {denominator} END"


def _stars_sql(response_rate: str, satisfaction_rate: str, params: list) -> str:
    ladder = []
    for level in settings.METRICS_STAR_THRESHOLDS:
        ladder.append(f"WHEN {response_rate} >= %s AND {satisfaction_rate} >= %s THEN %s")
        params += [float(level["response_rate_3m"]), float(level["satisfaction_rate"]), int(level["stars"])]
    return f"CASE {' '.join(ladder)} ELSE 3 END"


def _tier_sql(volume: str, params: list) -> str:
    ladder = []
    for floor, tier in RECEPTION_TIER_FLOORS:
        ladder.append(f"WHEN {volume} >= %s THEN %s")
        params += [floor, tier.value]
    params.append(ReceptionTier.UNDER_100.value)
    return f"CASE {' '.join(ladder)} ELSE %s END"


BOUND_TYPES = ("TIMESTAMP WITH TIME ZONE",) * 6 + ("BOOLEAN",)  # of BOUNDS[2:]


def _shop_bounds(zones: dict[str, list[int]], zone_bounds: list[list], params: list) -> str:
    """The body of ``b``: each chosen shop with its zone's bounds (``zone_bounds[zone_no]``, the values of
    ``BOUNDS[2:]``). On PostgreSQL the shops are two arrays and each bound one array indexed by zone, so the
    parameters do not grow with the shops (a parameter per shop and bound cost about 9 ms for 200 shops)
    and the planner knows the row count; else one ``VALUES`` row per shop."""
    shops = [(shop_id, zone_no) for zone_no, ids in enumerate(zones.values()) for shop_id in ids]
    if connection.vendor == "postgresql":
        columns = []
        for k, (name, kind) in enumerate(zip(BOUNDS[2:], BOUND_TYPES, strict=True)):
            params.append([bounds[k] for bounds in zone_bounds])
            columns.append(f"(CAST(%s AS {kind}[]))[s.zone_no + 1] AS {name}")
        params += [[shop_id for shop_id, _ in shops], [zone_no for _, zone_no in shops]]
        return (
            f"SELECT s.shop_id, s.zone_no, {', '.join(columns)} "
            "FROM unnest(CAST(%s AS BIGINT[]), CAST(%s AS INTEGER[])) AS s(shop_id, zone_no)"
        )
    for shop_id, zone_no in shops:
        params += [shop_id, zone_no, *zone_bounds[zone_no]]
    row = f"({', '.join(['%s'] * len(BOUNDS))})"
    return f"VALUES {', '.join([row] * len(shops))}"


def _bounds(day: date, shops: list[tuple[int, str]], now: datetime) -> tuple[Chosen, list[str], list]:
    """``(chosen, ctes, params)`` for ``shops`` (``(id, time zone)``, at least one): the CTE ``b`` holds each shop's
    bounds; on SQLite, ``vd`` each zone's ends of the 30 days before D (``Chosen.day_ends`` as rows)."""
    zones: dict[str, list[int]] = defaultdict(list)
    for shop_id, zone in shops:
        zones[zone].append(shop_id)
    zone_bounds, day_rows, day_params, days, day_ends = [], [], [], [], []
    for zone_no, zone in enumerate(zones):
        local = LocalDay(day, ZoneInfo(zone))
        days.append(local)
        zone_bounds.append(
            [
                *(_db_datetime(at) for at in (local.start, local.end, *(local.at(at) for at in SERVICE_HOURS))),
                _db_datetime(local.start - TURN_LOOKBACK),
                _db_datetime(local.at(time.min, days=-VOLUME_DAYS)),
                bool(now >= local.at(time.min, days=2)),
            ]
        )
        ends = tuple(_db_datetime(local.at(time.min, days=1 - back)) for back in range(VOLUME_DAYS, 0, -1))
        day_ends.append(ends)
        for back, end in zip(range(VOLUME_DAYS, 0, -1), ends, strict=True):
            day_rows.append("(%s, %s, %s)")
            day_params += [zone_no, connection.ops.adapt_datefield_value(day - timedelta(days=back)), end]
    chosen = Chosen(
        shop_ids=tuple(shop_id for ids in zones.values() for shop_id in ids),
        lo=min(local.start for local in days),
        hi=max(local.end for local in days),
        day_ends=tuple(day_ends),
    )
    params: list = []
    ctes = [f"b({', '.join(BOUNDS)}) AS ({_shop_bounds(zones, zone_bounds, params)})"]
    if connection.vendor != "postgresql":
        ctes.append(f"vd(zone_no, day, ends) AS (VALUES {', '.join(day_rows)})")
        params += day_params
    return chosen, ctes, params


def _select(day: date, now: datetime, params: list) -> tuple[str, list[str]]:
    """The columns of the ``DailyMetric`` rows, every figure derived from the summed counts ``k``."""
    shop_row = f"k.scope = '{MetricScope.SHOP}'"
    lost = _double("k.consultations_ + k.disputes_ + k.interventions_")
    resolution = f"1 - {lost} / k.seekers_"
    pooled = {name: f"(k.{name} + k.{name}_prev)" for name in POOLED_COUNTS}
    rate_7d = _rate_sql(pooled["first_turns_answered_3m"], pooled["first_turns_in_hours"])
    satisfaction_7d = _rate_sql(pooled["satisfied_ratings"], pooled["ratings"])
    volume = f"{_double('k.started_30d_')} / {VOLUME_DAYS}"
    fcr_final = "(k.fcr_open = 0 AND k.open_conversations = 0)"
    badge_rate = float(settings.METRICS_FAST_RESPONSE_BADGE_RATE)

    def param(value) -> str:
        params.append(value)
        return "%s"

    columns: list[tuple[str, str]] = [
        ("k.shop_id", "shop_id"),
        (param(connection.ops.adapt_datefield_value(day)), "date"),
        *((f"k.{name}", name) for name in DIMENSIONS if name != "shop_id"),
        (param(_db_datetime(now)), "computed_at"),
        *((f"k.{name}", name) for name in COUNTS if name != "open_conversations"),
        (_rate_sql("k.first_turns_answered_3m", "k.first_turns_in_hours"), "response_rate_3m"),
        (_rate_sql("k.response_seconds_total", "k.responded_turns"), "avg_response_seconds"),
        (_rate_sql("k.first_response_seconds_total", "k.first_responses"), "avg_first_response_seconds"),
        (_rate_sql("k.satisfied_ratings", "k.ratings"), "satisfaction_rate"),
        (f"CASE WHEN k.fcr_services > 0 THEN 1 - {_double('k.fcr_repeated')} / k.fcr_services END", "fcr_3d"),
        (_rate_sql("k.transfer_requests", "k.transfer_entry_shown"), "transfer_rate"),
        (_rate_sql("k.transfer_requests_unexposed", "k.bot_conversations_unexposed"), "transfer_rate_unexposed"),
        (_rate_sql("k.bot_resolved", "k.bot_conversations"), "bot_resolution_rate"),
        (_rate_sql("k.bot_fallbacks", "k.bot_replies"), "fallback_rate"),
        *((pooled[name], f"{name}_7d") for name in POOLED_COUNTS),
        (rate_7d, "response_rate_3m_7d"),
        (satisfaction_7d, "satisfaction_rate_7d"),
        (f"CASE WHEN {rate_7d} >= {param(badge_rate)} THEN TRUE ELSE FALSE END", "fast_response_badge"),
        (_stars_sql(rate_7d, satisfaction_7d, params), "stars"),
        ("b.satisfaction_final", "satisfaction_final"),
        (fcr_final, "fcr_final"),
        (f"(b.satisfaction_final AND {fcr_final})", "final"),
        (f"CASE WHEN {shop_row} THEN k.seekers_ ELSE 0 END", "resolution_seekers"),
        (f"CASE WHEN {shop_row} THEN k.consultations_ ELSE 0 END", "platform_consultations"),
        (f"CASE WHEN {shop_row} THEN k.disputes_ ELSE 0 END", "disputes"),
        (f"CASE WHEN {shop_row} THEN k.interventions_ ELSE 0 END", "complaint_interventions"),
        (
            f"CASE WHEN {shop_row} AND k.seekers_ > 0 THEN CASE WHEN {resolution} < 0 THEN 0.0 "
            f"WHEN {resolution} > 1 THEN 1.0 ELSE {resolution} END END",
            "resolution_rate",
        ),
        (f"CASE WHEN {shop_row} THEN {volume} END", "reception_volume"),
        (f"CASE WHEN {shop_row} THEN {_tier_sql(volume, params)} ELSE '' END", "reception_tier"),
    ]
    select = ",\n       ".join(f"{expr} AS {name}" for expr, name in columns)
    return select, [name for _, name in columns]


# Shops per statement: bounds the statement's parameters (on SQLite 16 a shop, which allows 32,766) and its IN
# lists.
SHOPS_PER_STATEMENT = 1000


class Statement(NamedTuple):
    """One SELECT of ``DailyMetric`` rows: its text, the columns it gives (by attribute), its parameters, and the
    shops whose rows it gives."""

    sql: str
    columns: list[str]
    params: list
    shop_ids: tuple[int, ...]


def daily_metric_statements(*, day: date, shop_ids=None, now: datetime) -> list[Statement]:
    """The SELECTs giving the ``DailyMetric`` rows of the shop-local day ``day`` for ``shop_ids`` (``None``: every
    shop), one per ``SHOPS_PER_STATEMENT`` shops (none when no shop is chosen)."""
    shops = Shop.objects.order_by("pk")
    if shop_ids is not None:
        shops = shops.filter(pk__in=list(shop_ids))  # read once: a generator would be empty the second time
    chosen = list(shops.values_list("pk", "timezone"))
    return [
        _statement(day, chosen[start : start + SHOPS_PER_STATEMENT], now)
        for start in range(0, len(chosen), SHOPS_PER_STATEMENT)
    ]


def _statement(day: date, shops: list[tuple[int, str]], now: datetime) -> Statement:
    """One SELECT giving the ``DailyMetric`` rows of D for ``shops`` (``(id, time zone)``)."""
    chosen, ctes, params = _bounds(day, shops, now)
    # Materialised on PostgreSQL: each part is computed once, and a part's row estimate cannot mislead the plan of
    # the parts that read it into a per-row loop over a large range.
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    ctes.append(f"conv AS {materialized}({_conversations_of_day(chosen, now, params)}\n)")
    ctes.append(f"cs AS ({_chats_with_turns(chosen, params)}\n)")
    ctes.append(f"dt AS {materialized}({_turns_of_day(chosen, params)}\n)")
    ctes.append(f"br AS ({_bot_replies_of_day(chosen, params)}\n)")
    ctes += [f"r AS ({_ratings_of_day(chosen, params)}\n)", f"fine AS ({_fine()}\n)"]
    ctes.append(f"seek AS ({_resolution_seekers(chosen, params)}\n)")
    ctes.append(f"ev AS ({_after_sales_events(chosen, params)}\n)")
    shop_rows, stored, volume = _reception_volumes(chosen, day, params)
    # Materialised: the stored rows are one index range, joined to the shops' day ends afterwards.
    ctes += [f"sm AS {materialized}({shop_rows}\n)", f"stored AS ({stored}\n)", f"vol AS ({volume}\n)"]
    ctes.append(f"prev AS ({_previous_days(chosen, day, params)})")
    ctes.append(f"sc AS (\n{_scopes()}\n)")
    # The previous days' sums add to D's rows, never make one.
    same_key = " AND ".join(
        f"COALESCE(p.{name}, 0) = COALESCE(s.{name}, 0)" if name in ("agent_id", "group_id") else f"p.{name} = s.{name}"
        for name in DIMENSIONS
    )
    previous = ", ".join(f"COALESCE(p.{name}, 0) AS {name}" for name in PREVIOUS)
    ctes.append(f"k AS (SELECT s.*, {previous} FROM sc s LEFT JOIN prev p ON {same_key})")
    select, columns = _select(day, now, params)
    with_clause = ",\n".join(ctes)
    # In scope order, so a day's shop rows are written together: the 30-day volume of later days reads 30 short runs of
    # pages, not one page per row (about 2,200 pages for 200 shops).
    sql = f"WITH {with_clause}\nSELECT {select}\nFROM k JOIN b ON b.shop_id = k.shop_id\nORDER BY k.scope, k.shop_id"
    return Statement(sql, columns, params, chosen.shop_ids)


BOOLEANS = ("fast_response_badge", "satisfaction_final", "fcr_final", "final")


def daily_metric_values(*, day: date, shop_ids=None, now: datetime | None = None) -> list[dict]:
    """The ``DailyMetric`` field values (by attribute name) of the shop-local day ``day`` for ``shop_ids``
    (``None``: every shop), one dict per row."""
    now = now or timezone.now()
    rows: list[dict] = []
    for statement in daily_metric_statements(day=day, shop_ids=shop_ids, now=now):
        for values in fetch_dicts(statement.sql, statement.params):
            values.update(date=day, computed_at=now, **{name: bool(values[name]) for name in BOOLEANS})
            rows.append(values)
    return rows


def daily_metric_rows(*, day: date, shop_ids=None, now: datetime | None = None) -> list[DailyMetric]:
    """Unsaved ``DailyMetric`` rows of the shop-local day ``day`` for ``shop_ids`` (``None``: every shop)."""
    return [DailyMetric(**values) for values in daily_metric_values(day=day, shop_ids=shop_ids, now=now)]
