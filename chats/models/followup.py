"""The agent's follow-up work: tasks with reminders, notifications, and the proof that an auto-reply went out."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.choices import AutoReplyTrigger
from agents.models import Agent, AutoReplyRule
from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from shops.models import Buyer, Shop

from ..choices import NotificationKind, TaskKind, TaskStatus
from .conversation import Conversation, Message


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
    """A reminder for one agent: a follow-up task fell due, a buyer turn went unanswered too long, or a chat where the
    buyer left a message (留言) was assigned to it.

    Each is created once: per (task, due time), per buyer turn (conversation, turn start) and per left-message chat,
    by unique constraints, so beat jobs on two workers or run twice never duplicate one.
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
                )
                | (Q(kind=NotificationKind.LEFT_MESSAGE) & Q(conversation__isnull=False)),
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
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(kind=NotificationKind.LEFT_MESSAGE),
                name="notification_left_message_once",
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
