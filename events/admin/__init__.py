"""Admin for the events app, one module per feature; importing them registers their admins."""

from .outbox import EventAdmin, FeedCursorAdmin
from .webhooks import RecentDeliveryInline, WebhookDeliveryAdmin, WebhookSubscriptionAdmin, WebhookSubscriptionAdminForm

__all__ = [
    "EventAdmin",
    "FeedCursorAdmin",
    "RecentDeliveryInline",
    "WebhookDeliveryAdmin",
    "WebhookSubscriptionAdmin",
    "WebhookSubscriptionAdminForm",
]
