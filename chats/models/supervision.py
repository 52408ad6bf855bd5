"""Supervision: supervisors' exports, and the staffing view of a shop."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy import ShopScopedQuerySet
from shops.models import Shop

from ..choices import ExportFormat, ExportKind, ExportStatus


class Export(models.Model):
    """A supervisor's export of conversations or messages to a CSV/XLSX file: who asked, with which filters.

    Written by a Celery task from a server-side cursor; the file is deleted after ``EXPORT_RETENTION_DAYS``
    (the row stays, as the record of who exported what).
    """

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="exports", verbose_name=_("shop"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)

    objects = ShopScopedQuerySet.as_manager()

    # What the record of an export shows, in the API and the admin alike (never edited: a record of who exported what).
    RECORD_FIELDS = (
        "shop",
        "kind",
        "format",
        "filters",
        "status",
        "rows",
        "error",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "file_deleted_at",
    )

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ExportKind.values), name="export_kind_valid"),
            models.CheckConstraint(condition=Q(format__in=ExportFormat.values), name="export_format_valid"),
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="export_status_valid"),
        ]
        indexes = [
            models.Index(fields=["shop", "-created_at"], name="export_shop_created"),
            models.Index(fields=["status", "finished_at"], name="export_status_finished"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} · {self.get_format_display()}"

    @property
    def filename(self) -> str:
        """The name the download is offered under."""
        return f"{self.kind}-{self.shop_id}-{self.pk}.{self.format}"


class StaffingShop(Shop):
    """A shop seen from staffing (排班): its admin page is the printable heatmap and shift plan. No table."""

    class Meta:
        proxy = True
        verbose_name = _("staffing plan")
        verbose_name_plural = _("staffing plans")


class Wall(Shop):
    """A shop seen from its live supervision wall: agents, chats waiting for a response, the queue and today's
    provisional 3-minute figures, updated over the events WebSocket. No table."""

    class Meta:
        proxy = True
        verbose_name = _("supervision wall")
        verbose_name_plural = _("supervision walls")
