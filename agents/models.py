"""Sub-accounts (agents) and routing groups."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from shops.models import Shop

from .choices import AgentRole, AgentStatus, AutoReplyTrigger, GroupPhase, PhraseScope

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
    # When a live connection of this agent (``/ws/v1/events/``) was last heard from: touched on connect, at every
    # ping and on disconnect. Presence sets an online agent offline once it is older than PRESENCE_GRACE_SECONDS.
    last_seen_at = models.DateTimeField(_("last seen live at"), null=True, blank=True, editable=False)
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
            # The presence sweep: online agents whose live connection went quiet.
            models.Index(fields=["last_seen_at"], condition=Q(status="online"), name="agent_online_last_seen"),
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


class QuickPhraseQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Shop staff see the team's phrases and their own personal ones, never another agent's."""
        if caller.role == CallerRole.INTEGRATION:
            return self.none()  # the marketplace's systems have no business with the workbench
        scoped = super().for_caller(caller)
        if caller.agent_id is not None:
            scoped = scoped.filter(Q(scope=PhraseScope.TEAM) | Q(owner_id=caller.agent_id))
        return scoped


class QuickPhrase(models.Model):
    """A saved reply (快捷短语): a team phrase of the shop, or an agent's personal one."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="quick_phrases", verbose_name=_("shop"))
    scope = models.CharField(_("scope"), max_length=8, choices=PhraseScope.choices, default=PhraseScope.PERSONAL)
    owner = models.ForeignKey(
        Agent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quick_phrases",
        verbose_name=_("owner"),
        help_text=_("The agent a personal phrase belongs to; empty for team phrases."),
    )
    shortcut = models.CharField(_("shortcut"), max_length=32)
    title = models.CharField(_("title"), max_length=100, blank=True)
    content = models.TextField(pgettext_lazy("text of a phrase or reply", "content"), max_length=2000)
    category = models.CharField(_("category"), max_length=64, blank=True)
    usage_count = models.PositiveIntegerField(_("times used"), default=0, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = QuickPhraseQuerySet.as_manager()

    class Meta:
        verbose_name = _("quick phrase")
        verbose_name_plural = _("quick phrases")
        ordering = ["shop_id", "category", "shortcut", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=PhraseScope.values), name="quick_phrase_scope_valid"),
            models.CheckConstraint(
                condition=Q(scope=PhraseScope.TEAM, owner__isnull=True)
                | Q(scope=PhraseScope.PERSONAL, owner__isnull=False),
                name="quick_phrase_owner_iff_personal",
            ),
            models.UniqueConstraint(
                fields=["shop", "shortcut"],
                condition=Q(scope=PhraseScope.TEAM),
                name="quick_phrase_team_shortcut_unique",
                violation_error_message=_("The shop already has a team phrase with this shortcut."),
            ),
            models.UniqueConstraint(
                fields=["owner", "shortcut"],
                condition=Q(scope=PhraseScope.PERSONAL),
                name="quick_phrase_personal_shortcut_unique",
                violation_error_message=_("This agent already has a personal phrase with this shortcut."),
            ),
        ]
        indexes = [models.Index(fields=["shop", "scope", "category"], name="quick_phrase_shop_scope")]

    def __str__(self) -> str:
        return f"{self.shortcut} · {self.title or self.content[:30]}"


class AutoReplyRuleQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Shop staff see the team's rules and their own personal ones, never another agent's."""
        if caller.role == CallerRole.INTEGRATION:
            return self.none()  # the marketplace's systems have no business with the workbench
        scoped = super().for_caller(caller)
        if caller.agent_id is not None:
            scoped = scoped.filter(Q(agent__isnull=True) | Q(agent_id=caller.agent_id))
        return scoped


class AutoReplyRule(models.Model):
    """An auto-reply (自动回复): text the system sends for an agent on a trigger; personal rules win over team ones."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="auto_reply_rules", verbose_name=_("shop"))
    agent = models.ForeignKey(
        Agent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="auto_reply_rules",
        verbose_name=_("agent"),
        help_text=_("Set for a personal rule; empty for the shop's team rule."),
    )
    trigger = models.CharField(_("trigger"), max_length=24, choices=AutoReplyTrigger.choices)
    threshold = models.PositiveSmallIntegerField(
        _("threshold (active chats)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_CAPACITY)],
        help_text=_("For “over capacity”: sent when the agent has more than this many active chats."),
    )
    content = models.TextField(pgettext_lazy("text of a phrase or reply", "content"), max_length=1000)
    enabled = models.BooleanField(_("enabled"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = AutoReplyRuleQuerySet.as_manager()

    class Meta:
        verbose_name = _("auto-reply rule")
        verbose_name_plural = _("auto-reply rules")
        ordering = ["shop_id", "agent_id", "trigger"]
        constraints = [
            models.CheckConstraint(condition=Q(trigger__in=AutoReplyTrigger.values), name="auto_reply_trigger_valid"),
            models.CheckConstraint(
                condition=Q(trigger=AutoReplyTrigger.OVER_CAPACITY, threshold__isnull=False)
                | (~Q(trigger=AutoReplyTrigger.OVER_CAPACITY) & Q(threshold__isnull=True)),
                name="auto_reply_threshold_iff_over_capacity",
                violation_error_message=_("A threshold is required for “over capacity” and only for it."),
            ),
            models.UniqueConstraint(
                fields=["shop", "trigger"],
                condition=Q(agent__isnull=True),
                name="auto_reply_team_trigger_unique",
                violation_error_message=_("The shop already has a team rule for this trigger."),
            ),
            models.UniqueConstraint(
                fields=["agent", "trigger"],
                condition=Q(agent__isnull=False),
                name="auto_reply_personal_trigger_unique",
                violation_error_message=_("This agent already has a personal rule for this trigger."),
            ),
        ]
        indexes = [models.Index(fields=["shop", "enabled", "trigger"], name="auto_reply_shop_enabled")]

    def __str__(self) -> str:
        owner = self.agent or _("team")
        return f"{self.get_trigger_display()} · {owner}"
