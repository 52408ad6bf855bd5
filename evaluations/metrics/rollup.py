"""Daily service-diagnosis rollups, computed in the database (DESIGN.md, "Service diagnosis metrics").

Read-only: :func:`daily_metric_values` returns the ``DailyMetric`` values of one local day of some (or all) shops
(:func:`daily_metric_rows`, the same as unsaved rows); the service ``daily_metrics_rollup`` replaces the stored rows
with them in one transaction.

How it runs: shops are grouped by time zone, since a shop's day D is its own local day (``[00:00 D, 00:00 D+1)``
in its zone, DST included). Per time zone, one statement (:func:`daily_metric_statements`) gives every row of D:
CTEs for the conversations of D (0/1 facts), the turns of D (the stored ``chats.Turn`` rows, which the writers of
messages keep equal to ``chats.turns``; an index range rather than every conversation's message stream), ratings,
after-sales seekers and events, the 30-day volume and the stored rows of D-6..D-1, aggregated per shop, agent,
group, phase and served-by with ``UNION ALL``, and every rate, badge, star and flag derived in SQL. The service
writes it with ``INSERT ... SELECT``: no row passes through Python.

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
  same figure as ``shops.selectors.shop_daily_reception_volume``; ``reception_tier`` by ``reception_tier()``. The
  count is the sum of the stored shop rows of those days when all 30 were computed after their day ended, else
  counted from the conversations (see :func:`_reception_volumes`).
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
from chats.models import Conversation, Message, Turn
from shops.choices import AfterSalesEventKind, ServicePhase
from shops.models import AfterSalesEvent, Shop

from ..choices import RECEPTION_TIER_FLOORS, SATISFIED_SCORES, MetricScope, ReceptionTier, ServedBy
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
    ``DIMENSIONS``); ``source`` has the columns ``shop_id``, ``group_id``, ``phase``, ``served_by`` and ``agent``."""
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


RATING_MEASURES = {"ratings": "COUNT(*)", "satisfied_ratings": "SUM(satisfied)"}

MEASURE_GROUPS = (CONVERSATION_MEASURES, FIRST_TURN_MEASURES, TURN_MEASURES, RATING_MEASURES)


def _columns(own: dict[str, str]) -> str:
    """Every branch of the UNION lists every measure in the same order; the other branches' measures are 0."""
    return ", ".join(
        f"{expr if group is own else 0} AS {name}" for group in MEASURE_GROUPS for name, expr in group.items()
    )


def _conversations_and_turns(shop_ids: list[int], day: LocalDay, now: datetime) -> tuple[list[str], str, list]:
    """The conversations of D and the turns of D (the stored ``Turn`` rows): ``(CTEs, UNION ALL of the per-scope
    aggregates, params)``. Each branch carries zeros for the other branches' measures, so summing per key merges
    them."""
    facts_sql, facts_params = _conversation_facts(shop_ids, day, now).query.sql_with_params()
    hours_from, hours_to = (_db_datetime(day.at(moment)) for moment in SERVICE_HOURS)
    # Materialised so the day's turns join it by hash rather than by one primary-key lookup per turn.
    materialized = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    params: list = [*facts_params]
    in_shops = _in("c.shop_id", shop_ids, params)
    params += [_db_datetime(day.start - TURN_LOOKBACK), _db_datetime(day.end), _db_datetime(day.start)]
    params += [hours_from, hours_to]
    turn_shops = _in("t.shop_id", shop_ids, params)
    params += [_db_datetime(day.start), _db_datetime(day.end)]
    ctes = [
        f"conv AS {materialized}({facts_sql})",
        f"""cs AS {materialized}(
    SELECT c.id, c.agent_id, c.group_id, c.phase,
           CASE WHEN c.assigned_at IS NULL THEN '{ServedBy.BOT.value}' ELSE '{ServedBy.HUMAN.value}' END AS served_by
    FROM chats_conversation c
    WHERE {in_shops} AND c.started_at >= %s AND c.started_at < %s AND (c.ended_at IS NULL OR c.ended_at >= %s)
)""",
        f"""dt AS {materialized}(
    SELECT t.shop_id, c.agent_id, c.group_id, c.phase, c.served_by, t.number AS turn_no, t.response_seconds,
           CASE WHEN t.responded_at IS NULL THEN c.agent_id ELSE t.responder_agent_id END AS turn_agent_id,
           CASE WHEN t.number = 1 AND t.started_at >= %s AND t.started_at < %s THEN 1 ELSE 0 END AS in_hours
    FROM {Turn._meta.db_table} t JOIN cs c ON c.id = t.conversation_id
    WHERE {turn_shops} AND t.started_at >= %s AND t.started_at < %s
)""",
        "ft AS (SELECT * FROM dt WHERE in_hours = 1)",
    ]
    parts = "\nUNION ALL\n".join(
        [
            _by_scope("conv", _columns(CONVERSATION_MEASURES)),
            _by_scope("ft", _columns(FIRST_TURN_MEASURES)),
            _by_scope("dt", _columns(TURN_MEASURES), agent="turn_agent_id"),
        ]
    )
    return ctes, parts, params


