"""Daily service-diagnosis rollups, computed in the database (DESIGN.md, "Service diagnosis metrics").

Read-only: :func:`daily_metric_values` returns the ``DailyMetric`` values of one local day of some (or all) shops
(:func:`daily_metric_rows`, the same as unsaved rows); the service ``daily_metrics_rollup`` replaces the stored rows
with them in one transaction.

How it runs: shops are grouped by time zone, since a shop's day D is its own local day (``[00:00 D, 00:00 D+1)``
in its zone, DST included). Per time zone, five set-based statements, whatever the number of shops:

1. conversations and turns (one statement: ``chats.turns`` once, as a CTE, aggregated per shop, agent, group,
   phase and served-by with ``UNION ALL``);
2. ratings; 3. after-sales seekers; 4. after-sales events; 5. reception volume (30 days);

then one statement for the 7-day figures of every shop (badge, stars) from the stored rows of D-6..D-1. Python only
merges the aggregated rows (a few per shop) and derives the rates from the counts.

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
  exposure bucket, so the two groups can be compared.
- **Reception volume** (shop rows) = conversations started in the 30 local days before D (D excluded) / 30, the
  same figure as ``shops.selectors.shop_daily_reception_volume``; ``reception_tier`` by ``reception_tier()``.
- **7-day figures**: the 3-minute counts and rating counts of D-6..D pooled (sums of the stored rows of D-6..D-1
  plus D). ``fast_response_badge``: pooled 3-minute rate >= ``METRICS_FAST_RESPONSE_BADGE_RATE`` (0.8).
  ``stars``: the first level of ``METRICS_STAR_THRESHOLDS`` whose 3-minute and satisfaction thresholds the pooled
  rates both reach, else 3; an undefined rate (no data) reaches nothing.
- **final** = ``satisfaction_final and fcr_final``.
- **Served by**: ``human`` for a conversation that reached a human agent (``assigned_at`` set), else ``bot`` (served
  by the assistant alone, or by nobody); turns and ratings follow their conversation.
- **Per agent, group and phase**: conversation-based figures go to the conversation's agent (who has or last had the
  chat), group and phase (fixed at its start by the 21-day rule, ``shops.selectors.buyer_service_phase``). Turns
  go to the agent who answered them (a turn answered by the bot belongs to no agent; an unanswered turn to the
  conversation's agent), and to the conversation's group and phase. Ratings go to the rated conversation's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from chats.choices import Sender
from chats.models import Conversation, Message
from chats.turns import ConversationFilter, turn_rows_sql
from shops.choices import AfterSalesEventKind, ServicePhase
from shops.models import AfterSalesEvent, Shop

from ..choices import SATISFIED_SCORES, MetricScope, ServedBy, reception_tier
from ..models import DailyMetric, Evaluation

RESPONSE_WITHIN_SECONDS = 180
SERVICE_HOURS = (time(9), time(21))
FCR_WINDOW = timedelta(hours=72)
CONSULTATION_CONTACT_WINDOW = timedelta(days=15)
VOLUME_DAYS = 30
POOLED_DAYS = 7
# Turns of a day come from conversations started up to this long before it (and not ended before it): a chat
# closes after at most 24 idle hours, so one still producing turns two days after its start is not a real case.
TURN_LOOKBACK = timedelta(days=2)

Key = tuple  # (scope, shop_id, agent_id, group_id, phase, served_by)
DIMENSIONS = ("scope", "shop_id", "agent_id", "group_id", "phase", "served_by")


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


def _in(column: str, ids: list[int], params: list) -> str:
    params.extend(ids)
    return f"{column} IN ({', '.join(['%s'] * len(ids))})"


def _fetch(sql: str, params: list) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _by_scope(source: str, measures: str, *, agent: str = "agent_id") -> str:
    """``measures`` of ``source`` per shop, agent, group, phase and served-by, as one ``UNION ALL`` (rows keyed like
    ``Key``); ``source`` has the columns ``shop_id``, ``group_id``, ``phase``, ``served_by`` and ``agent``."""
    null_id = "CAST(NULL AS BIGINT)"
    scopes = [
        (MetricScope.SHOP, null_id, null_id, "''", "''", "shop_id", ""),
        (MetricScope.AGENT, agent, null_id, "''", "''", f"shop_id, {agent}", f"WHERE {agent} IS NOT NULL"),
        (MetricScope.GROUP, null_id, "group_id", "''", "''", "shop_id, group_id", "WHERE group_id IS NOT NULL"),
        (MetricScope.PHASE, null_id, null_id, "phase", "''", "shop_id, phase", ""),
        (MetricScope.SERVED_BY, null_id, null_id, "''", "served_by", "shop_id, served_by", ""),
    ]
    return "\nUNION ALL\n".join(
        f"SELECT '{scope.value}' AS scope, shop_id, {a} AS agent_id, {g} AS group_id, {p} AS phase, "  # noqa: S608
        f"{b} AS served_by, {measures} FROM {source} {where} GROUP BY {group_by}"
        for scope, a, g, p, b, group_by, where in scopes
    )


def _key(row: dict) -> Key:
    return (row["scope"], row["shop_id"], row["agent_id"], row["group_id"], row["phase"] or "", row["served_by"] or "")


def _served_by():
    """``human`` for a chat that reached a human agent (``assigned_at`` set), else ``bot``."""
    return Case(
        When(assigned_at__isnull=False, then=Value(ServedBy.HUMAN.value)),
        default=Value(ServedBy.BOT.value),
        output_field=CharField(),
    )


def _first_party_sender():
    """The sender of a conversation's first buyer-or-agent message: ``buyer`` means the buyer started it."""
    return Subquery(
        Message.objects.filter(conversation=OuterRef("pk"), sender__in=[Sender.BUYER, Sender.AGENT])
        .order_by("sent_at", "pk")
        .values("sender")[:1]
    )


