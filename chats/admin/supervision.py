"""Admin for supervision (imported by ``chats.admin``): the exports list and the printable staffing plan.

Exports are records of who exported what: looked at, downloaded, failed ones run again, never edited. The staffing
page of a shop is its heatmap (weekday x hour), a chart of forecast and agents needed, and the shifts covering them.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agents.models import MAX_CAPACITY
from backoffice.admin import ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.validators import validate_day

from ..choices import ExportFormat, ExportStatus
from ..models import Export, StaffingShop
from ..supervision.exports import export_create, export_retry
from ..supervision.monitoring import MonitoringFilters
from ..supervision.staffing import DEFAULT_SHIFT_HOURS, DEFAULT_WEEKS, MAX_WEEKS, staffing_heatmap, staffing_plan

ADMIN_EXPORT_MAX_CHATS = 10_000
WEEKDAYS = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def export_selected_conversations(modeladmin, request, queryset, *, kind: str) -> None:
    """The conversations changelist's export actions: one CSV export per shop of the selection."""
    by_shop: dict[int, list[int]] = {}
    for conversation_id, shop_id in queryset.order_by().values_list("pk", "shop_id")[: ADMIN_EXPORT_MAX_CHATS + 1]:
        by_shop.setdefault(shop_id, []).append(conversation_id)
    if sum(len(ids) for ids in by_shop.values()) > ADMIN_EXPORT_MAX_CHATS:
        modeladmin.message_user(
            request,
            _("Select at most %(count)d chats, or export through the API with filters.")
            % {"count": ADMIN_EXPORT_MAX_CHATS},
            messages.ERROR,
        )
        return
    for shop_id, ids in by_shop.items():
        shop = StaffingShop.objects.get(pk=shop_id)
        export_create(
            shop=shop,
            requested_by=request.user,
            kind=kind,
            format=ExportFormat.CSV,
            filters=MonitoringFilters(conversation_ids=tuple(sorted(ids))),
        )
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d export started; it is listed under Exports.",
            "%(count)d exports started (one per shop); they are listed under Exports.",
            len(by_shop),
        )
        % {"count": len(by_shop)},
        messages.SUCCESS,
    )


