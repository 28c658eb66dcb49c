"""`plinth drill postgres-restore`: lose a PostgreSQL primary and restore it from barman-cloud backups.

A Debian PostgreSQL 15 primary archives WAL and takes a base backup with barman-cloud (the tools
CloudNativePG's Barman Cloud Plugin runs) to S3 on loopback (moto). A write load records every
acknowledged id. The primary is SIGKILLed and its data directory deleted. The drill restores to the
latest archived WAL and, separately, to a point in time, into new data directories, and measures:
RTO (loss -> restored and accepting writes) and RPO (acknowledged rows missing, and the time they span).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from plinth.drills import pg
from plinth.drills.load import WriteLoad, loss_summary
from plinth.procs import ProcessSetupError, Supervisor, chown_to_service_user, free_port, owned_tempdir, run_checked, supervised
from plinth.drills.report import DrillReport, Promise, at_most
from plinth.drills.s3 import S3_CREDENTIALS, start_s3
from plinth.drills.settings import PostgresDrillSettings, barman_retention_policy
from plinth.kube.conventions import DATASTORE_NAMES

DRILL = "postgres-restore"
SABOTAGES = ("wal-archiving",)
"""Settings the drill can break on purpose to show a failed promise: wal-archiving = archive_mode off."""
BUCKET = "plinth-drill-backups"
SERVER_NAME = DATASTORE_NAMES["postgres"]
"""barman-cloud server name: the CloudNativePG Cluster's name, as the plugin uses it."""
ARCHIVE_MARGIN_SECONDS = 10
"""Load runs this long past one archive_timeout after the PITR target, so the target's WAL is archived."""


@dataclass(frozen=True)
class RestoreOptions:
    """Size and pacing of a run."""

    scale: int
    """pgbench scale of the dataset (1 ~ 15 MB)."""
    rate_per_second: float = 200.0
    """Recorded writes per second."""
    sabotage: str | None = None
    """A setting broken on purpose (one of SABOTAGES)."""
    restore_timeout_seconds: float = 1800.0
    """Give up on a restore after this long."""


def _barman_common(endpoint: str) -> list[str]:
    return ["--endpoint-url", endpoint, "--cloud-provider", "aws-s3"]


def _destination() -> str:
    return f"s3://{BUCKET}/postgres"