def _ratings(shop_ids: list[int], day: LocalDay) -> tuple[str, list]:
    """Ratings of D (invite sent on D, or a self rating of a conversation that ended on D), one row each."""
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
    sql, params = invited.values(**columns).union(unprompted.values(**columns), all=True).query.sql_with_params()
    return sql, list(params)


def _resolution_seekers(shop_ids: list[int], day: LocalDay) -> tuple[str, list]:
    """S per shop: distinct buyers with an after-sales chat, refund request or complaint on D."""
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
    return sql, [*chats_params, *requests_params]


def _after_sales_events(shop_ids: list[int], day: LocalDay) -> tuple[str, list]:
    """P (consultations by recent contacts), Disp and Comp per shop on D."""
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
    sql, params = rows.query.sql_with_params()
    return sql, list(params)


def _reception_volumes(shop_ids: list[int], day: LocalDay) -> tuple[str, list]:
    """Conversations started in the 30 local days before D, per shop (columns ``shop_id, started``).

    Read from the stored shop rows of those days, whose ``conversations`` is that count, when all 30 were computed
    after their day had ended (a day's conversations are all there once it is over); a shop without them is
    counted from its conversations (an index range per shop). Runs in date order (backfills, the nightly run) keep
    the stored rows complete, so the count is rarely needed.
    """
    params: list = []  # in the order of the placeholders in the text
    bounds = ", ".join(["(%s, %s)"] * VOLUME_DAYS)
    for back in range(VOLUME_DAYS, 0, -1):
        params += [
            connection.ops.adapt_datefield_value(day.day - timedelta(days=back)),
            _db_datetime(day.at(time.min, days=1 - back)),  # the end of that day
        ]
    stored_shops = _in("m.shop_id", shop_ids, params)
    params += [_db_datetime(day.at(time.min, days=-VOLUME_DAYS)), _db_datetime(day.start), VOLUME_DAYS]
    counted_shops = _in("s.id", shop_ids, params)
    sql = f"""WITH volume_days(day, ends) AS (VALUES {bounds}),
stored AS (
    SELECT m.shop_id, COUNT(*) AS days, SUM(m.conversations) AS started
    FROM {DailyMetric._meta.db_table} m JOIN volume_days b ON b.day = m.date AND m.computed_at >= b.ends
    WHERE m.scope = '{MetricScope.SHOP.value}' AND {stored_shops}
    GROUP BY m.shop_id
)
SELECT s.id AS shop_id, COALESCE(stored.started, (
    SELECT COUNT(*) FROM chats_conversation c WHERE c.shop_id = s.id AND c.started_at >= %s AND c.started_at < %s
)) AS started
FROM {Shop._meta.db_table} s LEFT JOIN stored ON stored.shop_id = s.id AND stored.days = %s
WHERE {counted_shops}"""
    return sql, params


POOLED_COUNTS = ("first_turns_in_hours", "first_turns_answered_3m", "ratings", "satisfied_ratings")


def _previous_days(shop_ids: list[int], day: date) -> tuple[str, list]:
    """The pooled counts of D-6..D-1 from the stored rows, per row key."""
    rows = (
        DailyMetric.objects.filter(date__gte=day - timedelta(days=POOLED_DAYS - 1), date__lt=day, shop_id__in=shop_ids)
        .order_by()
        .values(*DIMENSIONS)
        .annotate(**{name: Sum(name) for name in POOLED_COUNTS})
    )
    sql, params = rows.query.sql_with_params()
    return sql, list(params)


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


# --- the statement ------------------------------------------------------------------------------------------------
# Every figure of a row is derived in SQL, to the letter of ``rate`` (``numerator / denominator`` in IEEE doubles,
# NULL when the denominator is 0), ``star_level``, ``reception_tier`` and the module doc, so the rollup writes with
# ``INSERT ... SELECT`` and no row passes through Python.

COUNTS = tuple(name for group in MEASURE_GROUPS for name in group)


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


