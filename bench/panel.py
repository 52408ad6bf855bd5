"""Buyer panel benchmark (PostgreSQL): the panel through the DRF view vs a bare primary-key SELECT of the buyer.

    python bench/panel.py [--orders 1000] [--footprints 5000] [--requests 200]

Creates its own shop, buyer, ``--orders`` orders and ``--footprints`` footprints (other benchmarks' rows are left
alone), then times ``--requests`` panel GETs as a platform staff user (the caller is resolved afresh on every
request, as it would be for a new request) and as the baseline the same number of ``Buyer.objects.get(pk=...)``;
prints throughput, p50/p99 latency and the ratio of mean latencies. Everything it created is deleted at the end.
"""

import argparse
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import _django


def build(orders: int, footprints: int):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from shops.choices import OrderStatus
    from shops.models import Buyer, Footprint, Order, Shop

    tag = uuid.uuid4().hex[:8]
    now = timezone.now()
    shop = Shop.objects.create(name=f"Bench panel shop {tag}", platform="taobao", industry="apparel")
    buyer = Buyer.objects.create(nick=f"bench-panel-buyer-{tag}", credit_level=5, positive_rate=Decimal("0.97"))
    statuses = list(OrderStatus.values)
    unpaid = OrderStatus.AWAITING_PAYMENT
    Order.objects.bulk_create(
        [
            Order(
                shop=shop,
                buyer=buyer,
                external_id=f"P{tag}-{i}",
                amount=Decimal(10 + i % 90),
                status=statuses[i % len(statuses)],
                placed_at=now - timedelta(hours=i),
                paid_at=None if statuses[i % len(statuses)] == unpaid else now - timedelta(hours=i),
                dispute=i % 17 == 0,
                after_sales_open=i % 11 == 0,
            )
            for i in range(orders)
        ],
        batch_size=5000,
    )
    Footprint.objects.bulk_create(
        [
            Footprint(
                shop=shop,
                buyer=buyer,
                item_id=str(i),
                item_title=f"{'Silk scarf' if i % 7 == 0 else 'Cotton T-shirt'} {i}",
                viewed_at=now - timedelta(minutes=i),
            )
            for i in range(footprints)
        ],
        batch_size=5000,
    )
    staff = get_user_model().objects.create(username=f"bench-panel-staff-{tag}", is_staff=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE shops_order")
        cursor.execute("ANALYZE shops_footprint")
        cursor.execute("ANALYZE shops_buyer")
    return shop, buyer, staff


def teardown(shop, buyer, staff) -> None:
    from shops.models import Order

    Order.objects.filter(shop=shop).delete()  # orders protect their buyer
    shop.delete()  # footprints go with the shop
    buyer.delete()
    staff.delete()


def timed(call, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    return latencies


def report(name: str, latencies: list[float]) -> float:
    mean = statistics.fmean(latencies)
    p50, p99 = (_django.percentile(latencies, pct) * 1000 for pct in (50, 99))
    rate = len(latencies) / sum(latencies)
    print(f"{name:<36} {len(latencies):>5} calls  {rate:>8.0f}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms")
    return mean


def run(shop, buyer, staff, requests: int) -> None:
    from rest_framework.test import APIRequestFactory, force_authenticate

    from shops.api.views import BuyerPanelView
    from shops.models import Buyer

    factory = APIRequestFactory()
    view = BuyerPanelView.as_view()
    url = f"/api/v1/shops/{shop.pk}/buyers/{buyer.pk}/panel/"

    def panel(params=None):
        staff.__dict__.pop("_tenancy_caller", None)  # resolve the caller afresh, as a new request would
        request = factory.get(url, params or {})
        force_authenticate(request, user=staff)
        response = view(request, shop_id=shop.pk, buyer_id=buyer.pk)
        response.render()
        assert response.status_code == 200, response.content
        return response

    body = panel().data
    print(
        f"panel: {body['order_count']} orders, total_spend {body['total_spend']}, "
        f"counts {dict(body['order_counts'])}, {len(body['footprints'])} footprints"
    )
    for _ in range(20):  # warm up connections and caches
        panel()
        Buyer.objects.get(pk=buyer.pk)
    baseline = timed(lambda: Buyer.objects.get(pk=buyer.pk), requests)
    default = timed(panel, requests)
    searched = timed(lambda: panel({"footprint_q": "silk", "footprints_limit": 100, "orders_limit": 100}), requests)
    base_mean = report("baseline: Buyer SELECT by pk", baseline)
    panel_mean = report("panel (default limits 20)", default)
    search_mean = report("panel (q=silk, limits 100)", searched)
    print(f"ratio (mean latency, panel / baseline): {panel_mean / base_mean:.1f}")
    print(f"ratio (mean latency, searched panel with limits 100 / baseline): {search_mean / base_mean:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--footprints", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    url = _django.setup()
    print(f"database {url.rsplit('/', 1)[-1]}: {args.orders} orders, {args.footprints} footprints, one buyer")
    shop, buyer, staff = build(args.orders, args.footprints)
    try:
        run(shop, buyer, staff, args.requests)
    finally:
        teardown(shop, buyer, staff)


if __name__ == "__main__":
    main()
