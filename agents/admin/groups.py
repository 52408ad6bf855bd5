"""Admin for routing groups: which agents receive pre-sales, after-sales or any chats. Writes go through
chats.routing.agent_changes (what a group's members do to the queue)."""

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from backoffice.admin import ScopedAdminForm, ScopedModelAdmin, ScopedRelatedFieldListFilter
from backoffice.errors import ApplicationError
from chats.routing.agent_changes import routing_group_update

from ..models import RoutingGroup


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
