"""The service phase rule (DESIGN.md): after-sales when paid in the 21 days before D, D excluded."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shops.choices import OrderStatus, ServicePhase
from shops.selectors import buyer_service_phase
from tests.shops.factories import BuyerFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

CST = ZoneInfo("Asia/Shanghai")
LA = ZoneInfo("America/Los_Angeles")
UTC = ZoneInfo("UTC")
CHAT = datetime(2026, 11, 20, 15, 0, tzinfo=CST)  # D = 2026-11-20; the window is [10-30 00:00, 11-20 00:00)


@pytest.mark.parametrize(
    ("paid_at", "expected"),
    [
        (datetime(2026, 10, 30, 0, 0, tzinfo=CST), ServicePhase.AFTER_SALES),  # first instant of D-21
        (datetime(2026, 10, 29, 23, 59, 59, tzinfo=CST), ServicePhase.PRE_SALES),  # one second before the window
        (datetime(2026, 11, 19, 23, 59, 59, tzinfo=CST), ServicePhase.AFTER_SALES),  # last instant before D
        (datetime(2026, 11, 20, 9, 0, tzinfo=CST), ServicePhase.PRE_SALES),  # paid on D before the chat
        (datetime(2026, 11, 20, 15, 30, tzinfo=CST), ServicePhase.PRE_SALES),  # paid on D after asking: a sale
        (None, ServicePhase.PRE_SALES),  # never paid
    ],
)
def test_phase_boundaries(paid_at, expected):
    shop, buyer = ShopFactory(), BuyerFactory()
    status = OrderStatus.AWAITING_PAYMENT if paid_at is None else OrderStatus.SUCCESS
    OrderFactory(shop=shop, buyer=buyer, status=status, paid_at=paid_at)
    assert buyer_service_phase(shop=shop, buyer_id=buyer.pk, at=CHAT) == expected


def test_phase_ignores_orders_in_other_shops_and_of_other_buyers():
    shop, buyer = ShopFactory(), BuyerFactory()
    OrderFactory(shop=ShopFactory(), buyer=buyer, paid_at=datetime(2026, 11, 10, tzinfo=CST))
    OrderFactory(shop=shop, buyer=BuyerFactory(), paid_at=datetime(2026, 11, 10, tzinfo=CST))
    assert buyer_service_phase(shop=shop, buyer_id=buyer.pk, at=CHAT) == ServicePhase.PRE_SALES


def test_phase_uses_the_shops_local_day():
    # The chat is at 2026-11-20 02:00 UTC: 11-20 10:00 in Shanghai, but 11-19 18:00 in Los Angeles.
    # The order was paid 2026-11-19 10:00 UTC: 11-19 18:00 in Shanghai (before D), 11-19 02:00 in LA (on D).
    chat = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    paid = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    buyer = BuyerFactory()
    shanghai, los_angeles = ShopFactory(timezone="Asia/Shanghai"), ShopFactory(timezone="America/Los_Angeles")
    for shop in (shanghai, los_angeles):
        OrderFactory(shop=shop, buyer=buyer, paid_at=paid)
    assert buyer_service_phase(shop=shanghai, buyer_id=buyer.pk, at=chat) == ServicePhase.AFTER_SALES
    assert buyer_service_phase(shop=los_angeles, buyer_id=buyer.pk, at=chat) == ServicePhase.PRE_SALES
