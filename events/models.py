"""The outbox: every event the back office emits, numbered in commit order; webhook subscriptions and deliveries."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.tenancy import Caller, CallerRole, ShopScopedQuerySet
from shops.models import Shop

from .choices import Audience, EventType


class EventQuerySet(ShopScopedQuerySet):
    """Scoping as the feed's contract says: agents see the events of chats while they serve them, their shop's
    queue events and their own notifications and status; everyone else sees whole shops (``ShopScopedQuerySet``)."""

    def for_caller(self, caller: Caller):
        scoped = super().for_caller(caller)
        if caller.role != CallerRole.AGENT:
            return scoped
        if caller.agent_id is None:
            return scoped.none()
        return scoped.filter(
            Q(audience=Audience.SHOP)
            | (Q(audience=Audience.AGENT) & (Q(agent_id=caller.agent_id) | Q(previous_agent_id=caller.agent_id)))
        )


def event_visible_to(caller: Caller, *, shop_id: int, audience: str, agent_id, previous_agent_id) -> bool:
    """``EventQuerySet.for_caller`` for one event in memory (live push filters with it; a test keeps them equal)."""
    if not caller.can_reach(shop_id):
        return False
    if caller.role != CallerRole.AGENT:
        return True
    if caller.agent_id is None:
        return False
    return audience == Audience.SHOP or (
        audience == Audience.AGENT and caller.agent_id in (agent_id, previous_agent_id)
    )


class Event(models.Model):
    """One thing that happened in a shop, as the API renders it, written in the transaction of the change.

    ``seq`` is the insert order, which is not the commit order on PostgreSQL (a sequence value is taken when the
    row is inserted, and a transaction that started earlier may commit later). ``position`` is the event's public
    id, given after commit by the one sequencer (``events.feed.events_sequence``), so positions are handed out in
    commit order and a reader that sees position ``p`` sees every position below it.
    """

    tenancy_path = "shop"

    seq = models.BigAutoField(_("insert order"), primary_key=True)
    position = models.BigIntegerField(_("id"), null=True, blank=True, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=48, choices=EventType.choices)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    # Plain ids, not foreign keys: the events app sits below agents and chats, and an event outlives nothing it names
    # (retention deletes it first; the chat's rows are never deleted while the shop exists).
    conversation_id = models.BigIntegerField(_("conversation"), null=True, blank=True)
    agent_id = models.BigIntegerField(_("agent"), null=True, blank=True)
    previous_agent_id = models.BigIntegerField(_("previous agent"), null=True, blank=True)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices, default=Audience.AGENT)
    data = models.JSONField(_("data"), default=dict, encoder=DjangoJSONEncoder)
    at = models.DateTimeField(_("at"), default=timezone.now)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["position"]
        indexes = [
            models.Index(fields=["shop", "position"], name="event_shop_position"),
            models.Index(fields=["conversation_id", "position"], name="event_conversation_position"),
            models.Index(fields=["at"], name="event_at"),
            # The sequencer's work list: rows committed but not numbered yet (usually none).
            models.Index(fields=["seq"], condition=Q(position__isnull=True), name="event_unsequenced"),
        ]

    def __str__(self):
        return f"{self.position or '-'} {self.type}"


class WebhookQuerySet(ShopScopedQuerySet):
    """A subscription for one shop is the shop's; one for "all my shops" (no shop) is its creator's."""

    def for_caller(self, caller: Caller):
        if caller.shop_ids is None:
            return self
        if not caller.shop_ids:
            return self.none()
        return self.filter(Q(shop_id__in=caller.shop_ids) | Q(shop__isnull=True, created_by_id=caller.user_id))


class WebhookSubscription(models.Model):
    """Where to POST a shop's events (or every shop of its creator when ``shop`` is empty)."""

    tenancy_path = "shop"

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="webhooks", verbose_name=_("shop")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("created by")
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("event types"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    secret = models.CharField(_("secret"), max_length=64, editable=False)
    consecutive_failures = models.PositiveIntegerField(_("consecutive failed deliveries"), default=0)
    disabled_reason = models.CharField(_("disabled because"), max_length=200, blank=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    # Set once the owner was told about an automatic disable, so a repeated notification task sends nothing.
    owner_notified_at = models.DateTimeField(_("owner notified at"), null=True, blank=True)
    # The insert number (``Event.seq``) of the last event stored before the subscription was made: only later
    # events are delivered to it, whatever the dispatcher's cursor was doing then.
    events_after_seq = models.BigIntegerField(_("events after"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-id"]

    def __str__(self):
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDeliveryQuerySet(ShopScopedQuerySet):
    """A delivery is seen by whoever sees its subscription (``WebhookQuerySet``)."""

    def for_caller(self, caller: Caller):
        if caller.shop_ids is None:
            return self
        return self.filter(subscription__in=WebhookSubscription.objects.for_caller(caller).values("pk"))


class WebhookDelivery(models.Model):
    """One event to one subscription: its attempts so far and when the next one is due.

    ``lease_until`` is set while a worker owns the delivery (between its claim and the recorded result) and doubles as
    the claim's token: a result is recorded only while the row still carries the lease its worker was given. Once
    the lease is over, another claim may take the delivery (its worker died mid-POST, say).
    """

    tenancy_path = "event__shop"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+", verbose_name=_("event"))
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    response_body = models.TextField(_("answer (first 1 KB)"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        # Its index also serves the delivery log of one subscription, newest event first (no index of its own: each
        # delivery is written twice, and every index costs both writes).
        constraints = [models.UniqueConstraint(fields=["subscription", "event"], name="delivery_one_per_event")]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due"),
        ]

    def __str__(self):
        return f"{self.subscription_id}/{self.event_id} {self.status}"


class FeedCursor(models.Model):
    """How far a consumer of the feed (the webhook dispatcher) has read, by event position."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    position = models.BigIntegerField(_("last position"), default=0)

    class Meta:
        verbose_name = _("feed cursor")
        verbose_name_plural = _("feed cursors")

    def __str__(self):
        return f"{self.name} @ {self.position}"
