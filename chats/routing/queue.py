"""The line of chats waiting for a human: each queued chat's place, and handing free seats to the waiting chats.

One line per shop, by ``queued_at`` (then id): queued chats (``queued``: agents online, all full) and chats where the
buyer left a message while nobody was online (``left_message``, DESIGN.md "Leave a message"). Both are drained the
same way, oldest first, whether or not the shop queues; so a queued chat's position counts the left messages ahead of
it, which are served before it. A left-message chat's place is its ``queued_at``; it shows no position (``None``, as
the ``failed_offline`` answer that put it there), the buyer having been invited to leave a message, not to wait.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, Subquery, When
from django.utils import timezone

from agents.choices import AgentStatus
from agents.models import Agent
from events.outbox import EventDraft, events_emit

from ..choices import ConversationStatus
from ..models import Conversation
from .seats import conversation_assign, seat_find

WAITING_STATUSES = (ConversationStatus.QUEUED, ConversationStatus.LEFT_MESSAGE)


def queue_position(conversation: Conversation) -> int | None:
    """1 for the first in the shop's line (left messages ahead count); ``None`` when the chat is not queued."""
    if conversation.queued_at is None or conversation.status != ConversationStatus.QUEUED:
        return None
    waiting = Conversation.objects.filter(shop_id=conversation.shop_id, status__in=WAITING_STATUSES)
    ahead = waiting.filter(
        Q(queued_at__lt=conversation.queued_at) | Q(queued_at=conversation.queued_at, pk__lt=conversation.pk)
    )
    return ahead.count() + 1


def queue_position_expression():
    """Each queued chat's place in its shop's line (1 = next), as an annotation: one list query, no query per row."""
    ahead = (
        Conversation.objects.filter(shop_id=OuterRef("shop_id"), status__in=WAITING_STATUSES)
        .filter(Q(queued_at__lt=OuterRef("queued_at")) | Q(queued_at=OuterRef("queued_at"), pk__lte=OuterRef("pk")))
        .order_by()
        .values("shop_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Case(
        When(status=ConversationStatus.QUEUED, then=Subquery(ahead)),
        default=None,
        output_field=IntegerField(),
    )


def queue_drain(*, shop_id: int, now: datetime | None = None, limit: int | None = None) -> int:
    """Give free seats to the shop's waiting chats (queued or left as a message), oldest first; returns how many were
    assigned.

    Each chat is claimed with ``SKIP LOCKED`` in its own (nested) transaction, so two drains of one shop never
    assign the same chat and never wait on each other. The claim locks ``FOR NO KEY UPDATE`` (an assignment changes
    the chat's status and agent, never its key), so a chat that another transaction only references (a follow-up task
    being created for it: its foreign-key check holds ``FOR KEY SHARE`` on the chat) is not passed over.

    Inside a caller's transaction (a close, a transfer, an agent coming online) the claims are savepoints that commit
    with it, so their outbox events go out together at the end, in one INSERT; on its own (the sweep) each claim
    commits by itself, with its own events.
    """
    now = now or timezone.now()
    limit = limit or settings.QUEUE_SWEEP_BATCH
    assigned = 0
    announce: list[EventDraft] | None = [] if connection.in_atomic_block else None
    while assigned < limit:
        with transaction.atomic():
            conversation = (
                Conversation.objects.filter(shop_id=shop_id, status__in=WAITING_STATUSES)
                .order_by("queued_at", "pk")
                .select_for_update(skip_locked=True, no_key=True)
                .first()
            )
            if conversation is None:
                break
            seat = seat_find(conversation, now=now)
            if seat is None:
                break
            conversation_assign(conversation, seat, now, announce=announce)
            assigned += 1
    if announce:
        events_emit(announce)
    return assigned


def queue_sweep(*, now: datetime | None = None) -> int:
    """The safety net: drain every shop that has chats waiting (queued or left as a message) and an agent online.

    Left messages wait overnight while nobody is online: such shops are not drained for nothing at every run.
    """
    online = Agent.objects.filter(shop_id=OuterRef("shop_id"), status=AgentStatus.ONLINE)
    shop_ids = (
        Conversation.objects.filter(Exists(online), status__in=WAITING_STATUSES)
        .order_by()
        .values_list("shop_id", flat=True)
        .distinct()
    )
    return sum(queue_drain(shop_id=shop_id, now=now) for shop_id in list(shop_ids))
