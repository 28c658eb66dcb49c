"""Zone-loss arithmetic: how many replicas a zone can hold under a hard spread, and what must survive.

Pure numbers, below the spec model: the model's own validators, the components (PDBs), the checks and the
simulated zone loss all use these functions.
"""

from __future__ import annotations

import math

ZONE_LOSS_SERVING_SHARE = (2, 3)
"""Share of a service's minimum replicas that must keep serving after a zone is lost: the design's
"Multi-replica, RTO 0" row with its 3 replicas over 3 zones keeps 2 of 3 (``api_services.ha``)."""


def replicas_in_fullest_zone(replicas: int, zones: int, max_skew: int = 1) -> int:
    """Most replicas one zone can hold under a hard zone spread of ``max_skew`` (ceil(n / zones) for skew 1)."""
    if zones <= 1:
        return replicas
    return min(replicas, (replicas + (zones - 1) * max_skew) // zones)


def zone_loss_survivors(replicas: int, zones: int, max_skew: int = 1) -> int:
    """Replicas left after losing the fullest zone, under a hard zone spread of ``max_skew``."""
    return replicas - replicas_in_fullest_zone(replicas, zones, max_skew)


def min_serving_after_zone_loss(min_replicas: int) -> int:
    """Replicas of a service that must keep serving after a zone loss (ceil of the promised share)."""
    numerator, denominator = ZONE_LOSS_SERVING_SHARE
    return math.ceil(numerator * min_replicas / denominator)



def smallest_zone_safe_replicas(at_least: int, zones: int) -> int | None:
    """Smallest replica count from ``at_least`` up that keeps the promised share serving after a zone loss under a
    hard spread, or None when no count can: with 1 or 2 zones a zone loss takes at least half of the replicas,
    more than the third the promise allows (a multiple of the zone count always works from 3 zones on)."""
    if zones <= 2:
        return None
    for replicas in range(max(1, at_least), max(1, at_least) + zones + 1):
        if zone_loss_survivors(replicas, zones) >= min_serving_after_zone_loss(replicas):
            return replicas
    return None
