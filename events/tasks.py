"""Events tasks: webhook fan-out and delivery, retries, the owner's notice, retention. Thin, ids as arguments, safe
to run twice or on two workers (the dispatcher locks its cursor; deliveries are claimed with leases)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from backoffice.schedules import domain_task

from .retention import events_delete_expired
from .webhooks.delivery import webhook_deliveries_claim_due, webhook_deliveries_send
from .webhooks.dispatch import DeliveryBatch, webhooks_dispatch
from .webhooks.notify import webhook_disabled_notify
from .webhooks.subscriptions import webhooks_any_enabled


@domain_task
def webhooks_dispatch_task() -> int:
    """Fan the feed out into deliveries and hand them to delivery tasks; returns how many deliveries were made."""
    return sum(len(batch.delivery_ids) for batch in webhooks_dispatch(handover=webhook_batches_enqueue))


@domain_task
def webhook_deliveries_send_task(delivery_ids: list[int], lease_until: str) -> int:
    """Attempt claimed deliveries (one subscription's) still carrying the lease; returns how many were delivered."""
    return webhook_deliveries_send(delivery_ids=delivery_ids, lease_until=datetime.fromisoformat(lease_until))


@domain_task
def webhook_deliveries_retry_due_task() -> int:
    """The beat job: claim due retries and deliveries whose worker died, hand them to delivery tasks."""
    return webhook_batches_enqueue(webhook_deliveries_claim_due())


@domain_task
def webhook_disabled_notify_task(subscription_id: int) -> bool:
    """E-mail the owner that a webhook was disabled, once per disable."""
    return webhook_disabled_notify(subscription_id=subscription_id)


@domain_task
def events_delete_expired_task() -> int:
    """The beat job: delete events past their retention (deliveries cascade); returns how many."""
    return events_delete_expired()


def webhook_batches_enqueue(batches: list[DeliveryBatch]) -> int:
    """One delivery task per batch, once the claims commit; returns the deliveries handed over."""
    for batch in batches:
        args = [list(batch.delivery_ids), batch.lease_until.isoformat()]
        transaction.on_commit(lambda args=args: webhook_deliveries_send_task.delay(*args))
    return sum(len(batch.delivery_ids) for batch in batches)


def webhooks_wake() -> None:
    """The outbox consumer (``EventsConfig.ready``), run after every commit that stored events: enqueue the
    dispatcher when some subscription is enabled (a memo, not a query, on most calls)."""
    if webhooks_any_enabled():
        webhooks_dispatch_task.delay()
