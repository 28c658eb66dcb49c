"""The arithmetic the checks rest on: zone loss, selectors, durations, schedules."""

from __future__ import annotations

import pytest

from plinth.checks.kube import barman_retention_days, cron_interval_seconds, duration_seconds, survivors_after_zone_loss
from plinth.kube.objects import selector_matches
from plinth.kube.pods import PodGroup
from plinth.kube.scheduling import ZONE_KEY

LABELS = {"app": "x"}


def _group(replicas: int, spread=(), anti=()) -> PodGroup:
    return PodGroup("Deployment", "ns", "x", None, LABELS, replicas, replicas, spread=tuple(spread), anti_affinity=tuple(anti))


def _spread(skew: int, when: str = "DoNotSchedule", match=None) -> dict:
    return {"maxSkew": skew, "topologyKey": ZONE_KEY, "whenUnsatisfiable": when, "labelSelector": {"matchLabels": match or LABELS}}


@pytest.mark.parametrize(("replicas", "zones", "skew", "survivors"), [
    (3, 3, 1, 2), (4, 3, 1, 2), (5, 3, 1, 3), (6, 3, 1, 4), (3, 3, 2, 1), (2, 3, 1, 1), (3, 2, 1, 1), (3, 1, 1, 0),
])
def test_hard_zone_spread_bounds_what_one_zone_takes(replicas: int, zones: int, skew: int, survivors: int) -> None:
    assert survivors_after_zone_loss(_group(replicas, [_spread(skew)]), zones)[0] == survivors


def test_soft_or_foreign_spread_guarantees_nothing() -> None:
    assert survivors_after_zone_loss(_group(3, [_spread(1, "ScheduleAnyway")]), 3)[0] == 0
    assert survivors_after_zone_loss(_group(3, [_spread(1, match={"app": "other"})]), 3)[0] == 0


def test_required_zone_anti_affinity_puts_one_pod_per_zone() -> None:
    assert survivors_after_zone_loss(_group(3, anti=[{"topologyKey": ZONE_KEY}]), 3) == (2, "required zone anti-affinity")


def test_selector_match_expressions() -> None:
    selector = {"matchLabels": {"app": "x"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]},
                                                                    {"key": "canary", "operator": "DoesNotExist"}]}
    assert selector_matches(selector, {"app": "x", "tier": "web"})
    assert not selector_matches(selector, {"app": "x", "tier": "db"})
    assert not selector_matches(selector, {"app": "x", "tier": "web", "canary": "1"})
    assert selector_matches({}, {"anything": "1"})


def test_durations_and_schedules() -> None:
    assert duration_seconds("720h0m0s") == 30 * 86400
    assert duration_seconds("15d") == 15 * 86400
    assert duration_seconds("1w2d") == 9 * 86400
    assert duration_seconds("fortnight") is None
    assert barman_retention_days("30d") == 30 and barman_retention_days("4w") == 28 and barman_retention_days("30") is None
    assert cron_interval_seconds("0 0 * * * *") == 3600
    assert cron_interval_seconds("0 2 * * *") == 86400
    assert cron_interval_seconds("0 */6 * * *") == 6 * 3600
    assert cron_interval_seconds("0 2 * * 1") is None
