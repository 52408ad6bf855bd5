"""Conversations (chats) between a buyer and a shop, and their messages."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.choices import AutoReplyTrigger
from agents.models import Agent, AutoReplyRule, RoutingGroup
from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from shops.choices import ServicePhase
from shops.models import Buyer, Shop

from .choices import (
    ClosedBy,
    ConversationStatus,
    EntryPoint,
    EventKind,
    ExportFormat,
    ExportKind,
    ExportStatus,
    NotificationKind,
    Sender,
    TaskKind,
    TaskStatus,
)

MESSAGE_BODY_MAX_LENGTH = 5000


class ConversationQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Agents see their own chats and their shop's queue; managers and integrations the whole shop."""
        scoped = super().for_caller(caller)
        if caller.role == CallerRole.AGENT:
            scoped = scoped.filter(Q(agent_id=caller.agent_id) | Q(status=ConversationStatus.QUEUED))
        return scoped


class Conversation(models.Model):
    """One chat of a buyer with a shop, from the first message until it ends."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("shop"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="conversations", verbose_name=_("buyer"))
    entry_point = models.CharField(_("entry point"), max_length=8, choices=EntryPoint.choices, default=EntryPoint.SHOP)
    entry_ref = models.CharField(_("entry reference (item or order id)"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=ConversationStatus.choices, default=ConversationStatus.BOT
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
    assigned_at = models.DateTimeField(_("first assigned to a human at"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)
    closed_by = models.CharField(_("ended by"), max_length=8, choices=ClosedBy.choices, blank=True)

    objects = ConversationQuerySet.as_manager()

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

    Derived data: ``chats.services.turns`` keeps it equal to ``chats.turns.turn_rows_sql`` over the messages.
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


class FaqEntry(models.Model):
    """One entry of a shop's knowledge base: the service assistant answers buyer messages that match it."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="faq_entries", verbose_name=_("shop"))
    question = models.CharField(_("question"), max_length=200)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    answer = models.TextField(_("answer"), max_length=2000)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")
        ordering = ["shop_id", "pk"]
        indexes = [models.Index(fields=["shop", "enabled"], name="faq_shop_enabled")]

    def __str__(self) -> str:
        return self.question


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


class FollowUpTaskQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Agents see the tasks they handle or gave; owners and supervisors the whole shop; integrations none."""
        if caller.role == CallerRole.INTEGRATION:
            return self.none()
        scoped = super().for_caller(caller)
        if caller.role == CallerRole.AGENT:
            scoped = scoped.filter(Q(handler_id=caller.agent_id) | Q(created_by_id=caller.user_id))
        return scoped


class FollowUpTask(models.Model):
    """A follow-up task (任务) for an agent, with a reminder the beat job delivers once as a notification."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="follow_up_tasks", verbose_name=_("shop"))
    kind = models.CharField(_("kind"), max_length=24, choices=TaskKind.choices, default=TaskKind.FOLLOW_UP)
    content = models.TextField(_("content"), max_length=2000)
    handler = models.ForeignKey(
        Agent, on_delete=models.PROTECT, related_name="follow_up_tasks", verbose_name=_("handler")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    remind_at = models.DateTimeField(_("remind at"))
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True, editable=False)
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_up_tasks",
        verbose_name=_("conversation"),
    )
    buyer = models.ForeignKey(
        Buyer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("buyer")
    )
    order = models.ForeignKey(
        "shops.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    closed_at = models.DateTimeField(_("done or cancelled at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = FollowUpTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["remind_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TaskKind.values), name="follow_up_task_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="follow_up_task_status_valid"),
            models.CheckConstraint(
                condition=Q(status=TaskStatus.OPEN, closed_at__isnull=True)
                | (~Q(status=TaskStatus.OPEN) & Q(closed_at__isnull=False)),
                name="follow_up_task_closed_iff_not_open",
            ),
        ]
        indexes = [
            # The reminder sweep: open tasks not yet reminded, by due time.
            models.Index(
                fields=["remind_at"],
                condition=Q(status=TaskStatus.OPEN, reminded_at__isnull=True),
                name="follow_up_task_due",
            ),
            models.Index(fields=["shop", "handler", "status", "remind_at"], name="follow_up_task_handler"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.content[:40]}"


class NotificationQuerySet(ShopScopedQuerySet):
    def for_caller(self, caller: Caller):
        """Notifications are personal: shop staff see their own; platform staff see all."""
        scoped = super().for_caller(caller)
        if caller.shop_ids is not None:
            scoped = scoped.filter(recipient_id=caller.agent_id) if caller.agent_id else scoped.none()
        return scoped


class Notification(models.Model):
    """A reminder for one agent: a follow-up task fell due, or a buyer turn went unanswered too long.

    Each is created once: per (task, due time) and per buyer turn (conversation, turn start), by unique constraints,
    so beat jobs on two workers or run twice never duplicate one.
    """

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("shop"))
    recipient = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    task = models.ForeignKey(
        FollowUpTask,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("task"),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("conversation"),
    )
    turn_started_at = models.DateTimeField(
        _("unanswered turn started at"),
        null=True,
        blank=True,
        help_text=_("The first buyer message of the turn left without a response."),
    )
    due_at = models.DateTimeField(
        _("due at"), help_text=_("The task's reminder time, or when the turn became overdue.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values), name="notification_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind=NotificationKind.TASK_DUE) & Q(task__isnull=False))
                | (
                    Q(kind=NotificationKind.MISSED_FOLLOWUP)
                    & Q(conversation__isnull=False, turn_started_at__isnull=False)
                ),
                name="notification_kind_has_subject",
            ),
            models.UniqueConstraint(
                fields=["task", "due_at"], condition=Q(kind=NotificationKind.TASK_DUE), name="notification_task_once"
            ),
            models.UniqueConstraint(
                fields=["conversation", "turn_started_at"],
                condition=Q(kind=NotificationKind.MISSED_FOLLOWUP),
                name="notification_turn_once",
            ),
        ]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.recipient_id}"


class AutoReplyDelivery(models.Model):
    """Proof that an auto-reply went out, so a trigger fires once per buyer per shop per local day or buyer turn."""

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="+", verbose_name=_("buyer"))
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="auto_reply_deliveries", verbose_name=_("conversation")
    )
    trigger = models.CharField(_("trigger"), max_length=24, choices=AutoReplyTrigger.choices)
    # The shop's local date (first_message_of_day) or the id of the turn's first buyer message (the others).
    occasion = models.CharField(_("occasion"), max_length=32)
    rule = models.ForeignKey(
        AutoReplyRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("rule")
    )
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("message")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("auto-reply delivery")
        verbose_name_plural = _("auto-reply deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "buyer", "trigger", "occasion"], name="auto_reply_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} · {self.occasion}"


class Export(models.Model):
    """A supervisor's export of conversations or messages to a CSV/XLSX file: who asked, with which filters.

    Written by a Celery task from a server-side cursor; the file is deleted after ``EXPORT_RETENTION_DAYS``
    (the row stays, as the record of who exported what).
    """

    tenancy_path = "shop"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="exports", verbose_name=_("shop"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    file_deleted_at = models.DateTimeField(_("file deleted at"), null=True, blank=True)

    objects = ShopScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ExportKind.values), name="export_kind_valid"),
            models.CheckConstraint(condition=Q(format__in=ExportFormat.values), name="export_format_valid"),
            models.CheckConstraint(condition=Q(status__in=ExportStatus.values), name="export_status_valid"),
        ]
        indexes = [
            models.Index(fields=["shop", "-created_at"], name="export_shop_created"),
            models.Index(fields=["status", "finished_at"], name="export_status_finished"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} · {self.get_format_display()}"

    @property
    def filename(self) -> str:
        """The name the download is offered under."""
        return f"{self.kind}-{self.shop_id}-{self.pk}.{self.format}"


class StaffingShop(Shop):
    """A shop seen from staffing (排班): its admin page is the printable heatmap and shift plan. No table."""

    class Meta:
        proxy = True
        verbose_name = _("staffing plan")
        verbose_name_plural = _("staffing plans")
