"""Delivery to a real receiver: body and signature, retries on the schedule, 410, disabling after failures and the
owner's e-mail, no redirects, the 64 KB read cap, leases, and tasks run twice."""

import json
import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from events.choices import EventType
from events.models import DeliveryStatus, WebhookDelivery
from events.rendering import event_render
from events.tasks import (
    webhook_deliveries_retry_due_task,
    webhook_deliveries_send_task,
    webhook_disabled_notify_task,
    webhooks_dispatch_task,
)
from events.webhooks import client
from events.webhooks import delivery as delivery_module
from events.webhooks.delivery import (
    retry_at,
    webhook_deliveries_claim_due,
    webhook_deliveries_send,
    webhook_delivery_redeliver,
)
from events.webhooks.dispatch import webhooks_dispatch
from events.webhooks.guard import webhook_target
from events.webhooks.signing import signature_verify

from .kit import Answer, event_make, subscription_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_ok")]

SCHEDULE = [60, 300, 1800, 7200, 21600, 86400]


def send(batches):
    return sum(
        webhook_deliveries_send(delivery_ids=list(batch.delivery_ids), lease_until=batch.lease_until)
        for batch in batches
    )


def deliver_all():
    """Fan out, then send every batch the dispatcher made."""
    return send(webhooks_dispatch())


def retry_due(now):
    return send(webhook_deliveries_claim_due(now=now))


@pytest.fixture
def hook(shop, owner, receiver):
    return subscription_make(shop, owner.user, receiver.url)


def test_delivery_posts_the_event_as_the_feed_renders_it_signed_with_the_secret(hook, shop, receiver):
    event = event_make(shop, EventType.CONVERSATION_ASSIGNED, data={"id": 7, "status": "human"}, conversation_id=7)

    assert deliver_all() == 1

    [request] = receiver.requests
    assert request.path == "/hook"
    assert json.loads(request.body) == json.loads(json.dumps(event_render(event)))
    assert list(json.loads(request.body)) == ["id", "type", "at", "shop", "conversation", "agent", "data"]
    assert json.loads(request.body)["id"] == event.position
    delivery = WebhookDelivery.objects.get()
    assert request.headers["x-backoffice-event"] == "conversation.assigned"
    assert request.headers["x-backoffice-delivery"] == str(delivery.pk)
    assert request.headers["content-type"] == "application/json"
    # The receiver's check: HMAC-SHA256(secret, "<t>." + body), hex, and a fresh timestamp.
    header = request.headers["x-backoffice-signature"]
    assert header.startswith("t=") and ",v1=" in header
    assert signature_verify(hook.secret, request.body, header)
    assert not signature_verify("another-secret", request.body, header)
    assert not signature_verify(hook.secret, request.body + b" ", header)
    t = int(header.split(",")[0][2:])
    assert not signature_verify(hook.secret, request.body, header, now=t + 3600)  # a replay an hour later
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.delivered_at is not None and delivery.lease_until is None and delivery.next_attempt_at is None
    assert delivery.response_body == "ok" and delivery.response_ms is not None


def test_the_host_header_names_the_url_host_while_the_connection_goes_to_the_checked_address(
    shop, owner, receiver, dns
):
    dns["receiver.example.com"] = ["127.0.0.1"]
    subscription_make(shop, owner.user, f"http://receiver.example.com:{receiver.port}/in?x=1")
    event_make(shop)

    deliver_all()

    [request] = receiver.requests
    assert request.headers["host"] == f"receiver.example.com:{receiver.port}"
    assert request.path == "/in?x=1"


def test_a_batch_reuses_one_connection(hook, shop, receiver):
    for _ in range(5):
        event_make(shop)
    assert deliver_all() == 5
    assert len(receiver.requests) == 5
    assert receiver.connections == 1


def test_failures_retry_on_the_schedule_then_fail(hook, shop, receiver):
    receiver.answer = lambda request: Answer(status=500, body=b"boom")
    event_make(shop)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    created = delivery.created_at
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    # 60 s after the first attempt (a few ms after the delivery was made).
    assert created + timedelta(seconds=60) <= delivery.next_attempt_at < created + timedelta(seconds=61)
    assert delivery.last_error == "The receiver answered 500." and delivery.response_body == "boom"

    assert retry_due(created + timedelta(seconds=59)) == 0  # not due yet
    assert len(receiver.requests) == 1
    for attempt, offset in enumerate(SCHEDULE, start=2):
        now = max(created + timedelta(seconds=offset), delivery.next_attempt_at)
        retry_due(now)
        delivery.refresh_from_db()
        assert len(receiver.requests) == attempt
        assert delivery.attempts == attempt
        if attempt <= len(SCHEDULE):
            assert delivery.status == DeliveryStatus.PENDING
            # Due at the next step's offset from the creation (or, late, the steps' gap after this attempt).
            assert delivery.next_attempt_at == created + timedelta(seconds=SCHEDULE[attempt - 1])
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert retry_due(created + timedelta(days=3)) == 0
    assert len(receiver.requests) == 1 + len(SCHEDULE)


