"""The buyer panel: hand-computed totals and flags, the five seller views, footprints, tenancy, flat queries."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from agents.choices import AgentRole
from shops.choices import OrderStatus
from shops.selectors import buyer_panel_get
from tests.agents.factories import AgentFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory, FootprintFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


def _url(shop, buyer) -> str:
    return f"/api/v1/shops/{shop.pk}/buyers/{buyer.pk}/panel/"


def _order(shop, buyer, status, amount, days_ago, *, paid=True, **extra):
    placed = timezone.now() - timedelta(days=days_ago)
    return OrderFactory(
        shop=shop,
        buyer=buyer,
        status=status,
        amount=Decimal(amount),
        placed_at=placed,
        paid_at=placed + timedelta(minutes=5) if paid else None,
        **extra,
    )


@pytest.fixture
def history(shop, other_shop):
    """One order in every status combination, plus an order in another shop that must not count."""
    buyer = BuyerFactory()
    orders = {
        "unpaid": _order(shop, buyer, OrderStatus.AWAITING_PAYMENT, "10.00", 6, paid=False),
        "to_ship": _order(shop, buyer, OrderStatus.AWAITING_SHIPMENT, "20.00", 5),
        "shipped_after_sales": _order(shop, buyer, OrderStatus.SHIPPED, "30.00", 4, after_sales_open=True),
        "success": _order(shop, buyer, OrderStatus.SUCCESS, "40.00", 3),
        "success_dispute": _order(shop, buyer, OrderStatus.SUCCESS, "50.50", 2, dispute=True),
        # Paid, then closed (refunded): no spend, and not the last trade even though it was paid last.
        "closed_after_payment": _order(shop, buyer, OrderStatus.CLOSED, "60.00", 1),
    }
    _order(other_shop, buyer, OrderStatus.SUCCESS, "1000.00", 0)
    return buyer, orders


def _ids(rows) -> list[int]:
    return [row["id"] for row in rows]


def test_buyer_panel_totals_average_and_last_trade(shop, owner_client, history):
    buyer, orders = history
    response = owner_client.get(_url(shop, buyer))
    assert response.status_code == 200, response.content
    panel = response.json()
    assert panel["shop"] == shop.pk
    assert panel["buyer"] == {
        "id": buyer.pk,
        "nick": buyer.nick,
        "credit_level": 3,
        "registered_at": panel["buyer"]["registered_at"],
        "verified": True,
        "positive_rate": 0.98,
    }
    assert datetime.fromisoformat(panel["buyer"]["registered_at"]) == buyer.registered_at
    # Paid and not closed: 20 + 30 + 40 + 50.50 = 140.50 over 4 orders = 35.125 -> 35.13.
    assert panel["total_spend"] == 140.5
    assert panel["paid_order_count"] == 4
    assert panel["average_order_value"] == 35.13
    assert panel["order_count"] == 6
    assert datetime.fromisoformat(panel["last_trade_at"]) == orders["success_dispute"].paid_at
    assert panel["new_to_shop"] is False
    assert panel["new_platform_user"] is False


def test_buyer_panel_orders_in_the_five_seller_views(shop, owner_client, history):
    buyer, orders = history
    panel = owner_client.get(_url(shop, buyer)).json()
    o = {name: order.pk for name, order in orders.items()}
    assert _ids(panel["orders"]["all"]) == [
        o["closed_after_payment"],
        o["success_dispute"],
        o["success"],
        o["shipped_after_sales"],
        o["to_ship"],
        o["unpaid"],
    ]
    assert _ids(panel["orders"]["incomplete"]) == [o["shipped_after_sales"], o["to_ship"], o["unpaid"]]
    assert _ids(panel["orders"]["completed"]) == [o["success_dispute"], o["success"]]
    assert _ids(panel["orders"]["closed"]) == [o["closed_after_payment"]]
    assert _ids(panel["orders"]["suspected_abnormal"]) == [o["success_dispute"], o["shipped_after_sales"]]
    assert panel["order_counts"] == {"all": 6, "incomplete": 3, "completed": 2, "closed": 1, "suspected_abnormal": 2}
    shipped = panel["orders"]["suspected_abnormal"][1]
    assert shipped["seller_views"] == ["all", "incomplete", "suspected_abnormal"]


def test_buyer_panel_orders_limit_bounds_lists_not_counts(shop, staff_client, history):
    buyer, orders = history
    panel = staff_client.get(_url(shop, buyer), {"orders_limit": 2}).json()
    assert _ids(panel["orders"]["all"]) == [orders["closed_after_payment"].pk, orders["success_dispute"].pk]
    assert len(panel["orders"]["incomplete"]) == 2
    assert panel["order_counts"]["all"] == 6
    assert staff_client.get(_url(shop, buyer), {"orders_limit": 101}).status_code == 400
    assert staff_client.get(_url(shop, buyer), {"orders_limit": 0}).status_code == 400


def test_buyer_panel_new_to_shop_with_orders_only_elsewhere(shop, other_shop, owner_client):
    buyer = BuyerFactory()
    FootprintFactory(shop=shop, buyer=buyer)  # visible to the shop: it viewed an item here
    _order(other_shop, buyer, OrderStatus.SUCCESS, "99.00", 1)
    panel = owner_client.get(_url(shop, buyer)).json()
    assert panel["new_to_shop"] is True
    assert (panel["order_count"], panel["paid_order_count"]) == (0, 0)
    assert panel["total_spend"] == 0
    assert panel["average_order_value"] is None
    assert panel["last_trade_at"] is None
    assert panel["order_counts"] == {"all": 0, "incomplete": 0, "completed": 0, "closed": 0, "suspected_abnormal": 0}
    assert panel["orders"]["all"] == []


@pytest.mark.parametrize(
    ("credit_level", "registered_days_ago", "verified", "expected"),
    [
        (0, 29, False, True),
        (0, 30, False, True),  # exactly 30 days ago is still within the last 30 days
        (0, 31, False, False),
        (0, 29, True, False),
        (1, 29, False, False),
    ],
)
def test_buyer_panel_new_platform_user_boundaries(shop, credit_level, registered_days_ago, verified, expected):
    now = timezone.now()
    buyer = BuyerFactory(
        credit_level=credit_level, registered_at=now - timedelta(days=registered_days_ago), verified=verified
    )
    assert buyer_panel_get(shop=shop, buyer=buyer, now=now)["new_platform_user"] is expected


def test_buyer_panel_new_platform_user_through_the_api(shop, staff_client):
    buyer = BuyerFactory(credit_level=0, registered_at=timezone.now() - timedelta(days=29), verified=False)
    panel = staff_client.get(_url(shop, buyer)).json()
    assert (panel["new_platform_user"], panel["new_to_shop"]) == (True, True)


def test_buyer_panel_footprints_newest_first_limited_and_searchable(shop, other_shop, owner_client):
    buyer = BuyerFactory()
    now = timezone.now()
    titles = ["Silk scarf" if i % 5 == 0 else f"Cotton T-shirt {i}" for i in range(25)]
    prints = [
        FootprintFactory(shop=shop, buyer=buyer, item_title=title, viewed_at=now - timedelta(minutes=i))
        for i, title in enumerate(titles)
    ]
    FootprintFactory(shop=other_shop, buyer=buyer, item_title="Silk scarf", viewed_at=now)
    FootprintFactory(shop=shop, item_title="Silk scarf", viewed_at=now)  # another buyer
    url = _url(shop, buyer)

    panel = owner_client.get(url).json()
    assert _ids(panel["footprints"]) == [f.pk for f in prints[:20]]
    assert set(panel["footprints"][0]) == {"id", "item_id", "item_title", "viewed_at"}
    assert _ids(owner_client.get(url, {"footprints_limit": 3}).json()["footprints"]) == [f.pk for f in prints[:3]]
    found = owner_client.get(url, {"footprint_q": "sILK"}).json()["footprints"]
    assert _ids(found) == [prints[i].pk for i in (0, 5, 10, 15, 20)]
    found = owner_client.get(url, {"footprint_q": "silk", "footprints_limit": 2}).json()["footprints"]
    assert _ids(found) == [prints[0].pk, prints[5].pk]
    assert owner_client.get(url, {"footprints_limit": 101}).status_code == 400


@pytest.mark.parametrize("role", [AgentRole.OWNER, AgentRole.SUPERVISOR, AgentRole.AGENT])
def test_buyer_panel_readable_by_every_shop_role(shop, history, role):
    buyer, _orders = history
    user = AgentFactory(shop=shop, role=role).user
    assert client_for(user).get(_url(shop, buyer)).status_code == 200


def test_buyer_panel_readable_by_integration_and_platform_staff(shop, history, integration_client, staff_client):
    buyer, _orders = history
    assert integration_client.get(_url(shop, buyer)).status_code == 200
    assert staff_client.get(_url(shop, buyer)).status_code == 200


def test_buyer_panel_another_shop_is_404(shop, other_shop, owner_client, integration_client, history):
    buyer, _orders = history  # the buyer also ordered in other_shop
    assert owner_client.get(_url(other_shop, buyer)).status_code == 404
    assert integration_client.get(_url(other_shop, buyer)).status_code == 404
    assert owner_client.get(f"/api/v1/shops/999999/buyers/{buyer.pk}/panel/").status_code == 404


def test_buyer_panel_invisible_buyer_is_404(shop, other_shop, owner_client, agent_client):
    stranger = BuyerFactory()
    _order(other_shop, stranger, OrderStatus.SUCCESS, "10.00", 1)  # known to another shop only
    assert owner_client.get(_url(shop, stranger)).status_code == 404
    assert agent_client.get(_url(shop, stranger)).status_code == 404
    assert owner_client.get(f"/api/v1/shops/{shop.pk}/buyers/999999/panel/").status_code == 404


def test_buyer_panel_anonymous_is_refused(shop, history):
    buyer, _orders = history
    assert APIClient().get(_url(shop, buyer)).status_code in (401, 403)


def _grow(shop, buyer, orders: int, footprints: int):
    statuses = list(OrderStatus.values)
    for i in range(orders):
        _order(shop, buyer, statuses[i % len(statuses)], "10.00", i % 30, dispute=i % 4 == 0)
    FootprintFactory.create_batch(footprints, shop=shop, buyer=buyer)


def _count(user, url) -> tuple[int, dict]:
    client = client_for(get_user_model().objects.get(pk=user.pk))  # a fresh user: no cached tenancy lookup
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"footprints_limit": 100, "orders_limit": 100})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


@pytest.mark.parametrize("caller", ["owner", "agent", "integration", "staff"])
def test_buyer_panel_query_count_is_flat(shop, owner, agent, integration, staff_user, caller):
    user = {"owner": owner.user, "agent": agent.user, "integration": integration.user, "staff": staff_user}[caller]
    buyer = BuyerFactory()
    ShopFactory()
    _grow(shop, buyer, 3, 3)
    small_queries, small = _count(user, _url(shop, buyer))
    _grow(shop, buyer, 57, 197)
    big_queries, big = _count(user, _url(shop, buyer))
    assert (small["order_count"], len(small["footprints"])) == (3, 3)
    assert (big["order_count"], len(big["footprints"])) == (60, 100)
    assert len(big["orders"]["all"]) == 60
    assert big_queries == small_queries, (small_queries, big_queries)
    # caller lookup, shop, buyer, 1 aggregate, footprints, 5 order views
    assert big_queries <= 12
