"""Chat monitoring (监控查询): conversations with their response figures, for supervisors, owners and exports.

Every figure comes from ``chats.turns.sql`` (the one turn/response definition). Filters on figures (minimum response
time, unanswered) run set-based: one pass over the matching conversations' messages. The figures shown on a page
are correlated per conversation, evaluated only for the rows of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import FloatField, IntegerField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..hooks import latest_rating_sql
from ..models import Conversation
from ..sql import as_aware_datetime, fetch_dicts
from ..turns.sql import ConversationFilter, conversation_summary_sql, turn_rows_sql

if TYPE_CHECKING:
    from agents.models import Agent, RoutingGroup
    from shops.models import Shop

FIGURES = ("first_response_seconds", "max_response_seconds", "turns", "unanswered_turns")
MAX_RANGE_DAYS = 366
SHOP_REQUIRED = gettext_lazy("Name the shop: you can reach more than one.")


@dataclass(frozen=True)
class MonitoringFilters:
    """What a supervisor searches by. Dates are the shop's local dates, both ends included."""

    date_from: date | None = None
    date_to: date | None = None
    tz: ZoneInfo | None = None  # the shop's time zone, required with dates
    agent_id: int | None = None
    group_id: int | None = None
    min_response_seconds: float | None = None  # conversations with an answered turn at least this slow
    unanswered: bool | None = None  # True: with an unanswered turn; False: every turn answered
    conversation_ids: tuple[int, ...] | None = None

    def as_json(self) -> dict:
        """The filters as recorded on an export (JSON types only)."""
        data = {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "agent": self.agent_id,
            "group": self.group_id,
            "min_response_seconds": self.min_response_seconds,
            "unanswered": self.unanswered,
            "conversation_ids": list(self.conversation_ids) if self.conversation_ids is not None else None,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict, *, tz: ZoneInfo) -> MonitoringFilters:
        """The filters recorded on an export, back (``as_json``'s inverse)."""
        ids = data.get("conversation_ids")
        return cls(
            date_from=date.fromisoformat(data["date_from"]) if data.get("date_from") else None,
            date_to=date.fromisoformat(data["date_to"]) if data.get("date_to") else None,
            tz=tz,
            agent_id=data.get("agent"),
            group_id=data.get("group"),
            min_response_seconds=data.get("min_response_seconds"),
            unanswered=data.get("unanswered"),
            conversation_ids=tuple(ids) if ids is not None else None,
        )


