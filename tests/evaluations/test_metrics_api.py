"""GET /metrics/daily/ and /metrics/peers/: scopes, filters, roles, tenancy, bad input, query counts, percentiles."""

from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations.choices import MetricScope
from evaluations.models import DailyMetric
from tests.agents.factories import AgentFactory, RoutingGroupFactory
from tests.conftest import client_for
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

D = date(2024, 5, 6)
DAILY = "/api/v1/metrics/daily/"
PEERS = "/api/v1/metrics/peers/"


def metric(shop, day=D, scope=MetricScope.SHOP, **fields):
    return DailyMetric.objects.create(shop=shop, date=day, scope=scope, **fields)


@pytest.fixture
def rows(shop, agent):
    group = RoutingGroupFactory(shop=shop, members=[agent])
    return {
        "shop": metric(
            shop, conversations=10, first_turns_in_hours=8, first_turns_answered_3m=6, response_rate_3m=0.75
        ),
        "yesterday": metric(shop, day=D - timedelta(days=1), conversations=4),
        "agent": metric(shop, scope=MetricScope.AGENT, agent=agent, conversations=3),
        "group": metric(shop, scope=MetricScope.GROUP, group=group, conversations=5),
        "phase": metric(shop, scope=MetricScope.PHASE, phase="after_sales", conversations=2),
        "human": metric(shop, scope=MetricScope.SERVED_BY, served_by="human", conversations=6),
        "group_obj": group,
    }


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_daily_lists_shop_rows_by_default_newest_first(owner_client, rows, other_shop):
    metric(other_shop, conversations=99)
    assert ids(owner_client.get(DAILY)) == [rows["shop"].pk, rows["yesterday"].pk]
    body = owner_client.get(DAILY, {"date_from": "2024-05-06", "date_to": "2024-05-06"}).json()["results"]
    assert len(body) == 1
    row = body[0]
    assert (row["date"], row["scope"], row["agent"], row["group"], row["phase"]) == (
        "2024-05-06",
        "shop",
        None,
        None,
        None,
    )
    assert (row["conversations"], row["response_rate_3m"], row["first_turns_in_hours"]) == (10, 0.75, 8)
    assert row["satisfaction_rate"] is None and row["ratings"] == 0  # no ratings: null, not 0
    assert row["final"] is False


def test_daily_dimension_filters_pick_their_scope(owner_client, rows, agent):
    assert ids(owner_client.get(DAILY, {"agent": agent.pk})) == [rows["agent"].pk]
    assert ids(owner_client.get(DAILY, {"group": rows["group_obj"].pk})) == [rows["group"].pk]
    assert ids(owner_client.get(DAILY, {"phase": "after_sales"})) == [rows["phase"].pk]
    assert ids(owner_client.get(DAILY, {"scope": "agent"})) == [rows["agent"].pk]
    assert ids(owner_client.get(DAILY, {"served_by": "human"})) == [rows["human"].pk]
    assert owner_client.get(DAILY, {"served_by": "human"}).json()["results"][0]["served_by"] == "human"
    phase_row = owner_client.get(DAILY, {"phase": "after_sales"}).json()["results"][0]
    assert phase_row["phase"] == "after_sales"


def test_daily_roles(rows, agent_client, integration_client, staff_client, supervisor, other_shop):
    assert agent_client.get(DAILY).status_code == 403
    assert integration_client.get(DAILY).status_code == 403
    assert len(ids(client_for(supervisor.user).get(DAILY))) == 2
    foreign = metric(other_shop)
    assert foreign.pk in ids(staff_client.get(DAILY, {"page_size": 200}))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2024-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2024-05-07", "date_to": "2024-05-06"}, "date_to"),
        ({"phase": "during_sales"}, "phase"),
        ({"scope": "planet"}, "scope"),
        ({"served_by": "robot"}, "served_by"),
        ({"agent": "x"}, "agent"),
    ],
)
def test_daily_bad_input_is_400(owner_client, rows, params, field):
    response = owner_client.get(DAILY, params)
    assert response.status_code == 400
    assert field in response.json()


def test_daily_foreign_ids_in_filters_are_400(owner_client, rows, other_shop):
    foreign_agent = AgentFactory(shop=other_shop)
    foreign_group = RoutingGroupFactory(shop=other_shop)
    for param, value in (("shop", other_shop.pk), ("agent", foreign_agent.pk), ("group", foreign_group.pk)):
        response = owner_client.get(DAILY, {param: value})
        assert response.status_code == 400, param
        assert param in response.json()


