"""Scoped reads of the events app for the API and the admin."""

from django.db.models import F, QuerySet

from backoffice.tenancy import Caller

from .models import WebhookDelivery, WebhookSubscription


def webhook_list(*, caller: Caller) -> QuerySet[WebhookSubscription]:
    """The subscriptions ``caller`` may see."""
    return WebhookSubscription.objects.for_caller(caller)


def webhook_deliveries_list(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """A subscription's delivery log, newest event first (the unique index of (subscription, event)), each with its
    event's public id and type."""
    return (
        WebhookDelivery.objects.filter(subscription=subscription)
        .annotate(event_position=F("event__position"), event_type=F("event__type"))
        .order_by("-event_id")
    )