def _zone_statement(shop_ids: list[int], day: LocalDay, now: datetime) -> tuple[str, list[str], list]:
    """One SELECT giving the ``DailyMetric`` rows of D for shops of one time zone: ``(sql, columns, params)``, the
    columns named by attribute."""
    ctes, parts, params = _conversations_and_turns(shop_ids, day, now)
    for name, (sql, part_params) in (
        ("r", _ratings(shop_ids, day)),
        ("seek", _resolution_seekers(shop_ids, day)),
        ("ev", _after_sales_events(shop_ids, day)),
        ("vol", _reception_volumes(shop_ids, day)),
        ("prev", _previous_days(shop_ids, day.day)),
    ):
        ctes.append(f"{name} AS ({sql})")
        params += part_params
    zeros = ", ".join(f"0 AS {name}" for name in COUNTS)
    shop_scope = MetricScope.SHOP.value
    # Every shop has its shop row, even on a day without chats.
    every_shop = (
        f"SELECT '{shop_scope}' AS scope, s.id AS shop_id, NULL AS agent_id, NULL AS group_id, '' AS phase, "
        f"'' AS served_by, {zeros} FROM {Shop._meta.db_table} s WHERE {_in('s.id', shop_ids, [])}"
    )
    ratings = _by_scope("r", _columns(RATING_MEASURES))
    ctes.append(f"parts AS (\n{parts}\nUNION ALL\n{ratings}\nUNION ALL\n{every_shop})")
    params += shop_ids
    dimensions = ", ".join(DIMENSIONS)
    sums = ", ".join(f"COALESCE(SUM({name}), 0) AS {name}" for name in COUNTS)
    ctes.append(f"k AS (SELECT {dimensions}, {sums} FROM parts GROUP BY {dimensions})")
    pooled = ", ".join(f"k.{name} + COALESCE(p.{name}, 0) AS {name}_7d" for name in POOLED_COUNTS)
    ctes.append(
        f"""w AS (
    SELECT k.*, {pooled},
           COALESCE(seek.seekers, 0) AS seekers_,
           COALESCE(ev.platform_consultations, 0) AS consultations_, COALESCE(ev.disputes, 0) AS disputes_,
           COALESCE(ev.complaint_interventions, 0) AS interventions_, COALESCE(vol.started, 0) AS started_30d_
    FROM k
    LEFT JOIN prev p ON p.scope = k.scope AND p.shop_id = k.shop_id
        AND COALESCE(p.agent_id, 0) = COALESCE(k.agent_id, 0) AND COALESCE(p.group_id, 0) = COALESCE(k.group_id, 0)
        AND p.phase = k.phase AND p.served_by = k.served_by
    LEFT JOIN seek ON k.scope = '{shop_scope}' AND seek.shop_id = k.shop_id
    LEFT JOIN ev ON k.scope = '{shop_scope}' AND ev.shop_id = k.shop_id
    LEFT JOIN vol ON k.scope = '{shop_scope}' AND vol.shop_id = k.shop_id
)"""
    )
    satisfaction_final = bool(now >= day.at(time.min, days=2))
    shop_row = f"w.scope = '{shop_scope}'"
    lost = _double("w.consultations_ + w.disputes_ + w.interventions_")
    resolution = f"1 - {lost} / w.seekers_"
    rate_7d = _rate_sql("w.first_turns_answered_3m_7d", "w.first_turns_in_hours_7d")
    satisfaction_7d = _rate_sql("w.satisfied_ratings_7d", "w.ratings_7d")
    volume = f"{_double('w.started_30d_')} / {VOLUME_DAYS}"
    fcr_final = "(w.fcr_open = 0 AND w.open_conversations = 0)"
    badge_rate = float(settings.METRICS_FAST_RESPONSE_BADGE_RATE)
    select_params: list = []

    def param(value) -> str:
        select_params.append(value)
        return "%s"

    columns: list[tuple[str, str]] = [
        ("w.shop_id", "shop_id"),
        (param(connection.ops.adapt_datefield_value(day.day)), "date"),
        *((f"w.{name}", name) for name in DIMENSIONS if name != "shop_id"),
        (param(_db_datetime(now)), "computed_at"),
        *((f"w.{name}", name) for name in COUNTS if name != "open_conversations"),
        (_rate_sql("w.first_turns_answered_3m", "w.first_turns_in_hours"), "response_rate_3m"),
        (_rate_sql("w.response_seconds_total", "w.responded_turns"), "avg_response_seconds"),
        (_rate_sql("w.first_response_seconds_total", "w.first_responses"), "avg_first_response_seconds"),
        (_rate_sql("w.satisfied_ratings", "w.ratings"), "satisfaction_rate"),
        (f"CASE WHEN w.fcr_services > 0 THEN 1 - {_double('w.fcr_repeated')} / w.fcr_services END", "fcr_3d"),
        (_rate_sql("w.transfer_requests", "w.transfer_entry_shown"), "transfer_rate"),
        (_rate_sql("w.transfer_requests_unexposed", "w.bot_conversations_unexposed"), "transfer_rate_unexposed"),
        *((f"w.{name}_7d", f"{name}_7d") for name in POOLED_COUNTS),
        (rate_7d, "response_rate_3m_7d"),
        (satisfaction_7d, "satisfaction_rate_7d"),
        (f"CASE WHEN {rate_7d} >= {param(badge_rate)} THEN TRUE ELSE FALSE END", "fast_response_badge"),
        (_stars_sql(rate_7d, satisfaction_7d, select_params), "stars"),
        (param(satisfaction_final), "satisfaction_final"),
        (fcr_final, "fcr_final"),
        (f"({param(satisfaction_final)} AND {fcr_final})", "final"),
        (f"CASE WHEN {shop_row} THEN w.seekers_ ELSE 0 END", "resolution_seekers"),
        (f"CASE WHEN {shop_row} THEN w.consultations_ ELSE 0 END", "platform_consultations"),
        (f"CASE WHEN {shop_row} THEN w.disputes_ ELSE 0 END", "disputes"),
        (f"CASE WHEN {shop_row} THEN w.interventions_ ELSE 0 END", "complaint_interventions"),
        (
            f"CASE WHEN {shop_row} AND w.seekers_ > 0 THEN CASE WHEN {resolution} < 0 THEN 0.0 "
            f"WHEN {resolution} > 1 THEN 1.0 ELSE {resolution} END END",
            "resolution_rate",
        ),
        (f"CASE WHEN {shop_row} THEN {volume} END", "reception_volume"),
        (f"CASE WHEN {shop_row} THEN {_tier_sql(volume, select_params)} ELSE '' END", "reception_tier"),
    ]
    with_clause = ",\n".join(ctes)
    select = ",\n       ".join(f"{expr} AS {name}" for expr, name in columns)
    sql = f"WITH {with_clause}\nSELECT {select}\nFROM w"  # noqa: S608 -- identifiers and compiled ORM SQL; params
    return sql, [name for _, name in columns], [*params, *select_params]


