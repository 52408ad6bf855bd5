"""Fan-out: the feed, read in commit order from the dispatcher's cursor, becomes one delivery per (enabled matching
subscription, event).

One dispatcher at a time: the cursor row is locked (``SELECT ... FOR UPDATE``, waiting) for the read, the inserts and
the cursor's move, all one transaction, so a position is fanned out exactly once; the unique (subscription, event)
key makes even a replayed range (a cursor moved back by hand) add nothing. A dispatcher that waited for the lock then
reads what its predecessor left, so the wake-up of a commit that landed while another dispatcher ran is never lost.
The new deliveries are created claimed (``lease_until``) and handed to delivery tasks in batches of one
subscription, so the beat claim of due deliveries does not take them too while those tasks are queued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..feed import events_sequence
from ..models import DeliveryStatus, Event, FeedCursor, WebhookDelivery
from .subscriptions import subscription_reach, subscriptions_for_dispatch

CURSOR = "webhooks"
READ_BATCH = 1000  # events read per transaction


@dataclass(frozen=True)
class DeliveryBatch:
    """Deliveries of one subscription claimed together until ``lease_until`` (the claim's token)."""

    delivery_ids: tuple[int, ...]
    lease_until: datetime


def lease_new(now: datetime | None = None) -> datetime:
    """A claim's end (and token); microseconds kept, so two claims rarely share one."""
    return (now or timezone.now()) + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)


def webhooks_dispatch(
    *, read_batch: int = READ_BATCH, handover: Callable[[list[DeliveryBatch]], object] | None = None
) -> list[DeliveryBatch]:
    """Number the committed events, then fan out every position after the cursor, ``read_batch`` events per
    transaction; returns the new deliveries in batches for the delivery tasks. ``handover`` gets each
    transaction's batches once it has committed, so delivery starts while a long backlog is still being read."""
    events_sequence(wait=True)
    batches: list[DeliveryBatch] = []
    while True:
        found, read = _dispatch_once(read_batch)
        batches += found
        if handover is not None and found:
            handover(found)
        if read < read_batch:
            return batches


def _dispatch_once(read_batch: int) -> tuple[list[DeliveryBatch], int]:
    FeedCursor.objects.get_or_create(name=CURSOR)
    with transaction.atomic():
        cursor = FeedCursor.objects.select_for_update().get(name=CURSOR)
        events = list(
            Event.objects.filter(position__gt=cursor.position)
            .order_by("position")
            .values_list("seq", "position", "type", "shop_id")[:read_batch]
        )
        if not events:
            return [], 0
        now = timezone.now()
        lease = lease_new(now)
        pairs = []  # (subscription id, event seq)
        for subscription in subscriptions_for_dispatch():
            reach = subscription_reach(subscription)
            if reach is not None and not reach:
                continue
            types = set(subscription.events)
            for seq, _position, type_, shop_id in events:
                if (
                    seq > subscription.events_after_seq
                    and (not types or type_ in types)
                    and (reach is None or shop_id in reach)
                ):
                    pairs.append((subscription.pk, seq))
        created = _deliveries_insert(pairs, now=now, lease=lease) if pairs else []
        cursor.position = events[-1][1]
        cursor.save(update_fields=["position"])
        return batches_of(sorted(created), lease), len(events)


def _deliveries_insert(pairs: list[tuple[int, int]], *, now: datetime, lease: datetime) -> list[tuple[int, int]]:
    """Insert a pending, claimed delivery per (subscription id, event seq) unless it exists; returns the
    (subscription id, delivery id) of the new ones."""
    if connection.vendor != "postgresql":
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    subscription_id=subscription_id,
                    event_id=seq,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now,
                    lease_until=lease,
                    created_at=now,
                )
                for subscription_id, seq in pairs
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        # ignore_conflicts gives no ids back: the rows this run made are the ones carrying its lease.
        return list(
            WebhookDelivery.objects.filter(
                lease_until=lease,
                event_id__gte=min(seq for _, seq in pairs),
                subscription_id__in={subscription_id for subscription_id, _ in pairs},
            ).values_list("subscription_id", "pk")
        )
    # One statement from two arrays, whatever the count; columns without a default in the table are all given.
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscription_id, event_id, status, attempts, last_error, response_body, "  # noqa: S608
            "next_attempt_at, lease_until, created_at) "
            "SELECT s, e, %s, 0, '', '', %s, %s, %s FROM unnest(%s::bigint[], %s::bigint[]) AS u(s, e) "
            "ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING subscription_id, id",
            [
                DeliveryStatus.PENDING.value,
                now,
                lease,
                now,
                [subscription_id for subscription_id, _ in pairs],
                [seq for _, seq in pairs],
            ],
        )
        return cursor.fetchall()


def batches_of(rows, lease: datetime) -> list[DeliveryBatch]:
    """(subscription id, delivery id) pairs as batches of at most ``WEBHOOK_DELIVERY_BATCH`` of one subscription."""
    size = max(1, settings.WEBHOOK_DELIVERY_BATCH)
    by_subscription: dict[int, list[int]] = defaultdict(list)
    for subscription_id, delivery_id in rows:
        by_subscription[subscription_id].append(delivery_id)
    return [
        DeliveryBatch(tuple(ids[start : start + size]), lease)
        for ids in by_subscription.values()
        for start in range(0, len(ids), size)
    ]
