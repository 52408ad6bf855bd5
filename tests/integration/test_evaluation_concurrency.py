"""Concurrent answers and draws on PostgreSQL: one evaluation per invite, one draw and one invite per chat."""

from decimal import Decimal

import pytest

from backoffice.errors import Conflict
from evaluations import services
from evaluations.models import Evaluation, InviteDecision, RatingInvite
from evaluations.random_source import use_random_source
from tests.evaluations.factories import EndedConversationFactory, RatingInviteFactory
from tests.shops.factories import ShopFactory

from .concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_answers_to_one_invite():
    invite = RatingInviteFactory()
    results = run_together(8, lambda: services.evaluation_submit(invite=invite, score=5).pk)
    assert sorted(r for r in results if isinstance(r, str)) == [Conflict.__name__] * 7
    assert Evaluation.objects.filter(invite=invite).count() == 1


def test_concurrent_draws_for_one_chat():
    chat = EndedConversationFactory(shop=ShopFactory(invite_probability=Decimal("1")))

    class AlwaysSend:
        def random(self):
            return 0.0

    with use_random_source(AlwaysSend()):
        run_together(8, lambda: services.rating_invite_decide(conversation_id=chat.pk))
    assert InviteDecision.objects.filter(conversation=chat).count() == 1
    assert RatingInvite.objects.filter(conversation=chat).count() == 1
