"""List endpoints run a fixed number of queries whatever the number of rows (no N+1)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.choices import AgentRole
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.chats.factories import ConversationFactory, MessageFactory
from tests.conftest import client_for
from tests.shops.factories import (
    AfterSalesEventFactory,
    BuyerFactory,
    FootprintFactory,
    IntegrationClientFactory,
    OrderFactory,
    ShopFactory,
)

pytestmark = pytest.mark.django_db


def _grow(shop, conversation, n):
    """Add ``n`` rows of every kind to ``shop``."""
    for _ in range(n):
        buyer = BuyerFactory()
        agent = AgentFactory(shop=shop)
        RoutingGroupFactory(shop=shop, members=[agent, AgentFactory(shop=shop)])
        OrderFactory(shop=shop, buyer=buyer)
        FootprintFactory(shop=shop, buyer=buyer)
        AfterSalesEventFactory(shop=shop, buyer=buyer)
        ConversationFactory(shop=shop, buyer=buyer, agent=agent)
        MessageFactory(conversation=conversation)
    ShopFactory()


@pytest.fixture
def setting():
    shop = ShopFactory()
    owner = AgentFactory(shop=shop, role=AgentRole.OWNER)
    conversation = ConversationFactory(shop=shop)
    integration = IntegrationClientFactory(shops=[shop])
    return shop, owner, conversation, integration


def _count(user, url):
    client = client_for(get_user_model().objects.get(pk=user.pk))  # a fresh user: no cached tenancy lookup
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["results"])


URLS = [
    "/api/v1/shops/",
    "/api/v1/agents/",
    "/api/v1/routing-groups/",
    "/api/v1/buyers/",
    "/api/v1/orders/",
    "/api/v1/footprints/",
    "/api/v1/after-sales-events/",
    "/api/v1/conversations/",
    "/api/v1/conversations/{conversation}/messages/",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("caller", ["owner", "integration", "staff"])
def test_list_query_count_is_flat(setting, staff_user, url, caller):
    shop, owner, conversation, integration = setting
    url = url.format(conversation=conversation.pk)
    user = {"owner": owner.user, "integration": integration.user, "staff": staff_user}[caller]
    _grow(shop, conversation, 2)
    small_queries, small_rows = _count(user, url)
    _grow(shop, conversation, 6)
    big_queries, big_rows = _count(user, url)
    if not (url == "/api/v1/shops/" and caller != "staff"):  # a shop member lists its one shop
        assert big_rows > small_rows, url
    assert big_queries == small_queries, (url, small_queries, big_queries)


def _grow_workbench(shop, owner, agent, n):
    """Add ``n`` team and personal phrases, rules, tasks and notifications (for the owner and the agent)."""
    from agents.choices import PhraseScope
    from tests.agents.factories import AutoReplyRuleFactory, QuickPhraseFactory
    from tests.chats.factories import FollowUpTaskFactory, NotificationFactory

    for _ in range(n):
        QuickPhraseFactory(shop=shop)
        QuickPhraseFactory(shop=shop, scope=PhraseScope.PERSONAL, owner=agent)
        QuickPhraseFactory(shop=shop, scope=PhraseScope.PERSONAL, owner=owner)
        AutoReplyRuleFactory(shop=shop, agent=AgentFactory(shop=shop))
        for person in (owner, agent):
            task = FollowUpTaskFactory(shop=shop, handler=person, conversation=ConversationFactory(shop=shop))
            NotificationFactory(task=task)
    ShopFactory()


WORKBENCH_URLS = ["/api/v1/quick-phrases/", "/api/v1/auto-replies/", "/api/v1/tasks/", "/api/v1/notifications/"]


@pytest.mark.parametrize("url", WORKBENCH_URLS)
@pytest.mark.parametrize("caller", ["owner", "agent", "staff"])
def test_workbench_list_query_count_is_flat(setting, staff_user, url, caller):
    shop, owner, _conversation, _integration = setting
    agent = AgentFactory(shop=shop)
    user = {"owner": owner.user, "agent": agent.user, "staff": staff_user}[caller]
    _grow_workbench(shop, owner, agent, 2)
    small_queries, small_rows = _count(user, url)
    _grow_workbench(shop, owner, agent, 6)
    big_queries, big_rows = _count(user, url)
    if not (url == "/api/v1/auto-replies/" and caller != "staff"):  # others' personal rules stay hidden
        assert big_rows > small_rows, url
    assert big_queries == small_queries, (url, small_queries, big_queries)


def _grow_supervision(shop, owner, n):
    """Add ``n`` chats with messages and a rating, and ``n`` exports, to ``shop``."""
    from chats.models import Export
    from tests.evaluations.factories import EvaluationFactory

    for _ in range(n):
        agent = AgentFactory(shop=shop)
        conversation = ConversationFactory(shop=shop, agent=agent, group=RoutingGroupFactory(shop=shop))
        MessageFactory(conversation=conversation, sender="buyer")
        MessageFactory(conversation=conversation, sender="agent", agent=agent)
        EvaluationFactory(conversation=conversation, score=4)
        Export.objects.create(shop=shop, requested_by=owner.user, kind="messages", format="csv", status="done")
    ShopFactory()


SUPERVISION_URLS = ["/api/v1/monitoring/conversations/", "/api/v1/exports/"]


@pytest.mark.parametrize("url", SUPERVISION_URLS)
@pytest.mark.parametrize("caller", ["owner", "staff"])
def test_supervision_list_query_count_is_flat(setting, staff_user, url, caller):
    shop, owner, _conversation, _integration = setting
    user = {"owner": owner.user, "staff": staff_user}[caller]
    _grow_supervision(shop, owner, 2)
    small_queries, small_rows = _count(user, url)
    _grow_supervision(shop, owner, 6)
    big_queries, big_rows = _count(user, url)
    assert big_rows > small_rows, url
    assert big_queries == small_queries, (url, small_queries, big_queries)
