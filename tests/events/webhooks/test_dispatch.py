"""Fan-out: one delivery per (enabled matching subscription, event), in commit order from the cursor, once; the
on-commit wake-up only when a subscription is enabled; concurrent dispatchers deliver nothing twice."""

import json
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from events import tasks
from events.choices import EventType
from events.feed import events_sequence
from events.models import Event, FeedCursor, WebhookDelivery
from events.outbox import event_emit
from events.webhooks.dispatch import CURSOR, webhooks_dispatch
from events.webhooks.subscriptions import webhooks_any_enabled, webhooks_enabled_forget

from .kit import event_make, subscription_make

pytestmark = pytest.mark.django_db

PUBLIC = "https://hooks.example.com/in"


def pairs():
    return sorted(WebhookDelivery.objects.values_list("subscription_id", "event_id"))


def test_fan_out_makes_one_delivery_per_matching_subscription_and_event(shop, other_shop, owner, integration):
    everything = subscription_make(shop, owner.user, PUBLIC)
    messages = subscription_make(shop, owner.user, PUBLIC, events=[EventType.MESSAGE_CREATED])
    subscription_make(shop, owner.user, PUBLIC, enabled=False)
    elsewhere = subscription_make(other_shop, integration.user, PUBLIC)  # the client does not reach other_shop
    message = event_make(shop, EventType.MESSAGE_CREATED)
    ended = event_make(shop, EventType.CONVERSATION_ENDED)
    event_make(other_shop)

    batches = webhooks_dispatch()

    assert pairs() == sorted([(everything.pk, message.seq), (everything.pk, ended.seq), (messages.pk, message.seq)])
    assert sorted(len(batch.delivery_ids) for batch in batches) == [1, 2]
    assert not WebhookDelivery.objects.filter(subscription=elsewhere).exists()
    assert FeedCursor.objects.get(name=CURSOR).position == Event.objects.order_by("-position")[0].position


def test_dispatching_twice_or_from_a_cursor_moved_back_adds_nothing(shop, owner):
    subscription_make(shop, owner.user, PUBLIC)
    for _ in range(3):
        event_make(shop)
    webhooks_dispatch()
    before = pairs()

    assert webhooks_dispatch() == []
    FeedCursor.objects.filter(name=CURSOR).update(position=0)  # replay the whole feed
    assert webhooks_dispatch() == []
    assert pairs() == before and len(before) == 3


def test_a_subscription_gets_only_events_stored_after_it_was_made(shop, owner):
    old = event_make(shop)
    hook = subscription_make(shop, owner.user, PUBLIC, events_after_seq=old.seq)
    new = event_make(shop)
    webhooks_dispatch()
    assert pairs() == [(hook.pk, new.seq)]


def test_an_inactive_creator_or_a_client_taken_off_the_shop_gets_nothing(shop, owner, integration):
    subscription_make(shop, integration.user, PUBLIC)
    integration.shops.clear()
    owner.user.is_active = False
    owner.user.save()
    subscription_make(shop, owner.user, PUBLIC)
    event_make(shop)
    webhooks_dispatch()
    assert pairs() == []


def test_reading_follows_the_sequencer_in_batches(shop, owner):
    hook = subscription_make(shop, owner.user, PUBLIC)
    with transaction.atomic():
        for _ in range(7):
            Event.objects.create(shop=shop, type=EventType.MESSAGE_CREATED, data={})
    # Not numbered yet: the dispatcher numbers them first, then reads them 3 at a time.
    batches = webhooks_dispatch(read_batch=3)
    assert sum(len(batch.delivery_ids) for batch in batches) == 7
    assert WebhookDelivery.objects.filter(subscription=hook).count() == 7


@pytest.mark.django_db(transaction=True)  # real commits: the outbox wakes its consumers once per commit
def test_the_consumer_enqueues_the_dispatcher_after_commit_only_when_a_subscription_is_enabled(
    shop, owner, monkeypatch
):
    calls = []
    monkeypatch.setattr(tasks.webhooks_dispatch_task, "delay", lambda: calls.append(1))

    def emit():
        with transaction.atomic():
            event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={})

    emit()
    assert calls == []  # no subscription: no task
    with CaptureQueriesContext(connection) as ctx:
        emit()
    assert not any("webhooksubscription" in query["sql"] for query in ctx.captured_queries)  # the memo answered

    hook = subscription_make(shop, owner.user, PUBLIC)  # (forgets the memo, as the services do)
    emit()
    assert calls == [1]
    hook.enabled = False
    hook.save()
    webhooks_enabled_forget()
    emit()
    assert calls == [1]


def test_the_services_forget_the_memo(shop, owner, dns):
    from events.services import webhook_subscription_create, webhook_subscription_update

    assert webhooks_any_enabled() is False
    hook = webhook_subscription_create(created_by=owner.user, shop=shop, url=PUBLIC)
    assert webhooks_any_enabled() is True
    webhook_subscription_update(subscription=hook, enabled=False)
    assert webhooks_any_enabled() is False


def test_the_wake_up_runs_the_whole_chain_on_commit(
    shop, owner, receiver, private_ok, django_capture_on_commit_callbacks
):
    subscription_make(shop, owner.user, receiver.url)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={"body": "你好"})
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0].body)["data"] == {"body": "你好"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_deliver_each_event_once(shop, owner, monkeypatch):
    monkeypatch.setattr(tasks.webhooks_dispatch_task, "delay", lambda: None)  # only the dispatchers below fan out
    hooks = [subscription_make(shop, owner.user, PUBLIC) for _ in range(3)]
    stop = threading.Event()
    errors = []

    def writer():
        try:
            for _ in range(60):
                with transaction.atomic():
                    event_emit(type=EventType.MESSAGE_CREATED, shop_id=shop.pk, data={})
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def dispatcher():
        try:
            while not stop.is_set():
                webhooks_dispatch()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    dispatchers = [threading.Thread(target=dispatcher) for _ in range(3)]
    writers = [threading.Thread(target=writer) for _ in range(2)]
    for thread in dispatchers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in dispatchers:
        thread.join()
    webhooks_dispatch()
    events_sequence(wait=True)

    assert errors == []
    assert Event.objects.count() == 120
    assert WebhookDelivery.objects.count() == 120 * len(hooks)
    for hook in hooks:
        assert WebhookDelivery.objects.filter(subscription=hook).values("event").distinct().count() == 120
