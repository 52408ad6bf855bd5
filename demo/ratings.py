"""The demo's ratings: the system's random invites at the end of human chats, and the buyers' answers."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from chats.choices import ConversationStatus, MessageFlag, Sender
from chats.lifecycle.messages import messages_bulk_write
from chats.models import Conversation, Message
from evaluations.choices import INVITE_VALIDITY_HOURS, InviteChannel, InviteStatus
from evaluations.models import Evaluation, InviteDecision, RatingInvite

# Most buyers who answer are satisfied; a few are not (so the satisfaction rate is not a flat 100%).
SCORES = (5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1)
TAGS = ("回复及时", "态度好", "解决问题", "专业", "回复慢", "没解决")
COMMENTS = ("", "", "客服很耐心，点赞！", "发货很快，谢谢", "等了好久才回复", "")
ANSWER_RATE = 0.55
INVITE_CARD = "亲，本次服务您满意吗？请在24小时内为客服打分哦～"


def seed_ratings(*, rng: random.Random, now: datetime, conversations: list[Conversation]) -> dict[str, int]:
    """One draw per ended human chat with its shop's probability; about half the invites get answered."""
    decisions, invites, cards, answers = [], [], [], []
    for conversation in conversations:
        if conversation.status != ConversationStatus.ENDED or conversation.agent_id is None:
            continue
        probability = conversation.shop.invite_probability
        send = Decimal(str(rng.random())) < probability
        decisions.append(
            InviteDecision(
                conversation=conversation, send=send, probability=probability, decided_at=conversation.ended_at
            )
        )
        if not send:
            continue
        sent_at = conversation.ended_at
        expires_at = sent_at + timedelta(hours=INVITE_VALIDITY_HOURS)
        answered_at = sent_at + timedelta(minutes=rng.randint(1, 26 * 60))  # some answer after the 24 hours
        answered = rng.random() < ANSWER_RATE and answered_at < expires_at and answered_at <= now
        status = (
            InviteStatus.ANSWERED if answered else (InviteStatus.EXPIRED if expires_at <= now else InviteStatus.PENDING)
        )
        invite = RatingInvite(
            conversation=conversation,
            channel=InviteChannel.SYSTEM,
            status=status,
            agent_id=conversation.agent_id,
            sent_at=sent_at,
            expires_at=expires_at,
            answered_at=answered_at if answered else None,
        )
        invites.append(invite)
        cards.append(
            Message(
                conversation=conversation,
                sender=Sender.SYSTEM,
                body=INVITE_CARD,
                sent_at=sent_at,
                flags=[MessageFlag.RATING_INVITE.value],
            )
        )
        if answered:
            score = rng.choice(SCORES)
            tags = rng.sample(TAGS[:4] if score >= 4 else TAGS[4:], k=1)
            answers.append((invite, score, tags, rng.choice(COMMENTS) if score >= 4 else "", answered_at))
    InviteDecision.objects.bulk_create(decisions, batch_size=1000)
    RatingInvite.objects.bulk_create(invites, batch_size=1000)
    # System cards are outside the turn stream: the writer stores them and leaves every turn as it was.
    messages_bulk_write(messages=cards, batch_size=1000)
    Evaluation.objects.bulk_create(
        [
            Evaluation(
                invite=invite,
                conversation_id=invite.conversation_id,
                channel=InviteChannel.SYSTEM,
                score=score,
                tags=tags,
                comment=comment,
                answered_at=answered_at,
            )
            for invite, score, tags, comment, answered_at in answers
        ],
        batch_size=1000,
    )
    return {"invites": len(invites), "ratings": len(answers)}
