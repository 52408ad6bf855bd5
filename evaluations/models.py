"""Rating invites and the buyers' evaluations (ratings) of a chat."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from chats.models import Conversation

from .choices import InviteChannel, InviteStatus


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
