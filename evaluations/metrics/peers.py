"""Peer comparison (同行同层): a shop's metrics of a day beside shops of the same industry and reception tier.

Peers of (shop, D) are the *other* shops of the same ``industry`` whose shop row of D has the same
``reception_tier`` and a value for the metric. For each metric:

- ``peers``: how many such shops there are;
- ``percentile``: the share of peers with a *lower* value, ties counting half: ``(lower + equal / 2) / peers``, in
  [0, 1]; ``None`` when the shop has no value or there are no peers. It says where the value stands, not whether
  that is good: for times (``higher_is_better`` false) a low percentile is the good one;
- ``peer_median``: the median of the peers' values (the mean of the middle two for an even number).

Two statements for the counts, then one per metric that reads at most the middle two values; nothing is
looped over in Python.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q

from shops.models import Shop

from ..choices import MetricScope
from ..models import DailyMetric

# metric -> higher is better
PEER_METRICS = {
    "conversations": True,
    "response_rate_3m": True,
    "avg_response_seconds": False,
    "avg_first_response_seconds": False,
    "satisfaction_rate": True,
    "fcr_3d": True,
    "resolution_rate": True,
    "transfer_rate": False,
}


def _median(peers, metric: str, count: int) -> float | None:
    if not count:
        return None
    lower_middle = (count - 1) // 2
    middle = list(
        peers.filter(**{f"{metric}__isnull": False})
        .order_by(metric)
        .values_list(metric, flat=True)[lower_middle : count // 2 + 1]
    )
    return sum(float(value) for value in middle) / len(middle)


def shop_peers_get(*, shop: Shop, day: date) -> dict | None:
    """The shop's value, peers' median, percentile and peer count for every metric of ``PEER_METRICS``.

    ``None`` when the shop has no metrics row for ``day`` (the day was not rolled up).
    """
    row = DailyMetric.objects.filter(shop=shop, date=day, scope=MetricScope.SHOP).first()
    if row is None:
        return None
    peers = DailyMetric.objects.filter(
        date=day, scope=MetricScope.SHOP, reception_tier=row.reception_tier, shop__industry=shop.industry
    ).exclude(shop=shop)
    aggregates = {}
    for metric in PEER_METRICS:
        value = getattr(row, metric)
        aggregates[f"{metric}__peers"] = Count("pk", filter=Q(**{f"{metric}__isnull": False}))
        if value is not None:
            aggregates[f"{metric}__lower"] = Count("pk", filter=Q(**{f"{metric}__lt": value}))
            aggregates[f"{metric}__equal"] = Count("pk", filter=Q(**{metric: value}))
    counts = peers.aggregate(**aggregates)
    metrics = {}
    for metric, higher_is_better in PEER_METRICS.items():
        value = getattr(row, metric)
        count = counts[f"{metric}__peers"]
        percentile = None
        if value is not None and count:
            percentile = (counts[f"{metric}__lower"] + counts[f"{metric}__equal"] / 2) / count
        metrics[metric] = {
            "value": value,
            "peer_median": _median(peers, metric, count),
            "percentile": percentile,
            "peers": count,
            "higher_is_better": higher_is_better,
        }
    return {
        "shop": shop.pk,
        "date": day,
        "industry": shop.industry,
        "reception_tier": row.reception_tier,
        "reception_volume": row.reception_volume,
        "fast_response_badge": row.fast_response_badge,
        "stars": row.stars,
        "final": row.final,
        "metrics": metrics,
    }
