"""Webhook subscriptions: create, change, delete, rotate the secret, switch off; and who a subscription reaches.

``events`` empty means every event type, the ones added later included. ``shop`` empty means every shop its creator
reaches at delivery time (platform staff: all; an integration client: its shops then); the API stores an owner's
subscription with the owner's one shop, so a subscription without a shop is always a platform's or an integration
client's. A subscription's URL is checked by the SSRF guard when it is set, and again at every delivery.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from celery import current_app
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.errors import InvalidInput
from shops.models import IntegrationClient, Shop

from ..choices import EventType
from ..models import Event, WebhookSubscription
from .guard import webhook_url_check
from .signing import secret_new

# How long a process trusts its last look at "is any subscription enabled?" (the on-commit hook of every event
# asks it). A subscription enabled in another process is seen at most this late; the beat dispatcher covers it.
ENABLED_MEMO_SECONDS = 10.0
NOTIFY_TASK = "events.tasks.webhook_disabled_notify_task"
# The user's sub-account (agents.Agent.user's related name) and the owner role's value (agents.choices.AgentRole).
SUBACCOUNT_RELATION = "agent"
OWNER_ROLE = "owner"
_enabled_memo: list = [0.0, False]  # [valid until (monotonic), answer]


def webhook_events_clean(events: Iterable[str] | None) -> list[str]:
    """The event types of a subscription, each once, in the order given; unknown types are refused."""
    cleaned = list(dict.fromkeys(events or ()))
    unknown = [name for name in cleaned if name not in EventType.values]
    if unknown:
        raise InvalidInput(
            _("Unknown event types: %(types)s.") % {"types": ", ".join(map(str, unknown))}, field="events"
        )
    return cleaned


@transaction.atomic
def webhook_subscription_create(
    *, created_by, url: str, shop: Shop | None = None, events: Iterable[str] | None = None, enabled: bool = True
) -> WebhookSubscription:
    """A new subscription with a fresh secret; it gets the events stored from now on."""
    webhook_url_check(url)
    subscription = WebhookSubscription(
        shop=shop,
        created_by=created_by,
        url=url.strip(),
        events=webhook_events_clean(events),
        enabled=enabled,
        secret=secret_new(),
        events_after_seq=Event.objects.aggregate(last=Max("seq"))["last"] or 0,
    )
    subscription.full_clean()
    subscription.save()
    _enabled_changed()
    return subscription


@transaction.atomic
def webhook_subscription_update(*, subscription: WebhookSubscription, **fields) -> WebhookSubscription:
    """Change ``url``, ``events`` or ``enabled``; switching a disabled subscription on clears its failure count."""
    unknown = set(fields) - {"url", "events", "enabled"}
    if unknown:
        raise TypeError(f"unexpected fields {sorted(unknown)}")
    subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(pk=subscription.pk)
    if "url" in fields:
        webhook_url_check(fields["url"])
        subscription.url = fields["url"].strip()
    if "events" in fields:
        subscription.events = webhook_events_clean(fields["events"])
    if "enabled" in fields and fields["enabled"] != subscription.enabled:
        subscription.enabled = fields["enabled"]
        subscription.consecutive_failures = 0
        subscription.disabled_reason = ""
        subscription.disabled_at = None if subscription.enabled else timezone.now()
        subscription.owner_notified_at = None
    subscription.full_clean()
    subscription.save()
    _enabled_changed()
    return subscription


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete a subscription and its delivery log."""
    subscription.delete()
    _enabled_changed()


