"""Celery fault tolerance with a real worker on Redis: SIGKILL in the middle of the work, every message delivered twice.

The rollup, rating-invite, reminder and export tasks are sent twice each (a broker may deliver a message more than
once); the first worker is killed (its whole process group, SIGKILL: no warm shutdown, nothing acknowledged) while
the export is being written and the other messages wait or run; a second worker picks up what was left unacknowledged
(``acks_late`` + ``task_reject_on_worker_lost``, redelivery after the Redis visibility timeout). The final database
state must equal a clean run: one draw and one invite per chat, one notification per reminder, the day's metric rows
as an undisturbed rollup writes them, one finished export file with every row.
"""

import os
import signal
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.forms.models import model_to_dict
from django.utils import timezone
from openpyxl import load_workbook

from backoffice.celery import app as celery_app
from chats.choices import ExportFormat, ExportKind, ExportStatus, NotificationKind, Sender
from chats.models import Conversation, Export, FollowUpTask, Message, Notification
from chats.tasks import export_run_task, followup_reminders_deliver
from chats.turns import ConversationFilter
from chats.turns.store import turns_rebuild
from evaluations.choices import InviteChannel
from evaluations.models import DailyMetric, InviteDecision, RatingInvite
from evaluations.services import daily_metrics_rollup
from evaluations.tasks import daily_metrics_rollup_task, rating_invite_decide_task
from tests.agents.factories import AgentFactory
from tests.shops.factories import BuyerFactory, ShopFactory

from . import processes

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHATS = 120
REMINDERS = 150
EXPORT_MESSAGES = 40_000  # as XLSX: a few seconds of writing, a wide window for the kill
VISIBILITY_TIMEOUT = 4
DONE_SECONDS = 180


