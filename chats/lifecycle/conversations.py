"""Starting chats, their messages (with the assistant's answers and the phishing guard), and ending chats.

Each change emits its outbox events (``events.outbox``) in its own transaction, next to its service-event log rows:
``conversation.started`` (and ``conversation.queued`` for a chat left waiting in the queue), ``message.created`` (by the
one writer, ``.messages``) and ``conversation.ended``. History imports (``history=True``) emit nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Agent
from backoffice.errors import Conflict, InvalidInput
from events.choices import Audience, EventType
from events.outbox import EventDraft, events_emit
from shops.models import Buyer, Order, RolloutConfig, Shop
from shops.selectors import buyer_service_phase, local_day_start, rollout_buyer_exposed, rollout_shop_included

from .. import hooks, texts
from ..assistant.bot import assistant_reply, matcher_prepare
from ..assistant.language import asks_for_human
from ..assistant.links import has_suspicious_link
from ..choices import (
    BotReplyKind,
    ClosedBy,
    ConversationStatus,
    EntryPoint,
    EventKind,
    MessageFlag,
    Sender,
    TransferSource,
)
from ..followup.auto_replies import auto_replies_send
from ..models import BotReply, Conversation, Message
from ..payloads import conversation_event
from ..routing.queue import queue_drain, queue_position, queue_position_expression
from ..routing.seats import seat_release, seats_release
from ..routing.transfers import transfer_request_locked
from .events import event_build, event_record, events_record
from .messages import message_write

OPEN_STATUSES = (ConversationStatus.BOT, ConversationStatus.QUEUED, ConversationStatus.HUMAN)


def shop_daily_reception_volume(*, shop: Shop, at: datetime, days: int = 30) -> float:
    """Conversations per day over the ``days`` local days before the day of ``at`` (the rollout's tiers)."""
    day_start = local_day_start(shop, at)
    started = Conversation.objects.filter(
        shop=shop, started_at__gte=day_start - timedelta(days=days), started_at__lt=day_start
    ).count()
    return started / days


@transaction.atomic
def conversation_start(
    *,
    shop: Shop,
    buyer: Buyer,
    entry_point: str = EntryPoint.SHOP,
    entry_ref: str = "",
    started_at: datetime | None = None,
    history: bool = False,
) -> Conversation:
    """Open a chat of ``buyer`` with ``shop``.

    Its phase follows the 21-day paid-order rule. With the assistant on, it greets the buyer (the chat's first
    reply) and the transfer-to-human entry is shown by the rollout rules; otherwise the chat is routed to a human
    at once. ``history`` imports a past chat: nothing is sent, nobody is assigned and no event is emitted.
    """
    if entry_point in (EntryPoint.ITEM, EntryPoint.ORDER) and not entry_ref:
        raise InvalidInput(_("An item or order entry point needs the item or order id."), field="entry_ref")
    now = timezone.now()
    started_at = started_at or now
    config = RolloutConfig.current()
    exposed = rollout_buyer_exposed(buyer_id=buyer.pk, config=config)
    conversation = Conversation(
        shop=shop,
        buyer=buyer,
        entry_point=entry_point,
        entry_ref=entry_ref,
        started_at=started_at,
        phase=buyer_service_phase(shop=shop, buyer_id=buyer.pk, at=started_at),
        status=ConversationStatus.BOT if shop.bot_enabled else ConversationStatus.QUEUED,
        buyer_exposed=exposed,
        transfer_entry_visible=shop.bot_enabled
        and exposed
        and rollout_shop_included(
            shop=shop, at=started_at, config=config, volume=shop_daily_reception_volume(shop=shop, at=started_at)
        ),
        queued_at=None if shop.bot_enabled else started_at,
    )
    conversation.full_clean()
    conversation.save()
    event_record(shop_id=shop.pk, kind=EventKind.STARTED, at=started_at, conversation=conversation)
    if history:
        return conversation
    if shop.bot_enabled:
        greeting: list[EventDraft] = []
        message_write(
            conversation=conversation, sender=Sender.BOT, body=texts.greeting(shop), sent_at=started_at, events=greeting
        )
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=started_at)
        conversation.last_message_at = started_at
        # The chat as it stands once started, then its greeting: one INSERT.
        events_emit([conversation_event(EventType.CONVERSATION_STARTED, conversation, at=now), *greeting])
        conversation.refresh_from_db()
        return conversation
    # Emitted before the drain, which may assign this very chat (``conversation.assigned`` follows then).
    events_emit(
        [
            conversation_event(
                EventType.CONVERSATION_STARTED, conversation, at=now, queue_position=queue_position(conversation)
            )
        ]
    )
    queue_drain(shop_id=shop.pk, now=now)
    # Read back with its place in the queue (the API's own annotation): still waiting, it joins the shop's queue.
    conversation = Conversation.objects.annotate(annotated_queue_position=queue_position_expression()).get(
        pk=conversation.pk
    )
    if conversation.status == ConversationStatus.QUEUED:
        queued = conversation_event(
            EventType.CONVERSATION_QUEUED,
            conversation,
            at=now,
            queue_position=conversation.annotated_queue_position,
            audience=Audience.SHOP,
        )
        events_emit([queued])
    return conversation


