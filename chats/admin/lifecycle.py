"""Admin for conversations, messages, turns and the service-event log: for looking, not for chatting.

Conversations start and move (bot, queue, agent, group, end) only through the chat services, and messages
arrive through the API, so the admin shows them read-only. Both are history that metrics (and agents'
``active_chats`` counters) depend on: nobody deletes them here. Both tables grow without bound: see
``BigTableModelAdmin``.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import BigTableModelAdmin, ReadOnlyModelAdmin, ReadOnlyTabularInline, ScopedRelatedFieldListFilter

from ..choices import ClosedBy, ConversationStatus, ExportKind
from ..lifecycle.conversations import conversation_close
from ..models import Conversation, Message, ServiceEvent, Turn
from ..routing.queue import queue_position_expression
from .supervision import export_selected_conversations

TRANSCRIPT_LIMIT = 200


class TranscriptInline(ReadOnlyTabularInline):
    model = Message
    verbose_name_plural = _("transcript")
    fields = ("sent_at", "sender", "agent", "body", "is_auto_reply", "flags")
    readonly_fields = fields
    ordering = ("sent_at", "pk")
    row_limit = TRANSCRIPT_LIMIT
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("agent")

    def has_delete_permission(self, request, obj=None):
        return False  # history: stated here too, whatever the base inline allows


@admin.register(Conversation)
class ConversationAdmin(BigTableModelAdmin):
    list_display = (
        "id",
        "shop",
        "buyer",
        "status",
        "agent",
        "group",
        "phase",
        "entry_point",
        "queue_position",
        "started_at",
        "ended_at",
    )
    list_filter = (
        "status",
        "closed_by",
        "phase",
        "entry_point",
        "transfer_entry_visible",
        "transfer_source",
        ("started_at", admin.DateFieldListFilter),
        ("shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("shop", "buyer", "agent", "group")
    search_fields = ("buyer__nick__exact",)
    search_help_text = _("Exact buyer nick; #42 finds the conversation with id 42.")
    autocomplete_fields = ("shop", "buyer", "agent", "group")
    # Entry point and phase may be corrected by the platform; everything else is the chat services' state.
    readonly_fields = (
        "shop",
        "buyer",
        "started_at",
        *Conversation.SERVICE_STATE_FIELDS,
        "queue_position",
        "all_messages",
    )
    fieldsets = (
        (None, {"fields": ("shop", "buyer", "entry_point", "entry_ref", "phase")}),
        (
            _("Service"),
            {"fields": ("status", "queue_position", "agent", "group", "transfer_entry_visible", "buyer_exposed")},
        ),
        (
            _("Times"),
            {
                "fields": (
                    "started_at",
                    "transfer_requested_at",
                    "transfer_source",
                    "queued_at",
                    "assigned_at",
                    "last_message_at",
                    "ended_at",
                    "closed_by",
                )
            },
        ),
        (None, {"fields": ("all_messages",)}),
    )
    inlines = (TranscriptInline,)
    actions = ("force_close", "export_conversations", "export_messages")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(annotated_queue_position=queue_position_expression())

    @admin.display(description=_("queue position"))
    def queue_position(self, obj):
        return getattr(obj, "annotated_queue_position", None)

    @admin.action(description=_("Export selected chats with their response figures (CSV)"))
    def export_conversations(self, request, queryset):
        export_selected_conversations(self, request, queryset, kind=ExportKind.CONVERSATIONS)

    @admin.action(description=_("Export the messages of selected chats (CSV)"))
    def export_messages(self, request, queryset):
        export_selected_conversations(self, request, queryset, kind=ExportKind.MESSAGES)

    @admin.action(description=_("Force-close selected chats"))
    def force_close(self, request, queryset):
        """Ends the chats through the chat service, so seats are freed and the queue moves on."""
        ids = list(queryset.exclude(status=ConversationStatus.ENDED).values_list("pk", flat=True))
        for conversation_id in ids:
            conversation_close(conversation_id=conversation_id, closed_by=ClosedBy.SYSTEM, actor_id=request.user.pk)
        self.message_user(
            request,
            ngettext("%(count)d chat closed.", "%(count)d chats closed.", len(ids)) % {"count": len(ids)},
            messages.SUCCESS,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("messages"))
    def all_messages(self, obj):
        url = reverse("admin:chats_message_changelist") + f"?conversation__id__exact={obj.pk}"
        note = _("The transcript below shows the first %(limit)d messages.") % {"limit": TRANSCRIPT_LIMIT}
        return format_html('<a href="{}">{}</a> ({})', url, _("All messages of this conversation"), note)


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "conversation", "shop", "sender", "agent", "excerpt", "sent_at", "is_auto_reply", "flags")
    list_filter = (
        "sender",
        "is_auto_reply",
        ("sent_at", admin.DateFieldListFilter),
        ("conversation__shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("conversation__shop", "agent")
    search_fields = ("conversation__buyer__nick__exact",)
    search_help_text = _("Exact buyer nick; #42 finds the message with id 42.")
    autocomplete_fields = ("conversation", "agent")
    fields = ("conversation", "sender", "agent", "body", "sent_at", "is_auto_reply", "flags")

    @admin.display(description=_("shop"), ordering="conversation__shop")
    def shop(self, obj):
        return obj.conversation.shop

    @admin.display(description=_("body"))
    def excerpt(self, obj):
        return Truncator(obj.body).chars(80)


@admin.register(Turn)
class TurnAdmin(ReadOnlyModelAdmin):
    """Buyer turns and their responses, as the daily metrics count them (derived from the messages)."""

    list_display = (
        "id",
        "conversation",
        "shop",
        "number",
        "started_at",
        "responded_at",
        "responder_sender",
        "responder_agent",
        "response_seconds",
    )
    list_filter = (
        "responder_sender",
        ("started_at", admin.DateFieldListFilter),
        ("shop", ScopedRelatedFieldListFilter),
    )
    list_select_related = ("shop", "conversation", "responder_agent")
    search_fields = ("conversation__buyer__nick__exact",)
    search_help_text = _("Exact buyer nick; #42 finds the turn with id 42.")
    fields = list_display[1:]


@admin.register(ServiceEvent)
class ServiceEventAdmin(ReadOnlyModelAdmin):
    """Who did what to which chat, and when: read-only, as an audit log must be."""

    list_display = ("created_at", "kind", "shop", "conversation_id", "agent", "from_agent", "group", "outcome", "actor")
    list_filter = ("kind", ("shop", ScopedRelatedFieldListFilter), "created_at")
    search_fields = ("=conversation__id", "agent__display_name")
    list_select_related = ("shop", "agent", "from_agent", "group", "actor")
