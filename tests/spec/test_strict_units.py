"""Strict units and bounds: durations carry units and are never rounded to 0, booleans are not numbers, counts are
bounded, cron schedules are read in their consumer's dialect (with ranges) and must run as often as the row says,
a rollout fits its stage's budget, and the zone, port, host and Redis promises the model can judge are located errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plinth.spec.cron import CronError, parse_cron
from plinth.spec.loader import SpecError, load_all
from plinth.spec.types import parse_duration_seconds
from tests.conftest import spec_with

CASES: list[tuple[str, list[tuple[str, Any]], str, str]] = [
    # id, changes, field the error is located at, message fragment
    ("rto-900ms", [("datastores.postgres.ha.rto_seconds", "900ms")], "datastores.postgres.ha.rto_seconds", "sub-second durations are refused"),
    ("canary-pause-500ms", [("delivery.canary_steps.0.pause_seconds", "500ms")], "delivery.canary_steps.0.pause_seconds", "0.5 s"),
    ("staging-pause-1500ms", [("environments.staging.delivery.canary_steps.0.pause_seconds", "1500ms")],
     "environments.staging.delivery.canary_steps.0.pause_seconds", "1.5 s"),
    ("duration-without-unit", [("datastores.redis.failover_timeout_seconds", "60")], "datastores.redis.failover_timeout_seconds", "write '60s'"),
    ("duration-float", [("datastores.redis.down_after_seconds", 0.5)], "datastores.redis.down_after_seconds", "expected a duration"),
    ("pause-6e25-seconds", [("delivery.canary_steps.0.pause_seconds", 60_000_000_000_000_000_000_000_000)],
     "delivery.canary_steps.0.pause_seconds", "longer than the 10 years"),
    ("nodes-true", [("node_pools.apps.nodes", True)], "node_pools.apps.nodes", "got the boolean true"),
    ("replicas-false", [("datastores.kafka.brokers", False)], "datastores.kafka.brokers", "got the boolean false"),
    ("retention-true", [("backups.0.retention_days", True)], "backups.0.retention_days", "got the boolean true"),
    ("max-replicas-1e8", [("services.frontend.scaling.max_replicas", 100_000_000)], "services.frontend.scaling.max_replicas",
     "less than or equal to 10000"),
    ("pool-nodes-1e9", [("node_pools.apps.max_nodes", 1_000_000_000)], "node_pools.apps.max_nodes", "less than or equal to 5000"),
    ("partitions-1e9", [("datastores.kafka.topics.0.partitions", 1_000_000_000)], "datastores.kafka.topics.0.partitions",
     "less than or equal to 100000"),
    ("retention-1e9-days", [("observability.loki.retention_days", 1_000_000_000)], "observability.loki.retention_days",
     "less than or equal to 3650"),
    ("backup-retention-1e9-days", [("backups.1.retention_days", 1_000_000_000)], "backups.1.retention_days", "between 1 and 3650"),
    ("organisations-1e12", [("load.organisations", 10**12)], "load.organisations", "less than or equal to 1000000"),
    ("infinite-float", [("load.iceberg_gib_per_org", float("inf"))], "load.iceberg_gib_per_org", "finite number"),
    ("budget-past-github-limit", [("delivery.stages.3.budget_minutes", 100_000)], "delivery.stages.3.budget_minutes",
     "less than or equal to 360"),
    ("cnpg-five-field-hourly", [("backups.0.schedule", "0 * * * *")], "backups.0.schedule",
     "CloudNativePG reads six cron fields, seconds first"),
    ("cron-minute-61", [("backups.1.schedule", "61 2 * * *")], "backups.1.schedule", "minute field: 61 is out of range 0-59"),
    ("cron-hour-24", [("backups.4.schedule", "0 24 * * *")], "backups.4.schedule", "hour field: 24 is out of range 0-23"),
    ("velero-six-fields", [("backups.4.schedule", "0 0 3 * * *")], "backups.4.schedule", "Velero read five cron fields"),
    ("daily-runs-every-2h", [("backups.1.schedule", "0 */2 * * *")], "backups.1.schedule", "runs every 2h"),
    ("hourly-on-weekdays", [("backups.0.schedule", "0 0 * * * 1-5")], "backups.0.schedule", "does not run at one fixed interval"),
    ("staging-canary-over-budget", [("environments.staging.delivery.canary_steps.0.pause_seconds", "20m")],
     "environments.staging.delivery.canary_steps", "more than the 15 min budget of stage 'stage-deploy'"),
    ("prod-canary-over-budget", [("delivery.canary_steps.0.pause_seconds", "1h")], "delivery.canary_steps",
     "more than the 30 min budget of stage 'prod-deploy'"),
    ("redis-lag-0", [("datastores.redis.min_replicas_max_lag_seconds", 0)], "datastores.redis.min_replicas_max_lag_seconds",
     "switches Redis's write guard off"),
    ("metrics-port-equals-port", [("services.auth.metrics_port", 8080)], "services.auth.metrics_port", "must differ from port"),
    ("public-host-twice", [("services.auth.public_host", "app")], "services.auth.public_host", "already the host of service"),
    ("public-host-not-dns", [("services.auth.public_host", "Auth_Host")], "services.auth.public_host", "should match pattern"),
    ("two-zones-no-count-passes", [("cluster.zones", ["us-east-1a", "us-east-1b"])], "services.frontend.scaling.min_replicas",
     "no replica count can: with 2 zones a zone loss takes at least half"),
    ("one-zone-no-count-passes", [("cluster.zones", ["us-east-1a"])], "services.frontend.scaling.min_replicas",
     "no replica count can: with 1 zone a zone loss takes every replica"),
    ("four-zones-advice", [("cluster.zones", ["a", "b", "c", "d"]), ("services.auth.scaling.min_replicas", 5)],
     "services.auth.scaling.min_replicas", "raise it to 6"),
]


@pytest.mark.parametrize("case_id,changes,field,fragment", CASES, ids=[c[0] for c in CASES])
def test_located_error(tmp_path: Path, case_id: str, changes: list[tuple[str, Any]], field: str, fragment: str) -> None:
    spec = spec_with(tmp_path, changes)
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    matching = [p for p in caught.value.problems if p.path == field]
    assert matching, f"no problem at {field}; got: {[str(p) for p in caught.value.problems]}"
    assert fragment in matching[0].message, str(matching[0])
    assert matching[0].line > 1, str(matching[0])


def test_the_cnpg_error_says_how_it_would_run_and_what_to_write(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [("backups.0.schedule", "0 * * * *")])
    with pytest.raises(SpecError) as caught:
        load_all(spec)
    message = caught.value.problems[0].message
    assert "a run every minute" in message and "write '0 0 * * * *'" in message


def test_whole_second_durations_in_any_unit_are_accepted(tmp_path: Path) -> None:
    assert parse_duration_seconds("2000ms") == 2
    assert parse_duration_seconds("5m") == 300
    assert parse_duration_seconds(0) == 0
    spec = spec_with(tmp_path, [("delivery.canary_steps.0.pause_seconds", "120000ms")])
    assert load_all(spec)["prod"].delivery.canary_steps[0].pause_seconds == 120


@pytest.mark.parametrize("text,dialect,interval", [
    ("0 0 * * * *", "cloudnativepg", 3600), ("0 2 * * *", "kubernetes", 86400), ("*/15 * * * *", "kubernetes", 900),
    ("@hourly", "kubernetes", 3600), ("@daily", "cloudnativepg", 86400), ("@every 2h", "kubernetes", 7200),
    ("0 30 1 * * *", "cloudnativepg", 86400), ("0 9-17 * * MON-FRI", "kubernetes", None), ("0 0 1 * *", "kubernetes", None),
])
def test_cron_intervals(text: str, dialect: str, interval: int | None) -> None:
    assert parse_cron(text, dialect).interval_seconds() == interval  # type: ignore[arg-type]


@pytest.mark.parametrize("text,dialect,fragment", [
    ("0 2 * * 7", "kubernetes", "day of week field: 7 is out of range 0-6"),
    ("5/0 * * * *", "kubernetes", "a step must be at least 1"),
    ("30-10 * * * *", "kubernetes", "runs backwards"),
    ("TZ=UTC 0 2 * * *", "kubernetes", "time zone prefix"),
    ("@often", "kubernetes", "unknown descriptor"),
    ("x * * * *", "kubernetes", "'x' is not a number"),
    ("0 0 * * * * *", "cloudnativepg", "has 7 fields"),
])
def test_cron_errors(text: str, dialect: str, fragment: str) -> None:
    with pytest.raises(CronError, match=None) as caught:
        parse_cron(text, dialect)  # type: ignore[arg-type]
    assert fragment in str(caught.value)


def test_the_default_spec_rolls_out_within_its_stage_budgets() -> None:
    platforms = load_all(Path(__file__).resolve().parents[2] / "platform.yaml")
    assert platforms["staging"].delivery.canary_steps[0].pause_seconds == 600