def _assistant_reply(conversation: Conversation, message: Message, announced: list[EventDraft]) -> None:
    """The assistant answers a live buyer message of a bot-served chat (locked): a typed request for a human is a
    transfer request like the entry's button; otherwise the best FAQ answer, a clarification listing the likeliest
    questions, or the fallback. Each answer is logged as a ``BotReply`` (the daily figures and knowledge gaps)."""
    reply = assistant_reply(shop=conversation.shop, text=message.body, conversation_id=conversation.pk)
    if reply.kind == BotReplyKind.TRANSFER:
        transfer_request_locked(conversation, source=TransferSource.TYPED, now=message.sent_at, announce=announced)
    else:
        message_write(
            conversation=conversation, sender=Sender.BOT, body=reply.text, sent_at=message.sent_at, events=announced
        )
    BotReply.objects.create(
        shop_id=conversation.shop_id,
        conversation=conversation,
        buyer_message=message,
        kind=reply.kind,
        faq_entry_id=reply.entry_id,
        score=reply.score,
        candidates=reply.candidates,
        question=message.body[: BotReply._meta.get_field("question").max_length],
        at=message.sent_at,
    )


@transaction.atomic
def message_create(
    *,
    conversation: Conversation,
    sender: str,
    body: str,
    agent: Agent | None = None,
    sent_at: datetime | None = None,
    is_auto_reply: bool = False,
    history: bool = False,
) -> Message:
    """Store one message. A live buyer message to a bot-served chat gets the assistant's best answer.

    A buyer message with a link off the platform is flagged ``suspicious_link`` when the buyer has no order in
    this shop. A live buyer message in a human chat may get the agent's auto-replies (``auto_replies``).
    """
    if sender == Sender.AGENT and agent is None:
        raise InvalidInput(_("A message from an agent must name the agent."), field="agent")
    if agent is not None and sender not in (Sender.AGENT, Sender.SYSTEM):
        raise InvalidInput(_("Only agent and system messages name an agent."), field="agent")
    if agent is not None and agent.shop_id != conversation.shop_id:
        raise InvalidInput(_("Must belong to the same shop."), field="agent")
    if sender == Sender.BUYER and not history and conversation.status == ConversationStatus.BOT:
        # A shop's index is (re)built after an FAQ change, taking up to a second: before the chat's row is locked,
        # so the chat's transfers, closes and routing never wait on it.
        matcher_prepare(conversation.shop_id)
    # The chat's row only: locking its shop too would hold every commit that references the shop (each foreign-key
    # check takes FOR KEY SHARE on it) until this message is stored.
    conversation = Conversation.objects.select_for_update(of=("self",)).select_related("shop").get(pk=conversation.pk)
    if conversation.status == ConversationStatus.ENDED and not history:
        raise Conflict(_("This chat has ended."))
    sent_at = sent_at or timezone.now()
    flags = []
    if (
        sender == Sender.BUYER
        and has_suspicious_link(body)
        and not Order.objects.filter(shop_id=conversation.shop_id, buyer_id=conversation.buyer_id).exists()
    ):
        flags.append(MessageFlag.SUSPICIOUS_LINK.value)
    announced: list[EventDraft] = []  # the message and the assistant's answer: one INSERT
    message = message_write(
        conversation=conversation,
        sender=sender,
        agent_id=agent.pk if agent is not None else None,
        body=body,
        sent_at=sent_at,
        is_auto_reply=is_auto_reply,
        flags=flags,
        validate=True,
        history=history,
        events=announced,
    )
    last = sent_at
    if sender == Sender.BUYER and conversation.status == ConversationStatus.BOT and not history:
        _assistant_reply(conversation, message, announced)
    elif (
        sender == Sender.BUYER
        and conversation.status == ConversationStatus.LEFT_MESSAGE
        and not history
        and asks_for_human(body)
    ):
        # A left message waits for an agent unanswered; only a request for a human routes it again (silently).
        transfer_request_locked(conversation, source=TransferSource.TYPED, now=sent_at, announce=announced)
    events_emit(announced)
    if sender == Sender.BUYER and not history:
        auto_replies_send(conversation=conversation, buyer_message=message)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=Greatest(Coalesce(F("last_message_at"), last), last)
    )
    return message


