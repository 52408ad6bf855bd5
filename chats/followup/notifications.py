"""Notifications (reminders) for agents: reading them, the missed follow-up sweep, and the left messages assigned.

Every notification created emits ``notification.created`` (the notification as ``GET /notifications/`` renders it,
its text in the active language), seen by its recipient, in the transaction that stores it: ``notifications_store``
is the one place that stores them (the task reminders of ``.tasks`` too).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from events.choices import Audience, EventType
from events.outbox import EventDraft, events_emit
from shops.models import Shop

from ..choices import ConversationStatus, NotificationKind
from ..models import Conversation, Notification, Turn
from ..payloads import notification_payload

MAX_STORE_ATTEMPTS = 3


def notifications_store(
    notifications: list[Notification],
    *,
    payload_of: Callable[[Notification], dict],
    already_stored: Callable[[list[Notification]], set] | None = None,
    announce: list[EventDraft] | None = None,
) -> list[Notification]:
    """Store ``notifications`` in one INSERT and their ``notification.created`` in another (call inside the caller's
    transaction); returns those stored.

    ``already_stored`` (the missed follow-up sweep) names the rows a concurrent run stored first, by their unique
    key: when the INSERT meets one, it is taken back (a savepoint), those rows are dropped and the rest go in again.
    Without it a clash raises. With ``announce`` the events are appended to it for the caller to emit with its own.
    """
    stored = _insert(notifications, already_stored)
    drafts = [
        EventDraft(
            type=EventType.NOTIFICATION_CREATED,
            shop_id=n.shop_id,
            conversation_id=n.conversation_id,
            agent_id=n.recipient_id,
            audience=Audience.AGENT,
            data=payload_of(n),
            at=n.created_at,
        )
        for n in stored
    ]
    if announce is None:
        events_emit(drafts)
    else:
        announce.extend(drafts)
    return stored


def left_message_notify(
    *,
    conversation: Conversation,
    agent_id: int,
    left_at: datetime | None,
    now: datetime,
    announce: list[EventDraft] | None = None,
) -> Notification | None:
    """Tell the agent a chat where the buyer left a message (留言) is now theirs, so it is answered; once per chat.

    Called by the assignment, in its transaction, with the chat locked: so no concurrent assignment of the same chat
    can race it, and a chat is assigned out of ``left_message`` once (it never goes back). ``left_at``, the chat's
    ``queued_at`` (its place in line: when the buyer was invited to leave a message), is kept as ``turn_started_at``,
    which the notification's text shows ("waiting for an answer since ...").
    """
    if Notification.objects.filter(kind=NotificationKind.LEFT_MESSAGE, conversation_id=conversation.pk).exists():
        return None
    since = left_at or now
    notification = Notification(
        shop_id=conversation.shop_id,
        recipient_id=agent_id,
        kind=NotificationKind.LEFT_MESSAGE,
        conversation_id=conversation.pk,
        turn_started_at=since,
        due_at=now,
        created_at=now,
    )
    tz = conversation.shop.tzinfo

    def payload(stored: Notification) -> dict:
        return notification_payload(stored, task_content=None, tz=tz)

    (stored,) = notifications_store([notification], payload_of=payload, announce=announce)
    return stored


def _insert(notifications: list[Notification], already_stored) -> list[Notification]:
    if already_stored is None:
        return Notification.objects.bulk_create(notifications)
    for _attempt in range(MAX_STORE_ATTEMPTS):
        if not notifications:
            return []
        try:
            with transaction.atomic():
                # Not ``ignore_conflicts``: that gives the stored rows no ids, and their events need them.
                return Notification.objects.bulk_create(notifications)
        except IntegrityError:
            taken = already_stored(notifications)
            notifications = [n for n in notifications if _turn_key(n) not in taken]
    raise IntegrityError("notifications kept clashing with concurrent runs")


def _turn_key(notification: Notification) -> tuple:
    return notification.conversation_id, notification.turn_started_at


def _turns_notified(notifications: list[Notification]) -> set[tuple]:
    """(conversation, turn start) of those of ``notifications`` already stored."""
    stored = Notification.objects.filter(
        kind=NotificationKind.MISSED_FOLLOWUP, conversation_id__in={n.conversation_id for n in notifications}
    ).values_list("conversation_id", "turn_started_at")
    return set(stored)


@transaction.atomic
def notification_mark_read(*, notification: Notification, now: datetime | None = None) -> Notification:
    """Mark a notification read; reading it again keeps the first time."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now or timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def _overdue_turns(*, threshold_minutes: int, now: datetime) -> list[tuple[int, int, int, datetime, str]]:
    """(conversation, shop, agent, turn start, shop time zone) of the unanswered last turns of human chats in shops
    with this threshold, overdue at ``now`` and not yet notified: read from the stored turns."""
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
    return list(
        overdue.values_list(
            "conversation_id", "shop_id", "conversation__agent_id", "started_at", "conversation__shop__timezone"
        )
    )


def missed_followups_notify(*, now: datetime | None = None) -> int:
    """Notify each human chat's agent of a buyer turn unanswered past the shop's threshold, once per turn.

    One query of the stored turns per distinct shop threshold; a unique constraint on (conversation, turn start)
    makes a second run, or a second worker, add nothing. Returns how many notifications were created, each with its
    ``notification.created`` (one INSERT per threshold).
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
        zones = {conversation_id: zone for conversation_id, _shop, _agent, _started, zone in rows}
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
            for conversation_id, shop_id, agent_id, started_at, _zone in rows
        ]

        def payload(notification: Notification, zones=zones) -> dict:
            tz = zoneinfo.ZoneInfo(zones[notification.conversation_id])
            return notification_payload(notification, task_content=None, tz=tz)

        with transaction.atomic():
            created += len(notifications_store(notifications, payload_of=payload, already_stored=_turns_notified))
    return created