def _buyer_started() -> Q:
    """The buyer started the chat: they asked for a human (transfer-to-human), or wrote before any agent did."""
    return Q(transfer_requested_at__isnull=False) | Q(first_party=Sender.BUYER)


def _human_after_sales_services():
    """Conversations that are FCR *services*: reached a human, after-sales phase, started by the buyer."""
    return (
        Conversation.objects.filter(assigned_at__isnull=False, phase=ServicePhase.AFTER_SALES)
        .annotate(first_party=_first_party_sender())
        .filter(_buyer_started())
    )


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def _conversation_facts(shop_ids: list[int], day: LocalDay, now: datetime):
    """One row per conversation of D with 0/1 facts for the conversation-based metrics (compiled into SQL)."""
    repeat = _human_after_sales_services().filter(
        shop_id=OuterRef("shop_id"),
        buyer_id=OuterRef("buyer_id"),
        started_at__gt=OuterRef("ended_at"),
        started_at__lte=ExpressionWrapper(OuterRef("ended_at") + FCR_WINDOW, output_field=DateTimeField()),
    )
    human_after_sales = Q(assigned_at__isnull=False, phase=ServicePhase.AFTER_SALES)
    bot_served = Exists(Message.objects.filter(conversation=OuterRef("pk"), sender=Sender.BOT))

    def when_human_after_sales(flag: Case) -> Case:
        # Nested CASEs are evaluated in order, so the per-chat subqueries run only for human after-sales chats.
        return Case(When(human_after_sales, then=flag), default=Value(0), output_field=IntegerField())

    return (
        Conversation.objects.filter(shop_id__in=shop_ids, started_at__gte=day.start, started_at__lt=day.end)
        .annotate(first_party=_first_party_sender(), served_by=_served_by())
        .annotate(
            is_open=_flag(Q(ended_at__isnull=True)),
            fcr_service=when_human_after_sales(_flag(_buyer_started())),
            fcr_followed=when_human_after_sales(_flag(Q(Exists(repeat)))),
            fcr_window_open=_flag(Q(ended_at__isnull=True) | Q(ended_at__gt=now - FCR_WINDOW)),
            entry_shown=_flag(Q(transfer_entry_visible=True)),
            entry_requested=_flag(Q(transfer_entry_visible=True, transfer_requested_at__isnull=False)),
            unexposed_bot=Case(  # the bot-served subquery only for unexposed buyers' chats
                When(buyer_exposed=False, then=_flag(Q(bot_served))), default=Value(0), output_field=IntegerField()
            ),
            requested=_flag(Q(transfer_requested_at__isnull=False)),
        )
        .order_by()
        .values(
            "id",
            "shop_id",
            "agent_id",
            "group_id",
            "phase",
            "served_by",
            "is_open",
            "fcr_service",
            "fcr_followed",
            "fcr_window_open",
            "entry_shown",
            "entry_requested",
            "unexposed_bot",
            "requested",
        )
    )


