"""The events app's writes, for the API and the admin (the outbox writer is ``events.outbox``)."""

from .retention import events_delete_expired
from .webhooks.delivery import webhook_deliveries_claim_due, webhook_deliveries_send, webhook_delivery_redeliver
from .webhooks.dispatch import webhooks_dispatch
from .webhooks.guard import WebhookURLRefused, webhook_url_check
from .webhooks.notify import webhook_disabled_notify
from .webhooks.subscriptions import (
    webhook_events_clean,
    webhook_secret_rotate,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)

__all__ = [
    "WebhookURLRefused",
    "events_delete_expired",
    "webhook_deliveries_claim_due",
    "webhook_deliveries_send",
    "webhook_delivery_redeliver",
    "webhook_disabled_notify",
    "webhook_events_clean",
    "webhook_secret_rotate",
    "webhook_subscription_create",
    "webhook_subscription_delete",
    "webhook_subscription_update",
    "webhook_url_check",
    "webhooks_dispatch",
]
