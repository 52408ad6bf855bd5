"""Rating invites and the buyers' evaluations (ratings) of a chat."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent, RoutingGroup
from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from chats.models import Conversation
from shops.choices import ServicePhase
from shops.models import Shop

from .choices import InviteChannel, InviteStatus, MetricScope, ReceptionTier, ServedBy


class ConversationScopedQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Visible exactly when the rated conversation is (agents: their own chats)."""
        if caller.role == CallerRole.AGENT:
            return self.filter(conversation__in=Conversation.objects.for_caller(caller).values("pk"))
        return super().for_caller(caller)


class RatingInvite(models.Model):
    """A card asking the buyer to rate a chat; answerable for 24 hours after it is sent."""

    tenancy_path = "conversation__shop"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="rating_invites", verbose_name=_("conversation")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=InviteChannel.choices)
    status = models.CharField(_("status"), max_length=8, choices=InviteStatus.choices, default=InviteStatus.PENDING)
    agent = models.ForeignKey(
        Agent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rating_invites",
        verbose_name=_("agent who served"),
    )
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    objects = ConversationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("rating invite")
        verbose_name_plural = _("rating invites")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(channel=InviteChannel.SYSTEM),
                name="rating_invite_one_system_invite_per_conversation",
                violation_error_message=_("This chat already has a system rating invite."),
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[InviteChannel.SYSTEM, InviteChannel.AGENT]), name="rating_invite_channel"
            ),
            models.CheckConstraint(condition=Q(status__in=InviteStatus.values), name="rating_invite_status_valid"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("sent_at")), name="rating_invite_expires_later"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="rating_invite_due"),
            models.Index(fields=["sent_at"], name="rating_invite_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} #{self.pk}"

    def is_open_at(self, moment) -> bool:
        """Whether an answer at ``moment`` is still accepted (whatever the expiry sweep has done so far)."""
        return self.status == InviteStatus.PENDING and moment < self.expires_at


class InviteDecision(models.Model):
    """The one random draw of a chat's end: whether a system invite goes out. Kept so no retry draws again."""

    tenancy_path = "conversation__shop"

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="invite_decision", verbose_name=_("conversation")
    )
    send = models.BooleanField(_("invite sent"))
    probability = models.DecimalField(_("probability"), max_digits=4, decimal_places=3)
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("invite decision")
        verbose_name_plural = _("invite decisions")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.conversation_id}: {'sent' if self.send else 'not sent'}"


class Evaluation(models.Model):
    """A buyer's rating of a chat: 1 (very dissatisfied) to 5 (very satisfied); 4 and 5 count as satisfied."""

    tenancy_path = "conversation__shop"

    invite = models.OneToOneField(
        RatingInvite,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evaluation",
        verbose_name=_("invite"),
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="evaluations", verbose_name=_("conversation")
    )
    channel = models.CharField(_("channel"), max_length=8, choices=InviteChannel.choices)
    score = models.PositiveSmallIntegerField(_("score"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    tags = models.JSONField(_("tags"), default=list, blank=True)
    comment = models.TextField(_("comment"), max_length=500, blank=True)
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)

    objects = ConversationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-answered_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="evaluation_score_1_5"),
            models.CheckConstraint(
                condition=Q(channel=InviteChannel.SELF, invite__isnull=True)
                | (~Q(channel=InviteChannel.SELF) & Q(invite__isnull=False)),
                name="evaluation_self_iff_no_invite",
            ),
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(channel=InviteChannel.SELF),
                name="evaluation_one_self_rating_per_conversation",
                violation_error_message=_("The buyer has already rated this chat."),
            ),
        ]
        indexes = [models.Index(fields=["answered_at"], name="evaluation_answered")]

    def __str__(self) -> str:
        return f"{self.score}★ #{self.conversation_id}"

    @property
    def satisfied(self) -> bool:
        return self.score >= 4


def _count(label):
    return models.PositiveIntegerField(label, default=0)


def _rate(label):
    return models.FloatField(label, null=True, blank=True)


