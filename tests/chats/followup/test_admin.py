"""Admin for follow-up tasks (chats.admin.followup): adds through the service, complete and cancel actions."""

import pytest
from django.urls import reverse

from chats.choices import TaskStatus
from chats.models import FollowUpTask
from tests.agents.factories import AgentFactory
from tests.chats.factories import FollowUpTaskFactory

pytestmark = pytest.mark.django_db


def test_task_admin_adds_through_the_service_and_refuses_another_shops_handler(admin_client, shop, agent):
    url = reverse("admin:chats_followuptask_add")
    body = {
        "shop": shop.pk,
        "kind": "follow_up",
        "content": "回访",
        "handler": AgentFactory().pk,
        "remind_at_0": "2026-03-02",
        "remind_at_1": "10:00:00",
    }
    response = admin_client.post(url, body)
    assert response.status_code == 200
    assert "handler" in response.context["adminform"].form.errors
    response = admin_client.post(url, {**body, "handler": agent.pk})
    assert response.status_code == 302
    task = FollowUpTask.objects.get()
    assert (task.handler, task.status, task.created_by.is_superuser) == (agent, TaskStatus.OPEN, True)


def test_task_admin_actions_complete_and_cancel(admin_client, agent):
    done, cancelled = (
        FollowUpTaskFactory(shop=agent.shop, handler=agent),
        FollowUpTaskFactory(shop=agent.shop, handler=agent),
    )
    changelist = reverse("admin:chats_followuptask_changelist")
    admin_client.post(changelist, {"action": "complete", "_selected_action": [done.pk]})
    admin_client.post(changelist, {"action": "cancel", "_selected_action": [done.pk, cancelled.pk]})
    assert FollowUpTask.objects.get(pk=done.pk).status == TaskStatus.DONE
    assert FollowUpTask.objects.get(pk=cancelled.pk).status == TaskStatus.CANCELLED
