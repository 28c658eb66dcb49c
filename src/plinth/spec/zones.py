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

