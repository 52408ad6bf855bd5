"""Follow-up tasks, their exactly-once reminders, missed follow-up reminders and the notifications inbox."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from agents.choices import AgentStatus, AutoReplyTrigger
from chats import services, tasks
from chats.choices import ConversationStatus, NotificationKind, Sender, TaskStatus
from chats.models import FollowUpTask, Notification
from tests.agents.factories import AgentFactory, AutoReplyRuleFactory
from tests.chats.factories import ConversationFactory, FollowUpTaskFactory, NotificationFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"
NOTIFICATIONS = "/api/v1/notifications/"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def colleague(shop):
    return AgentFactory(shop=shop, display_name="Agent B")


# --- tasks through the API ---------------------------------------------------------------------------------------


def test_agent_creates_a_task_for_itself_linked_to_a_chat(agent_client, agent, shop):
    chat = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    body = {
        "shop": shop.pk,
        "kind": "payment_reminder",
        "content": "提醒买家付款",
        "handler": agent.pk,
        "remind_at": "2026-03-02T18:00:00+08:00",
        "conversation": chat.pk,
    }
    response = agent_client.post(TASKS, body, format="json")
    assert response.status_code == 201, response.content
    task = response.json()
    assert (task["status"], task["reminded_at"], task["buyer"]) == ("open", None, chat.buyer_id)
    assert task["created_by"] == agent.user_id
    assert datetime.fromisoformat(task["remind_at"]) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_tasks_for_others_need_subaccounts(agent_client, shop, colleague):
    body = {"shop": shop.pk, "content": "回访", "handler": colleague.pk, "remind_at": "2026-03-02T10:00:00Z"}
    assert agent_client.post(TASKS, body, format="json").status_code == 201
    shop.subaccounts_enabled = False
    shop.save()
    response = agent_client.post(TASKS, body, format="json")
    assert response.status_code == 400
    assert "handler" in response.json()


def test_agent_sees_tasks_it_handles_or_gave_supervisor_sees_the_shop(agent_client, agent, colleague, supervisor):
    mine = FollowUpTaskFactory(shop=agent.shop, handler=agent)
    given = FollowUpTaskFactory(shop=agent.shop, handler=colleague, created_by=agent.user)
    theirs = FollowUpTaskFactory(shop=agent.shop, handler=colleague)
    FollowUpTaskFactory()  # another shop
    ids = {row["id"] for row in agent_client.get(TASKS).json()["results"]}
    assert ids == {mine.pk, given.pk}
    assert agent_client.get(f"{TASKS}{theirs.pk}/").status_code == 404
    ids = {row["id"] for row in client_for(supervisor.user).get(TASKS).json()["results"]}
    assert ids == {mine.pk, given.pk, theirs.pk}
    ids = {row["id"] for row in client_for(supervisor.user).get(TASKS, {"handler": colleague.pk}).json()["results"]}
    assert ids == {given.pk, theirs.pk}


def test_task_links_must_agree(owner_client, shop, agent):
    chat = ConversationFactory(shop=shop)
    body = {"shop": shop.pk, "content": "x", "handler": agent.pk, "remind_at": "2026-03-02T10:00:00Z"}
    response = owner_client.post(TASKS, {**body, "conversation": chat.pk, "buyer": BuyerFactory().pk}, format="json")
    assert response.status_code == 400
    assert "buyer" in response.json()
    order = OrderFactory(shop=shop)
    response = owner_client.post(TASKS, {**body, "order": order.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["buyer"] == order.buyer_id
    response = owner_client.post(TASKS, {**body, "handler": AgentFactory().pk}, format="json")
    assert response.status_code == 400
    assert "handler" in response.json()


def test_integration_clients_have_no_tasks(integration_client, shop, agent):
    body = {"shop": shop.pk, "content": "x", "handler": agent.pk, "remind_at": "2026-03-02T10:00:00Z"}
    assert integration_client.post(TASKS, body, format="json").status_code == 403


def test_complete_and_cancel(agent_client, agent):
    task = FollowUpTaskFactory(shop=agent.shop, handler=agent)
    response = agent_client.post(f"{TASKS}{task.pk}/complete/")
    assert response.status_code == 200
    assert response.json()["status"] == "done"
    closed_at = response.json()["closed_at"]
    assert closed_at is not None
    assert agent_client.post(f"{TASKS}{task.pk}/complete/").json()["closed_at"] == closed_at  # again: no change
    assert agent_client.post(f"{TASKS}{task.pk}/cancel/").status_code == 409
    assert agent_client.patch(f"{TASKS}{task.pk}/", {"content": "x"}, format="json").status_code == 409
    other = FollowUpTaskFactory(shop=agent.shop, handler=agent)
    assert agent_client.post(f"{TASKS}{other.pk}/cancel/").json()["status"] == "cancelled"
    assert agent_client.post(f"{TASKS}{other.pk}/complete/").status_code == 409


# --- reminders ---------------------------------------------------------------------------------------------------


def test_due_reminders_become_notifications_exactly_once(agent):
    due = FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0 - timedelta(minutes=1))
    FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0 + timedelta(minutes=1))  # not yet
    done = FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0 - timedelta(hours=1))
    services.task_complete(task=done)
    cancelled = FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0 - timedelta(hours=1))
    services.task_cancel(task=cancelled)
    assert services.task_reminders_deliver(now=T0) == 1
    assert services.task_reminders_deliver(now=T0) == 0
    notification = Notification.objects.get()
    assert (notification.kind, notification.task_id, notification.recipient_id) == ("task_due", due.pk, agent.pk)
    assert notification.due_at == due.remind_at
    assert FollowUpTask.objects.get(pk=due.pk).reminded_at == T0


def test_reminders_are_delivered_in_batches(agent):
    for minute in range(7):
        FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0 - timedelta(minutes=minute))
    assert services.task_reminders_deliver(now=T0, batch=3) == 7
    assert Notification.objects.count() == 7


def test_a_crash_mid_batch_loses_nothing(agent, monkeypatch):
    task = FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0)

    def crash(*args, **kwargs):
        raise RuntimeError("worker died")

    with monkeypatch.context() as patch:
        patch.setattr(Notification.objects, "bulk_create", crash)
        with pytest.raises(RuntimeError):
            services.task_reminders_deliver(now=T0)
    assert FollowUpTask.objects.get(pk=task.pk).reminded_at is None  # rolled back with the notification
    assert services.task_reminders_deliver(now=T0) == 1


def test_moving_the_reminder_reminds_again(agent_client, agent):
    task = FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0)
    services.task_reminders_deliver(now=T0)
    response = agent_client.patch(f"{TASKS}{task.pk}/", {"remind_at": "2026-03-03T02:00:00Z"}, format="json")
    assert response.status_code == 200
    assert response.json()["reminded_at"] is None
    assert services.task_reminders_deliver(now=T0 + timedelta(hours=23)) == 0
    assert services.task_reminders_deliver(now=T0 + timedelta(days=1)) == 1
    assert list(Notification.objects.order_by("due_at").values_list("due_at", flat=True)) == [
        T0,
        T0 + timedelta(days=1),
    ]


def test_reminder_task_is_idempotent(agent):
    FollowUpTaskFactory(shop=agent.shop, handler=agent, remind_at=T0)
    assert tasks.followup_reminders_deliver() == 1
    assert tasks.followup_reminders_deliver() == 0
    assert Notification.objects.count() == 1


def test_beat_schedules_exist_with_expiries_shorter_than_intervals():
    from django.apps import apps

    migration = importlib.import_module("chats.migrations.0004_workbench")
    # Applied by migrate; applied again here (another test module may have flushed the database): update_or_create,
    # so running it twice leaves one schedule each.
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)
    for name in ("chats: deliver task reminders", "chats: missed follow-up reminders"):
        periodic = PeriodicTask.objects.get(name=name)
        assert periodic.enabled
        assert periodic.task in {"chats.tasks.task_reminders_deliver_task", "chats.tasks.missed_followups_notify_task"}
        assert 0 < periodic.expire_seconds < periodic.interval.every


# --- missed follow-ups -------------------------------------------------------------------------------------------


def buyer_says(chat, at):
    return services.message_create(conversation=chat, sender=Sender.BUYER, body="还在吗", sent_at=at)


def agent_says(chat, at):
    return services.message_create(conversation=chat, sender=Sender.AGENT, agent=chat.agent, body="在", sent_at=at)


def missed(chat):
    return list(
        Notification.objects.filter(conversation=chat, kind=NotificationKind.MISSED_FOLLOWUP)
        .order_by("turn_started_at")
        .values_list("recipient_id", "turn_started_at", "due_at")
    )


def test_unanswered_buyer_turn_notifies_the_agent_once_per_turn(shop, agent):
    # shop.missed_followup_minutes is 5 by default
    chat = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent, started_at=T0)
    buyer_says(chat, T0)
    buyer_says(chat, T0 + timedelta(minutes=3))  # the same turn: its clock started at T0
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=4, seconds=59)) == 0
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=5)) == 1
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=9)) == 0
    assert missed(chat) == [(agent.pk, T0, T0 + timedelta(minutes=5))]
    agent_says(chat, T0 + timedelta(minutes=10))
    buyer_says(chat, T0 + timedelta(minutes=11))
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=15)) == 0
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=16)) == 1
    assert [row[1] for row in missed(chat)] == [T0, T0 + timedelta(minutes=11)]


def test_answered_turns_bot_chats_and_ended_chats_are_not_missed(shop, agent):
    answered = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(answered, T0)
    agent_says(answered, T0 + timedelta(minutes=1))
    bot = ConversationFactory(shop=shop, status=ConversationStatus.BOT)
    buyer_says(bot, T0)
    ended = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(ended, T0)
    services.conversation_close(conversation_id=ended.pk, closed_by="agent", now=T0 + timedelta(minutes=1))
    assert services.missed_followups_notify(now=T0 + timedelta(hours=1)) == 0


def test_an_auto_reply_does_not_answer_the_turn(shop, agent):
    AutoReplyRuleFactory(shop=shop, trigger=AutoReplyTrigger.AGENT_AWAY, content="away")
    agent.status = AgentStatus.AWAY
    agent.save(update_fields=["status"])
    chat = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(chat, T0)
    assert chat.messages.filter(is_auto_reply=True).count() == 1
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=6)) == 1


def test_each_shop_uses_its_own_threshold(agent):
    patient = ShopFactory(missed_followup_minutes=30)
    patient_agent = AgentFactory(shop=patient)
    quick = ConversationFactory(shop=agent.shop, status=ConversationStatus.HUMAN, agent=agent)
    slow = ConversationFactory(shop=patient, status=ConversationStatus.HUMAN, agent=patient_agent)
    buyer_says(quick, T0)
    buyer_says(slow, T0)
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=10)) == 1
    assert missed(slow) == []
    assert services.missed_followups_notify(now=T0 + timedelta(minutes=30)) == 1
    assert missed(slow) == [(patient_agent.pk, T0, T0 + timedelta(minutes=30))]


def test_missed_followup_task_is_idempotent(shop, agent):
    chat = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(chat, T0 - timedelta(hours=1))
    tasks.missed_followups_notify_task()
    tasks.missed_followups_notify_task()
    assert len(missed(chat)) == 1


# --- notifications inbox -----------------------------------------------------------------------------------------


def test_inbox_shows_only_the_callers_notifications(agent_client, agent, colleague):
    mine = NotificationFactory(task=FollowUpTaskFactory(shop=agent.shop, handler=agent))
    theirs = NotificationFactory(task=FollowUpTaskFactory(shop=agent.shop, handler=colleague))
    rows = agent_client.get(NOTIFICATIONS).json()["results"]
    assert [row["id"] for row in rows] == [mine.pk]
    assert rows[0]["kind"] == "task_due"
    assert rows[0]["text"].startswith("Task due: Call the buyer back")
    assert agent_client.get(f"{NOTIFICATIONS}{theirs.pk}/").status_code == 404
    assert agent_client.post(f"{NOTIFICATIONS}{theirs.pk}/read/").status_code == 404


def test_reading_a_notification(agent_client, agent):
    notification = NotificationFactory(task=FollowUpTaskFactory(shop=agent.shop, handler=agent))
    first = agent_client.post(f"{NOTIFICATIONS}{notification.pk}/read/").json()["read_at"]
    assert first is not None
    assert agent_client.post(f"{NOTIFICATIONS}{notification.pk}/read/").json()["read_at"] == first
    assert agent_client.get(NOTIFICATIONS, {"unread": "true"}).json()["results"] == []
    assert len(agent_client.get(NOTIFICATIONS, {"unread": "false"}).json()["results"]) == 1


def test_notifications_cannot_be_created_through_the_api(agent_client, staff_client, agent):
    assert agent_client.post(NOTIFICATIONS, {}, format="json").status_code == 403
    assert staff_client.post(NOTIFICATIONS, {}, format="json").status_code == 405
    assert Notification.objects.count() == 0


def test_task_status_choices_are_the_contracts():
    assert TaskStatus.values == ["open", "done", "cancelled"]


def test_missed_followup_text_shows_the_shops_local_time(agent_client, shop, agent):
    chat = ConversationFactory(shop=shop, status=ConversationStatus.HUMAN, agent=agent)
    buyer_says(chat, T0)  # 02:00 UTC is 10:00 in Asia/Shanghai
    services.missed_followups_notify(now=T0 + timedelta(minutes=5))
    row = agent_client.get(NOTIFICATIONS, {"kind": "missed_followup"}).json()["results"][0]
    assert row["conversation"] == chat.pk
    assert row["text"] == "A buyer has been waiting for an answer since 2026-03-02 10:00."
