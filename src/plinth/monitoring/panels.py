"""Dashboard panels as typed data; components contribute them, the grafana component lays them out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Panel:
    """A panel a component contributes to one of the spec's dashboards (by dashboard uid)."""

    dashboard_uid: str
    """Which dashboard (``observability.dashboards[].uid``)."""
    title: str
    """Panel title."""
    queries: tuple[str, ...]
    """PromQL (or LogQL when ``datasource`` is loki) queries; each is one target."""
    unit: str = "short"
    """Grafana unit (short, percent, s, bytes, reqps, currencyUSD, ...)."""
    kind: Literal["timeseries", "stat"] = "timeseries"
    """Panel type."""
    datasource: Literal["prometheus", "loki"] = "prometheus"
    """Data source of the queries."""
    legend: tuple[str, ...] = field(default=())
    """Legend format per query (optional)."""
