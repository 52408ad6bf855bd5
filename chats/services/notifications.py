"""Notifications (reminders) for agents: reading them, and the missed follow-up sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from shops.models import Shop

from ..choices import ConversationStatus, NotificationKind
from ..models import Conversation, Notification
from ..turns import ConversationFilter, turn_rows_sql


@transaction.atomic
def notification_mark_read(*, notification: Notification, now: datetime | None = None) -> Notification:
    """Mark a notification read; reading it again keeps the first time."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now or timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def _overdue_turns(*, threshold_minutes: int, now: datetime) -> list[tuple[int, int, int, datetime]]:
    """(conversation, shop, agent, turn start) of the unanswered last turns of human chats in shops with this
    threshold, overdue at ``now`` and not yet notified."""
    human = Conversation.objects.filter(
        status=ConversationStatus.HUMAN, agent__isnull=False, shop__missed_followup_minutes=threshold_minutes
    )
    turns_sql, params = turn_rows_sql(ConversationFilter(conversations=human))
    cutoff = connection.ops.adapt_datetimefield_value(now - timedelta(minutes=threshold_minutes))
    notification = Notification._meta.db_table
    conversation = Conversation._meta.db_table
    sql = f"""
SELECT t.conversation_id, t.shop_id, c.agent_id, t.started_at
FROM ({turns_sql}) t
JOIN {conversation} c ON c.id = t.conversation_id
WHERE t.responded_at IS NULL AND t.started_at <= %s
  AND NOT EXISTS (
      SELECT 1 FROM {notification} n
      WHERE n.conversation_id = t.conversation_id AND n.turn_started_at = t.started_at AND n.kind = %s
  )
"""  # noqa: S608 -- table names come from the models; values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cutoff, NotificationKind.MISSED_FOLLOWUP.value])
        return cursor.fetchall()


def missed_followups_notify(*, now: datetime | None = None) -> int:
    """Notify each human chat's agent of a buyer turn unanswered past the shop's threshold, once per turn.

    One SQL pass (``chats.turns``) per distinct shop threshold; a unique constraint on (conversation, turn start)
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
                turn_started_at=_as_datetime(started_at),
                due_at=_as_datetime(started_at) + timedelta(minutes=threshold),
                created_at=now,
            )
            for conversation_id, shop_id, agent_id, started_at in rows
        ]
        with transaction.atomic():
            created += len(Notification.objects.bulk_create(notifications, ignore_conflicts=True))
    return created


def _as_datetime(value) -> datetime:
    """Raw SQL gives SQLite datetimes as text; PostgreSQL gives aware datetimes."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