CONVERSATION_MEASURES = {
    "conversations": "COUNT(*)",
    "open_conversations": "SUM(is_open)",
    "fcr_services": "SUM(fcr_service)",
    "fcr_repeated": "SUM(fcr_service * fcr_followed)",
    "fcr_open": "SUM(fcr_service * fcr_window_open)",
    "transfer_entry_shown": "SUM(entry_shown)",
    "transfer_requests": "SUM(entry_requested)",
    "bot_conversations_unexposed": "SUM(unexposed_bot)",
    "transfer_requests_unexposed": "SUM(unexposed_bot * requested)",
}
FIRST_TURN_MEASURES = {
    "first_turns_in_hours": "COUNT(*)",
    "first_turns_answered_3m": f"SUM(CASE WHEN response_seconds <= {RESPONSE_WITHIN_SECONDS} THEN 1 ELSE 0 END)",
}
TURN_MEASURES = {
    "responded_turns": "COUNT(response_seconds)",
    "response_seconds_total": "SUM(response_seconds)",
    "first_responses": "SUM(CASE WHEN turn_no = 1 AND response_seconds IS NOT NULL THEN 1 ELSE 0 END)",
    "first_response_seconds_total": "SUM(CASE WHEN turn_no = 1 THEN response_seconds END)",
    "unanswered_turns": "SUM(CASE WHEN response_seconds IS NULL THEN 1 ELSE 0 END)",
}


MEASURE_GROUPS = (CONVERSATION_MEASURES, FIRST_TURN_MEASURES, TURN_MEASURES)


def _columns(own: dict[str, str]) -> str:
    """Every branch of the UNION lists every measure in the same order; the other branches' measures are 0."""
    return ", ".join(
        f"{expr if group is own else 0} AS {name}" for group in MEASURE_GROUPS for name, expr in group.items()
    )


def _conversations_and_turns(shop_ids: list[int], day: LocalDay, now: datetime) -> list[dict]:
    """Statement 1: ``chats.turns`` once for the day, aggregated for the conversations of D and the turns of D.

    The aggregations (conversations of D, first turns sent in D's service hours, turns of D) share the turns CTE
    (computed once) and come back as one ``UNION ALL``: each branch carries zeros for the other branches' measures,
    so summing per key merges them.
    """
    turns_sql, turns_params = turn_rows_sql(
        ConversationFilter(
            shop_ids=shop_ids,
            started_from=day.start - TURN_LOOKBACK,
            started_before=day.end,
            where="c.ended_at IS NULL OR c.ended_at >= %s",
            params=[_db_datetime(day.start)],
        )
    )
    facts_sql, facts_params = _conversation_facts(shop_ids, day, now).query.sql_with_params()
    hours_from, hours_to = (_db_datetime(day.at(moment)) for moment in SERVICE_HOURS)
    # Materialised so the day's turns join it by hash rather than by one primary-key lookup per turn.
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    in_shops_params: list = []
    in_shops = _in("c.shop_id", shop_ids, in_shops_params)
    conversation_columns = _columns(CONVERSATION_MEASURES)
    first_turn_columns = _columns(FIRST_TURN_MEASURES)
    turn_columns = _columns(TURN_MEASURES)
    sql = f"""
WITH t AS ({turns_sql}),
conv AS ({facts_sql}),
cs AS {materialized}(
    SELECT c.id, c.agent_id, c.group_id, c.phase,
           CASE WHEN c.assigned_at IS NULL THEN '{ServedBy.BOT.value}' ELSE '{ServedBy.HUMAN.value}' END AS served_by
    FROM chats_conversation c
    WHERE {in_shops} AND c.started_at >= %s AND c.started_at < %s
),
ft AS (
    SELECT t.shop_id, c.agent_id, c.group_id, c.phase, c.served_by, t.response_seconds
    FROM t JOIN cs c ON c.id = t.conversation_id
    WHERE t.turn_no = 1 AND t.started_at >= %s AND t.started_at < %s
),
dt AS (
    SELECT t.shop_id, c.group_id, c.phase, c.served_by, t.turn_no, t.response_seconds,
           CASE WHEN t.responded_at IS NULL THEN c.agent_id ELSE t.responder_agent_id END AS turn_agent_id
    FROM t JOIN cs c ON c.id = t.conversation_id
    WHERE t.started_at >= %s AND t.started_at < %s
)
{_by_scope("conv", conversation_columns)}
UNION ALL
{_by_scope("ft", first_turn_columns)}
UNION ALL
{_by_scope("dt", turn_columns, agent="turn_agent_id")}
"""  # noqa: S608 -- constant identifiers and compiled ORM SQL; values are params
    params = [
        *turns_params,
        *facts_params,
        *in_shops_params,
        _db_datetime(day.start - TURN_LOOKBACK),
        _db_datetime(day.end),
        hours_from,
        hours_to,
        _db_datetime(day.start),
        _db_datetime(day.end),
    ]
    return _fetch(sql, params)


