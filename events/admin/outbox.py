"""Admin for the outbox: the events as stored (read-only) and the feed cursors of its consumers."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backoffice.admin import ReadOnlyModelAdmin, ScopedRelatedFieldListFilter

from ..models import Event, FeedCursor


@admin.register(Event)
class EventAdmin(ReadOnlyModelAdmin):
    list_display = ["position", "type", "at", "shop", "conversation_id", "agent_id"]
    list_filter = ["type", "audience", ("shop", ScopedRelatedFieldListFilter), ("at", admin.DateFieldListFilter)]
    search_fields = ["=conversation_id", "=agent_id", "=position"]
    search_help_text = _("An event id, a conversation id or an agent id.")
    list_select_related = ["shop"]
    fields = [
        "position",
        "seq",
        "type",
        "at",
        "shop",
        "conversation_id",
        "agent_id",
        "previous_agent_id",
        "audience",
        "data_pretty",
    ]
    readonly_fields = fields
    ordering = ("-seq",)

    @admin.display(description=_("data"))
    def data_pretty(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.data, ensure_ascii=False, indent=2))


@admin.register(FeedCursor)
class FeedCursorAdmin(admin.ModelAdmin):
    """Platform staff only: moving a cursor back replays events to its consumer (deliveries are not duplicated)."""

    list_display = ["name", "position"]
    readonly_fields = ["name"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
