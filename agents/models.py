"""Sub-accounts (agents) and routing groups."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy import ShopScopedQuerySet
from shops.models import Shop

from .choices import AgentRole, AgentStatus, GroupPhase

MAX_CAPACITY = 500


class Agent(models.Model):
    """A shop's sub-account (or the main account): the login of one person serving buyers.

    ``active_chats`` is a counter kept by the chat services under a row lock, so routing can check capacity
    with one conditional UPDATE; ``agent_recount_active_chats`` rebuilds it from conversations.
    """

    tenancy_path = "shop"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent", verbose_name=_("user")
    )
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="agents", verbose_name=_("shop"))
    display_name = models.CharField(_("display name"), max_length=64)
    role = models.CharField(_("role"), max_length=16, choices=AgentRole.choices, default=AgentRole.AGENT)
    status = models.CharField(_("status"), max_length=16, choices=AgentStatus.choices, default=AgentStatus.OFFLINE)
    capacity = models.PositiveSmallIntegerField(
        _("capacity (max concurrent chats)"), default=5, validators=[MaxValueValidator(MAX_CAPACITY)]
    )
    active_chats = models.PositiveIntegerField(_("active chats"), default=0, editable=False)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["shop_id", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__lte=MAX_CAPACITY), name="agent_capacity_range"),
            models.CheckConstraint(condition=Q(active_chats__gte=0), name="agent_active_chats_non_negative"),
            models.CheckConstraint(condition=Q(role__in=AgentRole.values), name="agent_role_valid"),
            models.CheckConstraint(condition=Q(status__in=AgentStatus.values), name="agent_status_valid"),
        ]
        indexes = [
            # Routing: online agents of a shop with the fewest active chats, idle longest first.
            models.Index(fields=["shop", "status", "active_chats", "last_assigned_at"], name="agent_routing"),
        ]

    def __str__(self) -> str:
        return self.display_name


class RoutingGroup(models.Model):
    """A named set of agents that receives chats of one service phase (or any)."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="routing_groups", verbose_name=_("shop"))
    name = models.CharField(_("name"), max_length=64)
    phase = models.CharField(_("service phase"), max_length=16, choices=GroupPhase.choices, default=GroupPhase.ANY)
    is_default = models.BooleanField(_("default group"), default=False)
    members = models.ManyToManyField(Agent, related_name="routing_groups", blank=True, verbose_name=_("members"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("routing group")
        verbose_name_plural = _("routing groups")
        ordering = ["shop_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "name"],
                name="routing_group_name_unique_per_shop",
                violation_error_message=_("A routing group with this name already exists in this shop."),
            ),
            models.UniqueConstraint(
                fields=["shop"],
                condition=Q(is_default=True),
                name="routing_group_one_default_per_shop",
                violation_error_message=_("This shop already has a default group; unset it first."),
            ),
            models.CheckConstraint(condition=Q(phase__in=GroupPhase.values), name="routing_group_phase_valid"),
        ]

    def __str__(self) -> str:
        return self.name