def _ratings(shop_ids: list[int], day: LocalDay) -> list[dict]:
    """Statement 2: ratings of D (invite sent on D, or a self rating of a conversation that ended on D)."""
    columns = {
        "shop_id": F("conversation__shop_id"),
        "agent_id": F("conversation__agent_id"),
        "group_id": F("conversation__group_id"),
        "phase": F("conversation__phase"),
        "served_by": Case(
            When(conversation__assigned_at__isnull=False, then=Value(ServedBy.HUMAN.value)),
            default=Value(ServedBy.BOT.value),
            output_field=CharField(),
        ),
        "satisfied": _flag(Q(score__in=SATISFIED_SCORES)),
    }
    ratings = Evaluation.objects.filter(conversation__shop_id__in=shop_ids).order_by()
    # Two branches rather than one OR, so each can use its own index (the invite's send time, the chat's start).
    invited = ratings.filter(invite__sent_at__gte=day.start, invite__sent_at__lt=day.end)
    unprompted = ratings.filter(
        invite__isnull=True,
        conversation__ended_at__gte=day.start,
        conversation__ended_at__lt=day.end,
        conversation__started_at__lt=day.end,
    )
    base_sql, params = invited.values(**columns).union(unprompted.values(**columns), all=True).query.sql_with_params()
    measures = "COUNT(*) AS ratings, SUM(satisfied) AS satisfied_ratings"
    return _fetch(f"WITH r AS ({base_sql})\n{_by_scope('r', measures)}", list(params))


def _resolution_seekers(shop_ids: list[int], day: LocalDay) -> dict[int, int]:
    """Statement 3: S, distinct buyers per shop with an after-sales chat, refund request or complaint on D."""
    chats = Conversation.objects.filter(
        shop_id__in=shop_ids, phase=ServicePhase.AFTER_SALES, started_at__gte=day.start, started_at__lt=day.end
    ).values("shop_id", "buyer_id")
    requests = AfterSalesEvent.objects.filter(
        shop_id__in=shop_ids,
        kind__in=[AfterSalesEventKind.REFUND_REQUEST, AfterSalesEventKind.COMPLAINT],
        occurred_at__gte=day.start,
        occurred_at__lt=day.end,
    ).values("shop_id", "buyer_id")
    chats_sql, chats_params = chats.order_by().query.sql_with_params()
    requests_sql, requests_params = requests.order_by().query.sql_with_params()
    sql = (
        "SELECT shop_id, COUNT(DISTINCT buyer_id) AS seekers "  # noqa: S608 -- compiled ORM SQL; values are params
        f"FROM ({chats_sql} UNION ALL {requests_sql}) s GROUP BY shop_id"
    )
    return {row["shop_id"]: row["seekers"] for row in _fetch(sql, [*chats_params, *requests_params])}


