"""Admin for agents (sub-accounts). Logins go through agents.services; status, capacity and counters through
chats.routing.agent_changes (what they do to the queue)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import UsernameField
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin import ScopedAdminForm, ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.callers import caller_for
from backoffice.errors import ApplicationError, InvalidInput
from backoffice.tenancy import NOBODY, Caller
from chats.routing.agent_changes import agent_recount_active_chats, agent_set_status, agent_update

from ..choices import AgentStatus
from ..models import Agent, RoutingGroup
from ..services import agent_check_may_manage, agent_create

_username_field = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD)


class AgentOwnerRuleMixin:
    """Reports ``agent_check_may_manage`` (the owner-role rule the API applies too) as an error on the role."""

    caller: Caller = NOBODY  # set by ``AgentAdmin.get_form`` on the fresh form class of each request

    def _check_owner_rule(self, role: str | None) -> None:
        try:
            agent_check_may_manage(caller=self.caller, agent=self.instance if self.instance.pk else None, role=role)
        except ApplicationError as error:
            self.add_error("role", str(error.message))


class RoutingGroupChoiceField(forms.ModelMultipleChoiceField):
    """Groups named with their shop: platform staff choose among every shop's groups, often of the same names."""

    def label_from_instance(self, obj):
        return f"{obj.shop} – {obj}"


class AgentChangeForm(AgentOwnerRuleMixin, ScopedAdminForm):
    class Meta:
        model = Agent
        fields = "__all__"

    def clean(self):
        cleaned_data = super().clean()
        if "role" in self.fields:
            self._check_owner_rule(cleaned_data.get("role"))
        return cleaned_data


class AgentAddForm(AgentOwnerRuleMixin, ScopedAdminForm):
    """Creates the login and the sub-account together through ``agent_create``.

    The service runs at the end of validation, so what it refuses (a taken username, a weak password) becomes
    an error on that field; the admin's add view wraps validation and saving in one transaction.
    """

    username = UsernameField(
        label=_("username"),
        max_length=_username_field.max_length,
        validators=[UnicodeUsernameValidator()],
        help_text=_username_field.help_text,
    )
    password = forms.CharField(
        label=_("password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    routing_groups = RoutingGroupChoiceField(
        label=_("routing groups"),
        queryset=RoutingGroup.objects.select_related("shop").order_by("shop__name", "name"),
        required=False,
        widget=FilteredSelectMultiple(_("routing groups"), is_stacked=False),
    )

    class Meta:
        model = Agent
        fields = ("shop", "display_name", "role", "capacity")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["routing_groups"].queryset = self.fields["routing_groups"].queryset.for_caller(self.caller)

    def clean(self):
        cleaned_data = super().clean()
        self._check_owner_rule(cleaned_data.get("role"))
        shop, groups = cleaned_data.get("shop"), cleaned_data.get("routing_groups")
        if shop is not None and groups and any(group.shop_id != shop.pk for group in groups):
            self.add_error("routing_groups", _("Every routing group must belong to the agent's shop."))
        return cleaned_data

    def _post_clean(self):
        super()._post_clean()  # model validation first: the service's own full_clean then has nothing to refuse
        if self.errors:
            return
        data = self.cleaned_data
        try:
            self.instance = agent_create(
                shop=data["shop"],
                username=data["username"],
                password=data["password"],
                display_name=data["display_name"],
                role=data["role"],
                capacity=data["capacity"],
                routing_groups=data["routing_groups"],
            )
        except InvalidInput as error:
            self.add_error(error.field if error.field in self.fields else None, str(error.message))
        except ValidationError as error:
            self.add_error(None, error.messages)

    def save(self, commit=True):
        # agent_create saved the login, the agent and its groups during validation.
        self.save_m2m = lambda: None
        return self.instance


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
    autocomplete_fields = ("shop",)
    form = AgentChangeForm
    add_form = AgentAddForm
    # Status changes only through the actions (the service stamps status_changed_at and, later, takes queued
    # chats); the counters belong to the chat services.
    readonly_fields = ("status", "active_chats", "status_changed_at", "last_assigned_at", "created_at")
    fixed_after_creation = ("user", "shop")
    fieldsets = (
        (None, {"fields": ("user", "shop", "display_name", "role", "capacity")}),
        (_("Workload"), {"fields": ("status", "active_chats", "status_changed_at", "last_assigned_at", "created_at")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password", "shop", "display_name", "role", "capacity", "routing_groups")}),
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

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        form.caller = caller_for(request.user)  # a fresh class per call: safe to set
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            return  # AgentAddForm created the login and the agent through agent_create
        # Through the service: more capacity goes to the shop's queue at once.
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        if changed:
            agent_update(agent=obj, **changed)

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
