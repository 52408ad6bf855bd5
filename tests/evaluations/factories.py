from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from chats.choices import ConversationStatus
from evaluations.choices import InviteChannel, InviteStatus
from evaluations.models import Evaluation, InviteDecision, RatingInvite
from tests.chats.factories import ConversationFactory


class EndedConversationFactory(ConversationFactory):
    status = ConversationStatus.ENDED
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=30))
    ended_at = factory.LazyFunction(timezone.now)


class RatingInviteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RatingInvite

    conversation = factory.SubFactory(EndedConversationFactory)
    channel = InviteChannel.SYSTEM
    status = InviteStatus.PENDING
    sent_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda invite: invite.sent_at + timedelta(hours=24))


class EvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evaluation

    conversation = factory.SubFactory(EndedConversationFactory)
    channel = InviteChannel.SELF
    score = 5


class InviteDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InviteDecision

    conversation = factory.SubFactory(EndedConversationFactory)
    send = True
    probability = Decimal("0.300")