def _after_sales_events(shop_ids: list[int], day: LocalDay) -> dict[int, dict]:
    """Statement 4: P (consultations by recent contacts), Disp and Comp per shop on D."""
    recent_contact = Conversation.objects.filter(
        shop_id=OuterRef("shop_id"),
        buyer_id=OuterRef("buyer_id"),
        started_at__lt=OuterRef("occurred_at"),
        started_at__gte=ExpressionWrapper(
            OuterRef("occurred_at") - CONSULTATION_CONTACT_WINDOW, output_field=DateTimeField()
        ),
    )
    rows = (
        AfterSalesEvent.objects.filter(shop_id__in=shop_ids, occurred_at__gte=day.start, occurred_at__lt=day.end)
        .order_by()
        .values("shop_id")
        .annotate(
            platform_consultations=Sum(
                _flag(Q(kind=AfterSalesEventKind.PLATFORM_CONSULTATION) & Q(Exists(recent_contact)))
            ),
            disputes=Count("pk", filter=Q(kind=AfterSalesEventKind.DISPUTE)),
            complaint_interventions=Count("pk", filter=Q(kind=AfterSalesEventKind.COMPLAINT_INTERVENTION)),
        )
    )
    return {row.pop("shop_id"): row for row in rows}


def _reception_volumes(shop_ids: list[int], day: LocalDay) -> dict[int, int]:
    """Statement 5: conversations started in the 30 local days before D, per shop."""
    rows = (
        Conversation.objects.filter(
            shop_id__in=shop_ids, started_at__gte=day.at(time.min, days=-VOLUME_DAYS), started_at__lt=day.start
        )
        .order_by()
        .values("shop_id")
        .annotate(started=Count("pk"))
    )
    return {row["shop_id"]: row["started"] for row in rows}


POOLED_COUNTS = ("first_turns_in_hours", "first_turns_answered_3m", "ratings", "satisfied_ratings")


def _previous_days(shop_ids: list[int] | None, day: date) -> dict[Key, dict]:
    """The pooled counts of D-6..D-1 from the stored rows, per row key (one statement for every shop)."""
    rows = DailyMetric.objects.filter(date__gte=day - timedelta(days=POOLED_DAYS - 1), date__lt=day)
    if shop_ids is not None:
        rows = rows.filter(shop_id__in=shop_ids)
    rows = rows.order_by().values(*DIMENSIONS).annotate(**{name: Sum(name) for name in POOLED_COUNTS})
    return {_key(row): row for row in rows}


def rate(numerator, denominator) -> float | None:
    """A fraction in [0, 1], ``None`` when the denominator is 0 (API.md)."""
    return numerator / denominator if denominator else None


def star_level(response_rate_3m_7d: float | None, satisfaction_rate_7d: float | None) -> int:
    """Service stars from the 7-day rates and ``METRICS_STAR_THRESHOLDS``: the first level both reach, else 3."""
    for level in settings.METRICS_STAR_THRESHOLDS:
        if (
            response_rate_3m_7d is not None
            and satisfaction_rate_7d is not None
            and response_rate_3m_7d >= level["response_rate_3m"]
            and satisfaction_rate_7d >= level["satisfaction_rate"]
        ):
            return level["stars"]
    return 3


def _derive(values: dict, *, satisfaction_final: bool) -> dict:
    """Rates from counts, the 7-day badge and stars, and ``final``."""
    values["response_rate_3m"] = rate(values["first_turns_answered_3m"], values["first_turns_in_hours"])
    values["avg_response_seconds"] = rate(values["response_seconds_total"], values["responded_turns"])
    values["avg_first_response_seconds"] = rate(values["first_response_seconds_total"], values["first_responses"])
    values["satisfaction_rate"] = rate(values["satisfied_ratings"], values["ratings"])
    repeated = rate(values["fcr_repeated"], values["fcr_services"])
    values["fcr_3d"] = None if repeated is None else 1 - repeated
    values["transfer_rate"] = rate(values["transfer_requests"], values["transfer_entry_shown"])
    values["transfer_rate_unexposed"] = rate(
        values["transfer_requests_unexposed"], values["bot_conversations_unexposed"]
    )
    values["response_rate_3m_7d"] = rate(values["first_turns_answered_3m_7d"], values["first_turns_in_hours_7d"])
    values["satisfaction_rate_7d"] = rate(values["satisfied_ratings_7d"], values["ratings_7d"])
    badge_rate = values["response_rate_3m_7d"]
    values["fast_response_badge"] = badge_rate is not None and badge_rate >= settings.METRICS_FAST_RESPONSE_BADGE_RATE
    values["stars"] = star_level(values["response_rate_3m_7d"], values["satisfaction_rate_7d"])
    values["satisfaction_final"] = satisfaction_final
    open_conversations = values.pop("open_conversations")
    values["fcr_final"] = values["fcr_open"] == 0 and open_conversations == 0
    values["final"] = values["satisfaction_final"] and values["fcr_final"]
    return values


