"""Transfer to human (the bot chat's entry) and agents' manual transfers.

A recorded request emits ``transfer.requested`` with its outcome, then what came of it: ``conversation.assigned``
(``.seats``) or ``conversation.queued`` (with the chat's place), then the assistant's text; a click that changes
nothing (already assigned, or queued again) emits nothing. A manual transfer emits ``conversation.transferred``, seen
by the new agent and the one it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Agent, RoutingGroup
from backoffice.errors import Conflict
from events.choices import Audience, EventType
from events.outbox import EventDraft, events_emit

from .. import texts
from ..choices import ConversationStatus, EventKind, Sender, TransferOutcome
from ..lifecycle.events import event_build, event_record, events_record
from ..lifecycle.messages import message_write
from ..models import Conversation
from ..payloads import conversation_event, conversation_payload, transfer_requested
from .queue import queue_drain, queue_position
from .seats import (
    Seat,
    conversation_assign,
    seat_claim,
    seat_claim_for_agent,
    seat_find,
    seat_release,
    shop_has_online_agent,
)

# Where a transfer-to-human request came from: the entry's button (typed requests will name their own source).
SOURCE_BUTTON = "button"


@dataclass(frozen=True)
class TransferResult:
    outcome: str
    agent_id: int | None = None
    queue_position: int | None = None


def _lock(conversation_id: int) -> Conversation:
    return Conversation.objects.select_for_update(of=("self",)).select_related("shop").get(pk=conversation_id)


def _event(conversation: Conversation, kind: str, now: datetime, **fields):
    return event_build(shop_id=conversation.shop_id, conversation=conversation, kind=kind, at=now, **fields)


def _say(conversation: Conversation, sender: str, body: str, at: datetime, announce: list[EventDraft]) -> None:
    message_write(conversation=conversation, sender=sender, body=body, sent_at=at, events=announce)


@transaction.atomic
def transfer_to_human(*, conversation_id: int, actor_id: int | None = None, now: datetime | None = None):
    """The buyer clicked the transfer-to-human entry of a bot chat.

    The conversation row is locked first, so double clicks, retries and concurrent clicks see each other's
    result: one assignment at most, later clicks answer ``already_assigned`` (or the current queue position).
    """
    now = now or timezone.now()
    conversation = _lock(conversation_id)
    if not conversation.transfer_entry_visible:
        raise Conflict(_("The transfer-to-human entry is not shown for this chat."))
    if conversation.status == ConversationStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    if conversation.status == ConversationStatus.HUMAN:
        return TransferResult(TransferOutcome.ALREADY_ASSIGNED, conversation.agent_id)
    if conversation.status == ConversationStatus.QUEUED:
        return TransferResult(TransferOutcome.QUEUED, queue_position=queue_position(conversation))
    shop = conversation.shop
    conversation.transfer_requested_at = conversation.transfer_requested_at or now
    requested = [_event(conversation, EventKind.TRANSFER_REQUESTED, now, actor_id=actor_id)]
    seat = seat_find(conversation, now=now)
    if seat is not None:
        conversation_assign(
            conversation,
            seat,
            now,
            actor_id=actor_id,
            events=requested,
            also_save=("transfer_requested_at",),
            requested_from=SOURCE_BUTTON,
        )
        return TransferResult(TransferOutcome.ASSIGNED, seat.agent.pk)
    if not shop_has_online_agent(shop.pk):
        outcome, text, position = TransferOutcome.FAILED_OFFLINE, texts.offline(shop), None
    elif shop.queue_enabled:
        conversation.status = ConversationStatus.QUEUED
        conversation.queued_at = now
        conversation.save(update_fields=["status", "queued_at", "transfer_requested_at"])
        position = queue_position(conversation)
        outcome, text = TransferOutcome.QUEUED, texts.queued(shop, position)
    else:
        outcome, text, position = TransferOutcome.FAILED_BUSY, texts.busy(shop), None
    if outcome != TransferOutcome.QUEUED:
        conversation.save(update_fields=["transfer_requested_at"])
    kind = EventKind.QUEUED if outcome == TransferOutcome.QUEUED else EventKind.ROUTING_FAILED
    detail = {"position": position} if position else {}
    events_record([*requested, _event(conversation, kind, now, outcome=outcome, detail=detail)])
    payload = conversation_payload(conversation, queue_position=position)
    announce = [
        transfer_requested(
            conversation, outcome=outcome, source=SOURCE_BUTTON, at=now, data=payload, queue_position=position
        )
    ]
    if outcome == TransferOutcome.QUEUED:
        announce.append(
            conversation_event(
                EventType.CONVERSATION_QUEUED, conversation, at=now, audience=Audience.SHOP, data=payload
            )
        )
    _say(conversation, Sender.BOT, text, now, announce)
    events_emit(announce)
    return TransferResult(outcome, queue_position=position)


@transaction.atomic
def conversation_transfer(
    *,
    conversation_id: int,
    to_agent: Agent | None = None,
    to_group: RoutingGroup | None = None,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> Conversation:
    """An agent hands a human chat to another agent, or to the best agent with room in a group.

    The chat stays one service (no new contact for any metric); the freed seat goes to the queue.
    """
    now = now or timezone.now()
    conversation = _lock(conversation_id)
    if not conversation.shop.subaccounts_enabled:
        raise Conflict(_("Transfers need the shop's sub-accounts switched on."))
    if conversation.status != ConversationStatus.HUMAN:
        raise Conflict(_("Only a chat served by an agent can be transferred."))
    from_agent_id = conversation.agent_id
    if to_agent is not None:
        if to_agent.pk == from_agent_id:
            raise Conflict(_("The chat is already with this agent."), code="same_agent")
        if not seat_claim_for_agent(agent_id=to_agent.pk, now=now):
            raise Conflict(_("This agent is not online or has no room for another chat."), code="agent_unavailable")
        seat = Seat(to_agent, conversation.group_id)
    else:
        seat = seat_claim(
            shop_id=conversation.shop_id, group_ids=[to_group.pk], now=now, exclude_agent_id=from_agent_id
        )
        if seat is None:
            raise Conflict(_("Nobody in this group is online with room for another chat."), code="group_unavailable")
        seat = Seat(seat.agent, to_group.pk)
    seat_release(agent_id=from_agent_id)
    conversation.agent_id = seat.agent.pk
    conversation.group_id = seat.group_id
    conversation.save(update_fields=["agent", "group"])
    event_record(
        shop_id=conversation.shop_id,
        kind=EventKind.TRANSFERRED,
        at=now,
        conversation=conversation,
        agent_id=seat.agent.pk,
        from_agent_id=from_agent_id,
        group_id=seat.group_id,
        actor_id=actor_id,
    )
    announce = [
        conversation_event(EventType.CONVERSATION_TRANSFERRED, conversation, at=now, previous_agent_id=from_agent_id)
    ]
    _say(conversation, Sender.SYSTEM, texts.transferred(seat.agent.display_name), now, announce)
    events_emit(announce)
    queue_drain(shop_id=conversation.shop_id, now=now)
    return conversation
