"""The events of agents, notifications, rating invites, evaluations and exports: once per change, with the right
shop, agent and audience and hand-written data, and none when the change rolls back."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.choices import AgentRole, AgentStatus
from agents.models import Agent
from chats import services as chat_services
from chats.choices import ClosedBy, ExportStatus
from chats.models import Export, Message
from chats.supervision import exports
from evaluations import services
from evaluations.models import RatingInvite
from evaluations.random_source import use_random_source
from events.choices import Audience, EventType
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import FollowUpTaskFactory
from tests.chats.helpers import start
from tests.evaluations.factories import RatingInviteFactory
from tests.events.emission import T0, emitted, rolled_back, types, who

pytestmark = pytest.mark.django_db

AT = "2024-05-06T18:00:00+08:00"


class Always(random.Random):
    def random(self) -> float:
        return 0.0


@pytest.fixture
def served(shop, agent):
    conversation = start(shop, started_at=T0)
    chat_services.transfer_to_human(conversation_id=conversation.pk, now=T0)
    return conversation


# --- agents ---------------------------------------------------------------------------------------------------------


def test_agent_status_change_emits_the_agent_for_itself_and_the_managers(shop, monkeypatch):
    agent = AgentFactory(shop=shop, display_name="小王", capacity=4, status=AgentStatus.ONLINE)
    RoutingGroupFactory(shop=shop, name="售后", members=[agent])
    RoutingGroupFactory(shop=shop, name="Pre-sales", members=[agent])
    RoutingGroupFactory(shop=shop, name="Other")
    groups = dict(agent.routing_groups.values_list("name", "pk"))
    monkeypatch.setattr(timezone, "now", lambda: T0)
    with emitted() as events:
        chat_services.agent_set_status(agent=agent, status=AgentStatus.BUSY)
    [changed] = events
    assert (changed.type, who(changed)) == (EventType.AGENT_STATUS_CHANGED, (shop.pk, None, agent.pk, None, "agent"))
    assert changed.data == {
        "id": agent.pk,
        "shop": shop.pk,
        "username": agent.user.username,
        "display_name": "小王",
        "role": "agent",
        "capacity": 4,
        "groups": [groups["Pre-sales"], groups["售后"]],  # the groups' order: by name
        "status": "busy",
        "active_chats": 0,
        "status_changed_at": AT,
        "last_assigned_at": None,
        "created_at": timezone.localtime(agent.created_at).isoformat(),
    }
    with emitted() as again:
        chat_services.agent_set_status(agent=agent, status=AgentStatus.BUSY)
    assert again == []  # the same status again changes nothing


def test_agent_status_change_rolled_back_emits_nothing(agent):
    assert rolled_back(lambda: chat_services.agent_set_status(agent=agent, status=AgentStatus.AWAY)) == []
    assert Agent.objects.get(pk=agent.pk).status == AgentStatus.ONLINE


# --- notifications --------------------------------------------------------------------------------------------------


def test_task_reminder_notification_is_the_handlers(shop, agent, served):
    task = FollowUpTaskFactory(shop=shop, handler=agent, conversation=served, remind_at=T0, content="回访退款")
    with emitted() as events:
        chat_services.task_reminders_deliver(now=T0 + timedelta(minutes=5))
    [created] = events
    notification = task.notifications.get()
    assert (created.type, who(created)) == (
        EventType.NOTIFICATION_CREATED,
        (shop.pk, served.pk, agent.pk, None, Audience.AGENT),
    )
    assert created.data == {
        "id": notification.pk,
        "shop": shop.pk,
        "recipient": agent.pk,
        "kind": "task_due",
        "text": "Task due: 回访退款",
        "task": task.pk,
        "conversation": served.pk,
        "turn_started_at": None,
        "due_at": AT,
        "created_at": "2024-05-06T18:05:00+08:00",
        "read_at": None,
    }


def test_missed_followup_notification_says_since_when_in_the_shops_time(shop, agent, served):
    shop.timezone = "Europe/Berlin"
    shop.save()
    chat_services.message_create(conversation=served, sender="buyer", body="在吗", sent_at=T0)
    with emitted() as events:
        chat_services.missed_followups_notify(now=T0 + timedelta(hours=1))
    [created] = events
    notification = served.notifications.get()
    assert who(created) == (shop.pk, served.pk, agent.pk, None, Audience.AGENT)
    assert created.data == {
        "id": notification.pk,
        "shop": shop.pk,
        "recipient": agent.pk,
        "kind": "missed_followup",
        "text": "A buyer has been waiting for an answer since 2024-05-06 12:00.",  # 10:00 UTC in Berlin (CEST)
        "task": None,
        "conversation": served.pk,
        "turn_started_at": AT,
        "due_at": (timezone.localtime(notification.due_at)).isoformat(),
        "created_at": "2024-05-06T19:00:00+08:00",
        "read_at": None,
    }


# --- rating invites and evaluations ---------------------------------------------------------------------------------


def test_system_invite_emits_invite_sent_and_its_card(shop, agent, served):
    shop.invite_probability = Decimal("1")
    shop.save()
    chat_services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.BUYER, now=T0)
    with use_random_source(Always()), emitted() as events:
        invite = services.rating_invite_decide(conversation_id=served.pk, now=T0)
    card = Message.objects.get(conversation=served, flags=["rating_invite"])
    assert types(events) == [EventType.INVITE_SENT, EventType.MESSAGE_CREATED]
    sent, carded = events
    assert who(sent) == (shop.pk, served.pk, agent.pk, None, Audience.AGENT)
    assert sent.data == {
        "id": invite.pk,
        "conversation": served.pk,
        "channel": "system",
        "status": "pending",
        "agent": agent.pk,
        "sent_at": AT,
        "expires_at": "2024-05-07T18:00:00+08:00",
        "answered_at": None,
    }
    assert who(carded) == (shop.pk, served.pk, agent.pk, None, Audience.AGENT)
    assert carded.data["id"] == card.pk and carded.data["flags"] == ["rating_invite"]
    with use_random_source(Always()), emitted() as again:
        services.rating_invite_decide(conversation_id=served.pk, now=T0)
    assert again == []  # drawn once: a retried task sends nothing again


def test_agent_invite_emits_invite_sent(shop, agent, served, settings):
    settings.AGENT_INVITE_RETIRED_ON = (T0 + timedelta(days=1)).date()
    with emitted() as events:
        invite = services.rating_invite_request_by_agent(conversation=served, now=T0)
    assert types(events) == [EventType.INVITE_SENT, EventType.MESSAGE_CREATED]
    assert (events[0].data["id"], events[0].data["channel"]) == (invite.pk, "agent")


def test_evaluation_of_an_invite_emits_evaluation_created(shop, agent, served):
    chat_services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.BUYER, now=T0)
    invite = RatingInviteFactory(conversation=served, sent_at=T0, agent=agent)
    with emitted() as events:
        evaluation = services.evaluation_submit(
            invite=invite, score=4, tags=["耐心", " ", "耐心"], comment="很好", now=T0 + timedelta(hours=1)
        )
    [created] = events
    assert (created.type, who(created)) == (
        EventType.EVALUATION_CREATED,
        (shop.pk, served.pk, agent.pk, None, Audience.AGENT),
    )
    assert created.data == {
        "id": evaluation.pk,
        "invite": invite.pk,
        "conversation": served.pk,
        "channel": "system",
        "score": 4,
        "tags": ["耐心"],
        "comment": "很好",
        "answered_at": "2024-05-06T19:00:00+08:00",
    }
    assert RatingInvite.objects.get(pk=invite.pk).status == "answered"


def test_self_rating_emits_evaluation_created(shop, agent, served):
    chat_services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.BUYER, now=T0)
    with emitted() as events:
        evaluation = services.evaluation_submit(conversation=served, score=2, now=T0 + timedelta(minutes=1))
    [created] = events
    assert who(created) == (shop.pk, served.pk, agent.pk, None, Audience.AGENT)
    assert (created.data["id"], created.data["invite"], created.data["channel"]) == (evaluation.pk, None, "self")


def test_invites_and_evaluations_rolled_back_emit_nothing(shop, agent, served, settings):
    settings.AGENT_INVITE_RETIRED_ON = (T0 + timedelta(days=1)).date()
    assert rolled_back(lambda: services.rating_invite_request_by_agent(conversation=served, now=T0)) == []
    chat_services.conversation_close(conversation_id=served.pk, closed_by=ClosedBy.BUYER, now=T0)
    assert rolled_back(lambda: services.evaluation_submit(conversation=served, score=5, now=T0)) == []


# --- exports --------------------------------------------------------------------------------------------------------


@pytest.fixture
def export(shop):
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    return Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv", created_at=T0)


def test_export_finished_is_for_the_managers(shop, export, served):
    with emitted() as events:
        done = exports.export_run(export_id=export.pk)
    [finished] = events
    assert (finished.type, who(finished)) == (EventType.EXPORT_FINISHED, (shop.pk, None, None, None, "managers"))
    assert finished.data == {
        "id": export.pk,
        "shop": shop.pk,
        "kind": "messages",
        "format": "csv",
        "filters": {},
        "status": "done",
        "rows": 2,  # the greeting and the announcement
        "error": "",
        "requested_by": export.requested_by.username,
        "created_at": AT,
        "started_at": timezone.localtime(done.started_at).isoformat(),
        "finished_at": timezone.localtime(done.finished_at).isoformat(),
        "file_deleted_at": None,
        "download_url": f"/api/v1/exports/{export.pk}/download/",
    }
    with emitted() as again:
        assert exports.export_run(export_id=export.pk) is None  # finished: a second run does nothing
    assert again == []


def test_a_failed_export_finishes_too(shop, export, monkeypatch):
    def broken(export):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "_write_file", broken)
    with emitted() as events:
        exports.export_run(export_id=export.pk)
    [finished] = events
    assert finished.type == EventType.EXPORT_FINISHED
    assert (finished.data["status"], finished.data["error"], finished.data["download_url"]) == (
        ExportStatus.FAILED,
        "OSError: disk full",
        None,
    )
