"""Admin for agents (sub-accounts) and routing groups. Status changes and counters go through agents.services."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ScopedAdminForm, ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.errors import ApplicationError
from backoffice.tenancy import caller_for

from .choices import AgentStatus
from .models import Agent, RoutingGroup
from .services import agent_recount_active_chats, agent_set_status, routing_group_update


@admin.register(Agent)
class AgentAdmin(ScopedModelAdmin):
    list_display = (
        "display_name",
        "user",
        "shop",
        "role",
        "status",
        "load",
        "group_count",
        "status_changed_at",
        "last_assigned_at",
    )
    list_filter = ("status", "role", ("shop", ScopedRelatedFieldListFilter))
    list_select_related = ("shop", "user")
    search_fields = ("display_name", "user__username")
    search_help_text = _("Display name or username; #42 finds the agent with id 42.")
    autocomplete_fields = ("user", "shop")
    # Status changes only through the actions (the service stamps status_changed_at and, later, takes queued
    # chats); the counters belong to the chat services.
    readonly_fields = ("status", "active_chats", "status_changed_at", "last_assigned_at", "created_at")
    fixed_after_creation = ("user", "shop")
    fieldsets = (
        (None, {"fields": ("user", "shop", "display_name", "role", "capacity")}),
        (_("Workload"), {"fields": ("status", "active_chats", "status_changed_at", "last_assigned_at", "created_at")}),
    )
    actions = ("set_status_online", "set_status_offline", "recount_active_chats")

    def get_queryset(self, request):
        memberships = (
            RoutingGroup.members.through.objects.filter(agent=OuterRef("pk"))
            .order_by()
            .values("agent")
            .annotate(n=Count("*"))
            .values("n")
        )
        return super().get_queryset(request).annotate(group_total=Coalesce(Subquery(memberships), 0))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user" and not caller_for(request.user).is_platform:
            # A shop's staff may only attach a fresh login: never staff, a superuser, an integration client
            # or another shop's agent (that would move someone else's account into their shop).
            kwargs["queryset"] = get_user_model()._default_manager.filter(
                is_staff=False, is_superuser=False, agent__isnull=True, integration_client__isnull=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("active chats / capacity"), ordering="active_chats")
    def load(self, obj):
        return f"{obj.active_chats} / {obj.capacity}"

    @admin.display(description=_("routing groups"), ordering="group_total")
    def group_count(self, obj):
        return obj.group_total

    def _set_status(self, request, queryset, status: str) -> None:
        changed = failed = 0
        for agent in queryset:
            try:
                agent_set_status(agent=agent, status=status)
            except ApplicationError as error:
                failed += 1
                self.message_user(request, f"{agent}: {error.message}", messages.ERROR)
            else:
                changed += 1
        if changed:
            label = AgentStatus(status).label
            message = ngettext(
                "%(count)d agent set to “%(status)s”.", "%(count)d agents set to “%(status)s”.", changed
            ) % {"count": changed, "status": label}
            self.message_user(request, message, messages.WARNING if failed else messages.SUCCESS)

    @admin.action(description=_("Set status online"), permissions=["change"])
    def set_status_online(self, request, queryset):
        self._set_status(request, queryset, AgentStatus.ONLINE)

    @admin.action(description=_("Set status offline"), permissions=["change"])
    def set_status_offline(self, request, queryset):
        self._set_status(request, queryset, AgentStatus.OFFLINE)

    @admin.action(description=_("Recount active chats"), permissions=["change"])
    def recount_active_chats(self, request, queryset):
        shop_ids = sorted(set(queryset.values_list("shop_id", flat=True)))
        updated = agent_recount_active_chats(shop_ids=shop_ids)
        message = ngettext(
            "Active chats recounted for %(count)d agent of the selected agents' shops.",
            "Active chats recounted for %(count)d agents of the selected agents' shops.",
            updated,
        ) % {"count": updated}
        self.message_user(request, message, messages.SUCCESS)


class RoutingGroupAdminForm(ScopedAdminForm):
    class Meta:
        model = RoutingGroup
        fields = "__all__"

    def clean(self):
        cleaned_data = super().clean()
        shop = cleaned_data.get("shop") if "shop" in self.fields else self.instance.shop
        members = cleaned_data.get("members")
        if shop is not None and members and any(member.shop_id != shop.pk for member in members):
            self.add_error("members", _("Every member must be an agent of the group's shop."))
        return cleaned_data


@admin.register(RoutingGroup)
class RoutingGroupAdmin(ScopedModelAdmin):
    form = RoutingGroupAdminForm
    list_display = ("name", "shop", "phase", "is_default", "member_count", "created_at")
    list_filter = ("phase", "is_default", ("shop", ScopedRelatedFieldListFilter))
    list_select_related = ("shop",)
    search_fields = ("name", "shop__name")
    search_help_text = _("Group or shop name; #42 finds the group with id 42.")
    autocomplete_fields = ("shop", "members")
    readonly_fields = ("created_at",)
    fixed_after_creation = ("shop",)
    actions = ("make_default",)

    def get_queryset(self, request):
        memberships = (
            RoutingGroup.members.through.objects.filter(routinggroup=OuterRef("pk"))
            .order_by()
            .values("routinggroup")
            .annotate(n=Count("*"))
            .values("n")
        )
        return super().get_queryset(request).annotate(member_total=Coalesce(Subquery(memberships), 0))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj):
        return obj.member_total

    @admin.action(description=_("Make default group"), permissions=["change"])
    def make_default(self, request, queryset):
        groups = list(queryset[:2])
        if len(groups) != 1:
            self.message_user(request, _("Select exactly one routing group to make it the default."), messages.WARNING)
            return
        try:
            group = routing_group_update(group=groups[0], is_default=True)
        except ApplicationError as error:
            self.message_user(request, str(error.message), messages.ERROR)
            return
        message = _("“%(group)s” is now the default group of %(shop)s.") % {"group": group, "shop": group.shop}
        self.message_user(request, message, messages.SUCCESS)
