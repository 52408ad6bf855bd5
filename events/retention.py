"""Event retention: events older than ``EVENTS_RETENTION_DAYS`` are deleted in batches, their webhook deliveries
with them (cascade). Only events the webhook dispatcher has read are deleted, so a stalled dispatcher loses none."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Event, FeedCursor
from .webhooks.dispatch import CURSOR

BATCH = 5000
MAX_BATCHES = 200  # per run: a backlog is worked off by the next runs, each bounded in time


def events_delete_expired(*, now: datetime | None = None, batch: int = BATCH, max_batches: int = MAX_BATCHES) -> int:
    """Delete events older than the retention, oldest first, ``batch`` per transaction; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    read_up_to = FeedCursor.objects.filter(name=CURSOR).values_list("position", flat=True).first() or 0
    deleted = 0
    for _ in range(max_batches):
        with transaction.atomic():
            seqs = list(
                Event.objects.filter(at__lt=cutoff, position__lte=read_up_to)
                .order_by("at")
                .values_list("seq", flat=True)[:batch]
            )
            if seqs:
                # Only the keys: the collector needs no more to cascade (one DELETE of the deliveries, one of these).
                Event.objects.filter(seq__in=seqs).only("seq").delete()
        deleted += len(seqs)
        if len(seqs) < batch:
            break
    return deleted
