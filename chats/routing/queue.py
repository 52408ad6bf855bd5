"""The queue: each queued chat's place, and handing free seats to queued chats, oldest first."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, When
from django.utils import timezone

from events.outbox import EventDraft, events_emit

from ..choices import ConversationStatus
from ..models import Conversation
from .seats import conversation_assign, seat_find


def queue_position(conversation: Conversation) -> int | None:
    """1 for the first in the shop's queue; ``None`` when the chat is not queued."""
    if conversation.queued_at is None or conversation.status != "queued":
        return None
    ahead = Conversation.objects.filter(shop_id=conversation.shop_id, status="queued").filter(
        queued_at__lt=conversation.queued_at
    ) | Conversation.objects.filter(
        shop_id=conversation.shop_id, status="queued", queued_at=conversation.queued_at, pk__lt=conversation.pk
    )
    return ahead.count() + 1


def queue_position_expression():
    """Each queued chat's place in its shop's queue (1 = next), as an annotation: one list query, no query per row."""
    ahead = (
        Conversation.objects.filter(shop_id=OuterRef("shop_id"), status=ConversationStatus.QUEUED)
        .filter(Q(queued_at__lt=OuterRef("queued_at")) | Q(queued_at=OuterRef("queued_at"), pk__lte=OuterRef("pk")))
        .order_by()
        .values("shop_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Case(When(status=ConversationStatus.QUEUED, then=Subquery(ahead)), default=None, output_field=IntegerField())


def queue_drain(*, shop_id: int, now: datetime | None = None, limit: int | None = None) -> int:
    """Give free seats to the shop's queued chats, oldest first; returns how many were assigned.

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
                Conversation.objects.filter(shop_id=shop_id, status=ConversationStatus.QUEUED)
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
    """The safety net: drain every shop that has queued chats."""
    shop_ids = (
        Conversation.objects.filter(status=ConversationStatus.QUEUED).values_list("shop_id", flat=True).distinct()
    )
    return sum(queue_drain(shop_id=shop_id, now=now) for shop_id in list(shop_ids))
