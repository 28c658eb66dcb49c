"""Report and loss accounting: pure logic, no servers."""

from __future__ import annotations

from pathlib import Path

from plinth.drills.load import loss_summary
from plinth.drills.report import DrillReport, Promise, at_most, distribution
from plinth.drills.settings import postgres_settings, redis_settings


def test_loss_summary_counts_missing_acknowledged_writes_and_their_span() -> None:
    acked = [(1, 10.0), (2, 11.0), (3, 12.0), (4, 13.5)]
    summary = loss_summary(acked, present={1, 2}, loss_at=14.0)
    assert summary == {"acknowledged": 4, "missing": 2, "rpo_seconds": 2.0, "missing_span_seconds": 1.5}
    assert loss_summary(acked, present={1, 2, 3, 4}, loss_at=14.0)["rpo_seconds"] == 0.0


def test_a_failed_or_unmeasured_promise_fails_the_report_but_a_reference_does_not(tmp_path: Path) -> None:
    report = DrillReport("x", "prod", {})
    report.promises.append(at_most("reference", "a.b", 0, 5, "s", counts=False))
    report.promises.append(at_most("kept", "a.c", 10, 5, "s"))
    assert report.passed
    report.promises.append(at_most("unmeasured", "a.d", 10, None, "s"))
    assert not report.passed
    json_path, md_path = report.write(tmp_path)
    assert '"passed": false' in json_path.read_text()
    assert "| unmeasured | - | `a.d` | 10 s | not measured | **FAIL** |" in md_path.read_text()
    assert "not met (reference)" in md_path.read_text()


def test_errors_fail_the_report() -> None:
    report = DrillReport("x", "prod", {}, promises=[Promise("p", "s", 1, 1, "s", True)])
    assert report.passed
    report.errors.append("restore failed")
    assert not report.passed


def test_distribution() -> None:
    assert distribution([3.0, 1.0, 2.0]) == {"runs": 3, "min": 1.0, "median": 2.0, "max": 3.0}
    assert distribution([]) is None


def test_server_settings_come_from_the_spec(prod) -> None:
    r = prod.datastores.redis
    directives = redis_settings(prod).server_directives
    assert directives["min-replicas-to-write"] == str(r.min_replicas_to_write)
    assert directives["min-replicas-max-lag"] == str(int(r.min_replicas_max_lag_seconds))
    assert directives["appendfsync"] == r.appendfsync
    lines = redis_settings(prod).sentinel_directives
    assert f"sentinel down-after-milliseconds plinth-redis {int(r.down_after_seconds) * 1000}" in lines
    assert f"sentinel failover-timeout plinth-redis {int(r.failover_timeout_seconds) * 1000}" in lines
    pg = postgres_settings(prod)
    assert pg.archive_timeout_seconds == prod.datastores.postgres.archive_timeout_seconds
    assert pg.backup_retention_days == prod.backup_for("postgres").retention_days