@admin.register(Export)
class ExportAdmin(ScopedModelAdmin):
    list_display = (
        "id",
        "shop",
        "kind",
        "format",
        "status",
        "rows",
        "requested_by",
        "created_at",
        "finished_at",
        "download_link",
    )
    list_filter = (
        "status",
        "kind",
        "format",
        ("created_at", admin.DateFieldListFilter),
        ("shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("shop", "requested_by")
    search_fields = ("requested_by__username",)
    search_help_text = _("Login of who exported; #42 finds the export with id 42.")
    date_hierarchy = "created_at"  # a small table: one row per export request
    fields = (*Export.RECORD_FIELDS, "download_link")
    readonly_fields = fields
    actions = ("run_again",)

    def has_add_permission(self, request):
        return False  # exports start from the API or the conversations list

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of who exported what stays

    @admin.display(description=_("file"))
    def download_link(self, export):
        if export.status != ExportStatus.DONE:
            return "—"
        if export.file_deleted_at is not None:
            return _("deleted after retention")
        url = reverse("admin:chats_export_download", args=[export.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    @admin.action(description=_("Run the selected failed exports again"))
    def run_again(self, request, queryset):
        ids = list(queryset.filter(status=ExportStatus.FAILED).values_list("pk", flat=True))
        for export_id in ids:
            export_retry(export_id=export_id)
        self.message_user(
            request,
            ngettext("%(count)d export queued again.", "%(count)d exports queued again.", len(ids))
            % {"count": len(ids)},
            messages.SUCCESS,
        )

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:export_id>/download/", download, name="chats_export_download"), *super().get_urls()]

    def download_view(self, request, export_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        export = self.get_queryset(request).filter(pk=export_id).first()
        if export is None or export.status != ExportStatus.DONE or not export.file.name:
            raise Http404(_("No file to download."))
        try:
            handle = export.file.open("rb")
        except FileNotFoundError as error:
            raise Http404(_("No file to download.")) from error
        return FileResponse(handle, as_attachment=True, filename=export.filename)


class StaffingPlanForm(forms.Form):
    date = forms.DateField(
        label=_("day"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day],
    )
    target = forms.FloatField(label=_("target share"), min_value=0.01, max_value=0.999, initial=0.8, required=False)
    within_seconds = forms.FloatField(label=_("within (seconds)"), min_value=1, initial=180, required=False)
    handle_seconds = forms.FloatField(label=_("handle time (seconds)"), min_value=1, required=False)
    concurrency = forms.IntegerField(label=_("chats per agent"), min_value=1, max_value=MAX_CAPACITY, required=False)
    weeks = forms.IntegerField(label=_("weeks of history"), min_value=1, max_value=MAX_WEEKS, required=False)
    shift_hours = forms.IntegerField(label=_("shift length (hours)"), min_value=1, max_value=24, required=False)
    volume_factor = forms.FloatField(
        label=_("volume factor"), min_value=0.1, max_value=100, required=False, help_text=_("e.g. 5 for 11.11")
    )


@admin.register(StaffingShop)
class StaffingShopAdmin(ScopedModelAdmin):
    """One row per shop; a shop's page is its printable staffing plan (heatmap, chart, shifts)."""

    list_display = ("name", "platform", "timezone", "plan_link")
    list_filter = ("platform",)
    search_fields = ("name",)
    ordering = ("name", "pk")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("staffing plan"))
    def plan_link(self, shop):
        url = reverse("admin:chats_staffingshop_change", args=[shop.pk])
        return format_html('<a href="{}">{}</a>', url, _("Heatmap and shift plan"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        shop = self.get_object(request, object_id)
        if shop is None:
            return redirect("admin:chats_staffingshop_changelist")
        if not self.has_view_permission(request, shop):
            raise PermissionDenied
        tomorrow = timezone.now().astimezone(shop.tzinfo).date() + timedelta(days=1)
        form = StaffingPlanForm(request.GET or None)
        params = form.cleaned_data if form.is_bound and form.is_valid() else {}
        weeks = params.get("weeks") or DEFAULT_WEEKS
        plan = staffing_plan(
            shop=shop,
            day=params.get("date") or tomorrow,
            target=params.get("target") or 0.8,
            within_seconds=params.get("within_seconds") or 180,
            handle_seconds=params.get("handle_seconds"),
            concurrency=params.get("concurrency"),
            weeks=weeks,
            shift_hours=params.get("shift_hours") or DEFAULT_SHIFT_HOURS,
            volume_factor=params.get("volume_factor") or 1.0,
        )
        heatmap = staffing_heatmap(shop=shop, weeks=weeks)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Staffing plan: %(shop)s") % {"shop": shop.name},
            "shop": shop,
            "form": form if form.is_bound else StaffingPlanForm(initial={"date": tomorrow}),
            "plan": plan,
            "heatmap_rows": _heatmap_rows(heatmap),
            "chart": _chart(plan.hours),
        }
        return TemplateResponse(request, "admin/chats/staffing_plan.html", context)


def _heatmap_rows(cells: list[dict]) -> list[dict]:
    """Rows of (weekday, 24 cells with a colour intensity 0..1) for the table."""
    peak = max((cell["conversations"] for cell in cells), default=0) or 1
    rows = []
    for weekday in range(1, 8):
        day_cells = [cell for cell in cells if cell["weekday"] == weekday]
        rows.append(
            {
                "label": WEEKDAYS[weekday - 1],
                "cells": [
                    {"value": cell["conversations"], "alpha": f"{cell['conversations'] / peak:.2f}"}
                    for cell in day_cells
                ],
            }
        )
    return rows


def _chart(hours: list[dict]) -> dict:
    """Geometry of an inline SVG chart: forecast chats as bars, agents needed as a line (no scripts, no CDN)."""
    width, height, left, bottom = 720, 220, 40, 24
    step = (width - left) / 24
    plot = height - bottom - 10
    peak_forecast = max((row["forecast"] for row in hours), default=0) or 1
    peak_agents = max((row["agents_needed"] for row in hours), default=0) or 1
    bars, points = [], []
    for row in hours:
        x = left + row["hour"] * step
        bar = plot * row["forecast"] / peak_forecast
        # Numbers go to the SVG as strings: template localisation must not turn 1.5 into "1,5".
        bars.append({"x": f"{x + 2:.1f}", "y": f"{10 + plot - bar:.1f}", "w": f"{step - 4:.1f}", "h": f"{bar:.1f}"})
        y = 10 + plot - plot * row["agents_needed"] / peak_agents
        points.append(f"{x + step / 2:.1f},{y:.1f}")
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "line": " ".join(points),
        "labels": [{"x": f"{left + h * step + step / 2:.1f}", "text": h} for h in range(0, 24, 2)],
        "axis_y": height - bottom,
        "peak_forecast": round(peak_forecast, 1),
        "peak_agents": peak_agents,
    }