def test_daily_query_count_is_flat(shop, owner):
    def count():
        client = client_for(get_user_model().objects.get(pk=owner.user.pk))
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(DAILY, {"page_size": 200, "scope": "agent"})
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    for n in range(2):
        metric(shop, scope=MetricScope.AGENT, agent=AgentFactory(shop=shop), day=D - timedelta(days=n))
    small = count()
    for n in range(8):
        metric(shop, scope=MetricScope.AGENT, agent=AgentFactory(shop=shop), day=D - timedelta(days=n))
    big = count()
    assert big[1] == 10 > small[1] == 2
    assert big[0] == small[0]


@pytest.fixture
def peer_world(shop):
    """The shop (industry apparel, tier <100) at 0.5 and five other shops; two of them are not peers."""
    shop.industry = "apparel"
    shop.save()
    metric(
        shop, response_rate_3m=0.5, avg_response_seconds=30.0, reception_tier="<100", stars=4, fast_response_badge=True
    )
    for value, seconds in ((0.2, 10.0), (0.5, 20.0), (0.9, 40.0), (0.7, None)):
        metric(
            ShopFactory(industry="apparel"), response_rate_3m=value, avg_response_seconds=seconds, reception_tier="<100"
        )
    metric(ShopFactory(industry="beauty"), response_rate_3m=0.1, reception_tier="<100")  # another industry
    metric(ShopFactory(industry="apparel"), response_rate_3m=0.1, reception_tier="100-999")  # another tier
    metric(ShopFactory(industry="apparel"), day=D - timedelta(days=1), response_rate_3m=0.1, reception_tier="<100")
    return shop


def test_peers_percentile_counts_ties_half_and_median(owner_client, peer_world):
    response = owner_client.get(PEERS, {"shop": peer_world.pk, "date": "2024-05-06"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["reception_tier"], body["industry"], body["stars"], body["fast_response_badge"]) == (
        "<100",
        "apparel",
        4,
        True,
    )
    rate = body["metrics"]["response_rate_3m"]
    # peers 0.2, 0.5, 0.7, 0.9: one lower, one equal -> (1 + 0.5) / 4; median (0.5 + 0.7) / 2
    assert rate == {"value": 0.5, "peer_median": 0.6, "percentile": 0.375, "peers": 4, "higher_is_better": True}
    seconds = body["metrics"]["avg_response_seconds"]
    # peers with a value: 10, 20, 40 -> two lower; median 20
    assert seconds == {
        "value": 30.0,
        "peer_median": 20.0,
        "percentile": pytest.approx(2 / 3),
        "peers": 3,
        "higher_is_better": False,
    }
    satisfaction = body["metrics"]["satisfaction_rate"]
    assert satisfaction == {
        "value": None,
        "peer_median": None,
        "percentile": None,
        "peers": 0,
        "higher_is_better": True,
    }


def test_peers_defaults_to_the_callers_shop_and_answers_404_without_a_row(owner_client, peer_world):
    assert owner_client.get(PEERS, {"date": "2024-05-06"}).json()["metrics"]["response_rate_3m"]["peers"] == 4
    assert owner_client.get(PEERS, {"date": "2024-05-05"}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "date"), ({"date": "2024-02-30"}, "date"), ({"date": "2024-05-06", "shop": "abc"}, "shop")],
)
def test_peers_bad_input_is_400(owner_client, peer_world, params, field):
    response = owner_client.get(PEERS, params)
    assert response.status_code == 400
    assert field in response.json()


def test_peers_roles_and_tenancy(peer_world, other_shop, agent_client, staff_client, owner_client):
    assert agent_client.get(PEERS, {"date": "2024-05-06"}).status_code == 403
    response = owner_client.get(PEERS, {"date": "2024-05-06", "shop": other_shop.pk})
    assert response.status_code == 400 and "shop" in response.json()
    assert staff_client.get(PEERS, {"date": "2024-05-06"}).status_code == 400  # platform staff name the shop
    assert staff_client.get(PEERS, {"date": "2024-05-06", "shop": peer_world.pk}).status_code == 200


def test_peers_query_count_does_not_grow_with_peers(owner, peer_world):
    def count():
        client = client_for(get_user_model().objects.get(pk=owner.user.pk))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PEERS, {"date": "2024-05-06"}).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for _ in range(5):
        metric(ShopFactory(industry="apparel"), response_rate_3m=0.3, reception_tier="<100")
    assert count() == small
