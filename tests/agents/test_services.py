from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from chats.choices import ConversationStatus
from chats.routing.agent_changes import agent_recount_active_chats
from tests.agents.factories import AgentFactory
from tests.chats.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_recount_active_chats_counts_only_human_chats(shop, other_shop):
    busy, idle, elsewhere = AgentFactory(shop=shop), AgentFactory(shop=shop), AgentFactory(shop=other_shop)
    ConversationFactory.create_batch(2, shop=shop, agent=busy, status=ConversationStatus.HUMAN)
    start = timezone.now() - timedelta(hours=1)
    ConversationFactory(
        shop=shop, agent=busy, status=ConversationStatus.ENDED, started_at=start, ended_at=timezone.now()
    )
    Agent.objects.update(active_chats=7)
    assert agent_recount_active_chats(shop_ids=[shop.pk]) == 2
    counts = dict(Agent.objects.values_list("pk", "active_chats"))
    assert counts == {busy.pk: 2, idle.pk: 0, elsewhere.pk: 7}  # other shops are left alone
