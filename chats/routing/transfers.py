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
from ..choices import ConversationStatus, EventKind, Sender, TransferOutcome, TransferSource
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
def transfer_to_human(
    *,
    conversation_id: int,
    actor_id: int | None = None,
    now: datetime | None = None,
    source: str = TransferSource.BUTTON,
) -> TransferResult:
    """The buyer clicked the transfer-to-human entry of a bot chat (or typed a request: ``source`` ``typed``).

    The conversation row is locked first, so double clicks, retries and concurrent clicks see each other's
    result: one assignment at most, later clicks answer ``already_assigned`` (or the current queue position).
    The button needs the entry shown; a typed request is taken whether or not it is.
    """
    now = now or timezone.now()
    conversation = _lock(conversation_id)
    if source == TransferSource.BUTTON and not conversation.transfer_entry_visible:
        raise Conflict(_("The transfer-to-human entry is not shown for this chat."))
    if conversation.status == ConversationStatus.ENDED:
        raise Conflict(_("This chat has ended."))
    return transfer_request_locked(conversation, source=source, now=now, actor_id=actor_id)


def transfer_request_locked(
    conversation: Conversation,
    *,
    source: str,
    now: datetime,
    actor_id: int | None = None,
    announce: list[EventDraft] | None = None,
) -> TransferResult:
    """Answer a transfer-to-human request of an open chat the caller holds locked (in its transaction).

    The same outcomes, messages and queue whatever the source. The outbox events are emitted here, or appended to
    ``announce`` for the caller to emit after its own (a typed request follows the buyer's message).

    ``failed_offline`` (nobody of the shop online) keeps the chat as ``left_message`` (DESIGN.md "Leave a message"):
    the assistant invites the buyer to leave a message, and the chat waits in the shop's line from ``now`` (its
    ``queued_at``) until an agent comes online. A request in a left-message chat is routed like one in a bot chat (an
    agent may be online by now); without a seat it stays where it is, in line, and the assistant says nothing more: it
    already invited the message, and any text of it would count as the response to the buyer's left messages.
    """
    if conversation.status == ConversationStatus.HUMAN:
        return TransferResult(TransferOutcome.ALREADY_ASSIGNED, conversation.agent_id)
    if conversation.status == ConversationStatus.QUEUED:
        return TransferResult(TransferOutcome.QUEUED, queue_position=queue_position(conversation))
    left_message = conversation.status == ConversationStatus.LEFT_MESSAGE
    shop = conversation.shop
    conversation.transfer_requested_at = conversation.transfer_requested_at or now
    conversation.transfer_source = conversation.transfer_source or source
    requested = [
        _event(conversation, EventKind.TRANSFER_REQUESTED, now, actor_id=actor_id, detail={"source": str(source)})
    ]
    seat = seat_find(conversation, now=now)
    if seat is not None:
        conversation_assign(
            conversation,
            seat,
            now,
            actor_id=actor_id,
            events=requested,
            also_save=("transfer_requested_at", "transfer_source"),
            requested_from=str(source),
            announce=announce,
        )
        return TransferResult(TransferOutcome.ASSIGNED, seat.agent.pk)
    if left_message:
        return _left_message_requested_again(conversation, requested, source=source, now=now, announce=announce)
    if not shop_has_online_agent(shop.pk):
        conversation.status = ConversationStatus.LEFT_MESSAGE
        conversation.queued_at = now
        conversation.save(update_fields=["status", "queued_at", "transfer_requested_at", "transfer_source"])
        outcome, text, position = TransferOutcome.FAILED_OFFLINE, texts.offline(shop), None
    elif shop.queue_enabled:
        conversation.status = ConversationStatus.QUEUED
        conversation.queued_at = now
        conversation.save(update_fields=["status", "queued_at", "transfer_requested_at", "transfer_source"])
        position = queue_position(conversation)
        outcome, text = TransferOutcome.QUEUED, texts.queued(shop, position)
    else:
        outcome, text, position = TransferOutcome.FAILED_BUSY, texts.busy(shop), None
    if outcome == TransferOutcome.FAILED_BUSY:
        conversation.save(update_fields=["transfer_requested_at", "transfer_source"])
    kind = EventKind.QUEUED if outcome == TransferOutcome.QUEUED else EventKind.ROUTING_FAILED
    detail = {"position": position} if position else {}
    events_record([*requested, _event(conversation, kind, now, outcome=outcome, detail=detail)])
    payload = conversation_payload(conversation, queue_position=position)
    drafts = [
        transfer_requested(
            conversation, outcome=outcome, source=str(source), at=now, data=payload, queue_position=position
        )
    ]
    if outcome == TransferOutcome.QUEUED:
        drafts.append(
            conversation_event(
                EventType.CONVERSATION_QUEUED, conversation, at=now, audience=Audience.SHOP, data=payload
            )
        )
    _say(conversation, Sender.BOT, text, now, drafts)
    if announce is None:
        events_emit(drafts)
    else:
        announce.extend(drafts)
    return TransferResult(outcome, queue_position=position)


def _left_message_requested_again(
    conversation: Conversation,
    requested: list,
    *,
    source: str,
    now: datetime,
    announce: list[EventDraft] | None,
) -> TransferResult:
    """A request in a left-message chat that found no seat: the chat keeps its place and status, nothing is said.

    ``failed_offline`` while nobody is online; with agents online but full it is in line like a queued chat (its place
    counts for the queued chats behind it), so the answer is ``queued`` if the shop queues, else ``failed_busy``.
    """
    shop = conversation.shop
    if not shop_has_online_agent(shop.pk):
        outcome = TransferOutcome.FAILED_OFFLINE
    else:
        outcome = TransferOutcome.QUEUED if shop.queue_enabled else TransferOutcome.FAILED_BUSY
    kind = EventKind.QUEUED if outcome == TransferOutcome.QUEUED else EventKind.ROUTING_FAILED
    events_record([*requested, _event(conversation, kind, now, outcome=outcome)])
    payload = conversation_payload(conversation, queue_position=None)
    drafts = [transfer_requested(conversation, outcome=outcome, source=str(source), at=now, data=payload)]
    if announce is None:
        events_emit(drafts)
    else:
        announce.extend(drafts)
    return TransferResult(outcome)


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
