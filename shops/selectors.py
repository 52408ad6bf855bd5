"""Read-side queries about shops and buyers."""

from datetime import datetime, time, timedelta

from django.conf import settings

from .choices import ServicePhase
from .models import Order, Shop


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
