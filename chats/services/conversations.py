"""Writes about conversations and messages.

The chat-lifecycle rules (bot replies, routing, queue, transfers, closing) build on these services.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Agent
from backoffice.errors import InvalidInput
from shops.models import Buyer, Shop
from shops.selectors import buyer_service_phase

from .choices import ConversationStatus, EntryPoint, Sender
from .models import Conversation, Message


@transaction.atomic
def conversation_start(
    *,
    shop: Shop,
    buyer: Buyer,
    entry_point: str = EntryPoint.SHOP,
    entry_ref: str = "",
    started_at: datetime | None = None,
) -> Conversation:
    """Open a chat of ``buyer`` with ``shop``; its service phase follows the 21-day paid-order rule."""
    if entry_point in (EntryPoint.ITEM, EntryPoint.ORDER) and not entry_ref:
        raise InvalidInput(_("An item or order entry point needs the item or order id."), field="entry_ref")
    started_at = started_at or timezone.now()
    conversation = Conversation(
        shop=shop,
        buyer=buyer,
        entry_point=entry_point,
        entry_ref=entry_ref,
        started_at=started_at,
        phase=buyer_service_phase(shop=shop, buyer_id=buyer.pk, at=started_at),
        status=ConversationStatus.BOT if shop.bot_enabled else ConversationStatus.QUEUED,
        queued_at=None if shop.bot_enabled else started_at,
    )
    conversation.full_clean()
    conversation.save()
    return conversation


@transaction.atomic
def message_create(
    *,
    conversation: Conversation,
    sender: str,
    body: str,
    agent: Agent | None = None,
    sent_at: datetime | None = None,
    is_auto_reply: bool = False,
    flags: list[str] | None = None,
) -> Message:
    """Store one message and move the conversation's last activity forward."""
    if sender == Sender.AGENT and agent is None:
        raise InvalidInput(_("A message from an agent must name the agent."), field="agent")
    if agent is not None and sender not in (Sender.AGENT, Sender.SYSTEM):
        raise InvalidInput(_("Only agent and system messages name an agent."), field="agent")
    if agent is not None and agent.shop_id != conversation.shop_id:
        raise InvalidInput(_("Must belong to the same shop."), field="agent")
    message = Message(
        conversation=conversation,
        sender=sender,
        agent=agent,
        body=body,
        sent_at=sent_at or timezone.now(),
        is_auto_reply=is_auto_reply,
        flags=list(flags or []),
    )
    message.full_clean()
    message.save()
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=Greatest(F("last_message_at"), message.sent_at)
        if conversation.last_message_at
        else message.sent_at
    )
    return message