def monitoring_filters_build(
    *,
    shop: Shop | None,
    date_from: date | None = None,
    date_to: date | None = None,
    agent: Agent | None = None,
    group: RoutingGroup | None = None,
    min_response_seconds: float | None = None,
    unanswered: bool | None = None,
    shop_required: bool = False,
) -> tuple[Shop | None, MonitoringFilters]:
    """A supervisor's search, checked as a whole: ``ValidationError`` by field name when the values do not fit.

    ``shop`` is the shop the search is about: the one named, else the caller's only shop (``None`` when ambiguous).
    Dates are that shop's local dates, so they need it; an export (``shop_required``) is always one shop's.
    """
    errors = {}
    if date_from and date_to:
        if date_to < date_from:
            errors["date_to"] = _("Must not be before date_from.")
        elif (date_to - date_from).days >= MAX_RANGE_DAYS:
            errors["date_to"] = _("Ask for at most %(days)d days at once.") % {"days": MAX_RANGE_DAYS}
    if shop is None and (shop_required or date_from or date_to):
        errors["shop"] = str(SHOP_REQUIRED)
    for name, related in (("agent", agent), ("group", group)):
        if shop is not None and related is not None and related.shop_id != shop.pk:
            errors[name] = _("Must belong to the same shop.")
    if errors:
        raise ValidationError(errors)
    return shop, MonitoringFilters(
        date_from=date_from,
        date_to=date_to,
        tz=shop.tzinfo if shop else None,
        agent_id=agent.pk if agent else None,
        group_id=group.pk if group else None,
        min_response_seconds=min_response_seconds,
        unanswered=unanswered,
    )


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def monitoring_conversation_filter(queryset: QuerySet, filters: MonitoringFilters) -> QuerySet:
    """``queryset`` (already scoped to the caller) narrowed by the monitoring filters; no figures attached."""
    if filters.date_from is not None:
        queryset = queryset.filter(started_at__gte=local_midnight(filters.date_from, filters.tz))
    if filters.date_to is not None:
        queryset = queryset.filter(started_at__lt=local_midnight(filters.date_to + timedelta(days=1), filters.tz))
    if filters.agent_id is not None:
        queryset = queryset.filter(agent_id=filters.agent_id)
    if filters.group_id is not None:
        queryset = queryset.filter(group_id=filters.group_id)
    if filters.conversation_ids is not None:
        queryset = queryset.filter(pk__in=filters.conversation_ids)
    # Figure filters share one summary pass (nesting one per filter would also overflow SQLite's parser).
    conditions, params = [], []
    if filters.min_response_seconds is not None:
        conditions.append("s.max_response_seconds >= %s")
        params.append(filters.min_response_seconds)
    if filters.unanswered is True:
        conditions.append("s.unanswered_turns > 0")
    elif filters.unanswered is False and conditions:
        conditions.append("s.unanswered_turns = 0")
    if conditions:
        return queryset.filter(pk__in=_summary_ids(queryset, " AND ".join(conditions), params))
    if filters.unanswered is False:
        # Chats without any buyer turn have nothing unanswered either: exclude rather than select.
        return queryset.exclude(pk__in=_summary_ids(queryset, "s.unanswered_turns > 0", []))
    return queryset


def _summary_ids(queryset: QuerySet, condition: str, condition_params: list) -> RawSQL:
    """Ids of the queryset's conversations whose turn summary meets ``condition`` (one set-based pass)."""
    sql, params = conversation_summary_sql(ConversationFilter(conversations=queryset.order_by()))
    return RawSQL(
        f"SELECT s.conversation_id FROM ({sql}) s WHERE {condition}",
        [*params, *condition_params],
    )


def with_figures(queryset: QuerySet) -> QuerySet:
    """Annotate each conversation with its response figures and its rating (computed per returned row)."""
    table = Conversation._meta.db_table
    sql, params = conversation_summary_sql(ConversationFilter(where=f'c.id = "{table}"."id"'))
    annotations = {}
    for name in FIGURES:
        expression = f"(SELECT s.{name} FROM ({sql}) s)"
        if name in ("turns", "unanswered_turns"):
            annotations[name] = RawSQL(f"COALESCE({expression}, 0)", params, output_field=IntegerField())
        else:
            annotations[name] = RawSQL(expression, params, output_field=FloatField())
    annotations["rating"] = RawSQL(latest_rating_sql(f'"{table}"."id"'), [], output_field=IntegerField())
    return queryset.annotate(**annotations)


def monitoring_conversation_list(queryset: QuerySet, filters: MonitoringFilters) -> QuerySet:
    """The monitoring list: filtered, with figures, rating, buyer, agent and group loaded."""
    filtered = monitoring_conversation_filter(queryset, filters)
    return with_figures(filtered.select_related("buyer", "agent", "group"))


def monitoring_turns(*, conversation_id: int) -> list[dict]:
    """The turns of one chat with their responses, in order (for the transcript)."""
    sql, params = turn_rows_sql(ConversationFilter(conversation_ids=[conversation_id]))
    rows = fetch_dicts(f"SELECT * FROM ({sql}) t ORDER BY t.turn_no", params)
    for row in rows:
        row["started_at"] = as_aware_datetime(row["started_at"])
        row["responded_at"] = as_aware_datetime(row["responded_at"])
    return rows
