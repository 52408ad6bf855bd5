"""Renamed tasks keep their old names registered: a message queued before a deploy, or a beat row not yet migrated,
runs the same work under the old name."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from backoffice.celery import app as celery_app
from backoffice.schedules import TASK_RENAMES
from chats import tasks as chats_tasks
from chats.choices import ConversationStatus, NotificationKind
from chats.models import Notification
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory, FollowUpTaskFactory

# Old name -> new name, written out by hand.
RENAMED = {
    "chats.tasks.task_reminders_deliver_task": "chats.tasks.followup_reminders_deliver",
    "agents.tasks.agent_recount_active_chats_task": "chats.tasks.agents_active_chats_recount",
}


def test_every_old_task_name_is_still_registered_next_to_its_new_one():
    celery_app.loader.import_default_modules()
    assert dict(TASK_RENAMES) == RENAMED
    for old, new in RENAMED.items():
        assert old in celery_app.tasks, old
        assert new in celery_app.tasks, new


def test_old_python_names_enqueue_the_new_tasks():
    assert chats_tasks.task_reminders_deliver_task is chats_tasks.followup_reminders_deliver
    assert chats_tasks.task_reminders_deliver_task.name == "chats.tasks.followup_reminders_deliver"


@pytest.mark.django_db
def test_old_reminders_name_delivers_a_due_follow_up_task_once(agent):
    due = FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=timezone.now() - timedelta(minutes=1))
    FollowUpTaskFactory(shop=agent.shop, handler=agent)  # due in an hour
    old = celery_app.tasks["chats.tasks.task_reminders_deliver_task"]

    assert old.delay().get() == 1
    assert old.delay().get() == 0  # already delivered: exactly once, as under the new name

    notification = Notification.objects.get()
    assert (notification.task_id, notification.recipient_id, notification.kind) == (
        due.pk,
        agent.pk,
        NotificationKind.TASK_DUE,
    )
    assert celery_app.tasks["chats.tasks.followup_reminders_deliver"].delay().get() == 0


@pytest.mark.django_db
def test_old_recount_name_rebuilds_the_counters_of_the_shops_given(shop, agent, other_shop):
    ConversationFactory.create_batch(2, shop=shop, agent=agent, status=ConversationStatus.HUMAN)
    ConversationFactory(shop=shop, agent=agent, status=ConversationStatus.QUEUED)
    elsewhere = AgentFactory(shop=other_shop)
    Agent.objects.filter(pk__in=[agent.pk, elsewhere.pk]).update(active_chats=7)
    old = celery_app.tasks["agents.tasks.agent_recount_active_chats_task"]

    for _ in range(2):
        assert old.delay(shop_ids=[shop.pk]).get() == 1  # the one agent of that shop
        agent.refresh_from_db()
        elsewhere.refresh_from_db()
        assert (agent.active_chats, elsewhere.active_chats) == (2, 7)
