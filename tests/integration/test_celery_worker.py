"""A real Celery worker, a real broker and the test database: the task travels the way it does in production."""

import pytest

from agents.models import Agent
from backoffice.celery import app as celery_app
from chats.choices import ConversationStatus
from chats.tasks import agents_active_chats_recount
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory
from tests.shops.factories import ShopFactory

from . import processes

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TASK_DONE_SECONDS = 60


@pytest.mark.django_db(transaction=True)
def test_celery_worker_recounts_active_chats_through_the_broker(eager_off, tmp_path):
    broker_url = processes.broker_url()
    processes.skip_unless_broker_reachable(broker_url)
    shop, other_shop = ShopFactory(), ShopFactory()
    agent = AgentFactory(shop=shop)
    elsewhere = AgentFactory(shop=other_shop)
    ConversationFactory.create_batch(3, shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.QUEUED)
    Agent.objects.filter(pk__in=[agent.pk, elsewhere.pk]).update(active_chats=9)

    queue = processes.unique_queue()
    log = tmp_path / "worker.log"
    worker = processes.start(processes.worker_command(queue, "--pool=solo"), processes.child_env(broker_url), log)
    try:
        processes.wait_for(
            lambda: " ready." in log.read_text(), processes.READY_SECONDS, worker, log, "the worker to be ready"
        )
        with celery_app.connection_for_write(broker_url) as conn:
            agents_active_chats_recount.apply_async(kwargs={"shop_ids": [shop.pk]}, queue=queue, connection=conn)

        def fixed() -> bool:
            agent.refresh_from_db()
            return agent.active_chats == 3

        processes.wait_for(fixed, TASK_DONE_SECONDS, worker, log, "the worker to fix the counter")
        elsewhere.refresh_from_db()
        assert elsewhere.active_chats == 9, "the task touched a shop it was not given"
        assert "succeeded" in log.read_text()
    finally:
        # SIGTERM is Celery's warm shutdown: the worker finishes, acknowledges and closes its connections,
        # so the test database can be flushed and dropped afterwards.
        processes.stop(worker)
        processes.forget_queue(broker_url, queue)
    assert worker.returncode == 0, log.read_text()
