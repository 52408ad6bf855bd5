"""Retention: events past ``EVENTS_RETENTION_DAYS`` go in batches, their deliveries with them; nothing the webhook
dispatcher has not read yet goes; the task is safe to run twice."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Event, WebhookDelivery
from events.retention import events_delete_expired
from events.tasks import events_delete_expired_task
from events.webhooks.dispatch import webhooks_dispatch

from .kit import event_make, subscription_make

pytestmark = pytest.mark.django_db


def test_old_events_and_their_deliveries_are_deleted_in_batches(shop, owner, settings):
    settings.EVENTS_RETENTION_DAYS = 14
    hook = subscription_make(shop, owner.user, "https://hooks.example.com/in")
    now = timezone.now()
    old = [event_make(shop) for _ in range(5)]
    kept = event_make(shop)
    webhooks_dispatch()
    Event.objects.filter(seq__in=[event.seq for event in old]).update(at=now - timedelta(days=15))
    Event.objects.filter(seq=kept.seq).update(at=now - timedelta(days=13))

    with CaptureQueriesContext(connection) as ctx:
        assert events_delete_expired(now=now, batch=2) == 5
    assert not any('"data"' in query["sql"] and "SELECT" in query["sql"] for query in ctx.captured_queries)

    assert list(Event.objects.values_list("seq", flat=True)) == [kept.seq]
    assert list(WebhookDelivery.objects.values_list("subscription_id", "event_id")) == [(hook.pk, kept.seq)]
    assert events_delete_expired_task() == 0  # again: nothing left to delete


def test_events_the_dispatcher_has_not_read_are_kept(shop):
    event = event_make(shop)
    Event.objects.filter(seq=event.seq).update(at=timezone.now() - timedelta(days=30))
    assert events_delete_expired() == 0  # the cursor has not passed it
    webhooks_dispatch()
    assert events_delete_expired() == 1
