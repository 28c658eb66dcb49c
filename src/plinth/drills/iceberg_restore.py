"""`plinth drill iceberg-restore`: restore an Iceberg table to a snapshot, to a point in time and after a purge, and
show that maintenance keeps exactly the Iceberg backup row's history.

A real catalog on real servers: pyiceberg's SQL catalog on Debian's PostgreSQL 15 (its table pointers in a
database named like the platform catalog's) and a versioned S3 bucket on loopback (moto), the warehouse laid out
as the REST catalog lays it out. pyiceberg writes the table under a recorded load (concurrent writers, a reader);
then:

1. a bad overwrite replaces every row; the table is restored to a point in time and to a chosen snapshot
   (rows compared with the acknowledged writes: 0 missing, 0 extra), then to its last good state;
2. the table is purged (dropped with all its files); it is rebuilt from the bucket's noncurrent versions (the
   continuous backup) and registered again from its newest metadata file;
3. ``plinth.lakehouse.maintenance`` (the code the maintenance CronJob runs) expires history at the spec's
   retention and removes orphan files; every table state of the window must still read back exactly, the one
   current at the window's start included, and the history replaced before it must be gone.

History older than the retention cannot be written in real time: the first commits get **injected timestamps**
(days before now, around the window's start) by swapping the clock pyiceberg stamps new snapshots with; every
other commit uses the real clock. File ages for orphan removal are judged against "now" and against "now plus
the minimum age" (a scaled clock): a freshly planted orphan is kept, then removed once old enough.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from plinth.drills import pg
from plinth.procs import ProcessSetupError, Supervisor, free_port, owned_tempdir, supervised
from plinth.drills.report import DrillReport, Promise
from plinth.drills.s3 import S3_CREDENTIALS, start_s3
from plinth.drills.settings import IcebergDrillSettings
from plinth.lakehouse import maintenance

DRILL = "iceberg-restore"
SABOTAGES = ("naive-expiry",)
"""naive-expiry: expire every snapshot *written* before the window (pyiceberg's older_than), as plain expiry does."""
BUCKET = "plinth-drill-warehouse"
NAMESPACE = "pipeline"
TABLE = f"{NAMESPACE}.events"
CHECK_ID = "PL-ICE-001"
"""The `plinth check` check whose promise (history kept exactly the Iceberg row's retention) this drill demonstrates."""
DAY_MS = maintenance.DAY_MS
WINDOW_PROBE_MS = 3_600_000
"""The point-in-time probe at the window's start: one hour after it."""


@dataclass(frozen=True)
class IcebergRestoreOptions:
    """Size of the load and what to break."""

    writers: int = 3
    """Concurrent writer threads of the load (each commits its own batches; conflicts are retried by pyiceberg)."""
    commits_per_writer: int = 8
    """Commits each writer makes."""
    rows_per_commit: int = 2000
    """Rows of each commit."""
    sabotage: str | None = None
    """A setting broken on purpose (one of SABOTAGES)."""


@dataclass
class TableState:
    """A table state the drill knows the exact rows of."""

    label: str
    snapshot_id: int
    ids: frozenset[int]
    timestamp_ms: int
    """When the snapshot was made (injected for the history commits)."""


def history_ages(retention_days: int | None) -> list[float]:
    """Ages in days of the injected history commits: three replaced before the window's start (expired), one written
    before it but current at its start (kept), the rest inside the window."""
    r = retention_days or 365
    ages = {r + 35, r + 25, r + 15, r + 1, round(r * 0.8, 3), round(r * 0.5, 3), round(r * 0.1, 3), 1}
    return sorted((a for a in ages if a >= 1), reverse=True)


class _Clock:
    """The clock pyiceberg stamps new snapshots with (``time.time()`` in ``pyiceberg.table.snapshots``)."""

    def __init__(self, epoch_seconds: float):
        self.epoch_seconds = epoch_seconds

    def time(self) -> float:
        return self.epoch_seconds


@contextlib.contextmanager
def injected_clock(epoch_ms: int) -> Iterator[None]:
    """New snapshots made inside the block are stamped ``epoch_ms`` (only pyiceberg's snapshot clock is replaced)."""
    import pyiceberg.table.snapshots as snapshots

    with mock.patch.object(snapshots, "time", _Clock(epoch_ms / 1000)):
        yield


class _RetryCounter(logging.Handler):
    """Counts pyiceberg's "Commit failed due to a concurrent update, retrying" warnings (commit conflicts)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "concurrent update" in record.getMessage():
            self.count += 1


def run(settings: IcebergDrillSettings, options: IcebergRestoreOptions, environment: str,
        progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Run the drill end to end and return its report (a failed step is reported, never raised)."""
    if options.sabotage not in (None, *SABOTAGES):
        raise ValueError(f"sabotage: expected one of {SABOTAGES}, got {options.sabotage!r}")
    report = DrillReport(DRILL, environment, {**settings.as_dict(), "writers": options.writers,
                                              "commits_per_writer": options.commits_per_writer,
                                              "rows_per_commit": options.rows_per_commit, "sabotage": options.sabotage,
                                              "history_ages_days": history_ages(settings.retention_days)})
    report.notes += _notes(settings, options)
    with owned_tempdir("plinth-drill-iceberg-") as work, supervised(work) as supervisor:
        state = _Drill(work=work, supervisor=supervisor, settings=settings, options=options, say=progress, report=report)
        try:
            with report.step():
                state.execute()
        finally:
            state.stop_load()
    _promises(report, settings, options)
    return report


def _notes(settings: IcebergDrillSettings, options: IcebergRestoreOptions) -> list[str]:
    kept = f"{settings.retention_days} days" if settings.retention_days else "forever"
    notes = [
        "The platform's catalog is Apache Polaris (REST). Neither it nor Lakekeeper can be built here: Maven Central holds "
        "polaris-core 1.7.0 but not the 1.7.0 server, runtime or JDBC persistence modules, and Lakekeeper is not on "
        "crates.io. The drill runs pyiceberg's SQL catalog on PostgreSQL 15 instead: a real catalog (table pointers "
        "committed with compare-and-swap in PostgreSQL), the same table format, FileIO and maintenance code.",
        "The bucket is versioned like the cloud layer's warehouse bucket; moto keeps every version but runs no lifecycle: "
        f"the cloud's lifecycle deletes noncurrent versions after {settings.bucket_noncurrent_days} days "
        f"(bucket_lifecycle), which the drill reports, not waits for.",
        f"History kept: {kept} (backups[iceberg].retention_days). The history commits are stamped with injected "
        "timestamps (pyiceberg's snapshot clock swapped); load, disasters, restores and maintenance use the real clock.",
        "Restores are catalog operations on the table's own history (set the current snapshot), plus, after a purge, "
        "the bucket's noncurrent versions made current again and the newest metadata file registered; the catalog's "
        "own pointer would come from the PostgreSQL backups (`plinth drill postgres-restore`).",
        "One machine, loopback network: object storage and the catalog answer faster than a cloud's.",
    ]
    if options.sabotage == "naive-expiry":
        notes.append("Sabotaged: naive-expiry expires every snapshot written before the window's start (pyiceberg's "
                     "older_than), including the one still current at that moment: the first hours of the window can "
                     "no longer be restored. The window promise is expected to fail.")
    return notes


@dataclass
class _Drill:
    work: Path
    supervisor: Supervisor
    settings: IcebergDrillSettings
    options: IcebergRestoreOptions
    say: Callable[[str], None]
    report: DrillReport
    catalog: Any = None
    s3: Any = None
    endpoint: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    next_id: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: set[int] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)
    paused: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    load_errors: list[str] = field(default_factory=list)
    reads: list[float] = field(default_factory=list)
    history: list[TableState] = field(default_factory=list)
    first_data_file: str = ""
    """The first history commit's data file: rewritten by the history's delete, read only by expired snapshots."""
    commits: int = 0
    busy: int = 0
    started: int = 0
    """Commits the writers have begun."""
    allowed: int = 0
    """Commits the writers may begin so far (the drill releases the load in stages)."""
    """Writers inside a commit right now (a pause waits for none)."""

    # ------------------------------------------------------------------ servers and catalog

    def start(self) -> None:
        import boto3
        import psycopg

        self.say("starting S3 (moto) on loopback, bucket versioned like the warehouse bucket")
        self.endpoint = start_s3(self.supervisor, BUCKET)
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                               aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                               region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"])
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.say(f"initdb + PostgreSQL 15 for the catalog (database {self.settings.database})")
        data_dir, port = self.work / "catalog-db", free_port()
        pg.initdb(data_dir)
        pg.append_conf(data_dir, pg.base_parameters(port, self.work))
        pg.start(self.supervisor, "catalog-db", data_dir)
        pg.wait_writable(self.supervisor, "catalog-db", port, 60)
        with psycopg.connect(pg.dsn(port, "postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.settings.database}"')
        self.properties = {
            "uri": f"postgresql+psycopg://{pg.SUPERUSER}@127.0.0.1:{port}/{self.settings.database}",
            "warehouse": f"s3://{BUCKET}/", "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
            "s3.endpoint": self.endpoint, "s3.access-key-id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "s3.secret-access-key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], "s3.region": S3_CREDENTIALS["AWS_DEFAULT_REGION"],
        }
        self.catalog = self.new_catalog()
        self.catalog.create_namespace(NAMESPACE)
        self.catalog.create_table(TABLE, schema=self.arrow_schema(), properties={"write.delete.mode": "copy-on-write"})

    def new_catalog(self) -> Any:
        from pyiceberg.catalog.sql import SqlCatalog

        return SqlCatalog(self.settings.warehouse, **self.properties)

    @staticmethod
    def arrow_schema() -> Any:
        import pyarrow as pa

        return pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("batch", pa.int64(), nullable=False),
                          pa.field("writer", pa.string(), nullable=False), pa.field("payload", pa.string(), nullable=False)])

    def batch(self, rows: int, writer: str) -> tuple[Any, list[int]]:
        import pyarrow as pa

        with self.lock:
            first = self.next_id
            self.next_id += rows
        ids = list(range(first, first + rows))
        table = pa.table({"id": ids, "batch": [first // max(1, rows)] * rows, "writer": [writer] * rows,
                          "payload": [f"{writer}:{i:012d}" for i in ids]}, schema=self.arrow_schema())
        return table, ids

    def table(self) -> Any:
        return self.catalog.load_table(TABLE)

    def ids(self, snapshot_id: int | None = None) -> set[int]:
        table = self.table()
        scan = table.scan(snapshot_id=snapshot_id, selected_fields=("id",))
        return set(scan.to_arrow()["id"].to_pylist())

    # ------------------------------------------------------------------ history and load

    def write_history(self) -> None:
        ages = history_ages(self.settings.retention_days)
        self.say(f"history: {len(ages)} commits stamped {', '.join(f'{a:g}' for a in ages)} days ago")
        now_ms = int(time.time() * 1000)
        table = self.table()
        live: set[int] = set()
        for index, age in enumerate(ages):
            stamp = now_ms - int(age * DAY_MS)
            data, ids = self.batch(self.options.rows_per_commit, "history")
            with injected_clock(stamp):
                table.append(data)
                live |= set(ids)
                if index == 2:
                    # A delete rewrites the first batch's file: that file is then read only by the two older snapshots.
                    first = min(live)
                    half = first + self.options.rows_per_commit // 2
                    table.delete(f"id < {half}")
                    live -= set(range(first, half))
            snapshot = table.current_snapshot()
            if index == 0:
                self.first_data_file = next(e.data_file.file_path for m in snapshot.manifests(table.io)
                                            for e in m.fetch_manifest_entry(table.io))
            self.history.append(TableState(f"{age:g} days ago", snapshot.snapshot_id, frozenset(live), snapshot.timestamp_ms))
        with self.lock:
            self.acked |= live
        self.report.measured["history_snapshots"] = len(table.metadata.snapshots)

    def start_load(self) -> None:
        for number in range(self.options.writers):
            thread = threading.Thread(target=self._writer, args=(f"w{number}",), daemon=True)
            thread.start()
            self.threads.append(thread)
        reader = threading.Thread(target=self._reader, daemon=True)
        reader.start()
        self.threads.append(reader)

    def _writer(self, name: str) -> None:
        catalog = self.new_catalog()
        for _ in range(self.options.commits_per_writer):
            if not self._enter_commit():
                return
            try:
                data, ids = self.batch(self.options.rows_per_commit, name)
                catalog.load_table(TABLE).append(data)
            except Exception as exc:  # noqa: BLE001 - a failed commit is not acknowledged; it is reported
                self.load_errors.append(f"{name}: {type(exc).__name__}: {exc}")
            else:
                with self.lock:
                    self.acked |= set(ids)
                    self.commits += 1
            finally:
                with self.lock:
                    self.busy -= 1

    def _enter_commit(self) -> bool:
        """Wait while the load is paused, then count this writer as inside a commit (False: the load stopped)."""
        while not self.stop.is_set():
            with self.lock:
                if not self.paused.is_set() and self.started < self.allowed:
                    self.busy += 1
                    self.started += 1
                    return True
            time.sleep(0.05)
        return False

    def _reader(self) -> None:
        catalog = self.new_catalog()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                catalog.load_table(TABLE).scan(selected_fields=("id",)).to_arrow()
                self.reads.append(time.monotonic() - started)
            except Exception as exc:  # noqa: BLE001 - a failed read is reported
                self.load_errors.append(f"reader: {type(exc).__name__}: {exc}")
            time.sleep(0.2)

    def _load_until(self, commits: int) -> None:
        """Let the writers (concurrently) begin commits until ``commits`` have begun, then pause once those are done:
        the chosen snapshot and the point in time fall between stages of the load, so their states differ whatever
        the machine's speed."""
        with self.lock:
            self.allowed = commits
        self.paused.clear()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not self.writers_done():
            with self.lock:
                if self.started >= commits:
                    break
            time.sleep(0.05)
        self.pause_load()

    def pause_load(self) -> None:
        """Hold the writers between commits and wait until none is inside one."""
        self.paused.set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with self.lock:
                if self.busy == 0:
                    return
            time.sleep(0.05)
        raise ProcessSetupError("writers did not finish their commits within 120 s of the pause")

    def writers_done(self) -> bool:
        return all(not t.is_alive() for t in self.threads[:-1])

    def stop_load(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    # ------------------------------------------------------------------ the drill

    def execute(self) -> None:
        self.start()
        self.write_history()
        counter = _RetryCounter()
        logging.getLogger("pyiceberg").addHandler(counter)
        try:
            self._load_and_restore(counter)
        finally:
            logging.getLogger("pyiceberg").removeHandler(counter)
        self._purge_and_rebuild()
        self._expire()

    def _load_and_restore(self, counter: _RetryCounter) -> None:
        measured = self.report.measured
        writers, commits, rows = self.options.writers, self.options.commits_per_writer, self.options.rows_per_commit
        self.say(f"load: {writers} writers x {commits} commits x {rows} rows, one reader")
        started = time.monotonic()
        total = writers * commits
        self.start_load()
        self._load_until(max(1, total // 3))
        chosen = TableState("chosen snapshot", self.table().current_snapshot().snapshot_id, frozenset(self.acked), 0)
        self._load_until(max(2, 2 * total // 3))
        time.sleep(0.3)
        pit_ms = int(time.time() * 1000)
        pit_ids = frozenset(self.acked)
        time.sleep(0.3)
        with self.lock:
            self.allowed = total
        self.paused.clear()
        while not self.writers_done():
            time.sleep(0.2)
        self.stop_load()
        measured["load_seconds"] = round(time.monotonic() - started, 2)
        measured["load_commits_acknowledged"] = self.commits
        measured["commit_conflicts_retried"] = counter.count
        measured["load_errors"] = list(self.load_errors)
        measured["reads"] = {"scans": len(self.reads), "max_seconds": round(max(self.reads, default=0.0), 3)}
        good = self.table()
        last_good = TableState("last good state", good.current_snapshot().snapshot_id, frozenset(self.acked), 0)
        measured["rows_acknowledged"] = len(self.acked)

        self.say("disaster 1: an overwrite replaces every row")
        data, bad_ids = self.batch(10, "bad-overwrite")
        good.overwrite(data)
        measured["rows_after_bad_overwrite"] = len(self.ids())

        self.say("restore to a point in time (the snapshot current then, from the table's history)")
        started = time.monotonic()
        table = self.table()
        snapshot = table.snapshot_as_of_timestamp(pit_ms)
        if snapshot is None:
            raise ProcessSetupError(f"no snapshot current at {pit_ms}")
        table.manage_snapshots().set_current_snapshot(snapshot.snapshot_id).commit()
        seconds = time.monotonic() - started
        measured["restore_point_in_time"] = self._compare(pit_ids, self.ids(), seconds, target_ms=pit_ms)

        self.say("restore to a chosen snapshot")
        started = time.monotonic()
        self.table().manage_snapshots().set_current_snapshot(chosen.snapshot_id).commit()
        seconds = time.monotonic() - started
        measured["restore_snapshot"] = self._compare(chosen.ids, self.ids(), seconds, snapshot_id=chosen.snapshot_id)

        self.say("back to the last good state, then one checkpoint commit (newest metadata file is unique)")
        self.table().manage_snapshots().set_current_snapshot(last_good.snapshot_id).commit()
        measured["restore_last_good"] = self._compare(last_good.ids, self.ids(), None)
        data, ids = self.batch(self.options.rows_per_commit, "checkpoint")
        self.table().append(data)
        self.acked |= set(ids)

    def _compare(self, expected: frozenset[int] | set[int], present: set[int], seconds: float | None, **extra: Any) -> dict[str, Any]:
        result = {"expected_rows": len(expected), "rows": len(present), "missing_rows": len(set(expected) - present),
                  "extra_rows": len(present - set(expected)), **extra}
        if seconds is not None:
            result["seconds"] = round(seconds, 3)
        return result

    # ------------------------------------------------------------------ purge and rebuild from versions

    def _table_prefix(self) -> str:
        return self.table().location().split(f"s3://{BUCKET}/", 1)[1].rstrip("/") + "/"

    def _purge_and_rebuild(self) -> None:
        measured = self.report.measured
        prefix = self._table_prefix()
        expected = set(self.acked)
        snapshots_before = len(self.table().metadata.snapshots)
        self.say("disaster 2: the table is purged (dropped, every file deleted)")
        self.catalog.purge_table(TABLE)
        live_after = self._live_keys(prefix)
        measured["purge"] = {"live_objects_left": len(live_after), "delete_markers": len(self._markers(prefix))}

        self.say("rebuild: the bucket's noncurrent versions made current again, newest metadata file registered")
        started = time.monotonic()
        markers = self._markers(prefix)
        for key, version in markers:
            self.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
        metadata = sorted(k for k in self._live_keys(prefix) if k.endswith(".metadata.json"))
        if not metadata:
            raise ProcessSetupError("no metadata file came back from the bucket's versions")
        newest = max(metadata, key=lambda k: int(k.rsplit("/", 1)[1].split("-", 1)[0]))
        self.catalog.register_table(TABLE, f"s3://{BUCKET}/{newest}")
        present = self.ids()
        seconds = time.monotonic() - started
        measured["restore_after_purge"] = {**self._compare(expected, present, seconds), "objects_undeleted": len(markers),
                                           "metadata_file": newest.rsplit("/", 1)[1],
                                           "snapshots_before": snapshots_before,
                                           "snapshots_after": len(self.table().metadata.snapshots)}

    def _versions(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix):
            for entry in page.get("Versions", []):
                yield {**entry, "marker": False}
            for entry in page.get("DeleteMarkers", []):
                yield {**entry, "marker": True}

    def _markers(self, prefix: str) -> list[tuple[str, str]]:
        return sorted((v["Key"], v["VersionId"]) for v in self._versions(prefix) if v["marker"] and v["IsLatest"])

    def _live_keys(self, prefix: str) -> set[str]:
        return {v["Key"] for v in self._versions(prefix) if not v["marker"] and v["IsLatest"]}

    def _noncurrent_keys(self, prefix: str) -> set[str]:
        return {v["Key"] for v in self._versions(prefix) if not v["marker"] and not v["IsLatest"]}

    # ------------------------------------------------------------------ maintenance

    def _expire(self) -> None:
        measured = self.report.measured
        retention = self.settings.retention_days
        prefix = self._table_prefix()
        now_ms = int(time.time() * 1000)
        start_ms = maintenance.window_start_ms(now_ms, retention)
        table = self.table()
        states = [*self.history]
        # Independently of the maintenance code: a history state is needed while it was current at some moment of the
        # window, i.e. unless the next commit replaced it before the window started.
        replaced_at = {s.snapshot_id: nxt.timestamp_ms for s, nxt in zip(states, states[1:])}
        must_go = {sid for sid, at in replaced_at.items() if start_ms is not None and at < start_ms}
        must_stay = [s for s in states if s.snapshot_id not in must_go]
        first_file = self._key_of(self.first_data_file)

        self.say("planting an orphan: a data file a crashed writer uploaded but never committed")
        import pyarrow.parquet as pq

        orphan = f"{table.location().rstrip('/')}/data/crashed-writer-00000.parquet"
        data, _ = self.batch(100, "crashed-writer")
        with table.io.new_output(orphan).create(overwrite=True) as out:
            pq.write_table(data, out)

        self.say(f"maintenance: expiry at the spec's retention ({retention} days) and orphan removal")
        result = maintenance.TableReport(table=TABLE)
        cache: maintenance.ManifestCache = {}
        started = time.monotonic()
        if self.options.sabotage == "naive-expiry":
            doomed = sorted(s.snapshot_id for s in table.metadata.snapshots if start_ms is not None and s.timestamp_ms < start_ms
                            and s.snapshot_id not in {r.snapshot_id for r in table.metadata.refs.values()})
            result.snapshots_before = len(table.metadata.snapshots)
            if doomed:
                table.maintenance.expire_snapshots().by_ids(doomed).commit()
            result.snapshots_expired = doomed
            table = self.table()
            result.snapshots_after = len(table.metadata.snapshots)
        else:
            table = maintenance.expire(self.catalog, TABLE, now_ms, retention, result, cache)
        expiry_seconds = time.monotonic() - started
        maintenance.remove_orphans(table, now_ms, self.settings.orphan_file_min_age_days, result, cache)
        young = {"found": result.orphans_found, "too_young": result.orphans_too_young, "deleted": result.orphans_deleted}
        later_ms = now_ms + (self.settings.orphan_file_min_age_days + 1) * DAY_MS
        aged = maintenance.TableReport(table=TABLE)
        maintenance.remove_orphans(self.table(), later_ms, self.settings.orphan_file_min_age_days, aged, cache)
        seconds = time.monotonic() - started

        present = {s.snapshot_id for s in self.table().metadata.snapshots}
        reads = {s.label: self._compare(s.ids, self.ids(s.snapshot_id) if s.snapshot_id in present else set(), None)
                 for s in must_stay}
        probe_ms = (start_ms or now_ms) + WINDOW_PROBE_MS
        at_probe = self.table().snapshot_as_of_timestamp(probe_ms)
        expected_probe = next((s for s in reversed(states) if s.timestamp_ms <= probe_ms), None)
        probe: dict[str, Any] = {"probe_days_ago": round((now_ms - probe_ms) / DAY_MS, 3)}
        if at_probe is None or expected_probe is None:
            probe.update(restorable=False, missing_rows=len(expected_probe.ids) if expected_probe else None)
        else:
            probe.update(restorable=True, **self._compare(expected_probe.ids, self.ids(at_probe.snapshot_id), None))
        measured["expiry"] = {
            "retention_days": retention, "window_start_days_ago": None if start_ms is None else retention,
            "snapshots_before": result.snapshots_before, "snapshots_after": result.snapshots_after,
            "expired": len(result.snapshots_expired), "expected_expired": len(must_go),
            "replaced_before_window_still_present": len(must_go & present),
            "needed_in_window_missing": sum(1 for s in must_stay if s.snapshot_id not in present),
            "oldest_kept_days_ago": None if result.oldest_kept_timestamp_ms is None
            else round((now_ms - result.oldest_kept_timestamp_ms) / DAY_MS, 2),
            "files_deleted": result.expired_files_deleted, "bytes_deleted": result.expired_bytes_deleted,
            "first_data_file_live": first_file in self._live_keys(prefix),
            "first_data_file_noncurrent_versions": first_file in self._noncurrent_keys(prefix),
            "expiry_seconds": round(expiry_seconds, 3), "maintenance_seconds": round(seconds, 3),
        }
        measured["window_start_restore"] = probe
        measured["kept_states_read_back"] = reads
        measured["orphans"] = {"now": young, f"after {self.settings.orphan_file_min_age_days + 1} days": {
            "found": aged.orphans_found, "deleted": aged.orphans_deleted, "bytes_deleted": aged.orphan_bytes_deleted},
            "planted_orphan_gone": self._key_of(orphan) not in self._live_keys(prefix)}
        measured["current_state_after_maintenance"] = self._compare(self.acked, self.ids(), None)

    @staticmethod
    def _key_of(uri: str) -> str:
        return uri.split(f"s3://{BUCKET}/", 1)[1]


def _exact(entry: dict[str, Any] | None) -> tuple[float | None, bool]:
    if not entry or "missing_rows" not in entry or entry.get("missing_rows") is None:
        return None, False
    wrong = entry["missing_rows"] + entry.get("extra_rows", 0)
    return wrong, wrong == 0


def _promises(report: DrillReport, settings: IcebergDrillSettings, options: IcebergRestoreOptions) -> None:
    m = report.measured
    source = "backups[iceberg].retention_days"
    promises = []
    for key, name in (("restore_point_in_time", "restore to a point in time is exact (0 missing, 0 extra rows)"),
                      ("restore_snapshot", "restore to a chosen snapshot is exact"),
                      ("restore_after_purge", "a purged table is rebuilt exactly from the bucket's noncurrent versions")):
        wrong, ok = _exact(m.get(key))
        promises.append(Promise(name, source if key != "restore_after_purge" else "backups[iceberg] (versioned bucket)",
                                0, wrong, "rows", ok, check_id=CHECK_ID))
    expiry = m.get("expiry") or {}
    reads = m.get("kept_states_read_back") or {}
    wrong_reads = sum((r["missing_rows"] + r["extra_rows"]) for r in reads.values()) if reads else None
    probe = m.get("window_start_restore") or {}
    probe_wrong, probe_ok = _exact(probe) if probe.get("restorable") else (probe.get("missing_rows"), False)
    stale = expiry.get("replaced_before_window_still_present")
    current_wrong, current_ok = _exact(m.get("current_state_after_maintenance"))
    promises += [
        Promise("every table state of the retention window reads back exactly after expiry", source, 0, wrong_reads, "rows",
                wrong_reads == 0 and expiry.get("needed_in_window_missing") == 0, check_id=CHECK_ID),
        Promise("the state current at the window's start is still restorable", source, 0, probe_wrong, "rows", probe_ok,
                note="the snapshot written before the window but replaced inside it must be kept", check_id=CHECK_ID),
        Promise("history replaced before the window's start is expired", source, 0, stale, "snapshots", stale == 0,
                check_id=CHECK_ID),
        Promise("orphan removal deletes no file the table reads", "datastores.iceberg.maintenance.orphan_file_min_age_days",
                0, current_wrong, "rows", current_ok, check_id=CHECK_ID),
    ]
    report.promises += promises