@transaction.atomic
def conversation_close(
    *, conversation_id: int, closed_by: str, actor_id: int | None = None, now: datetime | None = None
) -> Conversation:
    """End a chat. Closing an ended chat changes nothing; a freed seat goes to the oldest queued chat."""
    now = now or timezone.now()
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.status == ConversationStatus.ENDED:
        return conversation
    freed_agent_id = conversation.agent_id if conversation.status == ConversationStatus.HUMAN else None
    ended = _end(conversation, closed_by=closed_by, now=now)
    conversation.save(update_fields=["status", "ended_at", "closed_by"])
    event_record(
        shop_id=conversation.shop_id,
        kind=EventKind.CLOSED,
        at=conversation.ended_at,
        conversation=conversation,
        agent_id=conversation.agent_id,
        actor_id=actor_id,
        outcome=closed_by,
    )
    events_emit([ended])
    if freed_agent_id is not None:
        seat_release(agent_id=freed_agent_id)
        queue_drain(shop_id=conversation.shop_id, now=now)
    hooks.conversation_ended(conversation.pk)  # on commit: the evaluations app draws whether to invite a rating
    return conversation


def _end(conversation: Conversation, *, closed_by: str, now: datetime) -> EventDraft:
    """Mark an open chat (locked) ended in memory; returns its ``conversation.ended``.

    A chat that ends while queued (or waiting with a left message) leaves the shop's line, which every agent of the
    shop sees: so does its end (the chat, no message body). Any other end is the chat's agent's (and the managers').
    """
    waiting = (ConversationStatus.QUEUED, ConversationStatus.LEFT_MESSAGE)
    audience = Audience.SHOP if conversation.status in waiting else Audience.AGENT
    conversation.status = ConversationStatus.ENDED
    conversation.ended_at = max(now, conversation.started_at, conversation.last_message_at or conversation.started_at)
    conversation.closed_by = closed_by
    return conversation_event(EventType.CONVERSATION_ENDED, conversation, at=now, audience=audience)


def conversations_close_idle(*, now: datetime | None = None, limit: int | None = None) -> int:
    """End open chats with no message for longer than their shop's idle timeout; returns how many ended.

    A shop's idle chats end together, in one transaction: each UPDATE and INSERT (the chats, their service events and
    their outbox events, the freed seats) is one statement for the batch, then the shop's queue gets the seats.
    Chats where the buyer left a message (``left_message``) are never idle: they wait for an agent, however long.
    """
    now = now or timezone.now()
    limit = limit or settings.IDLE_CLOSE_BATCH
    closed = 0
    open_chats = Conversation.objects.filter(status__in=OPEN_STATUSES).exclude(status=ConversationStatus.LEFT_MESSAGE)
    shops = Shop.objects.filter(pk__in=open_chats.values("shop_id")).only("pk", "idle_close_minutes")
    for shop in shops:
        closed += _close_idle_of_shop(shop=shop, now=now, limit=limit - closed)
        if closed >= limit:
            break
    return closed


@transaction.atomic
def _close_idle_of_shop(*, shop: Shop, now: datetime, limit: int) -> int:
    """End up to ``limit`` idle chats of ``shop``, as ``conversation_close`` would one by one (closed by ``idle``)."""
    # Locked as they are read, so what is closed is idle under the lock (a chat a message is being written to right now
    # is skipped, and is looked at again by the next run).
    idle = list(
        Conversation.objects.filter(shop_id=shop.pk, status__in=OPEN_STATUSES)
        .exclude(status=ConversationStatus.LEFT_MESSAGE)  # a left message waits for an agent, never idle
        .annotate(last_activity=Coalesce("last_message_at", "started_at"))
        .filter(last_activity__lt=now - shop.idle_close_minutes_delta)
        .order_by("last_activity", "pk")
        .select_for_update(skip_locked=True, of=("self",))[:limit]
    )
    if not idle:
        return 0
    freed = Counter(c.agent_id for c in idle if c.status == ConversationStatus.HUMAN)
    ended = [_end(conversation, closed_by=ClosedBy.IDLE, now=now) for conversation in idle]
    Conversation.objects.bulk_update(idle, ["status", "ended_at", "closed_by"])
    events_record(
        [
            event_build(
                shop_id=shop.pk,
                kind=EventKind.CLOSED,
                at=conversation.ended_at,
                conversation=conversation,
                agent_id=conversation.agent_id,
                outcome=ClosedBy.IDLE,
            )
            for conversation in idle
        ]
    )
    events_emit(ended)
    if freed:
        seats_release(freed)
        queue_drain(shop_id=shop.pk, now=now)
    for conversation in idle:
        hooks.conversation_ended(conversation.pk)
    return len(idle)


__all__ = ["conversation_start", "message_create", "conversation_close", "conversations_close_idle"]
