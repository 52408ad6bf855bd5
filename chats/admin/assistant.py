"""Admin for the service assistant's knowledge base."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ScopedModelAdmin, ScopedRelatedFieldListFilter

from ..assistant.faq import faq_entry_update
from ..models import FaqEntry


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