def test_a_late_retry_keeps_the_gap_to_the_next_step(hook, shop):
    delivery = WebhookDelivery(attempts=3, created_at=timezone.now() - timedelta(hours=5))
    now = timezone.now()
    # Attempt 3 (retry 2, at 300 s) ran 5 hours late: retry 3 (at 1800 s) is due 1500 s after it, not at once.
    assert retry_at(delivery, now) == now + timedelta(seconds=1500)
    assert retry_at(WebhookDelivery(attempts=7, created_at=now), now) is None


def test_a_success_after_failures_is_delivered_and_resets_the_count(hook, shop, receiver):
    answers = iter([Answer(status=503), Answer(status=204, body=b"")])
    receiver.answer = lambda request: next(answers)
    event_make(shop)
    deliver_all()
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1
    delivery = WebhookDelivery.objects.get()
    retry_due(delivery.next_attempt_at)
    delivery.refresh_from_db()
    hook.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 2, 204)
    assert delivery.last_error == ""
    assert hook.consecutive_failures == 0
    # The same delivery id on both attempts: receivers dedupe on it.
    assert {request.headers["x-backoffice-delivery"] for request in receiver.requests} == {str(delivery.pk)}


def test_410_disables_the_subscription_at_once_and_tells_the_owner(
    hook, shop, owner, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    owner.user.email = "owner@shop-a.example"
    owner.user.save()
    receiver.answer = lambda request: Answer(status=410)
    for _ in range(3):
        event_make(shop)

    with django_capture_on_commit_callbacks(execute=True):
        deliver_all()

    hook.refresh_from_db()
    assert hook.enabled is False
    assert hook.disabled_reason == "The receiver answered 410 Gone."
    assert len(receiver.requests) == 1  # the rest of the batch was not sent
    statuses = sorted(WebhookDelivery.objects.values_list("status", "lease_until"), key=str)
    assert statuses == [(DeliveryStatus.FAILED, None), (DeliveryStatus.PENDING, None), (DeliveryStatus.PENDING, None)]
    assert [mail.to for mail in mailoutbox] == [["owner@shop-a.example"]]
    assert "410" in mailoutbox[0].body and hook.url in mailoutbox[0].subject
    # Disabled: nothing is claimed, nothing new fans out to it.
    event_make(shop)
    assert retry_due(timezone.now() + timedelta(days=1)) == 0
    assert webhooks_dispatch() == []
    assert len(receiver.requests) == 1


def test_consecutive_failures_disable_and_notify_the_owner_once(
    hook, shop, owner, receiver, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES = 3
    owner.user.email = "owner@shop-a.example"
    owner.user.save()
    receiver.answer = lambda request: Answer(status=500)
    event_make(shop)
    event_make(shop)
    deliver_all()
    hook.refresh_from_db()
    assert (hook.enabled, hook.consecutive_failures) == (True, 2)

    event_make(shop)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_all()

    hook.refresh_from_db()
    assert (hook.enabled, hook.consecutive_failures) == (False, 3)
    assert hook.disabled_reason.startswith("3 delivery attempts failed in a row")
    assert hook.owner_notified_at is not None
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["owner@shop-a.example"]
    # The task run again sends nothing more.
    assert webhook_disabled_notify_task(hook.pk) is False
    assert len(mailoutbox) == 1


def test_switching_a_disabled_subscription_on_resumes_its_pending_deliveries(hook, shop, receiver, settings):
    from events.services import webhook_subscription_update

    settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES = 1
    receiver.answer = lambda request: Answer(status=500)
    event_make(shop)
    deliver_all()
    hook.refresh_from_db()
    assert hook.enabled is False

    receiver.answer = lambda request: Answer(status=200)
    webhook_subscription_update(subscription=hook, enabled=True)
    hook.refresh_from_db()
    assert (hook.enabled, hook.consecutive_failures, hook.disabled_reason) == (True, 0, "")
    retry_due(timezone.now() + timedelta(minutes=2))
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_redirects_are_not_followed(hook, shop, receiver):
    receiver.answer = lambda request: (
        Answer(status=302, headers={"Location": "/elsewhere"}) if request.path == "/hook" else Answer()
    )
    event_make(shop)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)
    assert receiver.paths() == ["/hook"]  # the target was never hit


def test_at_most_64_kb_of_the_answer_are_read(hook, shop, receiver):
    receiver.answer = lambda request: Answer(status=200, body=b"A" * 2000, stream_bytes=50 * 1024 * 1024)
    target = webhook_target(receiver.url)

    result = client.webhook_post(target, b"{}", {"Content-Type": "application/json"}, timeout=5)

    assert result.status == 200
    assert result.read_bytes == client.MAX_ANSWER_BYTES + 1  # one byte past the cap shows there was more
    assert result.body == b"A" * 1024

    event_make(shop)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.response_body == "A" * 1024
    assert receiver.sent_bytes < 50 * 1024 * 1024  # the receiver was cut off, not read to the end


def test_a_stalled_receiver_times_out_as_a_failed_attempt(hook, shop, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.answer = lambda request: Answer(delay=2)
    event_make(shop)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error == "timed out after 0.5 s"
    assert delivery.attempts == 1


def test_a_refused_connection_is_a_failed_attempt(shop, owner):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    subscription_make(shop, owner.user, f"http://127.0.0.1:{port}/nothing-listens-here")
    event_make(shop)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error.startswith("could not connect")


def test_a_delivery_whose_worker_died_is_claimed_again_once_its_lease_is_over(hook, shop, receiver):
    event_make(shop)
    [batch] = webhooks_dispatch()  # claimed for its delivery task, which never runs (the worker died)
    delivery = WebhookDelivery.objects.get()
    assert delivery.lease_until == batch.lease_until

    assert webhook_deliveries_claim_due(now=batch.lease_until - timedelta(seconds=1)) == []
    [again] = webhook_deliveries_claim_due(now=batch.lease_until + timedelta(seconds=1))
    assert again.delivery_ids == (delivery.pk,)
    # The old claim's task, redelivered late, finds the lease taken over and does nothing.
    assert webhook_deliveries_send(delivery_ids=[delivery.pk], lease_until=batch.lease_until) == 0
    assert receiver.requests == []
    assert send([again]) == 1
    assert len(receiver.requests) == 1


def test_a_result_is_not_recorded_once_another_claim_took_the_delivery(hook, shop, monkeypatch):
    event_make(shop)
    [batch] = webhooks_dispatch()

    def post(target, body, headers, *, timeout):
        # While this worker waits for the answer, its lease runs out and another claim takes the delivery.
        assert webhook_deliveries_claim_due(now=batch.lease_until + timedelta(seconds=1))
        return client.PostResult(status=200)

    monkeypatch.setattr(delivery_module, "webhook_post", post)
    assert webhook_deliveries_send(delivery_ids=list(batch.delivery_ids), lease_until=batch.lease_until) == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
    assert delivery.lease_until > batch.lease_until  # the other claim's


def test_tasks_run_twice_deliver_once(hook, shop, receiver, django_capture_on_commit_callbacks):
    event_make(shop)
    event_make(shop)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert webhooks_dispatch_task() == 2
        assert webhooks_dispatch_task() == 0
    assert len(callbacks) == 1  # one batch: one subscription
    assert len(receiver.requests) == 2
    ids = list(WebhookDelivery.objects.values_list("pk", flat=True))
    lease = timezone.now().isoformat()
    assert webhook_deliveries_send_task(ids, lease) == 0  # a stale claim: nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliveries_retry_due_task() == 0
        assert webhook_deliveries_retry_due_task() == 0
    assert len(receiver.requests) == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_redeliver_makes_one_attempt_now_whatever_the_status(hook, shop, receiver):
    event_make(shop)
    deliver_all()
    delivery = WebhookDelivery.objects.get()
    receiver.answer = lambda request: Answer(status=500)

    again = webhook_delivery_redeliver(delivery=delivery)

    assert len(receiver.requests) == 2
    assert (again.status, again.attempts, again.last_status_code) == (DeliveryStatus.DELIVERED, 2, 500)
    assert again.next_attempt_at is None  # a manual attempt starts no schedule
    receiver.answer = lambda request: Answer(status=201)
    again = webhook_delivery_redeliver(delivery=delivery)
    assert (again.status, again.attempts, again.last_status_code, again.last_error) == ("delivered", 3, 201, "")


def test_redeliver_while_an_attempt_is_under_way_is_a_conflict(hook, shop):
    from backoffice.errors import Conflict

    event_make(shop)
    webhooks_dispatch()  # claimed, its task not run yet
    with pytest.raises(Conflict):
        webhook_delivery_redeliver(delivery=WebhookDelivery.objects.get())


def test_a_lease_running_short_is_extended_before_the_next_post(hook, shop, receiver, settings):
    settings.WEBHOOK_LEASE_SECONDS = 2  # shorter than timeout + margin: extended before the first POST
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    for _ in range(3):
        event_make(shop)
    [batch] = webhooks_dispatch()
    assert send([batch]) == 3
    assert set(WebhookDelivery.objects.values_list("status", "lease_until")) == {(DeliveryStatus.DELIVERED, None)}


def test_a_slow_batch_hands_the_rest_back_to_the_next_claim(hook, shop, receiver, monkeypatch):
    monkeypatch.setattr(delivery_module, "BATCH_SECONDS", 0.25)
    receiver.answer = lambda request: Answer(delay=0.15)
    for _ in range(6):
        event_make(shop)
    [batch] = webhooks_dispatch()

    delivered = send([batch])

    assert 1 <= delivered < 6
    left = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
    assert left.count() == 6 - delivered and not left.filter(lease_until__isnull=False).exists()
    monkeypatch.setattr(delivery_module, "BATCH_SECONDS", 60)
    assert retry_due(timezone.now()) == 6 - delivered  # due at once: the next beat claim takes them
    assert len(receiver.requests) == 6