def _zones(shop_ids: list[int] | None) -> dict[str, list[int]]:
    shops = Shop.objects.order_by("pk")
    if shop_ids is not None:
        shops = shops.filter(pk__in=shop_ids)
    zones: dict[str, list[int]] = defaultdict(list)
    for shop_id, zone in shops.values_list("pk", "timezone"):
        zones[zone].append(shop_id)
    return zones


def daily_metric_statements(*, day: date, shop_ids=None, now: datetime) -> list[tuple[str, list[str], list]]:
    """The SELECTs (one per time zone) giving the ``DailyMetric`` rows of the shop-local day ``day`` for
    ``shop_ids`` (``None``: every shop): ``(sql, columns, params)``."""
    shop_ids = None if shop_ids is None else list(shop_ids)  # read once: a generator would be empty the second time
    return [_zone_statement(ids, LocalDay(day, ZoneInfo(zone)), now) for zone, ids in _zones(shop_ids).items()]


BOOLEANS = ("fast_response_badge", "satisfaction_final", "fcr_final", "final")


def daily_metric_values(*, day: date, shop_ids=None, now: datetime | None = None) -> list[dict]:
    """The ``DailyMetric`` field values (by attribute name) of the shop-local day ``day`` for ``shop_ids``
    (``None``: every shop), one dict per row."""
    now = now or timezone.now()
    rows: list[dict] = []
    for sql, _names, params in daily_metric_statements(day=day, shop_ids=shop_ids, now=now):
        for values in _fetch(sql, params):
            values.update(date=day, computed_at=now, **{name: bool(values[name]) for name in BOOLEANS})
            rows.append(values)
    return rows


def daily_metric_rows(*, day: date, shop_ids=None, now: datetime | None = None) -> list[DailyMetric]:
    """Unsaved ``DailyMetric`` rows of the shop-local day ``day`` for ``shop_ids`` (``None``: every shop)."""
    return [DailyMetric(**values) for values in daily_metric_values(day=day, shop_ids=shop_ids, now=now)]
