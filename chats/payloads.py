"""Chats as the API renders them, for the outbox's events (``events.outbox``), built from what the services hold.

Each payload equals the API's rendering of the same row (``tests/events/test_emission_payloads.py`` compares them
with the real endpoints): a message as an item of ``GET /conversations/{id}/messages/``, a conversation as
``GET /conversations/{id}/`` (``queue_position`` is given by the routing code, which knows it), a notification as in
``GET /notifications/``, an export as ``GET /exports/{id}/``. They read only the objects passed in, never the
database, and do not import the API (services may not): the serializers in ``chats.api.serializers`` and these
functions are kept equal by those tests.

The draft builders put each chat event's audience in one place: a chat's events are seen by its agent at that moment
(and the one it was transferred away from); queue events (``conversation.queued``, ``conversation.assigned``, and the
end of a chat that was still queued) by every agent of the shop, as the queue itself is (``ConversationQuerySet``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from events.choices import Audience, EventType
from events.outbox import EventDraft, api_time

from .choices import ExportStatus, NotificationKind

if TYPE_CHECKING:
    from .models import Conversation, Export, Message, Notification


def message_payload(message: Message) -> dict[str, Any]:
    """A message as ``MessageSerializer`` renders it."""
    return {
        "id": message.pk,
        "conversation": message.conversation_id,
        "sender": str(message.sender),
        "agent": message.agent_id,
        "body": message.body,
        "sent_at": api_time(message.sent_at),
        "is_auto_reply": message.is_auto_reply,
        "flags": [str(flag) for flag in message.flags],
    }


def conversation_payload(conversation: Conversation, *, queue_position: int | None) -> dict[str, Any]:
    """A chat as ``ConversationSerializer`` renders it; ``queue_position`` is the caller's (``None`` unless queued)."""
    return {
        "id": conversation.pk,
        "shop": conversation.shop_id,
        "buyer": conversation.buyer_id,
        "entry_point": str(conversation.entry_point),
        "entry_ref": conversation.entry_ref,
        "status": str(conversation.status),
        "agent": conversation.agent_id,
        "group": conversation.group_id,
        "phase": str(conversation.phase),
        "started_at": api_time(conversation.started_at),
        "ended_at": api_time(conversation.ended_at),
        "closed_by": str(conversation.closed_by),
        "transfer_entry_visible": conversation.transfer_entry_visible,
        "buyer_exposed": conversation.buyer_exposed,
        "queue_position": queue_position,
        "queued_at": api_time(conversation.queued_at),
        "transfer_requested_at": api_time(conversation.transfer_requested_at),
        "transfer_source": str(conversation.transfer_source),
        "assigned_at": api_time(conversation.assigned_at),
        "last_message_at": api_time(conversation.last_message_at),
    }


def notification_text(*, kind: str, task_content: str | None, turn_started_at: datetime | None, tz) -> str:
    """What ``NotificationSerializer.text`` says, in the active language."""
    if kind == NotificationKind.TASK_DUE and task_content is not None:
        return _("Task due: %(content)s") % {"content": task_content[:200]}
    local = timezone.localtime(turn_started_at, tz).strftime("%Y-%m-%d %H:%M") if turn_started_at else ""
    return _("A buyer has been waiting for an answer since %(time)s.") % {"time": local}


def notification_payload(notification: Notification, *, task_content: str | None, tz) -> dict[str, Any]:
    """A notification as ``NotificationSerializer`` renders it: ``task_content`` is its task's content (task
    reminders), ``tz`` its shop's time zone (the missed follow-up's text shows the turn's local start)."""
    return {
        "id": notification.pk,
        "shop": notification.shop_id,
        "recipient": notification.recipient_id,
        "kind": str(notification.kind),
        "text": notification_text(
            kind=notification.kind, task_content=task_content, turn_started_at=notification.turn_started_at, tz=tz
        ),
        "task": notification.task_id,
        "conversation": notification.conversation_id,
        "turn_started_at": api_time(notification.turn_started_at),
        "due_at": api_time(notification.due_at),
        "created_at": api_time(notification.created_at),
        "read_at": api_time(notification.read_at),
    }


def export_payload(export: Export, *, requested_by: str | None) -> dict[str, Any]:
    """An export as ``ExportSerializer`` renders it, ``requested_by`` being the requester's username.

    ``download_url`` is the path: the API makes it absolute with the request's host, which an event has none of.
    """
    downloadable = export.status == ExportStatus.DONE and export.file_deleted_at is None
    return {
        "id": export.pk,
        "shop": export.shop_id,
        "kind": str(export.kind),
        "format": str(export.format),
        "filters": export.filters,
        "status": str(export.status),
        "rows": export.rows,
        "error": export.error,
        "requested_by": requested_by,
        "created_at": api_time(export.created_at),
        "started_at": api_time(export.started_at),
        "finished_at": api_time(export.finished_at),
        "file_deleted_at": api_time(export.file_deleted_at),
        "download_url": reverse("export-download", kwargs={"pk": export.pk}) if downloadable else None,
    }


# --- drafts of chat events -------------------------------------------------------------------------------------------


def message_created(message: Message, conversation: Conversation) -> EventDraft:
    """``message.created``, seen by the chat's agent at that moment."""
    return EventDraft(
        type=EventType.MESSAGE_CREATED,
        shop_id=conversation.shop_id,
        conversation_id=conversation.pk,
        agent_id=conversation.agent_id,
        data=message_payload(message),
    )


def conversation_event(
    type: str,  # noqa: A002 - the event's word
    conversation: Conversation,
    *,
    at: datetime | None,
    queue_position: int | None = None,
    audience: str = Audience.AGENT,
    previous_agent_id: int | None = None,
    data: dict[str, Any] | None = None,
    **fields,
) -> EventDraft:
    """An event about a chat, with the chat as data (or ``data``, its payload already built) plus ``fields``."""
    payload = data if data is not None else conversation_payload(conversation, queue_position=queue_position)
    return EventDraft(
        type=type,
        shop_id=conversation.shop_id,
        conversation_id=conversation.pk,
        agent_id=conversation.agent_id,
        previous_agent_id=previous_agent_id,
        audience=audience,
        data={**payload, **fields} if fields else payload,
        at=at,
    )


def transfer_requested(
    conversation: Conversation,
    *,
    outcome: str,
    source: str,
    at: datetime | None,
    data: dict[str, Any] | None = None,
    queue_position: int | None = None,
) -> EventDraft:
    """``transfer.requested``: the chat as the request left it, plus the outcome word the transfer API answers (the
    answer's ``agent`` and ``queue_position`` are the chat's) and where the request came from (``source``)."""
    return conversation_event(
        EventType.TRANSFER_REQUESTED,
        conversation,
        at=at,
        data=data,
        queue_position=queue_position,
        outcome=str(outcome),
        source=str(source),
    )
