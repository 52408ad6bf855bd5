"""Staffing (排班): the hourly inquiry heatmap, a forecast per hour, agents needed (Erlang C) and a shift plan.

The queueing model. A chat is one "call" of Erlang C's M/M/N queue; an agent who serves ``concurrency`` chats at
once counts as ``concurrency`` servers, so N = agents x concurrency. Offered load A (Erlangs) = chats per hour x
handle seconds / 3600, with ``handle_seconds`` the time a chat occupies one of an agent's seats. Erlang C gives the
probability that a chat waits, C(N, A); the service level, the share of chats whose first turn is answered within
t seconds, is SL = 1 - C(N, A) * exp(-(N - A) * t / handle_seconds). Agents needed for an hour is the smallest
count whose SL reaches the target (N > A is required for a stable queue). Treating a seat as an independent server
is the usual approximation for chat centres; it is optimistic when agents slow down as they take more chats, which
``handle_seconds`` (measured from the shop's own chats by default) partly absorbs.

Forecast: for each local hour of the planned day, the average number of conversations started in that hour on the
same weekday over the ``weeks`` weeks before the day (or before today, for a future day), in the shop's time zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay
from django.utils import timezone

from agents.choices import AgentRole
from agents.models import Agent
from chats.models import Conversation
from shops.models import Shop

DEFAULT_WEEKS = 4
MAX_WEEKS = 26
DEFAULT_HANDLE_SECONDS = 300.0
DEFAULT_SHIFT_HOURS = 8
MAX_AGENTS_SEARCH = 10_000


def erlang_c(servers: int, traffic: float) -> float:
    """Probability that an arrival waits in an M/M/``servers`` queue offered ``traffic`` Erlangs (1.0 if unstable).

    Computed through the Erlang B recursion B(k) = A B(k-1) / (k + A B(k-1)), then C = N B / (N - A (1 - B)):
    numerically stable for thousands of servers, where A^N / N! would overflow.
    """
    if traffic <= 0:
        return 0.0
    if servers <= traffic:
        return 1.0
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return servers * blocking / (servers - traffic * (1 - blocking))


def service_level(*, servers: int, traffic: float, within_seconds: float, handle_seconds: float) -> float:
    """Share of arrivals answered within ``within_seconds``: 1 - C(N, A) exp(-(N - A) t / handle)."""
    if traffic <= 0:
        return 1.0
    if servers <= traffic:
        return 0.0
    waits = erlang_c(servers, traffic)
    return max(0.0, min(1.0, 1 - waits * math.exp(-(servers - traffic) * within_seconds / handle_seconds)))


def agents_needed(
    *, arrivals_per_hour: float, handle_seconds: float, concurrency: int, target: float, within_seconds: float
) -> tuple[int, float | None]:
    """The fewest agents whose service level reaches ``target``, and that service level (``None``: no chats)."""
    if arrivals_per_hour <= 0:
        return 0, None
    traffic = arrivals_per_hour * handle_seconds / 3600
    agents = max(1, math.floor(traffic / concurrency) + 1)  # the first stable count: N > A
    while agents < MAX_AGENTS_SEARCH:
        level = service_level(
            servers=agents * concurrency, traffic=traffic, within_seconds=within_seconds, handle_seconds=handle_seconds
        )
        if level >= target:
            return agents, level
        agents += 1
    return agents, level


def history_window(*, shop: Shop, day: date, weeks: int) -> tuple[datetime, datetime]:
    """The ``weeks`` whole local weeks before ``day`` (or before today, whichever is earlier), as UTC-aware bounds."""
    today = timezone.now().astimezone(shop.tzinfo).date()
    end_day = min(day, today)
    start = datetime.combine(end_day - timedelta(days=7 * weeks), time.min, tzinfo=shop.tzinfo)
    end = datetime.combine(end_day, time.min, tzinfo=shop.tzinfo)
    return start, end


def staffing_heatmap(*, shop: Shop, weeks: int = DEFAULT_WEEKS, until: date | None = None) -> list[dict]:
    """Conversations started per (ISO weekday 1=Monday..7, local hour 0..23) over the ``weeks`` weeks before
    ``until`` (default today): all 168 cells, zeros included, with ``average`` = conversations / weeks."""
    until = until or timezone.now().astimezone(shop.tzinfo).date()
    start, end = history_window(shop=shop, day=until, weeks=weeks)
    tz = shop.tzinfo
    counts = {
        (row["weekday"], row["hour"]): row["conversations"]
        for row in Conversation.objects.filter(shop=shop, started_at__gte=start, started_at__lt=end)
        .annotate(weekday=ExtractIsoWeekDay("started_at", tzinfo=tz), hour=ExtractHour("started_at", tzinfo=tz))
        .values("weekday", "hour")
        .annotate(conversations=Count("pk"))
        .order_by()
    }
    return [
        {
            "weekday": weekday,
            "hour": hour,
            "conversations": counts.get((weekday, hour), 0),
            "average": round(counts.get((weekday, hour), 0) / weeks, 2),
        }
        for weekday in range(1, 8)
        for hour in range(24)
    ]


def default_handle_seconds(*, shop: Shop, start: datetime, end: datetime) -> float:
    """Average time a human chat occupied its agent (first assignment to last message) in the window."""
    occupied = ExpressionWrapper(
        F("last_message_at") - Coalesce("assigned_at", "started_at"), output_field=DurationField()
    )
    average = (
        Conversation.objects.filter(
            shop=shop, started_at__gte=start, started_at__lt=end, agent__isnull=False, last_message_at__isnull=False
        )
        .aggregate(average=Avg(occupied))
        .get("average")
    )
    if average is None or average.total_seconds() <= 0:
        return DEFAULT_HANDLE_SECONDS
    return round(average.total_seconds(), 1)


def default_concurrency(*, shop: Shop) -> int:
    """The shop's agents' average capacity (concurrent chats), at least 1."""
    average = Agent.objects.filter(shop=shop, role=AgentRole.AGENT).aggregate(average=Avg("capacity"))["average"]
    return max(1, round(average)) if average else 1


@dataclass
class StaffingPlan:
    """The plan for one local day: the inputs used, one row per hour, and the shifts that cover the need."""

    shop: Shop
    day: date
    weeks: int
    target: float
    within_seconds: float
    handle_seconds: float
    concurrency: int
    shift_hours: int
    volume_factor: float = 1.0
    hours: list[dict] = field(default_factory=list)
    shifts: list[dict] = field(default_factory=list)

    @property
    def peak_agents(self) -> int:
        return max((row["agents_needed"] for row in self.hours), default=0)

    @property
    def agent_hours(self) -> int:
        return sum(row["agents_needed"] for row in self.hours)


def staffing_plan(
    *,
    shop: Shop,
    day: date,
    target: float = 0.8,
    within_seconds: float = 180,
    handle_seconds: float | None = None,
    concurrency: int | None = None,
    weeks: int = DEFAULT_WEEKS,
    shift_hours: int = DEFAULT_SHIFT_HOURS,
    volume_factor: float = 1.0,
) -> StaffingPlan:
    """Forecast, agents needed and expected service level per local hour of ``day``, and a shift plan.

    ``volume_factor`` scales the history-based forecast for days history cannot foresee (a promotion such as 11.11).
    """
    start, end = history_window(shop=shop, day=day, weeks=weeks)
    if handle_seconds is None:
        handle_seconds = default_handle_seconds(shop=shop, start=start, end=end)
    if concurrency is None:
        concurrency = default_concurrency(shop=shop)
    weekday = day.isoweekday()
    same_weekday = {
        cell["hour"]: cell["conversations"]
        for cell in staffing_heatmap(shop=shop, weeks=weeks, until=day)
        if cell["weekday"] == weekday
    }
    plan = StaffingPlan(
        shop=shop,
        day=day,
        weeks=weeks,
        target=target,
        within_seconds=within_seconds,
        handle_seconds=handle_seconds,
        concurrency=concurrency,
        shift_hours=shift_hours,
        volume_factor=volume_factor,
    )
    for hour in range(24):
        forecast = same_weekday.get(hour, 0) / weeks * volume_factor
        needed, level = agents_needed(
            arrivals_per_hour=forecast,
            handle_seconds=handle_seconds,
            concurrency=concurrency,
            target=target,
            within_seconds=within_seconds,
        )
        plan.hours.append(
            {
                "hour": hour,
                "forecast": round(forecast, 2),
                "agents_needed": needed,
                "expected_service_level": None if level is None else round(level, 4),
            }
        )
    plan.shifts = shift_plan([row["agents_needed"] for row in plan.hours], shift_hours=shift_hours)
    return plan


def shift_plan(needs: list[int], *, shift_hours: int = DEFAULT_SHIFT_HOURS) -> list[dict]:
    """Fewest fixed-length shifts within the day such that every hour has at least ``needs[hour]`` agents on.

    Greedy from the first hour short of agents: start the missing agents' shifts there (or as late as a whole shift
    still fits in the day). For covering points with fixed-length intervals this is optimal: a shift starting at the
    first uncovered hour covers everything any other shift covering that hour would, and more of what follows.
    """
    hours = len(needs)
    shift_hours = max(1, min(shift_hours, hours))
    on_duty = [0] * hours
    shifts: dict[int, int] = {}
    for hour in range(hours):
        missing = needs[hour] - on_duty[hour]
        if missing <= 0:
            continue
        begin = min(hour, hours - shift_hours)
        for covered in range(begin, begin + shift_hours):
            on_duty[covered] += missing
        shifts[begin] = shifts.get(begin, 0) + missing
    return [
        {"start_hour": begin, "end_hour": begin + shift_hours, "agents": count}
        for begin, count in sorted(shifts.items())
    ]
