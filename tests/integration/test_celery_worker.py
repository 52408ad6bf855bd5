"""A real Celery worker, a real broker and the test database: the task travels the way it does in production."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from agents.models import Agent
from agents.tasks import agent_recount_active_chats_task
from backoffice.celery import app as celery_app
from chats.choices import ConversationStatus
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"
WORKER_READY_SECONDS = 60
TASK_DONE_SECONDS = 60


def _broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    # The filesystem broker is per-process-tree local and not what this test is about: use Redis then.
    return url if url and not url.startswith("filesystem://") else DEFAULT_BROKER_URL


def _skip_unless_broker_reachable(url: str) -> None:
    try:
        with celery_app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no broker here"
        pytest.skip(f"broker {url} is unreachable ({error.__class__.__name__}: {error}); start Redis to run this test")


def _database_url() -> str:
    """The test database (``test_...``) as a URL, so the worker writes where this test reads."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"


def _wait_for(predicate, timeout: float, worker: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) before {what}:\n{log.read_text()}")
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}:\n{log.read_text()}")


@pytest.fixture
def eager_off():
    """The test settings run tasks eagerly; here they must go through the broker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


@pytest.mark.django_db(transaction=True)
def test_celery_worker_recounts_active_chats_through_the_broker(eager_off, tmp_path):
    broker_url = _broker_url()
    _skip_unless_broker_reachable(broker_url)
    shop, other_shop = ShopFactory(), ShopFactory()
    agent = AgentFactory(shop=shop)
    elsewhere = AgentFactory(shop=other_shop)
    ConversationFactory.create_batch(3, shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.QUEUED)
    Agent.objects.filter(pk__in=[agent.pk, elsewhere.pk]).update(active_chats=9)

    # A queue of its own, so a developer's worker on the same broker cannot take the message.
    queue = f"itest-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_BROKER_URL": broker_url,
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
    }
    command = [
        sys.executable,
        *("-m", "celery", "-A", "backoffice", "worker", "--pool=solo", "--loglevel=info"),
        *("--queues", queue, "--hostname", f"{queue}@%h"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log.open("wb") as output:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(lambda: " ready." in log.read_text(), WORKER_READY_SECONDS, worker, log, "the worker to be ready")
        with celery_app.connection_for_write(broker_url) as conn:
            agent_recount_active_chats_task.apply_async(kwargs={"shop_ids": [shop.pk]}, queue=queue, connection=conn)

        def fixed() -> bool:
            agent.refresh_from_db()
            return agent.active_chats == 3

        _wait_for(fixed, TASK_DONE_SECONDS, worker, log, "the worker to fix the counter")
        elsewhere.refresh_from_db()
        assert elsewhere.active_chats == 9, "the task touched a shop it was not given"
        assert "succeeded" in log.read_text()
    finally:
        # SIGTERM is Celery's warm shutdown: the worker finishes, acknowledges and closes its connections,
        # so the test database can be flushed and dropped afterwards.
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        _forget_queue(broker_url, queue)
    assert worker.returncode == 0, log.read_text()


def _forget_queue(broker_url: str, queue: str) -> None:
    """Drop the one-off queue's bookkeeping keys, so runs leave nothing behind in the broker's database."""
    if broker_url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(broker_url)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()
