"""Admin for rating invites, evaluations and the invite draws (satisfaction at a glance), and daily metrics with a
per-shop dashboard of 30-day trends (server-rendered SVG charts), peers, badge and stars."""

from datetime import date, timedelta

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ReadOnlyModelAdmin, ScopedRelatedFieldListFilter
from backoffice.callers import caller_for
from backoffice.validators import validate_day
from shops.models import Shop

from .choices import SATISFIED_SCORES, MetricScope
from .metrics import PEER_METRICS, shop_peers_get
from .metrics.charts import line_chart
from .models import DailyMetric, Evaluation, InviteDecision, RatingInvite
from .services import daily_metrics_rollup

DASHBOARD_DAYS = 30


@admin.register(RatingInvite)
class RatingInviteAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "conversation", "shop", "channel", "status", "agent", "sent_at", "expires_at", "answered_at")
    list_filter = (
        "channel",
        "status",
        ("sent_at", admin.DateFieldListFilter),
        ("conversation__shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("conversation__shop", "agent")
    search_fields = ("=conversation__id", "agent__display_name")

    @admin.display(description=_("shop"), ordering="conversation__shop")
    def shop(self, invite):
        return invite.conversation.shop


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "conversation", "shop", "channel", "score", "tag_list", "comment", "answered_at")
    list_filter = (
        "channel",
        "score",
        ("answered_at", admin.DateFieldListFilter),
        ("conversation__shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("conversation__shop",)
    search_fields = ("=conversation__id", "comment")

    @admin.display(description=_("shop"), ordering="conversation__shop")
    def shop(self, evaluation):
        return evaluation.conversation.shop

    @admin.display(description=_("tags"))
    def tag_list(self, evaluation):
        return "、".join(evaluation.tags)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # One aggregate over the filtered rows, in the database.
            totals = changelist.queryset.order_by().aggregate(
                total=Count("pk"), satisfied=Count("pk", filter=Q(score__in=SATISFIED_SCORES))
            )
            if totals["total"]:
                rate = f"{totals['satisfied'] / totals['total']:.1%}"
                response.context_data["satisfaction"] = {**totals, "rate": rate}
        return response


@admin.register(InviteDecision)
class InviteDecisionAdmin(ReadOnlyModelAdmin):
    list_display = ("conversation", "send", "probability", "decided_at")
    list_filter = ("send", ("decided_at", admin.DateFieldListFilter))
    list_select_related = ("conversation",)
    search_fields = ("=conversation__id",)


def _percent(value):
    return "—" if value is None else f"{value:.1%}"


def _seconds(value):
    return "—" if value is None else f"{value:.1f} s"


METRIC_LABELS = {
    "conversations": _("Conversations"),
    "response_rate_3m": _("3-minute response rate"),
    "avg_response_seconds": _("Average response time"),
    "avg_first_response_seconds": _("Average first response time"),
    "satisfaction_rate": _("Satisfaction rate"),
    "fcr_3d": _("After-sales 3-day FCR"),
    "resolution_rate": _("After-sales resolution rate"),
    "transfer_rate": _("Transfer-to-human rate"),
}
PERCENT_METRICS = {"response_rate_3m", "satisfaction_rate", "fcr_3d", "resolution_rate", "transfer_rate"}
SECONDS_METRICS = {"avg_response_seconds", "avg_first_response_seconds"}


def _count_display(value: int) -> str:
    return f"{value:,}"


def _assistant_cards(row: DailyMetric) -> list[dict]:
    """The service assistant's figures of a shop row: bot-served chats and how many the bot resolved, its fallbacks
    and clarifications among its replies, and the requests for a human the buyers typed."""
    return [
        {"label": _("Bot-served chats"), "value": _count_display(row.bot_conversations), "detail": ""},
        {
            "label": _("Bot resolution rate"),
            "value": _percent(row.bot_resolution_rate),
            "detail": f"{row.bot_resolved}/{row.bot_conversations}",
        },
        {
            "label": _("Fallback rate"),
            "value": _percent(row.fallback_rate),
            "detail": f"{row.bot_fallbacks}/{row.bot_replies}",
        },
        {"label": _("Clarifications"), "value": _count_display(row.bot_clarifications), "detail": ""},
        {"label": _("Typed transfer requests"), "value": _count_display(row.transfer_requests_typed), "detail": ""},
    ]


def _display(metric: str, value):
    if metric in PERCENT_METRICS:
        return _percent(value)
    if metric in SECONDS_METRICS:
        return _seconds(value)
    return "—" if value is None else f"{value:,.1f}".removesuffix(".0")


@admin.register(DailyMetric)
class DailyMetricAdmin(ReadOnlyModelAdmin):
    """Daily metrics are computed, never edited: recompute them (action or ``rollup_metrics``) instead."""

    list_display = (
        "date",
        "shop",
        "scope",
        "dimension",
        "conversations",
        "rate_3m",
        "avg_response",
        "satisfaction",
        "fcr",
        "resolution",
        "transfer",
        "fast_response_badge",
        "stars",
        "final",
        "dashboard",
    )
    list_filter = (
        "scope",
        "final",
        "fast_response_badge",
        "stars",
        "reception_tier",
        ("date", admin.DateFieldListFilter),
        ("shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("shop", "agent", "group")
    search_fields = ("shop__name", "agent__display_name", "group__name")
    date_hierarchy = "date"
    actions = ["recompute"]

    @admin.display(description=_("agent, group, phase or served by"))
    def dimension(self, row):
        return row.agent or row.group or row.get_phase_display() or row.get_served_by_display() or "—"

    @admin.display(description=_("3-min rate"), ordering="response_rate_3m")
    def rate_3m(self, row):
        return f"{_percent(row.response_rate_3m)} ({row.first_turns_answered_3m}/{row.first_turns_in_hours})"

    @admin.display(description=_("avg response"), ordering="avg_response_seconds")
    def avg_response(self, row):
        return _seconds(row.avg_response_seconds)

    @admin.display(description=_("satisfaction"), ordering="satisfaction_rate")
    def satisfaction(self, row):
        return f"{_percent(row.satisfaction_rate)} ({row.satisfied_ratings}/{row.ratings})"

    @admin.display(description=_("3-day FCR"), ordering="fcr_3d")
    def fcr(self, row):
        return f"{_percent(row.fcr_3d)} ({row.fcr_services - row.fcr_repeated}/{row.fcr_services})"

    @admin.display(description=_("resolution"), ordering="resolution_rate")
    def resolution(self, row):
        return _percent(row.resolution_rate)

    @admin.display(description=_("transfer rate"), ordering="transfer_rate")
    def transfer(self, row):
        return f"{_percent(row.transfer_rate)} ({row.transfer_requests}/{row.transfer_entry_shown})"

    @admin.display(description=_("dashboard"))
    def dashboard(self, row):
        url = reverse("admin:evaluations_dailymetric_dashboard", args=[row.shop_id])
        return format_html('<a href="{}?date={}">{}</a>', url, row.date.isoformat(), _("Dashboard"))

    @admin.action(description=_("Recompute the selected days (whole shops)"))
    def recompute(self, request, queryset):
        days: dict[date, set[int]] = {}
        for day, shop_id in queryset.order_by().values_list("date", "shop_id").distinct():
            days.setdefault(day, set()).add(shop_id)
        written = sum(daily_metrics_rollup(day=day, shop_ids=shops) for day, shops in sorted(days.items()))
        self.message_user(
            request,
            ngettext(
                "%(days)d day recomputed: %(rows)d rows written.",
                "%(days)d days recomputed: %(rows)d rows written.",
                len(days),
            )
            % {"days": len(days), "rows": written},
            messages.SUCCESS,
        )

    def get_urls(self):
        dashboard = self.admin_site.admin_view(self.dashboard_view)
        pick = self.admin_site.admin_view(self.dashboard_pick_view)
        return [
            path("dashboard/", pick, name="evaluations_dailymetric_dashboard_pick"),
            path("dashboard/<int:shop_id>/", dashboard, name="evaluations_dailymetric_dashboard"),
            *super().get_urls(),
        ]

    def dashboard_pick_view(self, request):
        """A shop's staff go straight to their shop; platform staff pick one (by name search)."""
        if not self.has_view_permission(request):
            raise Http404
        shops = Shop.objects.for_caller(caller_for(request.user)).order_by("name", "pk")
        term = request.GET.get("q", "").strip()
        if term:
            shops = shops.filter(name__icontains=term)
        first_two = list(shops[:2])
        if len(first_two) == 1 and not term:
            return redirect("admin:evaluations_dailymetric_dashboard", first_two[0].pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Metrics dashboard: pick a shop"),
            "shops": shops[:100],
            "q": term,
        }
        return TemplateResponse(request, "admin/evaluations/dailymetric/dashboard_pick.html", context)

    def dashboard_view(self, request, shop_id: int):
        """30-day trends of the shop rows (3-minute rate, satisfaction, FCR, volume), peers, badge and stars, and the
        day's service-assistant figures."""
        if not self.has_view_permission(request):
            raise Http404
        shop = get_object_or_404(Shop.objects.for_caller(caller_for(request.user)), pk=shop_id)
        shop_rows = DailyMetric.objects.filter(shop=shop, scope=MetricScope.SHOP)
        try:
            end = date.fromisoformat(request.GET["date"])
            validate_day(end)  # year 1 or 9999 would overflow the 30-day window
        except (KeyError, ValueError, ValidationError):
            end = shop_rows.aggregate(last=Max("date"))["last"]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Metrics dashboard: %(shop)s") % {"shop": shop.name},
            "shop": shop,
            "end": end,
        }
        if end is not None:
            start = end - timedelta(days=DASHBOARD_DAYS - 1)
            by_day = {row.date: row for row in shop_rows.filter(date__gte=start, date__lte=end)}
            days = [start + timedelta(days=n) for n in range(DASHBOARD_DAYS)]

            def series(metric):
                return [(day, getattr(by_day[day], metric) if day in by_day else None) for day in days]

            peers = shop_peers_get(shop=shop, day=end)
            row = by_day.get(end)
            context.update(
                start=start,
                row=row,
                assistant=_assistant_cards(row) if row is not None else [],
                charts=[
                    line_chart(series("response_rate_3m"), title=str(_("3-minute response rate")), percent=True),
                    line_chart(series("satisfaction_rate"), title=str(_("Satisfaction rate")), percent=True),
                    line_chart(series("fcr_3d"), title=str(_("After-sales 3-day FCR")), percent=True),
                    line_chart(
                        series("conversations"), title=str(_("Conversations (reception volume)")), percent=False
                    ),
                ],
                chart_titles=[
                    _("3-minute response rate"),
                    _("Satisfaction rate"),
                    _("After-sales 3-day FCR"),
                    _("Conversations (reception volume)"),
                ],
                peers=[
                    {
                        "label": METRIC_LABELS[metric],
                        "value": _display(metric, figures["value"]),
                        "median": _display(metric, figures["peer_median"]),
                        "percentile": _percent(figures["percentile"]),
                        "peers": figures["peers"],
                        "higher_is_better": figures["higher_is_better"],
                    }
                    for metric, figures in (peers or {}).get("metrics", {}).items()
                    if metric in PEER_METRICS
                ],
                previous=end - timedelta(days=DASHBOARD_DAYS),
                next=end + timedelta(days=DASHBOARD_DAYS),
            )
            context["charts"] = list(zip(context.pop("chart_titles"), context["charts"], strict=True))
        return TemplateResponse(request, "admin/evaluations/dailymetric/dashboard.html", context)