def _world():
    """One shop: yesterday's chats with many messages (rolled up and exported), chats that ended just now (to be
    invited; kept apart so that their invite cards cannot change the day's rollup or export), due reminders."""
    shop = ShopFactory(invite_probability=Decimal("1"))
    agent = AgentFactory(shop=shop)
    buyers = [BuyerFactory() for _ in range(10)]
    day = (timezone.now().astimezone(shop.tzinfo) - timedelta(days=1)).date()
    start = timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()), shop.tzinfo)
    chats = Conversation.objects.bulk_create(
        [
            Conversation(
                shop=shop,
                buyer=buyers[i % len(buyers)],
                agent=agent,
                status="ended",
                phase="pre_sales",
                started_at=start + timedelta(hours=9, minutes=i),
                ended_at=start + timedelta(hours=9, minutes=i + 5),
            )
            for i in range(CHATS)
        ]
    )
    messages = []
    for n in range(EXPORT_MESSAGES):
        chat = chats[n % CHATS]
        buyer_turn = n % 2 == 0
        messages.append(
            Message(
                conversation=chat,
                sender=Sender.BUYER if buyer_turn else Sender.AGENT,
                agent=None if buyer_turn else agent,
                body=f"=HYPERLINK(message {n})" if n % 1000 == 0 else f"message {n}",
                sent_at=chat.started_at + timedelta(seconds=n // CHATS),
            )
        )
    Message.objects.bulk_create(messages, batch_size=5000)
    turns_rebuild(conversations=ConversationFilter(shop_ids=[shop.pk]))
    now = timezone.now()
    invited = Conversation.objects.bulk_create(
        [
            Conversation(
                shop=shop,
                buyer=buyers[i % len(buyers)],
                agent=agent,
                status="ended",
                phase="pre_sales",
                started_at=now - timedelta(minutes=20),
                ended_at=now - timedelta(minutes=1),
            )
            for i in range(CHATS)
        ]
    )
    due = timezone.now() - timedelta(minutes=1)
    FollowUpTask.objects.bulk_create(
        [FollowUpTask(shop=shop, handler=agent, content=f"call back {i}", remind_at=due) for i in range(REMINDERS)]
    )
    export = Export.objects.create(
        shop=shop,
        kind=ExportKind.MESSAGES,
        format=ExportFormat.XLSX,
        filters={"date_from": day.isoformat(), "date_to": day.isoformat()},
    )
    return shop, day, invited, export


def _metric_rows(shop, day) -> list[dict]:
    rows = DailyMetric.objects.filter(shop=shop, date=day).order_by("scope", "agent_id", "group_id", "phase")
    return [{k: v for k, v in model_to_dict(row).items() if k not in ("id", "computed_at", "final")} for row in rows]


def _send_everything_twice(broker: str, queue: str, shop, day, chats, export) -> None:
    with celery_app.connection_for_write(broker) as conn:
        for _ in range(2):
            export_run_task.apply_async(args=[export.pk], queue=queue, connection=conn)
            daily_metrics_rollup_task.apply_async(
                kwargs={"day": day.isoformat(), "shop_ids": [shop.pk]}, queue=queue, connection=conn
            )
            followup_reminders_deliver.apply_async(queue=queue, connection=conn)
            for chat in chats:
                rating_invite_decide_task.apply_async(args=[chat.pk], queue=queue, connection=conn)


def _kill_group(process) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killed_worker_and_duplicate_messages_leave_the_state_of_a_clean_run(eager_off, tmp_path):
    broker = processes.broker_url()
    processes.skip_unless_broker_reachable(broker)
    shop, day, chats, export = _world()
    queue = processes.unique_queue()
    env = processes.child_env(
        broker,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        EXPORT_STALE_RUNNING_SECONDS=str(VISIBILITY_TIMEOUT),
        DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
    )
    command = processes.worker_command(queue, "--pool=prefork", "--concurrency=2")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    _send_everything_twice(broker, queue, shop, day, chats, export)
    first = processes.start(command, env, first_log, new_session=True)
    try:
        processes.wait_for(
            lambda: Export.objects.filter(pk=export.pk, status=ExportStatus.RUNNING).exists(),
            processes.READY_SECONDS,
            first,
            first_log,
            "the first worker to start the export",
            every=0.05,
        )
        _kill_group(first)
        export.refresh_from_db()
        assert export.status == ExportStatus.RUNNING, "the kill was meant to land in the middle of the export"

        time.sleep(VISIBILITY_TIMEOUT + 1)  # the unacknowledged messages become visible again
        second = processes.start(command, env, second_log, new_session=True)
        try:

            def all_done() -> bool:
                return (
                    Export.objects.filter(pk=export.pk, status=ExportStatus.DONE).exists()
                    and InviteDecision.objects.filter(conversation__shop=shop).count() == CHATS
                    and Notification.objects.filter(shop=shop, kind=NotificationKind.TASK_DUE).count() == REMINDERS
                    and DailyMetric.objects.filter(shop=shop, date=day).exists()
                )

            processes.wait_for(all_done, DONE_SECONDS, second, second_log, "the second worker to finish everything")
            time.sleep(3)  # let any duplicate still in flight land, so that it is checked too
        finally:
            processes.stop(second)
    finally:
        if first.poll() is None:
            _kill_group(first)
        processes.forget_queue(broker, queue)

    # Invites: exactly one draw, one system invite and one invite card per chat (probability 1).
    assert InviteDecision.objects.filter(conversation__shop=shop).count() == CHATS
    invites = RatingInvite.objects.filter(conversation__shop=shop, channel=InviteChannel.SYSTEM)
    assert invites.count() == CHATS
    assert invites.values("conversation").distinct().count() == CHATS
    cards = Message.objects.filter(conversation__shop=shop, sender=Sender.SYSTEM, flags__contains=["rating_invite"])
    assert cards.count() == CHATS

    # Reminders: every task reminded once, one notification each.
    assert not FollowUpTask.objects.filter(shop=shop, reminded_at__isnull=True).exists()
    notified = Notification.objects.filter(shop=shop, kind=NotificationKind.TASK_DUE)
    assert notified.count() == REMINDERS
    assert notified.values("task").distinct().count() == REMINDERS

    # Metrics: the rows equal those an undisturbed rollup writes.
    after_faults = _metric_rows(shop, day)
    assert after_faults
    daily_metrics_rollup(day=day, shop_ids=[shop.pk])
    assert _metric_rows(shop, day) == after_faults

    # Export: done once, every message of the day, formulas neutralised, no half-written file left behind.
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE
    assert export.rows == EXPORT_MESSAGES
    sheet = load_workbook(export.file.path, read_only=True).active
    cells = list(sheet.iter_rows(values_only=True))
    assert len(cells) == export.rows + 1
    assert not any(isinstance(cell, str) and cell.startswith("=") for row in cells for cell in row)
    folder, name = os.path.split(export.file.path)
    assert [entry for entry in os.listdir(folder) if entry != name and f"-{export.pk}" in entry] == []
