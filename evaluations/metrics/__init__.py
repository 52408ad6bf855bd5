"""Service diagnosis metrics: daily rollups (``rollup``), peer comparison (``peers``) and dashboard charts."""

from .peers import PEER_METRICS, shop_peers_get
from .rollup import (
    DAILY_METRIC_KEY,
    DAILY_METRIC_KEY_COLUMNS,
    LocalDay,
    daily_metric_rows,
    daily_metric_statements,
    daily_metric_values,
)

__all__ = [
    "DAILY_METRIC_KEY",
    "DAILY_METRIC_KEY_COLUMNS",
    "PEER_METRICS",
    "LocalDay",
    "daily_metric_rows",
    "daily_metric_statements",
    "daily_metric_values",
    "shop_peers_get",
]
