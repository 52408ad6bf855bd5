"""Admin for auto-reply rules: the team's and each agent's own, switched on and off by actions."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.errors import ApplicationError

from ..models import AutoReplyRule
from ..services import auto_reply_rule_check, auto_reply_rule_create, auto_reply_rule_update
from .forms import WorkbenchAdminForm


class TeamOrPersonalFilter(admin.SimpleListFilter):
    title = _("scope")
    parameter_name = "personal"

    def lookups(self, request, model_admin):
        return (("0", _("Team")), ("1", _("Personal")))

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(agent__isnull=self.value() == "0")
        return queryset


class AutoReplyRuleAdminForm(WorkbenchAdminForm):
    class Meta:
        model = AutoReplyRule
        fields = "__all__"

    def clean(self):
        cleaned_data = super().clean()
        shop = self._shop()
        agent = cleaned_data.get("agent") if "agent" in self.fields else self.instance.agent
        trigger = cleaned_data.get("trigger") if "trigger" in self.fields else self.instance.trigger
        if shop is None or trigger is None or self.errors:
            return cleaned_data
        threshold = cleaned_data.get("threshold", self.instance.threshold)
        probe = AutoReplyRule(pk=self.instance.pk, shop=shop, agent=agent, trigger=trigger, threshold=threshold)
        self._report(auto_reply_rule_check, rule=probe)
        return cleaned_data


@admin.register(AutoReplyRule)
class AutoReplyRuleAdmin(ScopedModelAdmin):
    form = AutoReplyRuleAdminForm
    list_display = ("trigger", "shop", "scope_label", "threshold", "enabled", "short_content", "updated_at")
    list_filter = ("trigger", "enabled", TeamOrPersonalFilter, ("shop", ScopedRelatedFieldListFilter))
    list_select_related = ("shop", "agent")
    search_fields = ("content", "agent__display_name")
    search_help_text = _("Content or agent name; #42 finds the rule with id 42.")
    autocomplete_fields = ("shop", "agent")
    readonly_fields = ("created_at", "updated_at")
    fixed_after_creation = ("shop", "agent", "trigger")
    actions = ("switch_on", "switch_off")

    @admin.display(description=_("for"), ordering="agent__display_name")
    def scope_label(self, obj):
        return obj.agent or _("Team")

    @admin.display(description=_("content"))
    def short_content(self, obj):
        return obj.content[:60]

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
            auto_reply_rule_update(rule=obj, **fields)
        else:
            created = auto_reply_rule_create(
                shop=obj.shop,
                agent=obj.agent,
                trigger=obj.trigger,
                threshold=obj.threshold,
                content=obj.content,
                enabled=obj.enabled,
            )
            obj.pk = created.pk

    def _switch(self, request, queryset, enabled: bool) -> None:
        changed = 0
        for rule in queryset:
            try:
                auto_reply_rule_update(rule=rule, enabled=enabled)
            except ApplicationError as error:
                self.message_user(request, f"{rule}: {error.message}", messages.ERROR)
            else:
                changed += 1
        message = ngettext("%(count)d rule updated.", "%(count)d rules updated.", changed) % {"count": changed}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Switch selected rules on"), permissions=["change"])
    def switch_on(self, request, queryset):
        self._switch(request, queryset, True)

    @admin.action(description=_("Switch selected rules off"), permissions=["change"])
    def switch_off(self, request, queryset):
        self._switch(request, queryset, False)
