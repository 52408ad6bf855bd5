"""``GET /api/v1/events/``: the events a caller may see, in commit order, after the last id it saw."""

import json

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, pagination, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from backoffice.api.tenancy import ScopedFilterSet, ScopedViewMixin
from events.choices import EventType
from events.feed import events_after_rows, events_sequence
from events.models import Event
from events.rendering import event_json
from shops.models import Shop


class EventSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="position", read_only=True)
    conversation = serializers.IntegerField(source="conversation_id", allow_null=True, read_only=True)
    agent = serializers.IntegerField(source="agent_id", allow_null=True, read_only=True)
    data = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "type", "at", "shop", "conversation", "agent", "data"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_data(self, event) -> dict:
        return event.data


def feed_page_json(rows: list[tuple], next_link: str | None) -> str:
    """The page ``EventSerializer`` describes, as JSON text built around each event's stored ``data`` JSON."""
    zone = timezone.get_current_timezone()  # once a page: it is a context-local look-up
    results = ",".join(event_json(*row, zone=zone) for row in rows)
    return f'{{"next":{json.dumps(next_link)},"previous":null,"results":[{results}]}}'


class TypeListFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """``type=a,b``: any of the listed types."""


class EventFilter(ScopedFilterSet):
    type = TypeListFilter(
        choices=EventType.choices, lookup_expr="in", help_text=_("Event types, comma-separated (any of them).")
    )
    shop = filters.ModelChoiceFilter(queryset=Shop.objects.all())
    conversation = filters.NumberFilter(field_name="conversation_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Event
        fields = ["type", "shop", "conversation"]


class AfterPagination(pagination.BasePagination):
    """Pages by position: ``after`` is the last id the client saw; ``next`` carries the last id of a full page.

    The committed events are numbered (``events_sequence``) before each page is read, so a page ends at the
    highest position that no transaction still in flight can precede.
    """

    page_size = 100
    max_page_size = 1000
    after_query_param = "after"
    page_size_query_param = "page_size"

    def _int_param(self, request, name, default, minimum, maximum):
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValidationError({name: [_("A whole number is required.")]}) from None
        if not minimum <= value <= maximum:
            raise ValidationError(
                {name: [_("Must be between %(min)s and %(max)s.") % {"min": minimum, "max": maximum}]}
            )
        return value

    def paginate_queryset(self, queryset, request, view=None):
        after = self._int_param(request, self.after_query_param, 0, 0, 2**63 - 1)
        size = self._int_param(request, self.page_size_query_param, self.page_size, 1, self.max_page_size)
        events_sequence()
        page = events_after_rows(queryset, after=after, limit=size + 1)
        self.has_next = len(page) > size
        page = page[:size]
        self.next_after = page[-1][0] if page else after
        self.request = request
        return page

    def get_next_link(self):
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.after_query_param, self.next_after)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": None, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.after_query_param,
                "required": False,
                "in": "query",
                "description": str(_("The last event id the client saw (0 or absent: from the oldest kept).")),
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": str(_("Events per page.")),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class EventFeedView(ScopedViewMixin, generics.ListAPIView):
    """Events the caller may see, ascending id (commit order). A client that always passes the last id it saw as
    ``after`` sees every event exactly once. Agents see the events of chats while they serve them, their shop's
    queue events, and their own notifications and status changes; everyone else sees whole shops."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = AfterPagination
    filter_backends = [filters.DjangoFilterBackend]

    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return HttpResponse(feed_page_json(rows, self.paginator.get_next_link()), content_type="application/json")
