"""Notifications (reminders) for agents: reading them, and the missed follow-up sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from shops.models import Shop

from ..choices import ConversationStatus, NotificationKind
from ..models import Notification, Turn


@transaction.atomic
def notification_mark_read(*, notification: Notification, now: datetime | None = None) -> Notification:
    """Mark a notification read; reading it again keeps the first time."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now or timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def _overdue_turns(*, threshold_minutes: int, now: datetime) -> list[tuple[int, int, int, datetime]]:
    """(conversation, shop, agent, turn start) of the unanswered last turns of human chats in shops with this
    threshold, overdue at ``now`` and not yet notified: read from the stored turns."""
    notified = Notification.objects.filter(
        kind=NotificationKind.MISSED_FOLLOWUP,
        conversation_id=OuterRef("conversation_id"),
        turn_started_at=OuterRef("started_at"),
    )
    overdue = Turn.objects.filter(
        responded_at__isnull=True,
        started_at__lte=now - timedelta(minutes=threshold_minutes),
        conversation__status=ConversationStatus.HUMAN,
        conversation__agent__isnull=False,
        conversation__shop__missed_followup_minutes=threshold_minutes,
    ).filter(~Exists(notified))
    return list(overdue.values_list("conversation_id", "shop_id", "conversation__agent_id", "started_at"))


def missed_followups_notify(*, now: datetime | None = None) -> int:
    """Notify each human chat's agent of a buyer turn unanswered past the shop's threshold, once per turn.

    One query of the stored turns per distinct shop threshold; a unique constraint on (conversation, turn start)
    makes a second run, or a second worker, add nothing. Returns how many notifications were created.
    """
    now = now or timezone.now()
    thresholds = (
        Shop.objects.filter(conversations__status=ConversationStatus.HUMAN)
        .order_by()
        .values_list("missed_followup_minutes", flat=True)
        .distinct()
    )
    created = 0
    for threshold in thresholds:
        rows = _overdue_turns(threshold_minutes=threshold, now=now)
        notifications = [
            Notification(
                shop_id=shop_id,
                recipient_id=agent_id,
                kind=NotificationKind.MISSED_FOLLOWUP,
                conversation_id=conversation_id,
                turn_started_at=started_at,
                due_at=started_at + timedelta(minutes=threshold),
                created_at=now,
            )
            for conversation_id, shop_id, agent_id, started_at in rows
        ]
        with transaction.atomic():
            created += len(Notification.objects.bulk_create(notifications, ignore_conflicts=True))
    return created
