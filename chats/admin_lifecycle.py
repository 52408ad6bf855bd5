"""Admin for the service assistant's knowledge base and the service-event log (imported by ``chats.admin``)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ReadOnlyModelAdmin, ScopedModelAdmin, ScopedRelatedFieldListFilter

from .models import FaqEntry, ServiceEvent
from .services import faq_entry_update


@admin.register(FaqEntry)
class FaqEntryAdmin(ScopedModelAdmin):
    list_display = ("question", "shop", "keyword_list", "enabled", "created_at")
    list_filter = ("enabled", ("shop", ScopedRelatedFieldListFilter))
    search_fields = ("question", "answer")
    list_select_related = ("shop",)
    autocomplete_fields = ("shop",)
    fixed_after_creation = ("shop",)
    actions = ("enable_entries", "disable_entries")

    @admin.display(description=_("keywords"))
    def keyword_list(self, entry):
        return "、".join(entry.keywords)

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        for entry in queryset:
            faq_entry_update(entry=entry, enabled=enabled)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d entry updated.", "%(count)d entries updated.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Enable selected FAQ entries"))
    def enable_entries(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Disable selected FAQ entries"))
    def disable_entries(self, request, queryset):
        self._set_enabled(request, queryset, False)


@admin.register(ServiceEvent)
class ServiceEventAdmin(ReadOnlyModelAdmin):
    """Who did what to which chat, and when: read-only, as an audit log must be."""

    list_display = ("created_at", "kind", "shop", "conversation_id", "agent", "from_agent", "group", "outcome", "actor")
    list_filter = ("kind", ("shop", ScopedRelatedFieldListFilter), "created_at")
    search_fields = ("=conversation__id", "agent__display_name")
    list_select_related = ("shop", "agent", "from_agent", "group", "actor")