ZERO_COUNTS = (
    *CONVERSATION_MEASURES,
    *FIRST_TURN_MEASURES,
    *TURN_MEASURES,
    "ratings",
    "satisfied_ratings",
    "resolution_seekers",
    "platform_consultations",
    "disputes",
    "complaint_interventions",
)


def _resolution(values: dict, seekers: int, events: dict) -> None:
    values["resolution_seekers"] = seekers
    values.update(events)
    lost = values["platform_consultations"] + values["disputes"] + values["complaint_interventions"]
    values["resolution_rate"] = min(1.0, max(0.0, 1 - lost / seekers)) if seekers else None


def _zone_rows(shop_ids: list[int], day: LocalDay, now: datetime, previous: dict[Key, dict]) -> list[dict]:
    merged: dict[Key, dict] = defaultdict(lambda: dict.fromkeys(ZERO_COUNTS, 0))
    for shop_id in shop_ids:  # every shop has its shop row, even on a day without chats
        merged[(MetricScope.SHOP.value, shop_id, None, None, "", "")]
    for row in [*_conversations_and_turns(shop_ids, day, now), *_ratings(shop_ids, day)]:
        values = merged[_key(row)]
        for name, value in row.items():
            if name not in DIMENSIONS:
                values[name] += value or 0
    seekers = _resolution_seekers(shop_ids, day)
    events = _after_sales_events(shop_ids, day)
    volumes = _reception_volumes(shop_ids, day)
    satisfaction_final = now >= day.at(time.min, days=2)
    no_events = {"platform_consultations": 0, "disputes": 0, "complaint_interventions": 0}
    rows = []
    for key, values in merged.items():
        scope, shop_id, agent_id, group_id, phase, served_by = key
        before = previous.get(key, {})
        for name in POOLED_COUNTS:
            values[f"{name}_7d"] = values[name] + (before.get(name) or 0)
        values["resolution_rate"] = None
        if scope == MetricScope.SHOP:
            _resolution(values, seekers.get(shop_id, 0), events.get(shop_id, no_events))
            values["reception_volume"] = volumes.get(shop_id, 0) / VOLUME_DAYS
            values["reception_tier"] = reception_tier(values["reception_volume"])
        values["response_seconds_total"] = float(values["response_seconds_total"])
        values["first_response_seconds_total"] = float(values["first_response_seconds_total"])
        _derive(values, satisfaction_final=satisfaction_final)
        rows.append(
            {
                "shop_id": shop_id,
                "date": day.day,
                "scope": scope,
                "agent_id": agent_id,
                "group_id": group_id,
                "phase": phase,
                "served_by": served_by,
                "computed_at": now,
                **values,
            }
        )
    return rows


def daily_metric_values(*, day: date, shop_ids=None, now: datetime | None = None) -> list[dict]:
    """The ``DailyMetric`` field values (by attribute name) of the shop-local day ``day`` for ``shop_ids``
    (``None``: every shop), one dict per row."""
    now = now or timezone.now()
    shop_ids = None if shop_ids is None else list(shop_ids)  # read once: a generator would be empty the second time
    shops = Shop.objects.order_by("pk")
    if shop_ids is not None:
        shops = shops.filter(pk__in=shop_ids)
    zones: dict[str, list[int]] = defaultdict(list)
    for shop_id, zone in shops.values_list("pk", "timezone"):
        zones[zone].append(shop_id)
    previous = _previous_days(shop_ids, day)
    rows: list[dict] = []
    for zone, ids in zones.items():
        rows.extend(_zone_rows(ids, LocalDay(day, ZoneInfo(zone)), now, previous))
    return rows


def daily_metric_rows(*, day: date, shop_ids=None, now: datetime | None = None) -> list[DailyMetric]:
    """Unsaved ``DailyMetric`` rows of the shop-local day ``day`` for ``shop_ids`` (``None``: every shop)."""
    return [DailyMetric(**values) for values in daily_metric_values(day=day, shop_ids=shop_ids, now=now)]