def run(settings: PostgresDrillSettings, options: RestoreOptions, environment: str,
        progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Run the drill end to end and return its report (never raises for a failed step: it is reported)."""
    if options.sabotage not in (None, *SABOTAGES):
        raise ValueError(f"sabotage: expected one of {SABOTAGES}, got {options.sabotage!r}")
    report = DrillReport(DRILL, environment, {**settings.as_dict(), "scale": options.scale,
                                              "rate_per_second": options.rate_per_second, "sabotage": options.sabotage})
    report.notes += [
        "Debian PostgreSQL 15 and barman-cli-cloud (the barman-cloud tools CloudNativePG's Barman Cloud Plugin runs) "
        "against moto's S3 on 127.0.0.1; one machine, so network and disk are faster than a cloud's.",
        "RTO here = primary lost -> restored and accepting writes (download + WAL replay + promotion); in a cluster, add "
        "the time to notice the loss and to create the Cluster (the cluster drill measures that).",
        "A restore from the archive cannot give RPO 0: commits after the last archived WAL segment are lost. "
        "RPO 0 is the synchronous standby's promise (see `plinth drill postgres-failover`).",
        f"The base backup is taken just before the load, so the restore replays about one archive_timeout of WAL. A "
        f"loss just before the next base backup (every {settings.backup_interval_seconds} s) replays up to that much "
        "WAL, fetched one 16 MB segment at a time by barman-cloud-wal-restore: at a write-heavy rate that, not the base "
        "backup download, dominates the RTO.",
    ]
    with owned_tempdir("plinth-drill-pg-") as work, supervised(work) as supervisor:
        state = _State(work=work, supervisor=supervisor, settings=settings, options=options, progress=progress)
        try:
            with report.step():
                state.execute(report)
        finally:
            if state.load is not None:
                state.load.stop()
    _add_promises(report, settings)
    return report


@dataclass
class _State:
    work: Path
    supervisor: Supervisor
    settings: PostgresDrillSettings
    options: RestoreOptions
    progress: Callable[[str], None]
    load: WriteLoad | None = None
    backup_id: str = ""

    def env(self) -> dict[str, str]:
        return dict(S3_CREDENTIALS)

    def execute(self, report: DrillReport) -> None:
        import psycopg

        say, sup, work = self.progress, self.supervisor, self.work
        say("starting S3 (moto) on loopback")
        endpoint = start_s3(sup, BUCKET)
        barman = _barman_common(endpoint)

        say("initdb + primary with WAL archiving to S3 (barman-cloud-wal-archive)")
        primary_dir, port = work / "primary", free_port()
        pg.initdb(primary_dir)
        archive_command = " ".join(["barman-cloud-wal-archive", *barman, _destination(), SERVER_NAME, "%p"])
        parameters = {**pg.base_parameters(port, work), **self.settings.server_parameters,
                      "wal_level": "replica", "archive_mode": "on", "archive_command": archive_command}
        if self.options.sabotage == "wal-archiving":
            parameters["archive_mode"] = "off"
        pg.append_conf(primary_dir, parameters)
        pg.start(sup, "primary", primary_dir, env=self.env())
        pg.wait_writable(sup, "primary", port, 60)
        with psycopg.connect(pg.dsn(port, "postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {pg.DATABASE}")
        with psycopg.connect(pg.dsn(port), autocommit=True) as conn:
            conn.execute("CREATE TABLE drill_writes (id bigint PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())")

        say(f"loading the dataset (pgbench -i -s {self.options.scale})")
        started = time.monotonic()
        run_checked([pg.pg_bin("pgbench"), "-i", "-q", "-s", str(self.options.scale), "-h", "127.0.0.1", "-p", str(port),
                     "-U", pg.SUPERUSER, pg.DATABASE], what="pgbench -i")
        with psycopg.connect(pg.dsn(port), autocommit=True) as conn:
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        report.measured["dataset_bytes"] = int(size)
        report.measured["load_dataset_seconds"] = round(time.monotonic() - started, 2)

        say("base backup to S3 (barman-cloud-backup)")
        started = time.monotonic()
        run_checked(["barman-cloud-backup", *barman, "--immediate-checkpoint", "-h", "127.0.0.1", "-p", str(port), "-U", pg.SUPERUSER,
                     "-d", "postgres", _destination(), SERVER_NAME], env=self.env(), what="barman-cloud-backup")
        report.measured["base_backup_seconds"] = round(time.monotonic() - started, 2)

        policy = barman_retention_policy(self.settings)
        if policy:
            say(f"applying the spec's retention ({policy})")
            run_checked(["barman-cloud-backup-delete", *barman, "--retention-policy", policy, _destination(), SERVER_NAME],
                        env=self.env(), what="barman-cloud-backup-delete")
        listing = run_checked(["barman-cloud-backup-list", *barman, "--format", "json", _destination(), SERVER_NAME],
                              env=self.env(), what="barman-cloud-backup-list")
        backups = json.loads(listing).get("backups_list", [])
        report.measured["backups_kept_after_retention"] = len(backups)
        if not backups:
            raise ProcessSetupError("no base backup in the bucket after barman-cloud-backup (and the retention policy)")
        self.backup_id = backups[-1]["backup_id"]

        say("recorded write load")
        writer = psycopg.connect(pg.dsn(port), autocommit=True)
        self.load = WriteLoad(lambda i: writer.execute("INSERT INTO drill_writes (id) VALUES (%s)", (i,)),
                              self.options.rate_per_second)
        self.load.start()
        time.sleep(3)
        self.load.pause()
        pitr_expected = self.load.acked_ids()
        time.sleep(1.0)
        with psycopg.connect(pg.dsn(port), autocommit=True) as conn:
            target_time = conn.execute("SELECT clock_timestamp()::text").fetchone()[0]  # type: ignore[index]
        time.sleep(1.0)
        self.load.resume()
        run_for = self.settings.archive_timeout_seconds + ARCHIVE_MARGIN_SECONDS
        say(f"writing for {run_for} s (archive_timeout {self.settings.archive_timeout_seconds} s + {ARCHIVE_MARGIN_SECONDS} s)")
        time.sleep(run_for)

        say("losing the primary: SIGKILL + data directory deleted")
        sup.kill("primary")
        loss_at = time.monotonic()
        shutil.rmtree(primary_dir)
        self.load.stop()
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - the server is gone
            pass
        acked = list(self.load.acked)
        report.measured["writes_acknowledged"] = len(acked)

        say("restore to latest (barman-cloud-restore + barman-cloud-wal-restore)")
        latest_port = free_port()
        self._restore(work / "restored-latest", latest_port, barman, "restored-latest", recovery_target=None)
        ready_at = pg.wait_writable(sup, "restored-latest", latest_port, self.options.restore_timeout_seconds)
        report.measured["restore_latest_rto_seconds"] = round(ready_at - loss_at, 2)
        present = pg.present_ids(latest_port)
        report.measured["restore_latest"] = loss_summary(acked, present, loss_at)
        report.measured["restore_latest"]["extra_rows"] = len(present - {i for i, _ in acked})
        sup.stop("restored-latest")

        say(f"point-in-time restore to {target_time}")
        pitr_port = free_port()
        started = time.monotonic()
        self._restore(work / "restored-pitr", pitr_port, barman, "restored-pitr", recovery_target=target_time)
        ready_at = pg.wait_writable(sup, "restored-pitr", pitr_port, self.options.restore_timeout_seconds)
        present = pg.present_ids(pitr_port)
        report.measured["restore_pitr"] = {
            "target_time": target_time, "seconds": round(ready_at - started, 2),
            "expected_rows": len(pitr_expected), "missing_rows": len(pitr_expected - present),
            "extra_rows": len(present - pitr_expected),
        }
        sup.stop("restored-pitr")

    def _restore(self, data_dir: Path, port: int, barman: list[str], name: str, recovery_target: str | None) -> None:
        data_dir.mkdir()
        chown_to_service_user(data_dir)
        data_dir.chmod(0o700)
        run_checked(["barman-cloud-restore", *barman, _destination(), SERVER_NAME, self.backup_id, str(data_dir)],
                    env=self.env(), what="barman-cloud-restore")
        restore_command = " ".join(["barman-cloud-wal-restore", *barman, _destination(), SERVER_NAME, "%f", "%p"])
        parameters = {**pg.base_parameters(port, self.work), "archive_mode": "off", "restore_command": restore_command,
                      "recovery_target_timeline": "latest"}
        if recovery_target is not None:
            parameters |= {"recovery_target_time": recovery_target, "recovery_target_action": "promote"}
        pg.append_conf(data_dir, parameters)
        (data_dir / "recovery.signal").touch()
        chown_to_service_user(data_dir)
        pg.start(self.supervisor, name, data_dir, env=self.env())


def _add_promises(report: DrillReport, settings: PostgresDrillSettings) -> None:
    latest = report.measured.get("restore_latest", {})
    pitr = report.measured.get("restore_pitr")
    rto = report.measured.get("restore_latest_rto_seconds")
    rpo = latest.get("rpo_seconds") if latest else None
    report.promises += [
        at_most("restore to latest: acknowledged writes lost span at most archive_timeout",
                "datastores.postgres.archive_timeout_seconds", settings.archive_timeout_seconds, rpo, "s",
                "the RPO of a restore from the WAL archive (region loss)", check_id="PL-RPO-004"),
        at_most("restore to latest: restored and accepting writes within the PostgreSQL RTO",
                "datastores.postgres.ha.rto_seconds", settings.rto_seconds, rto, "s"),
        Promise("point-in-time restore is exact (no missing, no extra rows)", "backups[postgres]", 0,
                None if pitr is None else pitr["missing_rows"] + pitr["extra_rows"], "rows",
                pitr is not None and pitr["missing_rows"] == 0 and pitr["extra_rows"] == 0, check_id="PL-BAK-002"),
        Promise("the base backup survives the spec's retention policy", "backups[postgres].retention_days", 1,
                report.measured.get("backups_kept_after_retention"), "backups",
                (report.measured.get("backups_kept_after_retention") or 0) >= 1, check_id="PL-BAK-003"),
        at_most("design RPO (synchronous standby), for comparison", "datastores.postgres.ha.rpo_seconds",
                settings.rpo_seconds, rpo, "s", "a restore from the archive cannot meet RPO 0; the synchronous standby "
                "carries it for pod/node/zone loss", counts=False, check_id="PL-RPO-001"),
    ]
    if settings.region_rto_seconds is not None:
        report.promises.append(at_most("restore to latest within the region-failover RTO", "recovery[region].rto_seconds",
                                       settings.region_rto_seconds, rto, "s"))
