"""Concurrent answers and draws on PostgreSQL: one evaluation per invite, one draw and one invite per chat."""

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from backoffice.errors import Conflict
from evaluations import services
from evaluations.models import Evaluation, InviteDecision, RatingInvite
from evaluations.random_source import use_random_source
from tests.evaluations.factories import EndedConversationFactory, RatingInviteFactory
from tests.shops.factories import ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _together(count, work):
    results, barrier, lock = [], threading.Barrier(count), threading.Lock()

    def run():
        try:
            barrier.wait()
            outcome = work()
        except Exception as error:  # noqa: BLE001 -- the outcome is what the test compares
            outcome = type(error).__name__
        finally:
            close_old_connections()
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_answers_to_one_invite():
    invite = RatingInviteFactory()
    results = _together(8, lambda: services.evaluation_submit(invite=invite, score=5).pk)
    assert sorted(r for r in results if isinstance(r, str)) == [Conflict.__name__] * 7
    assert Evaluation.objects.filter(invite=invite).count() == 1


def test_concurrent_draws_for_one_chat():
    chat = EndedConversationFactory(shop=ShopFactory(invite_probability=Decimal("1")))

    class AlwaysSend:
        def random(self):
            return 0.0

    with use_random_source(AlwaysSend()):
        _together(8, lambda: services.rating_invite_decide(conversation_id=chat.pk))
    assert InviteDecision.objects.filter(conversation=chat).count() == 1
    assert RatingInvite.objects.filter(conversation=chat).count() == 1
