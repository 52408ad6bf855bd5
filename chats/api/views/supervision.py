"""Supervision API: chat monitoring (监控查询), exports and staffing (排班), for owners, supervisors and platform staff.

Agents and integration clients get 403 on these routes (404 for another shop's object, as everywhere).
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from backoffice.api.pagination import CursorPagination, StartedCursorPagination
from backoffice.api.permissions import MANAGERS
from backoffice.api.tenancy import ScopedViewMixin
from backoffice.errors import Conflict, Gone
from chats.choices import ExportFormat, ExportStatus
from chats.models import Conversation, Export
from chats.supervision.exports import export_create
from chats.supervision.monitoring import with_figures
from chats.supervision.staffing import staffing_heatmap, staffing_plan
from shops.models import Shop

from ..filtersets import ExportFilter, MonitoringConversationFilter
from ..serializers import (
    ExportCreatedSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    HeatmapCellSerializer,
    HeatmapQuerySerializer,
    MonitoringConversationSerializer,
    MonitoringTranscriptSerializer,
    PlanHourSerializer,
    PlanQuerySerializer,
    ShiftPlanSerializer,
)

# --- monitoring -----------------------------------------------------------------------------------------------------


class MonitoringConversationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewMixin, viewsets.GenericViewSet
):
    """Chat monitoring: conversations with first/max response time, turns, unanswered turns and rating.

    Owners, supervisors and platform staff only. ``GET …/{id}/`` is the transcript of one chat.
    """

    http_method_names = ["get", "head", "options"]
    queryset = Conversation.objects.select_related("buyer", "agent", "group")
    filterset_class = MonitoringConversationFilter
    filter_backends = [filters.DjangoFilterBackend]
    pagination_class = StartedCursorPagination
    action_roles = {"list": MANAGERS, "retrieve": MANAGERS}

    def get_serializer_class(self):
        return MonitoringTranscriptSerializer if self.action == "retrieve" else MonitoringConversationSerializer

    def filter_queryset(self, queryset):
        # Figures are attached after filtering: they are computed only for the rows a page returns.
        return with_figures(super().filter_queryset(queryset))


# --- exports --------------------------------------------------------------------------------------------------------


class FileNegotiation(DefaultContentNegotiation):
    """The download answers a file whatever the Accept header; errors still answer JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewMixin, viewsets.GenericViewSet):
    """Exports of monitored conversations or their messages (CSV/XLSX), written in the background.

    ``POST`` answers ``202 {"id", "status"}``; poll ``GET …/{id}/`` until ``done`` (or ``failed``), then
    ``GET …/{id}/download/`` (409 until done, 410 once the file is past its retention).
    """

    http_method_names = ["get", "post", "head", "options"]
    queryset = Export.objects.select_related("requested_by")
    serializer_class = ExportSerializer
    pagination_class = CursorPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = ExportFilter
    write_roles = MANAGERS
    action_roles = {"list": MANAGERS, "retrieve": MANAGERS, "download": MANAGERS}

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ExportRequestSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        export = export_create(
            shop=serializer.validated_data["shop"],
            requested_by=request.user,
            kind=serializer.validated_data["kind"],
            format=serializer.validated_data["format"],
            filters=serializer.validated_data["filters"],
        )
        return Response({"id": export.pk, "status": export.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, CONTENT_TYPES[ExportFormat.CSV]): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES[ExportFormat.XLSX]): OpenApiTypes.BINARY,
        }
    )
    @action(detail=True, methods=["get"], content_negotiation_class=FileNegotiation)
    def download(self, request, pk=None):
        """The export's file (409 while it is not done, 410 once deleted after its retention)."""
        export = self.get_object()
        if export.status != ExportStatus.DONE:
            raise Conflict(_("The export is not ready: it is %(status)s.") % {"status": export.get_status_display()})
        if export.file_deleted_at is not None or not export.file.name:
            raise Gone(_("The export's file was deleted after its retention period; export again."))
        try:
            handle = export.file.open("rb")
        except FileNotFoundError as error:
            raise Gone(_("The export's file is missing; export again.")) from error
        return FileResponse(
            handle, as_attachment=True, filename=export.filename, content_type=CONTENT_TYPES[export.format]
        )


# --- staffing -------------------------------------------------------------------------------------------------------


class StaffingViewSet(ScopedViewMixin, viewsets.GenericViewSet):
    """Staffing: the weekday x hour heatmap, agents needed per hour (Erlang C with concurrency), shift plan."""

    http_method_names = ["get", "head", "options"]
    queryset = Shop.objects.all()
    filter_backends = []
    pagination_class = None
    serializer_class = HeatmapCellSerializer
    action_roles = {"heatmap": MANAGERS, "plan": MANAGERS, "shift_plan": MANAGERS}

    def _params(self, serializer_class):
        params = serializer_class(data=self.request.query_params, context=self.get_serializer_context())
        params.is_valid(raise_exception=True)
        return params.validated_data

    @extend_schema(parameters=[HeatmapQuerySerializer], responses=HeatmapCellSerializer(many=True))
    @action(detail=False, methods=["get"])
    def heatmap(self, request):
        """Conversations started per ISO weekday and local hour over the last ``weeks`` whole weeks."""
        params = self._params(HeatmapQuerySerializer)
        cells = staffing_heatmap(shop=params["shop"], weeks=params["weeks"])
        return Response(HeatmapCellSerializer(cells, many=True).data)

    def _plan(self):
        params = self._params(PlanQuerySerializer)
        return staffing_plan(
            shop=params["shop"],
            day=params["date"],
            target=params["target"],
            within_seconds=params["within_seconds"],
            handle_seconds=params.get("handle_seconds"),
            concurrency=params.get("concurrency"),
            weeks=params["weeks"],
            shift_hours=params["shift_hours"],
            volume_factor=params["volume_factor"],
        )

    @extend_schema(parameters=[PlanQuerySerializer], responses=PlanHourSerializer(many=True))
    @action(detail=False, methods=["get"])
    def plan(self, request):
        """Per local hour of ``date``: forecast chats, agents needed to reach ``target`` within ``within_seconds``."""
        return Response(PlanHourSerializer(self._plan().hours, many=True).data)

    @extend_schema(parameters=[PlanQuerySerializer], responses=ShiftPlanSerializer)
    @action(detail=False, methods=["get"], url_path="shift-plan")
    def shift_plan(self, request):
        """The plan with the inputs it used and the shifts that cover every hour's need."""
        return Response(ShiftPlanSerializer(self._plan()).data)
