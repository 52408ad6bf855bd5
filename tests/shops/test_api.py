from decimal import Decimal

import pytest

from shops.choices import OrderStatus
from shops.models import Order
from tests.chats.factories import ConversationFactory
from tests.conftest import client_for
from tests.shops.factories import BuyerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_only_platform_staff_create_shops(owner_client, staff_client):
    body = {"name": "New", "platform": "1688", "industry": "toys"}
    assert owner_client.post("/api/v1/shops/", body, format="json").status_code == 403
    response = staff_client.post("/api/v1/shops/", body, format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["timezone"] == "Asia/Shanghai"
    assert created["invite_probability"] == 0.3
    assert created["bot_enabled"] is True


def test_owner_changes_shop_settings_agent_may_not(shop, owner_client, agent_client):
    body = {"queue_enabled": False, "invite_probability": 0.25, "idle_close_minutes": 30, "timezone": "Asia/Tokyo"}
    response = owner_client.patch(f"/api/v1/shops/{shop.pk}/", body, format="json")
    assert response.status_code == 200
    shop.refresh_from_db()
    assert (shop.queue_enabled, shop.invite_probability, shop.idle_close_minutes, shop.timezone) == (
        False,
        Decimal("0.250"),
        30,
        "Asia/Tokyo",
    )
    assert agent_client.patch(f"/api/v1/shops/{shop.pk}/", {"bot_enabled": False}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("status", "after_sales_open", "dispute", "views"),
    [
        (OrderStatus.AWAITING_PAYMENT, False, False, ["all", "incomplete"]),
        (OrderStatus.AWAITING_SHIPMENT, False, False, ["all", "incomplete"]),
        (OrderStatus.SHIPPED, True, False, ["all", "incomplete", "suspected_abnormal"]),
        (OrderStatus.SUCCESS, False, False, ["all", "completed"]),
        (OrderStatus.SUCCESS, False, True, ["all", "completed", "suspected_abnormal"]),
        (OrderStatus.CLOSED, False, False, ["all", "closed"]),
    ],
)
def test_order_seller_views(shop, integration_client, status, after_sales_open, dispute, views):
    buyer = BuyerFactory()
    body = {
        "shop": shop.pk,
        "buyer": buyer.pk,
        "external_id": "TB-1",
        "amount": "59.90",
        "status": status,
        "after_sales_open": after_sales_open,
        "dispute": dispute,
    }
    response = integration_client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["seller_views"] == views
    for view in ("all", "incomplete", "completed", "closed", "suspected_abnormal"):
        listed = integration_client.get("/api/v1/orders/", {"shop": shop.pk, "view": view}).json()["results"]
        assert (len(listed) == 1) == (view in views), view


def test_order_status_update_by_the_order_system(shop, integration_client):
    order = OrderFactory(shop=shop, status=OrderStatus.AWAITING_PAYMENT, paid_at=None)
    response = integration_client.patch(
        f"/api/v1/orders/{order.pk}/",
        {"status": "awaiting_shipment", "paid_at": "2026-11-20T10:00:00+08:00", "external_id": "changed"},
        format="json",
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_SHIPMENT
    assert order.external_id != "changed"  # identity fields are read-only after creation
    assert Order.objects.count() == 1


def test_shop_staff_see_buyers_who_dealt_with_their_shop_integrations_see_all(shop, owner_client, integration_client):
    chatted, stranger = BuyerFactory(), BuyerFactory()
    ConversationFactory(shop=shop, buyer=chatted)
    assert owner_client.get(f"/api/v1/buyers/{chatted.pk}/").status_code == 200
    assert owner_client.get(f"/api/v1/buyers/{stranger.pk}/").status_code == 404
    assert integration_client.get(f"/api/v1/buyers/{stranger.pk}/").status_code == 200
    assert owner_client.post("/api/v1/buyers/", {"nick": "x"}, format="json").status_code == 403


def test_footprints_are_searchable(shop, integration_client, owner):
    buyer = BuyerFactory()
    for title in ("Red wool scarf", "Blue cotton shirt", "Red cotton socks"):
        body = {"shop": shop.pk, "buyer": buyer.pk, "item_id": title[:3], "item_title": title}
        assert integration_client.post("/api/v1/footprints/", body, format="json").status_code == 201
    found = client_for(owner.user).get("/api/v1/footprints/", {"buyer": buyer.pk, "q": "cotton"}).json()["results"]
    assert sorted(f["item_title"] for f in found) == ["Blue cotton shirt", "Red cotton socks"]
