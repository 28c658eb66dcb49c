"""The local drills on real servers, at CI size: figures are measured, compared with the spec, and a
deliberately broken setting makes a promise fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plinth.cli import app
from tests.conftest import DEFAULT_SPEC, spec_with

PG_BIN = Path("/usr/lib/postgresql/15/bin/postgres")
needs_postgres = pytest.mark.skipif(
    not PG_BIN.exists() or shutil.which("barman-cloud-backup") is None,
    reason="needs postgresql-15 and barman-cli-cloud (scripts/apt-test.txt; `make test` installs them)",
)
needs_redis = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-sentinel") is None,
    reason="needs redis-server and redis-sentinel (scripts/apt-test.txt; `make test` installs them)",
)


def _drill(tmp_path: Path, *args: str, spec: Path = DEFAULT_SPEC) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["drill", *args, "--spec", str(spec), "--out", str(tmp_path)])
    name = args[0]
    report_path = tmp_path / f"{name}.json"
    assert report_path.exists(), result.output
    assert (tmp_path / f"{name}.md").read_text().startswith(f"# Drill `{name}`")
    return result.exit_code, json.loads(report_path.read_text())


def _promise(report: dict, source: str) -> dict:
    return next(p for p in report["promises"] if p["source"] == source)


@needs_postgres
def test_postgres_restore_measures_rto_and_rpo_against_the_spec(tmp_path: Path, prod) -> None:
    code, report = _drill(tmp_path, "postgres-restore", "--scale", "2")
    assert report["errors"] == [], report["errors"]
    assert code == (0 if report["passed"] else 1)
    measured = report["measured"]
    latest = measured["restore_latest"]
    assert latest["acknowledged"] > 100
    assert measured["restore_latest_rto_seconds"] > 0
    rpo = _promise(report, "datastores.postgres.archive_timeout_seconds")
    assert rpo["target"] == prod.datastores.postgres.archive_timeout_seconds
    assert rpo["measured"] == latest["rpo_seconds"]
    assert rpo["passed"] == (latest["rpo_seconds"] <= prod.datastores.postgres.archive_timeout_seconds)
    rto = _promise(report, "datastores.postgres.ha.rto_seconds")
    assert rto["target"] == prod.datastores.postgres.ha.rto_seconds
    assert rto["measured"] == measured["restore_latest_rto_seconds"]
    # Point-in-time restore is exact: every row acknowledged before the target, none after.
    assert measured["restore_pitr"]["expected_rows"] > 0
    assert measured["restore_pitr"]["missing_rows"] == 0
    assert measured["restore_pitr"]["extra_rows"] == 0
    # The design's RPO 0 is shown for comparison, not claimed by a restore.
    design = _promise(report, "datastores.postgres.ha.rpo_seconds")
    assert design["counts"] is False and design["target"] == 0


@needs_postgres
def test_postgres_restore_with_wal_archiving_off_reports_a_failed_promise(tmp_path: Path) -> None:
    # A shorter archive_timeout only shortens the run (the load lasts one archive_timeout); archiving is what breaks.
    spec = spec_with(tmp_path, [("datastores.postgres.archive_timeout_seconds", 10)])
    code, report = _drill(tmp_path, "postgres-restore", "--scale", "1", "--sabotage", "wal-archiving", spec=spec)
    assert code == 1
    assert report["passed"] is False
    assert report["settings"]["sabotage"] == "wal-archiving"
    rpo = _promise(report, "datastores.postgres.archive_timeout_seconds")
    assert rpo["target"] == 10 and not rpo["passed"]


@needs_redis
def test_redis_failover_reports_a_distribution_against_the_spec(tmp_path: Path, prod) -> None:
    code, report = _drill(tmp_path, "redis-failover", "--runs", "3")
    assert report["errors"] == [], report["errors"]
    assert code == (0 if report["passed"] else 1)
    failover = report["measured"]["failover_seconds"]
    assert failover["runs"] == 3
    assert 0 < failover["min"] <= failover["median"] <= failover["max"]
    # Sentinel cannot notice the loss before down-after-milliseconds.
    assert failover["min"] >= prod.datastores.redis.down_after_seconds
    assert len(report["measured"]["runs"]) == 3
    rto = _promise(report, "datastores.redis.ha.rto_seconds")
    assert rto["target"] == prod.datastores.redis.ha.rto_seconds
    assert rto["measured"] == failover["max"]
    assert rto["passed"] == (failover["max"] <= prod.datastores.redis.ha.rto_seconds)
    assert _promise(report, "datastores.redis.ha.rpo_seconds")["measured"] == report["measured"]["rpo_seconds"]["max"]


def test_unknown_sabotage_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "redis-failover", "--sabotage", "nope", "--out", str(tmp_path),
                                      "--spec", str(DEFAULT_SPEC)])
    assert result.exit_code == 2
    assert "--sabotage: expected one of" in result.output


needs_patroni = pytest.mark.skipif(
    not PG_BIN.exists() or shutil.which("patroni") is None or shutil.which("etcd") is None,
    reason="needs postgresql-15, patroni and etcd-server (scripts/apt-test.txt; `make test` installs them)",
)


@needs_patroni
def test_postgres_failover_keeps_acknowledged_writes(tmp_path: Path, prod) -> None:
    code, report = _drill(tmp_path, "postgres-failover", "--runs", "1")
    assert report["errors"] == [], report["errors"]
    assert code == (0 if report["passed"] else 1)
    run = report["measured"]["runs"][0]
    assert run["acknowledged"] > 50 and run["failover_seconds"] > 0
    assert any("Patroni" in note and "CloudNativePG" in note for note in report["notes"])
    lost = _promise(report, "datastores.postgres.synchronous_standbys")
    assert lost["measured"] == run["missing"]
    assert _promise(report, "datastores.postgres.ha.rto_seconds")["target"] == prod.datastores.postgres.ha.rto_seconds
