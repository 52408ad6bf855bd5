"""One demo chat: the messages a buyer, the service assistant and an agent exchange, with realistic timing."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.models import Agent
from chats.choices import MessageFlag, Sender
from chats.models import Conversation, Message
from shops.choices import ServicePhase
from shops.models import Order, Shop

from .content import (
    AFTER_SALES_OPENINGS,
    AFTER_SALES_REPLIES,
    AUTO_REPLY_BUSY,
    AUTO_REPLY_WELCOME,
    BOT_FAQ,
    BOT_WELCOME,
    CLOSINGS,
    FOLLOW_UPS,
    GREETINGS,
    HOUR_WEIGHTS,
    OFFICIAL_NOTICE,
    PRE_SALES_OPENINGS,
    PRE_SALES_REPLIES,
    SUSPICIOUS_LINKS,
    THANKS,
    TRANSFER_REQUESTS,
    ShopSpec,
)


@dataclass
class ChatScript:
    """One generated chat: its messages and the moments the chat services would have recorded."""

    messages: list[Message] = field(default_factory=list)
    transfer_requested_at: datetime | None = None
    assigned_at: datetime | None = None


def agent_delay(rng: random.Random, moment: datetime, shop: Shop) -> timedelta:
    """Agents usually answer within a minute; busy hours and the odd distraction make a long tail."""
    hour = moment.astimezone(shop.tzinfo).hour
    median = 30 if HOUR_WEIGHTS[hour] < 6 else 50
    seconds = rng.lognormvariate(math.log(median), 1.0)
    return timedelta(seconds=min(max(seconds, 4), 1800))


def buyer_pause(rng: random.Random) -> timedelta:
    return timedelta(seconds=rng.randint(8, 150))


def write_chat(
    rng: random.Random,
    *,
    spec: ShopSpec,
    shop: Shop,
    conversation: Conversation,
    agent: Agent | None,
    human: bool,
    order: Order | None,
    has_ordered: bool,
) -> ChatScript:
    """The messages of one chat, served by the bot only or (``human``) by ``agent``, queued when it is None.

    ``order`` is the buyer's latest order in the shop, ``has_ordered`` whether there is any.
    """
    script = ChatScript()
    messages = script.messages
    moment = conversation.started_at

    def say(sender: str, body: str, *, by: Agent | None = None, auto: bool = False, flags=()) -> None:
        messages.append(
            Message(sender=sender, body=body, agent=by, sent_at=moment, is_auto_reply=auto, flags=list(flags))
        )

    def agent_reply(body: str) -> None:
        nonlocal moment
        moment += agent_delay(rng, moment, shop)
        say(Sender.AGENT, body, by=agent)

    after_sales = conversation.phase == ServicePhase.AFTER_SALES
    item = rng.choice(spec.items)
    if rng.random() < 0.3:
        say(Sender.BUYER, rng.choice(GREETINGS))
        moment += timedelta(seconds=rng.randint(3, 25))
    if after_sales:
        opening = rng.choice(AFTER_SALES_OPENINGS).format(order=order.external_id if order else "")
    elif rng.random() < 0.4:
        opening = rng.choice(spec.questions)
    else:
        opening = rng.choice(PRE_SALES_OPENINGS).format(item=item)
    if not has_ordered and rng.random() < 0.03:
        # The phishing guard's case: a link from a buyer with no order in this shop.
        say(Sender.BUYER, rng.choice(SUSPICIOUS_LINKS), flags=[MessageFlag.SUSPICIOUS_LINK])
    else:
        say(Sender.BUYER, opening)

    if shop.bot_enabled:
        moment += timedelta(seconds=rng.randint(1, 4))
        say(Sender.BOT, BOT_WELCOME)
        if not human or rng.random() < 0.3:
            moment += buyer_pause(rng)
            say(Sender.BUYER, rng.choice(FOLLOW_UPS))
            moment += timedelta(seconds=rng.randint(1, 3))
            say(Sender.BOT, rng.choice(BOT_FAQ))
        if not human:
            return script
        moment += buyer_pause(rng)
        say(Sender.BUYER, rng.choice(TRANSFER_REQUESTS))
        script.transfer_requested_at = moment
        moment += timedelta(seconds=rng.randint(1, 5))
        if agent is None:
            say(Sender.SYSTEM, "当前咨询人数较多，您前面还有2位，请耐心等待~")
            return script
        say(Sender.SYSTEM, f"已为您转接人工客服【{agent.display_name}】")

    if agent is None:
        return script
    script.assigned_at = moment
    roll = rng.random()
    if roll < 0.2:
        moment += timedelta(seconds=1)
        say(
            Sender.AGENT,
            AUTO_REPLY_WELCOME.format(shop=spec.name.removeprefix("[Demo] "), agent=agent.display_name),
            by=agent,
            auto=True,
        )
    elif roll < 0.25:
        moment += timedelta(seconds=1)
        say(Sender.AGENT, AUTO_REPLY_BUSY, by=agent, auto=True)
    if rng.random() < 0.03:
        return script  # the buyer's first turn to a human was never answered
    answers = AFTER_SALES_REPLIES if after_sales else PRE_SALES_REPLIES + spec.answers
    agent_reply(rng.choice(answers))
    if after_sales and rng.random() < 0.1:
        moment += timedelta(seconds=rng.randint(30, 600))
        say(Sender.OFFICIAL, OFFICIAL_NOTICE)
    for _ in range(rng.choices((0, 1, 2, 3), weights=(25, 35, 25, 15))[0]):
        moment += buyer_pause(rng)
        say(Sender.BUYER, rng.choice(FOLLOW_UPS))
        if rng.random() < 0.25:
            moment += timedelta(seconds=rng.randint(2, 20))
            say(Sender.BUYER, rng.choice(FOLLOW_UPS))
        if rng.random() < 0.05:
            return script  # an unanswered turn: the chat idles out
        agent_reply(rng.choice(answers))
    if rng.random() < 0.5:
        moment += buyer_pause(rng)
        say(Sender.BUYER, rng.choice(THANKS))
        agent_reply(rng.choice(CLOSINGS))
    return script
