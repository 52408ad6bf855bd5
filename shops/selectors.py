"""Read-side queries about shops and buyers."""

import hashlib
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from .choices import OrderStatus, SellerView, ServicePhase
from .models import Buyer, Footprint, Order, RolloutConfig, Shop


def local_day_start(shop: Shop, moment: datetime) -> datetime:
    """Midnight of the shop-local day that contains ``moment``, as an aware datetime."""
    local = moment.astimezone(shop.tzinfo)
    return datetime.combine(local.date(), time.min, tzinfo=shop.tzinfo)


def buyer_service_phase(*, shop: Shop, buyer_id: int, at: datetime) -> str:
    """The service phase of (buyer, shop, local day D of ``at``).

    After-sales when the buyer has an order in this shop paid in the 21 days before D, D itself excluded;
    an order paid on D (for instance after the chat that led to the sale) leaves the day pre-sales.
    """
    day_start = local_day_start(shop, at)
    window_start = day_start - timedelta(days=settings.SERVICE_PHASE_PAID_WINDOW_DAYS)
    paid_before = Order.objects.filter(
        shop=shop, buyer_id=buyer_id, paid_at__gte=window_start, paid_at__lt=day_start
    ).exists()
    return ServicePhase.AFTER_SALES if paid_before else ServicePhase.PRE_SALES


def rollout_bucket(*, buyer_id: int, salt: str) -> int:
    """A stable bucket in [0, 10000) for (buyer, salt): the same buyer always lands in the same bucket."""
    digest = hashlib.sha256(f"{salt}:{buyer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def rollout_buyer_exposed(*, buyer_id: int, config: RolloutConfig) -> bool:
    """Below the exposure percentage; raising the percentage only ever adds buyers."""
    return rollout_bucket(buyer_id=buyer_id, salt=config.salt) < config.exposure_percent * 100


def rollout_shop_included(*, shop: Shop, at: datetime, config: RolloutConfig, volume: float) -> bool:
    """Whether the shop's tier (by ``volume``, its daily average reception volume, counted by the chats app) has
    reached its start date."""
    start = config.large_tier_start if volume >= RolloutConfig.TIER_THRESHOLD else config.small_tier_start
    return at.astimezone(shop.tzinfo).date() >= start


NEW_PLATFORM_USER_DAYS = 30
PANEL_DEFAULT_LIMIT = 20
PANEL_MAX_LIMIT = 100
_CENT = Decimal("0.01")


def _seller_view_condition(view: str):
    """The WHERE clause of ``Order.objects.in_seller_view(view)``, usable as an aggregate ``filter``.

    Taken from the queryset so the five views stay defined in one place; ``None`` for ``all`` (no condition).
    """
    where = Order.objects.in_seller_view(view).query.where
    return where if where else None


def buyer_new_platform_user(*, buyer: Buyer, now: datetime | None = None) -> bool:
    """Credit level 0, registered within the last 30 days (inclusive) and not verified."""
    now = now or timezone.now()
    recent = buyer.registered_at >= now - timedelta(days=NEW_PLATFORM_USER_DAYS)
    return buyer.credit_level == 0 and recent and not buyer.verified


def buyer_panel_get(
    *,
    shop: Shop,
    buyer: Buyer,
    footprints_limit: int = PANEL_DEFAULT_LIMIT,
    footprint_q: str = "",
    orders_limit: int = PANEL_DEFAULT_LIMIT,
    now: datetime | None = None,
) -> dict:
    """Everything the 智能客服 home shows for (shop, buyer), in 7 queries whatever the data size.

    A *paid* order has ``paid_at`` set and is not ``closed`` (a closed order was cancelled or fully refunded, so
    it is no spend): ``total_spend`` sums their amounts, ``average_order_value`` divides it by their number
    (``None`` without any), ``last_trade_at`` is their latest ``paid_at``. ``order_count`` counts every order.
    The caller has already checked that it may see both ``shop`` and ``buyer``.
    """
    footprints_limit = max(1, min(footprints_limit, PANEL_MAX_LIMIT))
    orders_limit = max(1, min(orders_limit, PANEL_MAX_LIMIT))
    orders = Order.objects.filter(shop=shop, buyer=buyer)
    paid = Q(paid_at__isnull=False) & ~Q(status=OrderStatus.CLOSED)
    totals = orders.aggregate(
        order_count=Count("pk"),
        paid_order_count=Count("pk", filter=paid),
        total_spend=Sum("amount", filter=paid, default=Decimal("0")),
        last_trade_at=Max("paid_at", filter=paid),
        **{f"view_{view}": Count("pk", filter=_seller_view_condition(view)) for view in SellerView.values},
    )
    total_spend = Decimal(totals["total_spend"]).quantize(_CENT)
    paid_count = totals["paid_order_count"]
    average = (total_spend / paid_count).quantize(_CENT, rounding=ROUND_HALF_UP) if paid_count else None

    footprints = Footprint.objects.filter(shop=shop, buyer=buyer)
    if footprint_q:
        footprints = footprints.filter(item_title__icontains=footprint_q)
    newest_first = ("-placed_at", "-pk")
    return {
        "shop": shop,
        "buyer": buyer,
        "total_spend": total_spend,
        "order_count": totals["order_count"],
        "paid_order_count": paid_count,
        "average_order_value": average,
        "last_trade_at": totals["last_trade_at"],
        "new_platform_user": buyer_new_platform_user(buyer=buyer, now=now),
        "new_to_shop": totals["order_count"] == 0,
        "footprints": list(footprints.order_by("-viewed_at", "-pk")[:footprints_limit]),
        "order_counts": {view: totals[f"view_{view}"] for view in SellerView.values},
        "orders": {
            view: list(orders.in_seller_view(view).order_by(*newest_first)[:orders_limit]) for view in SellerView.values
        },
    }
