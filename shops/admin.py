"""Admin for shops, integration clients and the marketplace data they post (buyers, orders, footprints, events)."""

from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from backoffice.admin import BigTableModelAdmin, ScopedModelAdmin, ScopedRelatedFieldListFilter

from .models import AfterSalesEvent, Buyer, Footprint, IntegrationClient, Order, RolloutConfig, Shop


def _count_of(queryset, column: str):
    """A correlated COUNT subquery: one per row of a page, instead of a join that multiplies rows."""
    counted = queryset.filter(**{column: OuterRef("pk")}).order_by().values(column).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted), 0)


@admin.register(Shop)
class ShopAdmin(ScopedModelAdmin):
    list_display = (
        "name",
        "id",
        "platform",
        "industry",
        "timezone",
        "bot_enabled",
        "queue_enabled",
        "subaccounts_enabled",
        "agent_count",
        "created_at",
    )
    list_display_links = ("name",)
    list_filter = ("platform", "bot_enabled", "queue_enabled", "subaccounts_enabled", "industry")
    search_fields = ("name", "industry")
    search_help_text = _("Name or industry; #42 finds the shop with id 42.")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at",)
    # A shop's staff manage their shop's settings; creating and removing shops is the platform's job.
    platform_only_permissions = ("add", "delete")
    fieldsets = (
        (None, {"fields": ("name", "platform", "industry", "timezone", "created_at")}),
        (
            _("Customer service"),
            {
                "fields": (
                    "bot_enabled",
                    "queue_enabled",
                    "subaccounts_enabled",
                    "invite_probability",
                    "idle_close_minutes",
                    "missed_followup_minutes",
                )
            },
        ),
        (
            _("Service assistant texts"),
            {
                "fields": ("bot_greeting", "bot_fallback_text", "queue_message", "offline_message", "busy_message"),
                "description": _("Leave a text blank to use the platform's default in the buyer's language."),
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(agent_total=_count_of(Agent.objects.all(), "shop"))

    @admin.display(description=_("agents"), ordering="agent_total")
    def agent_count(self, obj):
        return obj.agent_total


@admin.register(IntegrationClient)
class IntegrationClientAdmin(ScopedModelAdmin):
    list_display = ("name", "user", "shop_count", "created_at")
    list_select_related = ("user",)
    search_fields = ("name", "user__username")
    search_help_text = _("Name or username; #42 finds the client with id 42.")
    autocomplete_fields = ("user", "shops")
    readonly_fields = ("created_at",)
    # Marketplace systems posting for many shops: not a shop's business.
    platform_only_permissions = ("view", "add", "change", "delete")
    fixed_after_creation = ("user",)

    def get_queryset(self, request):
        through = IntegrationClient.shops.through.objects.all()
        return super().get_queryset(request).annotate(shop_total=_count_of(through, "integrationclient"))

    @admin.display(description=_("shops"), ordering="shop_total")
    def shop_count(self, obj):
        return obj.shop_total


@admin.register(Buyer)
class BuyerAdmin(BigTableModelAdmin):
    list_display = ("nick", "id", "credit_level", "verified", "positive_rate", "registered_at")
    list_display_links = ("nick",)
    list_filter = ("verified", ("registered_at", admin.DateFieldListFilter))
    # A case-sensitive prefix can use PostgreSQL's pattern index on the unique nick; icontains would scan.
    search_fields = ("nick__startswith",)
    search_help_text = _("Start of the nick (case-sensitive); #42 finds the buyer with id 42.")
    readonly_fields = ("created_at",)
    # Buyers are platform-wide: a shop's staff may look at those who dealt with their shop, not edit them.
    platform_only_permissions = ("add", "change", "delete")


class ShopOwnedAdmin(BigTableModelAdmin):
    """Rows a shop owns and an integration client posts: the shop is fixed once they exist."""

    fixed_after_creation = ("shop",)
    list_select_related = ("shop", "buyer")
    autocomplete_fields = ("shop", "buyer")


@admin.register(Order)
class OrderAdmin(ShopOwnedAdmin):
    list_display = (
        "external_id",
        "shop",
        "buyer",
        "status",
        "amount",
        "placed_at",
        "paid_at",
        "after_sales_open",
        "dispute",
        "rated",
    )
    list_filter = (
        "status",
        "after_sales_open",
        "dispute",
        "rated",
        ("placed_at", admin.DateFieldListFilter),
        ("shop", ScopedRelatedFieldListFilter),
    )
    search_fields = ("external_id__exact",)
    search_help_text = _("Exact external order id; #42 finds the order with id 42.")


@admin.register(Footprint)
class FootprintAdmin(ShopOwnedAdmin):
    list_display = ("item_title", "item_id", "shop", "buyer", "viewed_at")
    list_filter = (("viewed_at", admin.DateFieldListFilter), ("shop", ScopedRelatedFieldListFilter))
    search_fields = ("buyer__nick__exact",)
    search_help_text = _("Exact buyer nick; #42 finds the footprint with id 42.")


@admin.register(AfterSalesEvent)
class AfterSalesEventAdmin(ShopOwnedAdmin):
    list_display = ("id", "kind", "shop", "buyer", "occurred_at")
    list_filter = ("kind", ("occurred_at", admin.DateFieldListFilter), ("shop", ScopedRelatedFieldListFilter))
    search_fields = ("buyer__nick__exact",)
    search_help_text = _("Exact buyer nick; #42 finds the event with id 42.")


@admin.register(RolloutConfig)
class RolloutConfigAdmin(ScopedModelAdmin):
    """The one rollout configuration of the transfer-to-human entry: the changelist opens it directly."""

    fields = ("exposure_percent", "salt", "small_tier_start", "large_tier_start", "updated_at")
    readonly_fields = ("updated_at",)
    platform_only_permissions = ("view", "add", "change", "delete")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        RolloutConfig.current()  # the one row exists before anyone looks for it
        return super().get_queryset(request)
