"""Follow-up tasks (任务) and the reminders the beat job delivers for them."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Agent
from backoffice.errors import Conflict, InvalidInput
from shops.models import Buyer, Order, Shop

from ..choices import NotificationKind, TaskKind, TaskStatus
from ..models import Conversation, FollowUpTask, Notification
from ..payloads import notification_payload
from .notifications import notifications_store

REMINDER_BATCH = 200


def _check_links(task: FollowUpTask) -> None:
    """The handler, conversation, buyer and order belong together; without sub-accounts a task is one's own."""
    if task.handler.shop_id != task.shop_id:
        raise InvalidInput(_("Must belong to the same shop."), field="handler")
    if task.conversation is not None:
        if task.conversation.shop_id != task.shop_id:
            raise InvalidInput(_("Must belong to the same shop."), field="conversation")
        if task.buyer_id is None:
            task.buyer_id = task.conversation.buyer_id
        elif task.buyer_id != task.conversation.buyer_id:
            raise InvalidInput(_("The buyer is not the buyer of this conversation."), field="buyer")
    if task.order is not None:
        if task.order.shop_id != task.shop_id:
            raise InvalidInput(_("Must belong to the same shop."), field="order")
        if task.buyer_id is None:
            task.buyer_id = task.order.buyer_id
        elif task.buyer_id != task.order.buyer_id:
            raise InvalidInput(_("The order is not the buyer's."), field="order")


def _check_handler(*, shop: Shop, handler: Agent, creator_agent_id: int | None) -> None:
    if creator_agent_id is not None and handler.pk != creator_agent_id and not shop.subaccounts_enabled:
        raise InvalidInput(_("Tasks for other agents need the shop's sub-accounts switched on."), field="handler")


def task_check(*, task: FollowUpTask, creator_agent_id: int | None) -> None:
    """The rules of ``task_create`` without writing: for forms that report them as field errors."""
    _check_handler(shop=task.shop, handler=task.handler, creator_agent_id=creator_agent_id)
    _check_links(task)


@transaction.atomic
def task_create(
    *,
    shop: Shop,
    handler: Agent,
    content: str,
    remind_at: datetime,
    kind: str = TaskKind.FOLLOW_UP,
    conversation: Conversation | None = None,
    buyer: Buyer | None = None,
    order: Order | None = None,
    created_by_id: int | None = None,
    creator_agent_id: int | None = None,
) -> FollowUpTask:
    """A task for ``handler``; the beat job reminds it at ``remind_at`` (at once if that has passed)."""
    _check_handler(shop=shop, handler=handler, creator_agent_id=creator_agent_id)
    task = FollowUpTask(
        shop=shop,
        handler=handler,
        content=content,
        remind_at=remind_at,
        kind=kind,
        conversation=conversation,
        buyer=buyer,
        order=order,
        created_by_id=created_by_id,
    )
    _check_links(task)
    task.full_clean()
    task.save()
    return task


def _locked(task: FollowUpTask) -> FollowUpTask:
    return FollowUpTask.objects.select_for_update(of=("self",)).select_related("shop").get(pk=task.pk)


@transaction.atomic
def task_update(*, task: FollowUpTask, creator_agent_id: int | None = None, **fields) -> FollowUpTask:
    """Change an open task; a new reminder time is reminded again, a new handler needs sub-accounts on."""
    task = _locked(task)
    if task.status != TaskStatus.OPEN:
        raise Conflict(_("Only open tasks can be changed."))
    if "handler" in fields and fields["handler"].pk != task.handler_id:
        _check_handler(shop=task.shop, handler=fields["handler"], creator_agent_id=creator_agent_id)
    old_remind_at = task.remind_at
    for name in ("kind", "content", "handler", "remind_at", "conversation", "buyer", "order"):
        if name in fields:
            setattr(task, name, fields[name])
    if task.remind_at != old_remind_at:
        task.reminded_at = None
    _check_links(task)
    task.full_clean()
    task.save()
    return task


def _task_close(task: FollowUpTask, status: str, *, refused_from: str, refusal: str, now: datetime | None):
    task = _locked(task)
    if task.status == status:
        return task
    if task.status == refused_from:
        raise Conflict(refusal)
    task.status = status
    task.closed_at = now or timezone.now()
    task.save(update_fields=["status", "closed_at", "updated_at"])
    return task


@transaction.atomic
def task_complete(*, task: FollowUpTask, now: datetime | None = None) -> FollowUpTask:
    """Mark a task done; completing a done task changes nothing, a cancelled one cannot be completed."""
    refusal = _("This task was cancelled.")
    return _task_close(task, TaskStatus.DONE, refused_from=TaskStatus.CANCELLED, refusal=refusal, now=now)


@transaction.atomic
def task_cancel(*, task: FollowUpTask, now: datetime | None = None) -> FollowUpTask:
    """Cancel an open task (no reminder is sent afterwards); cancelling twice changes nothing."""
    refusal = _("This task is already done.")
    return _task_close(task, TaskStatus.CANCELLED, refused_from=TaskStatus.DONE, refusal=refusal, now=now)


def task_reminders_deliver(*, now: datetime | None = None, batch: int = REMINDER_BATCH) -> int:
    """Deliver every due reminder exactly once; returns how many were delivered.

    Each batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and, in the same transaction, marked
    ``reminded_at`` and turned into notifications (with their ``notification.created``, one INSERT per batch): two
    workers claim disjoint rows, and a worker that dies mid-batch rolls back, leaving its rows for the next run.
    """
    now = now or timezone.now()
    delivered = 0
    while True:
        with transaction.atomic():
            claimed = list(
                FollowUpTask.objects.select_for_update(skip_locked=True)
                .filter(status=TaskStatus.OPEN, reminded_at__isnull=True, remind_at__lte=now)
                .order_by("remind_at", "pk")
                .values("pk", "shop_id", "handler_id", "remind_at", "conversation_id", "content")[:batch]
            )
            if not claimed:
                return delivered
            FollowUpTask.objects.filter(pk__in=[row["pk"] for row in claimed]).update(reminded_at=now)
            contents = {row["pk"]: row["content"] for row in claimed}
            notifications_store(
                [
                    Notification(
                        shop_id=row["shop_id"],
                        recipient_id=row["handler_id"],
                        kind=NotificationKind.TASK_DUE,
                        task_id=row["pk"],
                        conversation_id=row["conversation_id"],
                        due_at=row["remind_at"],
                        created_at=now,
                    )
                    for row in claimed
                ],
                payload_of=lambda n, contents=contents: notification_payload(
                    n, task_content=contents[n.task_id], tz=None
                ),
            )
            delivered += len(claimed)
        if len(claimed) < batch:
            return delivered
