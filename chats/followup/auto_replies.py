"""Auto-replies (自动回复): the system answers for an agent in defined situations, once per occasion.

Sent as ``system`` messages with ``is_auto_reply=True`` naming the agent they speak for, so they never count as a
response (see ``chats.turns``). Only live buyer messages in human-served chats trigger them, never history imports:

- ``first_message_of_day``: the buyer's first message of the shop's local day that reaches a human chat (in a
  bot-served chat the service assistant answers instead);
- ``agent_away`` / ``agent_busy`` / ``over_capacity`` (more than ``threshold`` active chats): at most one of them
  per buyer turn, in that order of precedence. An agent turning away or busy also tells the buyers already
  waiting for it (``auto_replies_on_status_change``), within the same once-per-turn limit.

An agent's enabled personal rule wins over the shop's enabled team rule (team rules need sub-accounts on).
``AutoReplyDelivery`` carries a unique key per (shop, buyer, trigger, occasion), so concurrent messages cannot send
the same reply twice.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from agents.choices import AgentStatus, AutoReplyTrigger
from agents.models import Agent, AutoReplyRule

from ..choices import ConversationStatus, Sender
from ..lifecycle.messages import message_write
from ..models import AutoReplyDelivery, Conversation, Message, Turn

AVAILABILITY_TRIGGERS = (AutoReplyTrigger.AGENT_AWAY, AutoReplyTrigger.AGENT_BUSY, AutoReplyTrigger.OVER_CAPACITY)


def _rules_for(conversation: Conversation) -> dict[str, AutoReplyRule]:
    """The enabled rule per trigger for the chat's agent: personal first, else the team's."""
    scope = Q(agent_id=conversation.agent_id)
    if conversation.shop.subaccounts_enabled:
        scope |= Q(agent__isnull=True)
    rules: dict[str, AutoReplyRule] = {}
    for rule in AutoReplyRule.objects.filter(scope, shop_id=conversation.shop_id, enabled=True).order_by("agent_id"):
        # Team rules (agent NULL) sort last on PostgreSQL and first on SQLite: let the personal one win either way.
        if rule.trigger not in rules or rule.agent_id is not None:
            rules[rule.trigger] = rule
    return rules


def _availability_trigger(agent: Agent, rules: dict[str, AutoReplyRule]) -> str | None:
    if agent.status == AgentStatus.AWAY and AutoReplyTrigger.AGENT_AWAY in rules:
        return AutoReplyTrigger.AGENT_AWAY
    if agent.status == AgentStatus.BUSY and AutoReplyTrigger.AGENT_BUSY in rules:
        return AutoReplyTrigger.AGENT_BUSY
    rule = rules.get(AutoReplyTrigger.OVER_CAPACITY)
    if rule is not None and rule.threshold is not None and agent.active_chats > rule.threshold:
        return AutoReplyTrigger.OVER_CAPACITY
    return None


def _turn_occasion(conversation: Conversation, at) -> str:
    """The buyer turn current at ``at``, named by the last response before it (agent or bot, not an auto-reply)."""
    last_response = (
        Message.objects.filter(
            conversation_id=conversation.pk,
            sender__in=(Sender.AGENT, Sender.BOT),
            is_auto_reply=False,
            sent_at__lte=at,
        )
        .order_by("-sent_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return f"{conversation.pk}:{last_response or 0}"


def _send(conversation: Conversation, at, rule: AutoReplyRule, occasion: str) -> Message | None:
    """Store the reply and its delivery record together; a delivery already there means it went out before."""
    try:
        with transaction.atomic():
            message = message_write(
                conversation=conversation,
                sender=Sender.SYSTEM,
                agent_id=conversation.agent_id,
                body=rule.content,
                sent_at=at,
                is_auto_reply=True,
            )
            AutoReplyDelivery.objects.create(
                shop_id=conversation.shop_id,
                buyer_id=conversation.buyer_id,
                conversation=conversation,
                trigger=rule.trigger,
                occasion=occasion,
                rule=rule,
                message=message,
            )
    except IntegrityError:
        return None  # already sent for this occasion: the savepoint took the message back
    return message


def _availability_sent(conversation: Conversation, occasion: str) -> bool:
    """One availability reply per turn, whichever trigger sent it."""
    return AutoReplyDelivery.objects.filter(
        shop_id=conversation.shop_id,
        buyer_id=conversation.buyer_id,
        trigger__in=AVAILABILITY_TRIGGERS,
        occasion=occasion,
    ).exists()


def _send_availability(conversation: Conversation, at, rule: AutoReplyRule) -> Message | None:
    """Send an availability reply for the buyer turn current at ``at``, unless one went out for it already."""
    occasion = _turn_occasion(conversation, at)
    if _availability_sent(conversation, occasion):
        return None
    return _send(conversation, at, rule, occasion)


def auto_replies_send(*, conversation: Conversation, buyer_message: Message) -> list[Message]:
    """Send the auto-replies a live buyer message calls for; called inside ``message_create``'s transaction.

    Costs one indexed query when the shop has no enabled rule for this agent.
    """
    if conversation.status != ConversationStatus.HUMAN or conversation.agent_id is None:
        return []
    rules = _rules_for(conversation)
    if not rules:
        return []
    sent = []
    rule = rules.get(AutoReplyTrigger.FIRST_MESSAGE_OF_DAY)
    if rule is not None:
        local_day = timezone.localtime(buyer_message.sent_at, conversation.shop.tzinfo).date()
        message = _send(conversation, buyer_message.sent_at, rule, local_day.isoformat())
        if message is not None:
            sent.append(message)
    if any(trigger in rules for trigger in AVAILABILITY_TRIGGERS):
        agent = Agent.objects.only("pk", "status", "active_chats").get(pk=conversation.agent_id)
        trigger = _availability_trigger(agent, rules)
        if trigger is not None:
            message = _send_availability(conversation, buyer_message.sent_at, rules[trigger])
            if message is not None:
                sent.append(message)
    return sent


def auto_replies_on_status_change(*, agent: Agent, at: datetime | None = None) -> list[Message]:
    """An agent turning busy or away tells the buyers already waiting for its answer, once per turn.

    Called inside ``agent_set_status``'s transaction. Looks only at the agent's human chats (at most its capacity)
    whose last turn is unanswered, read from the stored turns.
    """
    trigger = {AgentStatus.AWAY: AutoReplyTrigger.AGENT_AWAY, AgentStatus.BUSY: AutoReplyTrigger.AGENT_BUSY}.get(
        agent.status
    )
    if trigger is None:
        return []
    chats = list(Conversation.objects.filter(agent_id=agent.pk, status=ConversationStatus.HUMAN).select_related("shop"))
    if not chats:
        return []
    rule = _rules_for(chats[0]).get(trigger)  # the same shop and agent for every chat
    if rule is None:
        return []
    waiting = _waiting_conversation_ids([chat.pk for chat in chats])
    at = at or timezone.now()
    sent = []
    for chat in chats:
        if chat.pk not in waiting:
            continue
        message = _send_availability(chat, at, rule)
        if message is not None:
            sent.append(message)
    return sent


def _waiting_conversation_ids(conversation_ids: list[int]) -> set[int]:
    """Which of these chats end with an unanswered buyer turn (only a chat's last turn can be unanswered)."""
    unanswered = Turn.objects.filter(conversation_id__in=conversation_ids, responded_at__isnull=True)
    return set(unanswered.values_list("conversation_id", flat=True))
