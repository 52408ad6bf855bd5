"""Conversations (chats) between a buyer and a shop, their messages, their turns and the service-event log."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent, RoutingGroup
from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from shops.choices import ServicePhase
from shops.models import Buyer, Shop

from ..choices import ClosedBy, ConversationStatus, EntryPoint, EventKind, Sender, TransferSource

MESSAGE_BODY_MAX_LENGTH = 5000


class ConversationQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Agents see their own chats and their shop's line (queued chats and left messages); managers and integrations
        the whole shop."""
        scoped = super().for_caller(caller)
        if caller.role == CallerRole.AGENT:
            waiting = (ConversationStatus.QUEUED, ConversationStatus.LEFT_MESSAGE)
            scoped = scoped.filter(Q(agent_id=caller.agent_id) | Q(status__in=waiting))
        return scoped


class Conversation(models.Model):
    """One chat of a buyer with a shop, from the first message until it ends."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("shop"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="conversations", verbose_name=_("buyer"))
    entry_point = models.CharField(_("entry point"), max_length=8, choices=EntryPoint.choices, default=EntryPoint.SHOP)
    entry_ref = models.CharField(_("entry reference (item or order id)"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="conversations", verbose_name=_("agent")
    )
    group = models.ForeignKey(
        RoutingGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("routing group"),
    )
    phase = models.CharField(_("service phase"), max_length=16, choices=ServicePhase.choices)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    transfer_entry_visible = models.BooleanField(_("transfer-to-human entry visible"), default=False)
    buyer_exposed = models.BooleanField(
        _("buyer in the exposure bucket"),
        default=False,
        help_text=_("Kept for comparing exposed and unexposed buyers."),
    )
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    transfer_requested_at = models.DateTimeField(_("transfer to human requested at"), null=True, blank=True)
    transfer_source = models.CharField(
        _("transfer request source"),
        max_length=8,
        choices=TransferSource.choices,
        blank=True,
        help_text=_("How the buyer first asked for a human: the entry's button or a typed message."),
    )
    assigned_at = models.DateTimeField(_("first assigned to a human at"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)
    closed_by = models.CharField(_("ended by"), max_length=8, choices=ClosedBy.choices, blank=True)

    objects = ConversationQuerySet.as_manager()

    # The chat's service state: only the chat services change it, so the API and the admin show it read-only.
    SERVICE_STATE_FIELDS = (
        "status",
        "agent",
        "group",
        "transfer_entry_visible",
        "buyer_exposed",
        "queued_at",
        "transfer_requested_at",
        "transfer_source",
        "assigned_at",
        "last_message_at",
        "ended_at",
        "closed_by",
    )

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ConversationStatus.values), name="conversation_status_valid"),
            models.CheckConstraint(condition=Q(phase__in=ServicePhase.values), name="conversation_phase_valid"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="conversation_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status=ConversationStatus.ENDED, ended_at__isnull=False)
                | (~Q(status=ConversationStatus.ENDED) & Q(ended_at__isnull=True)),
                name="conversation_ended_iff_ended_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=ConversationStatus.HUMAN) | Q(agent__isnull=False),
                name="conversation_human_has_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-started_at"], name="conversation_shop_started"),
            models.Index(fields=["shop", "status", "queued_at"], name="conversation_shop_queue"),
            models.Index(fields=["agent", "status"], name="conversation_agent_status"),
            models.Index(fields=["buyer", "shop", "started_at"], name="conversation_buyer_shop"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.buyer_id}@{self.shop_id}"


class ConversationPartQuerySet(ShopScopedQuerySet):
    """For rows that belong to one conversation (messages, turns)."""

    def for_caller(self, caller: Caller):
        """A message or turn is visible exactly when its conversation is."""
        if caller.role == CallerRole.AGENT:
            return self.filter(conversation__in=Conversation.objects.for_caller(caller).values("pk"))
        return super().for_caller(caller)


class Message(models.Model):
    """One message of a conversation, from the buyer, an agent, the bot, the system or the platform."""

    tenancy_path = "conversation__shop"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name=_("conversation")
    )
    sender = models.CharField(_("sender"), max_length=8, choices=Sender.choices)
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="messages", verbose_name=_("agent")
    )
    body = models.TextField(_("body"), max_length=MESSAGE_BODY_MAX_LENGTH)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    is_auto_reply = models.BooleanField(_("auto-reply"), default=False)
    flags = models.JSONField(_("flags"), default=list, blank=True)

    objects = ConversationPartQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(sender__in=Sender.values), name="message_sender_valid"),
            models.CheckConstraint(
                condition=~Q(sender=Sender.AGENT) | Q(agent__isnull=False), name="message_agent_sender_has_agent"
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "sent_at", "id"], name="message_conversation_sent"),
            models.Index(fields=["agent", "sent_at"], name="message_agent_sent"),
            # Did the assistant write in a chat (the daily metrics' bot-served chats): one probe, bot messages only.
            models.Index(fields=["conversation"], condition=Q(sender=Sender.BOT), name="message_bot_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.get_sender_display()}: {self.body[:40]}"


class Turn(models.Model):
    """A buyer turn and its response (DESIGN.md), kept as messages arrive so daily metrics read them directly.

    Derived data: ``chats.turns.store`` keeps it equal to ``chats.turns.sql.turn_rows_sql`` over the messages.
    """

    tenancy_path = "shop"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+", verbose_name=_("conversation")
    )
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    number = models.PositiveIntegerField(_("turn number"))
    started_at = models.DateTimeField(_("started at"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    responder_sender = models.CharField(_("responder"), max_length=8, choices=Sender.choices, blank=True)
    responder_agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("responding agent")
    )
    response_seconds = models.FloatField(_("response time (seconds)"), null=True, blank=True)

    objects = ConversationPartQuerySet.as_manager()

    class Meta:
        verbose_name = _("turn")
        verbose_name_plural = _("turns")
        ordering = ["conversation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "number"], name="turn_conversation_number"),
        ]
        indexes = [models.Index(fields=["shop", "started_at"], name="turn_shop_started")]

    def __str__(self) -> str:
        return f"{self.conversation_id} #{self.number}"


class ServiceEvent(models.Model):
    """An append-only record of what happened to a chat or an agent: requests, assignments, transfers, ends."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="service_events", verbose_name=_("shop"))
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("conversation"),
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("agent")
    )
    from_agent = models.ForeignKey(
        Agent, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from agent")
    )
    group = models.ForeignKey(
        RoutingGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("routing group"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    outcome = models.CharField(_("outcome"), max_length=24, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("service event")
        verbose_name_plural = _("service events")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="service_event_kind_valid")]
        indexes = [
            models.Index(fields=["shop", "kind", "created_at"], name="event_shop_kind_at"),
            models.Index(fields=["conversation", "created_at"], name="event_conversation_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"
