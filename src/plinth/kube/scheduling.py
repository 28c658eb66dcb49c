"""Where pods run: node-pool placement (node selector + tolerations) and zone/node spreading."""

from __future__ import annotations

from typing import Any

from plinth.spec.model import Platform

POOL_LABEL = "plinth.dev/pool"
"""Node label every pool's nodes carry (set by the cloud layer); value = pool name."""
ZONE_KEY = "topology.kubernetes.io/zone"
HOST_KEY = "kubernetes.io/hostname"


def pool_placement(platform: Platform, namespace: str) -> dict[str, Any]:
    """``nodeSelector`` and ``tolerations`` that put a namespace's pods on its node pool."""
    pool_name, pool = platform.pool_for_namespace(namespace)
    placement: dict[str, Any] = {"nodeSelector": {POOL_LABEL: pool_name}}
    if pool.taints:
        placement["tolerations"] = [
            {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints
        ]
    return placement


def spread_constraints(match_labels: dict[str, str], *, zone_skew: int = 1, hard_zone: bool = True) -> list[dict[str, Any]]:
    """Spread replicas evenly over zones (hard by default) and over nodes (soft)."""
    selector = {"matchLabels": dict(match_labels)}
    return [
        {
            "maxSkew": zone_skew,
            "topologyKey": ZONE_KEY,
            "whenUnsatisfiable": "DoNotSchedule" if hard_zone else "ScheduleAnyway",
            "labelSelector": selector,
        },
        {"maxSkew": 1, "topologyKey": HOST_KEY, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector},
    ]