class DailyMetric(models.Model):
    """Service diagnosis of one shop-local day: for the shop, or one of its agents, groups or service phases.

    Written only by ``daily_metrics_rollup`` (``evaluations.metrics``), which documents every definition. Each rate
    is kept with its numerator and denominator; a rate is ``None`` when its denominator is 0.
    """

    tenancy_path = "shop"

    # No index of their own: the shop leads ``daily_metric_one_row``; agents and groups have partial indexes
    # (most rows have neither), so the nightly rollup's writes touch fewer indexes.
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, db_index=False, related_name="daily_metrics", verbose_name=_("shop")
    )
    date = models.DateField(_("date (shop's local day)"))
    scope = models.CharField(_("scope"), max_length=10, choices=MetricScope.choices)
    agent = models.ForeignKey(
        Agent,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_index=False,
        related_name="daily_metrics",
        verbose_name=_("agent"),
    )
    group = models.ForeignKey(
        RoutingGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_index=False,
        related_name="daily_metrics",
        verbose_name=_("routing group"),
    )
    phase = models.CharField(_("service phase"), max_length=16, choices=ServicePhase.choices, blank=True)
    served_by = models.CharField(_("served by"), max_length=8, choices=ServedBy.choices, blank=True)

    conversations = _count(_("conversations started"))
    # 3-minute response rate: first turns of the day's conversations that started between 09:00 and 21:00.
    first_turns_in_hours = _count(_("first turns between 09:00 and 21:00"))
    first_turns_answered_3m = _count(_("of which answered within 180 s"))
    response_rate_3m = _rate(_("3-minute response rate"))
    responded_turns = _count(_("responded turns"))
    response_seconds_total = models.FloatField(_("response seconds, total"), default=0)
    avg_response_seconds = _rate(_("average response time (s)"))
    first_responses = _count(_("responded first turns"))
    first_response_seconds_total = models.FloatField(_("first response seconds, total"), default=0)
    avg_first_response_seconds = _rate(_("average first response time (s)"))
    unanswered_turns = _count(_("unanswered turns"))
    ratings = _count(_("ratings"))
    satisfied_ratings = _count(_("satisfied ratings (4 or 5)"))
    satisfaction_rate = _rate(_("satisfaction rate"))
    fcr_services = _count(_("human after-sales services started by the buyer"))
    fcr_repeated = _count(_("of which followed by another within 72 hours"))
    fcr_open = _count(_("of which with the 72-hour window still open"))
    fcr_3d = _rate(_("after-sales 3-day FCR"))
    resolution_seekers = _count(_("buyers seeking after-sales help"))
    platform_consultations = _count(_("platform consultations"))
    disputes = _count(_("disputes"))
    complaint_interventions = _count(_("complaint interventions"))
    resolution_rate = _rate(_("after-sales resolution rate"))
    transfer_entry_shown = _count(_("bot-served chats with the transfer entry shown"))
    transfer_requests = _count(_("transfer-to-human requests (entry shown)"))
    transfer_rate = _rate(_("transfer-to-human rate"))
    bot_conversations_unexposed = _count(_("bot-served chats of unexposed buyers"))
    transfer_requests_unexposed = _count(_("transfer-to-human requests (unexposed buyers)"))
    transfer_rate_unexposed = _rate(_("transfer-to-human rate, unexposed buyers"))
    transfer_requests_typed = _count(_("transfer-to-human requests typed by the buyer"))
    # The service assistant: the chats it served, and how it answered the buyer messages of the day.
    bot_conversations = _count(_("bot-served chats"))
    bot_resolved = _count(_("of which ended without a transfer request"))
    bot_resolution_rate = _rate(_("bot resolution rate"))
    bot_replies = _count(_("assistant replies"))
    bot_fallbacks = _count(_("of which fallbacks"))
    fallback_rate = _rate(_("fallback rate"))
    bot_clarifications = _count(_("of which clarifications"))
    reception_volume = models.FloatField(_("daily average reception volume (30 days)"), null=True, blank=True)
    reception_tier = models.CharField(_("reception tier"), max_length=10, choices=ReceptionTier.choices, blank=True)
    first_turns_in_hours_7d = _count(_("first turns between 09:00 and 21:00, 7 days"))
    first_turns_answered_3m_7d = _count(_("of which answered within 180 s, 7 days"))
    response_rate_3m_7d = _rate(_("3-minute response rate, 7 days"))
    ratings_7d = _count(_("ratings, 7 days"))
    satisfied_ratings_7d = _count(_("satisfied ratings, 7 days"))
    satisfaction_rate_7d = _rate(_("satisfaction rate, 7 days"))
    fast_response_badge = models.BooleanField(_("fast-response badge"), default=False)
    stars = models.PositiveSmallIntegerField(_("service stars"), default=3)
    satisfaction_final = models.BooleanField(_("satisfaction final"), default=False)
    fcr_final = models.BooleanField(_("FCR final"), default=False)
    final = models.BooleanField(_("final"), default=False)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("daily metrics")
        verbose_name_plural = _("daily metrics")
        ordering = ["-date", "shop_id", "scope", "pk"]
        constraints = [
            # One row per shop, scope, day and dimension (the check below leaves one dimension per scope). One
            # index for every scope, so that the rollup can upsert with ``ON CONFLICT`` on it (see
            # ``DAILY_METRIC_KEY``); it also serves a shop's rows of a scope over a date range.
            models.UniqueConstraint(
                F("shop"),
                F("scope"),
                F("date"),
                Coalesce(F("agent"), Value(0), output_field=models.BigIntegerField()),
                Coalesce(F("group"), Value(0), output_field=models.BigIntegerField()),
                F("phase"),
                F("served_by"),
                name="daily_metric_one_row",
            ),
            models.CheckConstraint(
                condition=Q(scope=MetricScope.SHOP, agent__isnull=True, group__isnull=True, phase="", served_by="")
                | Q(scope=MetricScope.AGENT, agent__isnull=False, group__isnull=True, phase="", served_by="")
                | Q(scope=MetricScope.GROUP, agent__isnull=True, group__isnull=False, phase="", served_by="")
                | (Q(scope=MetricScope.PHASE, agent__isnull=True, group__isnull=True, served_by="") & ~Q(phase=""))
                | (Q(scope=MetricScope.SERVED_BY, agent__isnull=True, group__isnull=True, phase="") & ~Q(served_by="")),
                name="daily_metric_scope_dimensions",
            ),
            models.CheckConstraint(condition=Q(stars__gte=3, stars__lte=5), name="daily_metric_stars_3_5"),
        ]
        indexes = [
            models.Index(fields=["date", "scope"], name="daily_metric_date_scope"),
            # The shop rows of a date range (the rollup's 30-day volume, trends): about one row in seven.
            models.Index(fields=["shop", "date"], condition=Q(scope=MetricScope.SHOP), name="daily_metric_shop_days"),
            models.Index(fields=["agent"], condition=Q(agent__isnull=False), name="daily_metric_agent"),
            models.Index(fields=["group"], condition=Q(group__isnull=False), name="daily_metric_group"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.date} {self.get_scope_display()}"
