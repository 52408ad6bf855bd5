"""Telling the shop's owner that a webhook was disabled: an e-mail, once per disable.

An e-mail and not an in-app notification: notifications belong to ``chats``, above this app, and the owner may not
be at the workbench anyway. It goes to the active owners of the subscription's shop who have an e-mail address, else
to the subscription's creator (a subscription for all of an integration client's shops has no one shop).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import WebhookSubscription
from .subscriptions import webhook_owner_emails

logger = logging.getLogger(__name__)


def webhook_disabled_notify(*, subscription_id: int) -> bool:
    """E-mail the owner that the subscription was disabled, unless it was already (or it is enabled again, or
    gone). Returns whether a mail was sent."""
    with transaction.atomic():
        claimed = WebhookSubscription.objects.filter(
            pk=subscription_id, enabled=False, disabled_at__isnull=False, owner_notified_at__isnull=True
        ).update(owner_notified_at=timezone.now())
    if not claimed:
        return False
    subscription = WebhookSubscription.objects.select_related("shop", "created_by").get(pk=subscription_id)
    recipients = webhook_owner_emails(subscription)
    if not recipients:
        logger.warning("webhook %s was disabled and nobody has an e-mail address to be told", subscription_id)
        return False
    with translation.override(settings.LANGUAGE_CODE):
        _send(subscription, recipients)
    return True


def _send(subscription: WebhookSubscription, recipients: list[str]) -> None:
    shop = subscription.shop.name if subscription.shop_id else _("all your shops")
    subject = _("Webhook disabled: %(url)s") % {"url": subscription.url[:120]}
    body = _(
        "The webhook %(url)s (%(shop)s) was switched off: %(reason)s\n\n"
        "Events are not sent to it while it is off; its pending deliveries wait. Fix the receiver, then switch the "
        "webhook on again (PATCH /api/v1/webhooks/%(id)s/ with enabled true, or in the admin). Missed events can be "
        "read from the feed (GET /api/v1/events/?after=...)."
    ) % {"url": subscription.url, "shop": shop, "reason": subscription.disabled_reason, "id": subscription.pk}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        # Not sent: let the next run (a retry of the task) try again.
        WebhookSubscription.objects.filter(pk=subscription.pk).update(owner_notified_at=None)
        raise
