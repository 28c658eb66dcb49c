"""The Iceberg drill: a table written under load in a PostgreSQL-backed catalog and a versioned S3 bucket on loopback,
restored exactly to a snapshot, to a point in time and after a purge; maintenance keeps the retention's history.

The live tests need Debian's postgresql-15 (scripts/apt-test.txt) and the drills extra (pyiceberg, moto).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from plinth.cli import app
from plinth.docs.report import ReportInputs, report_html
from plinth.drills.iceberg_restore import CHECK_ID, history_ages
from plinth.drills.settings import iceberg_settings
from plinth.lakehouse.maintenance import DAY_MS, snapshots_to_expire, superseded_at
from tests.conftest import DEFAULT_SPEC
from tests.drills.test_local_drills import needs_postgres

SHORT = ("--writers", "2", "--commits", "3", "--rows", "200")
"""The short form `make test` runs (about a minute and a half on two shared cores)."""


def _metadata(log: list[tuple[int, int]], refs: dict[str, int], extra: list[tuple[int, int]] = ()):
    """Table metadata with the snapshots of ``log`` (id, ms) as main's history, plus snapshots never current."""
    snapshots = [SimpleNamespace(snapshot_id=sid, timestamp_ms=ts) for sid, ts in [*log, *extra]]
    return SimpleNamespace(snapshots=snapshots, snapshot_log=[SimpleNamespace(snapshot_id=s, timestamp_ms=t) for s, t in log],
                           refs={name: SimpleNamespace(snapshot_id=sid) for name, sid in refs.items()})


def test_expiry_keeps_the_snapshot_current_at_the_windows_start() -> None:
    now = 1000 * DAY_MS
    day = lambda d: now - d * DAY_MS  # noqa: E731
    log = [(1, day(400)), (2, day(390)), (3, day(366)), (4, day(200)), (5, day(1))]
    metadata = _metadata(log, {"main": 5}, extra=[(9, day(380)), (10, day(10))])
    start = now - 365 * DAY_MS
    assert superseded_at(metadata) == {1: day(390), 2: day(366), 3: day(200), 4: day(1)}
    # 3 was written before the window but was the table's state at its start: kept. 9 never current: its own time.
    assert snapshots_to_expire(metadata, start) == [1, 2, 9]
    assert snapshots_to_expire(metadata, None) == []  # kept forever
    tagged = _metadata(log, {"main": 5, "audit": 1})
    assert snapshots_to_expire(tagged, start) == [2]


def test_a_snapshot_made_current_again_counts_from_its_last_replacement() -> None:
    now = 1000 * DAY_MS
    day = lambda d: now - d * DAY_MS  # noqa: E731
    # 1 was current, replaced by 2, restored (1 again) and replaced inside the window: still needed.
    log = [(1, day(500)), (2, day(450)), (1, day(400)), (3, day(100))]
    assert snapshots_to_expire(_metadata(log, {"main": 3}), now - 365 * DAY_MS) == [2]


def test_history_straddles_the_windows_start() -> None:
    ages = history_ages(365)
    assert ages[:4] == [400, 390, 380, 366] and ages == sorted(ages, reverse=True) and ages[-1] == 1
    assert [a for a in history_ages(30) if a > 30] == [65, 55, 45, 31]


def test_the_drill_reads_the_retention_and_lifecycle_the_platform_renders(prod) -> None:
    settings = iceberg_settings(prod)
    assert settings.retention_days == 365 == prod.backup_for("iceberg").retention_days
    assert settings.bucket_noncurrent_days == 365 and settings.bucket_current_days is None
    assert settings.maintenance_args[settings.maintenance_args.index("--retention-days") + 1] == "365"
    assert settings.location == "multi-region"


def _drill(tmp_path: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["drill", "iceberg-restore", *args, "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path)])
    report_path = tmp_path / "iceberg-restore.json"
    assert report_path.exists(), result.output
    assert (tmp_path / "iceberg-restore.md").read_text().startswith("# Drill `iceberg-restore`")
    return result.exit_code, json.loads(report_path.read_text())


@needs_postgres
def test_restores_are_exact_and_maintenance_keeps_exactly_the_retention(tmp_path: Path, prod) -> None:
    code, report = _drill(tmp_path, *SHORT)
    assert report["errors"] == [], report["errors"]
    assert code == 0 and report["passed"], [p for p in report["promises"] if not p["passed"]]
    m = report["measured"]
    assert m["load_commits_acknowledged"] == 6 and m["load_errors"] == []
    for key in ("restore_point_in_time", "restore_snapshot", "restore_after_purge", "restore_last_good"):
        assert m[key]["expected_rows"] > 0 and m[key]["missing_rows"] == m[key]["extra_rows"] == 0, (key, m[key])
    assert m["rows_after_bad_overwrite"] == 10
    assert m["restore_snapshot"]["expected_rows"] < m["restore_point_in_time"]["expected_rows"] < m["rows_acknowledged"]
    purge = m["restore_after_purge"]
    assert purge["objects_undeleted"] > 10 and purge["snapshots_after"] == purge["snapshots_before"]
    expiry = m["expiry"]
    # Three history snapshots were replaced before the window (400, 390, 380 days ago), plus the delete's own.
    assert expiry["expected_expired"] == 3 and expiry["expired"] >= 3
    assert expiry["replaced_before_window_still_present"] == 0 and expiry["needed_in_window_missing"] == 0
    assert expiry["oldest_kept_days_ago"] == pytest.approx(366, abs=0.1)
    assert expiry["files_deleted"] > 0 and expiry["first_data_file_live"] is False
    assert expiry["first_data_file_noncurrent_versions"] is True  # the bucket keeps it for its lifecycle
    assert m["window_start_restore"]["restorable"] is True
    orphans = m["orphans"]
    assert orphans["now"]["found"] >= 1 and orphans["now"]["deleted"] == 0
    assert orphans["planted_orphan_gone"] is True
    assert {p["check_id"] for p in report["promises"]} == {CHECK_ID}
    assert report["settings"]["retention_days"] == prod.backup_for("iceberg").retention_days
    page = report_html(ReportInputs(platforms={"prod": prod}, objects_by_env={"prod": 0}, validation_problems=None, drills=[report]))
    assert "iceberg-restore (prod)" in page and CHECK_ID in page


@needs_postgres
def test_naive_expiry_loses_the_start_of_the_window(tmp_path: Path) -> None:
    code, report = _drill(tmp_path, "--writers", "2", "--commits", "3", "--rows", "50", "--sabotage", "naive-expiry")
    assert report["errors"] == [], report["errors"]
    assert code == 1 and report["passed"] is False
    failed = {p["name"] for p in report["promises"] if not p["passed"]}
    assert failed == {"the state current at the window's start is still restorable",
                      "every table state of the retention window reads back exactly after expiry"}
    assert report["measured"]["window_start_restore"]["restorable"] is False


def test_an_unknown_sabotage_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "iceberg-restore", "--sabotage", "nope", "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path)])
    assert result.exit_code == 2