@transaction.atomic
def webhook_secret_rotate(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Give the subscription a new secret; deliveries signed from now on use it (retries included)."""
    subscription = WebhookSubscription.objects.select_for_update(no_key=True).get(pk=subscription.pk)
    subscription.secret = secret_new()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


def webhook_subscription_disable(*, subscription: WebhookSubscription, reason: str) -> None:
    """Switch off a subscription the deliveries gave up on (410, too many failures), in the caller's transaction
    (the row locked by it; the caller saves it); its owner is told once this commits."""
    subscription.enabled = False
    subscription.disabled_reason = reason[:200]
    subscription.disabled_at = timezone.now()
    subscription.owner_notified_at = None
    _enabled_changed()
    pk = subscription.pk
    # By name: the task module imports this one.
    transaction.on_commit(lambda: current_app.signature(NOTIFY_TASK, args=(pk,)).delay())


def webhooks_any_enabled() -> bool:
    """Whether any subscription is enabled, as this process last looked (at most ``ENABLED_MEMO_SECONDS`` ago)."""
    now = time.monotonic()
    if now < _enabled_memo[0]:
        return _enabled_memo[1]
    answer = WebhookSubscription.objects.filter(enabled=True).exists()
    _enabled_memo[:] = [now + ENABLED_MEMO_SECONDS, answer]
    return answer


def webhooks_enabled_forget() -> None:
    """Look again at the next ``webhooks_any_enabled`` (after a change, in this process)."""
    _enabled_memo[:] = [0.0, False]


def _enabled_changed() -> None:
    # Forget now (the change is visible to this transaction) and again after commit (a look taken by another
    # transaction of this process meanwhile would have missed it).
    webhooks_enabled_forget()
    transaction.on_commit(webhooks_enabled_forget)


def subscription_reach(subscription: WebhookSubscription) -> frozenset[int] | None:
    """The shops whose events ``subscription`` may receive now (``None``: every shop), as ``caller_for`` would scope
    its creator today: a sub-account its shop, superusers and other staff every shop, an integration client its
    shops, an inactive user none. A subscription of one shop gets that shop's events while its creator still
    reaches the shop (an integration client taken off the shop loses them).

    The sub-account is read through the user's reverse relation ``agent``, by name through the app registry: this
    app sits below ``agents`` and imports none of it (as ``shops.models.BuyerQuerySet`` reaches conversations).
    """
    user = subscription.created_by
    agent = getattr(user, SUBACCOUNT_RELATION, None)
    client = _integration_client(user)
    if not user.is_active:
        reach = frozenset()
    elif agent is not None:
        reach = frozenset([agent.shop_id])
    elif user.is_superuser:
        reach = None
    elif client is not None:
        reach = frozenset(shop.pk for shop in client.shops.all())
    else:
        reach = None if user.is_staff else frozenset()
    if subscription.shop_id is None:
        return reach
    return frozenset([subscription.shop_id]) if reach is None or subscription.shop_id in reach else frozenset()


def subscriptions_for_dispatch() -> list[WebhookSubscription]:
    """Enabled subscriptions with what ``subscription_reach`` reads, in two queries."""
    return list(
        WebhookSubscription.objects.filter(enabled=True, created_by__is_active=True)
        .select_related(f"created_by__{SUBACCOUNT_RELATION}", "created_by__integration_client")
        .prefetch_related("created_by__integration_client__shops")
        .order_by("pk")
    )


def _integration_client(user) -> IntegrationClient | None:
    try:
        return user.integration_client
    except IntegrationClient.DoesNotExist:
        return None


def webhook_owner_emails(subscription: WebhookSubscription) -> list[str]:
    """Where a disabled subscription is reported: the e-mail of its shop's owners, else of its creator.

    The owners are found through the sub-account's reverse relation on the user (``agent``), by name through the app
    registry: this app sits below ``agents`` and imports none of it.
    """
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    emails: list[str] = []
    if subscription.shop_id is not None:
        emails = list(
            users.filter(
                **{f"{SUBACCOUNT_RELATION}__shop_id": subscription.shop_id, f"{SUBACCOUNT_RELATION}__role": OWNER_ROLE}
            ).values_list("email", flat=True)
        )
    if not emails and subscription.created_by.email:
        emails = [subscription.created_by.email]
    return sorted(set(emails))
