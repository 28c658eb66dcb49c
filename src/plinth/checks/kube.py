"""What the checks read from objects besides pods: zone-loss arithmetic over the pod model, durations and
cron schedules as the objects spell them."""

from __future__ import annotations

import re
from typing import Any

from plinth.kube.objects import selector_matches
from plinth.kube.pods import PodGroup
from plinth.kube.scheduling import ZONE_KEY
from plinth.spec.cron import CronError, parse_cron
from plinth.spec.zones import replicas_in_fullest_zone

# --------------------------------------------------------------------------- zone loss


def worst_zone_count(group: PodGroup, zones: int) -> tuple[int, str]:
    """Most pods of the group (at minimum scale) that can sit in one zone (so a zone loss takes them all), and why.

    A hard zone spread (DoNotSchedule, maxSkew s) over Z zones bounds a zone to floor((n + (Z-1)s) / Z);
    hard zone anti-affinity to one pod; anything softer guarantees nothing, so all n may share a zone.
    """
    n = group.replicas_min
    if zones <= 1 or n == 0:
        return n, f"the spec has {zones} zone(s)"
    if group.zone_anti_affinity:
        return min(n, 1), "required zone anti-affinity"
    hard = [c for c in group.spread if c.get("topologyKey") == ZONE_KEY and c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
            and selector_matches(c.get("labelSelector"), group.labels)]
    if hard:
        skew = min(int(c.get("maxSkew", 1)) for c in hard)
        return replicas_in_fullest_zone(n, zones, skew), f"zone spread maxSkew {skew} (DoNotSchedule)"
    return n, "no hard zone spread or zone anti-affinity"


def survivors_after_zone_loss(group: PodGroup, zones: int) -> tuple[int, str]:
    """Pods of the group still running after the worst single-zone loss, and the reason."""
    worst, why = worst_zone_count(group, zones)
    return group.replicas_min - worst, why


def majority(n: int) -> int:
    """Members a quorum of ``n`` needs."""
    return n // 2 + 1


# --------------------------------------------------------------------------- durations and schedules

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}


def duration_seconds(text: Any) -> int | None:
    """Seconds of a Go/Prometheus duration ("720h0m0s", "15d", "1w2d"); None when unparseable."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return int(text)
    value = str(text).strip()
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return int(sum(float(n) * _UNITS[u] for n, u in parts))


def barman_retention_days(text: Any) -> int | None:
    """Days of a Barman retention policy ("30d", "4w", "1m" = 30 days); None when unparseable."""
    match = re.fullmatch(r"([1-9][0-9]*)([dwm])", str(text or ""))
    if not match:
        return None
    return int(match.group(1)) * {"d": 1, "w": 7, "m": 30}[match.group(2)]


def normalise_cron(expr: Any) -> str:
    """A cron expression with single spaces (for comparing the spec's schedule with an object's)."""
    return " ".join(str(expr or "").split())


def cron_interval_seconds(expr: str) -> int | None:
    """Seconds between runs of a cron schedule as its reader runs it (six fields: CloudNativePG, seconds first; five:
    Kubernetes/Velero), when every run is the same interval apart; None otherwise or when it does not parse."""
    text = normalise_cron(expr)
    dialect = "cloudnativepg" if len(text.split(" ")) == 6 else "kubernetes"
    try:
        return parse_cron(text, dialect).interval_seconds()
    except CronError:
        return None
