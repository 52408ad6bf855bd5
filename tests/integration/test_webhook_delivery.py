"""A webhook delivery survives its worker dying mid-POST: a real Celery worker on Redis, a receiver that stalls.

The first worker starts the POST and is SIGKILLed (its whole process group) while the receiver holds the answer. Once
the delivery's lease is over, the beat job's claim (``webhook_deliveries_claim_due``, run here) takes it again and a
second worker makes it; the first worker's message, redelivered by Redis after the visibility timeout, carries the
old lease and does nothing. The receiver got the same delivery twice, with one ``X-Backoffice-Delivery`` id (what it
dedupes on), both signed; the delivery is recorded once, delivered.
"""

import contextlib
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from backoffice.celery import app as celery_app
from events.feed import events_sequence
from events.models import DeliveryStatus, Event, WebhookDelivery, WebhookSubscription
from events.tasks import webhook_deliveries_send_task
from events.webhooks.delivery import webhook_deliveries_claim_due
from events.webhooks.dispatch import webhooks_dispatch
from events.webhooks.signing import secret_new, signature_verify
from tests.agents.factories import AgentFactory
from tests.shops.factories import ShopFactory

from . import processes

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 8
VISIBILITY_TIMEOUT = 4
DONE_SECONDS = 90


class StallingReceiver:
    """Holds the answer to the first POST until released; answers 200 at once afterwards."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if len(receiver.requests) == 1:
                    receiver.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                with contextlib.suppress(OSError):  # the worker that asked may be dead
                    self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _kill_group(process) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_delivery_whose_worker_was_killed_mid_post_is_made_by_another_worker(eager_off, settings, tmp_path):
    broker = processes.broker_url()
    processes.skip_unless_broker_reachable(broker)
    settings.WEBHOOK_LEASE_SECONDS = LEASE_SECONDS
    receiver = StallingReceiver()
    shop = ShopFactory()
    owner = AgentFactory(shop=shop, role="owner")
    hook = WebhookSubscription.objects.create(shop=shop, created_by=owner.user, url=receiver.url, secret=secret_new())
    # Stored directly: the outbox's on-commit wake-up would enqueue on the default queue, not this test's.
    Event.objects.create(shop=shop, type="message.created", data={"body": "在吗"})
    events_sequence()
    [batch] = webhooks_dispatch()
    [delivery_id] = batch.delivery_ids

    queue = processes.unique_queue()
    env = processes.child_env(
        broker,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        WEBHOOK_ALLOW_PRIVATE_NETWORKS="1",
        WEBHOOK_LEASE_SECONDS=str(LEASE_SECONDS),
        WEBHOOK_TIMEOUT_SECONDS="5",
    )
    command = processes.worker_command(queue, "--pool=prefork", "--concurrency=1")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = processes.start(command, env, first_log, new_session=True)
    second = None
    try:
        with celery_app.connection_for_write(broker) as conn:
            webhook_deliveries_send_task.apply_async(
                args=[[delivery_id], batch.lease_until.isoformat()], queue=queue, connection=conn
            )
        processes.wait_for(
            lambda: len(receiver.requests) == 1,
            processes.READY_SECONDS,
            first,
            first_log,
            "the first worker to start the POST",
            every=0.05,
        )
        _kill_group(first)
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0), "killed before recording"

        # The beat job finds nothing while the dead worker's lease lasts (the worker may have extended it before its
        # POST), then claims the delivery again.
        assert webhook_deliveries_claim_due() == []
        while timezone.now() <= delivery.lease_until:
            time.sleep(0.2)
        [again] = webhook_deliveries_claim_due()
        assert again.delivery_ids == (delivery_id,)
        with celery_app.connection_for_write(broker) as conn:
            webhook_deliveries_send_task.apply_async(
                args=[list(again.delivery_ids), again.lease_until.isoformat()], queue=queue, connection=conn
            )
        second = processes.start(command, env, second_log, new_session=True)
        processes.wait_for(
            lambda: WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.DELIVERED).exists(),
            DONE_SECONDS,
            second,
            second_log,
            "the second worker to make the delivery",
        )
        # The dead worker's message comes back after the visibility timeout, with the old lease: a no-op.
        processes.wait_for(
            lambda: second_log.read_text().count("webhook_deliveries_send_task") >= 4,  # 2 received + 2 succeeded
            DONE_SECONDS,
            second,
            second_log,
            "the redelivered message of the dead worker",
        )
        time.sleep(1)
    finally:
        if second is not None:
            processes.stop(second)
        if first.poll() is None:
            _kill_group(first)
        processes.forget_queue(broker, queue)
        receiver.close()

    assert len(receiver.requests) == 2
    assert {headers["x-backoffice-delivery"] for headers, _body in receiver.requests} == {str(delivery_id)}
    for headers, body in receiver.requests:
        assert signature_verify(hook.secret, body, headers["x-backoffice-signature"])
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    assert delivery.lease_until is None
