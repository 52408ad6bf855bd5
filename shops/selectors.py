"""Read-side queries about shops and buyers."""

import hashlib
from datetime import datetime, time, timedelta

from django.conf import settings

from .choices import ServicePhase
from .models import Order, RolloutConfig, Shop


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


def shop_daily_reception_volume(*, shop: Shop, at: datetime, days: int = 30) -> float:
    """Conversations per day over the ``days`` local days before the day of ``at``."""
    from chats.models import Conversation

    day_start = local_day_start(shop, at)
    started = Conversation.objects.filter(
        shop=shop, started_at__gte=day_start - timedelta(days=days), started_at__lt=day_start
    ).count()
    return started / days


def rollout_bucket(*, buyer_id: int, salt: str) -> int:
    """A stable bucket in [0, 10000) for (buyer, salt): the same buyer always lands in the same bucket."""
    digest = hashlib.sha256(f"{salt}:{buyer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def rollout_buyer_exposed(*, buyer_id: int, config: RolloutConfig) -> bool:
    """Below the exposure percentage; raising the percentage only ever adds buyers."""
    return rollout_bucket(buyer_id=buyer_id, salt=config.salt) < config.exposure_percent * 100


def rollout_shop_included(*, shop: Shop, at: datetime, config: RolloutConfig) -> bool:
    """Whether the shop's tier (by daily average reception volume) has reached its start date."""
    volume = shop_daily_reception_volume(shop=shop, at=at)
    start = config.large_tier_start if volume >= RolloutConfig.TIER_THRESHOLD else config.small_tier_start
    return at.astimezone(shop.tzinfo).date() >= start
