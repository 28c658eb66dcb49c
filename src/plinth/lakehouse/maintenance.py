"""Iceberg table maintenance at the platform's retention: every table state of the retention window stays
restorable, older history goes, and so do the files only that history (or a failed write) left behind.

Three steps per table, against any pyiceberg catalog (the REST catalog in the cluster, a SQL catalog on
PostgreSQL in ``plinth drill iceberg-restore``):

1. **Snapshot expiry.** A snapshot is kept while it is the head of a branch or tag, or while some moment of
   the retention window saw it as the table's current state: the table's history (its snapshot log) says
   when each snapshot stopped being current, and only snapshots replaced before the window's start are
   expired. Plain "older than" expiry would drop the snapshot that was current at the window's start (it was
   *written* before it) and leave the first days of the window unrestorable.
2. **Files of expired snapshots.** Manifest lists, manifests and data files reachable only from expired
   snapshots are deleted once the expiry is committed (never before: a failed commit deletes nothing).
3. **Orphan files.** Files under the table's location that no kept snapshot or metadata file references
   (writes that lost a commit race, crashed writers) are deleted once older than a minimum age, so a write
   still in progress is never touched.

In a versioned bucket a deleted file becomes a noncurrent version, which the bucket's lifecycle keeps for
the same retention: a table dropped or purged by mistake can be rebuilt from those versions.

The maintenance CronJob runs this file from a ConfigMap in an image with the pinned pyiceberg; only the
standard library and pyiceberg (with pyarrow) are imported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

DAY_MS = 86_400_000
"""Milliseconds per day (snapshot timestamps are milliseconds since the epoch)."""
GC_ENABLED = "gc.enabled"
"""Iceberg table property: false forbids deleting the table's files (maintenance leaves such a table alone)."""
COMMIT_ATTEMPTS = 3
"""Expiry commits retried after a concurrent commit (the plan is recomputed from the new metadata)."""


@dataclass
class TableReport:
    """What maintenance did to one table."""

    table: str
    snapshots_before: int = 0
    snapshots_expired: list[int] = field(default_factory=list)
    snapshots_after: int = 0
    oldest_kept_timestamp_ms: int | None = None
    """Timestamp of the oldest snapshot left (None when the table has none)."""
    expired_files_deleted: int = 0
    expired_bytes_deleted: int = 0
    orphans_found: int = 0
    orphans_deleted: int = 0
    orphan_bytes_deleted: int = 0
    orphans_too_young: int = 0
    """Unreferenced files left because they are younger than the minimum age (possibly writes in progress)."""
    skipped: str = ""
    """Why a step was skipped (gc.enabled false, a file system that cannot be listed)."""


def window_start_ms(now_ms: int, retention_days: int | None) -> int | None:
    """Start of the retention window (None: kept forever, nothing expires)."""
    return None if retention_days is None else now_ms - retention_days * DAY_MS


def superseded_at(metadata: Any) -> dict[int, int]:
    """For each snapshot that was the table's current state, the last time another snapshot replaced it (from the
    snapshot log). The snapshot current now has no entry."""
    log = list(metadata.snapshot_log)
    ends: dict[int, int] = {}
    for entry, after in zip(log, log[1:]):
        if after.snapshot_id != entry.snapshot_id:
            ends[entry.snapshot_id] = max(ends.get(entry.snapshot_id, 0), after.timestamp_ms)
    if log:
        ends.pop(log[-1].snapshot_id, None)
    return ends


def snapshots_to_expire(metadata: Any, start_ms: int | None) -> list[int]:
    """Snapshots no restore within the window needs: not the head of a branch or tag, and replaced as the current
    state before the window starts (snapshots never current on main count from their own timestamp)."""
    if start_ms is None:
        return []
    protected = {ref.snapshot_id for ref in metadata.refs.values()}
    log = list(metadata.snapshot_log)
    current = log[-1].snapshot_id if log else None
    ends = superseded_at(metadata)
    expired = []
    for snapshot in metadata.snapshots:
        sid = snapshot.snapshot_id
        if sid in protected or sid == current:
            continue
        if ends.get(sid, snapshot.timestamp_ms) < start_ms:
            expired.append(sid)
    return sorted(expired)


ManifestCache = dict[str, frozenset[str]]
"""Live files of each manifest read so far, by manifest path (manifests are immutable: safe to reuse in one run)."""


def snapshot_files(io: Any, snapshot: Any, cache: ManifestCache | None = None) -> set[str]:
    """Every file a snapshot reads: its manifest list, its manifests and their live data and delete files."""
    cache = {} if cache is None else cache
    files = {snapshot.manifest_list}
    for manifest in snapshot.manifests(io):
        files.add(manifest.manifest_path)
        if manifest.manifest_path not in cache:
            cache[manifest.manifest_path] = frozenset(
                entry.data_file.file_path for entry in manifest.fetch_manifest_entry(io, discard_deleted=True))
        files |= cache[manifest.manifest_path]
    return files


def referenced_files(table: Any, cache: ManifestCache | None = None) -> set[str]:
    """Files the table's current metadata needs: every kept snapshot's files, statistics, the metadata file and
    the metadata log."""
    metadata = table.metadata
    files: set[str] = {table.metadata_location}
    files.update(entry.metadata_file for entry in metadata.metadata_log)
    files.update(stat.statistics_path for stat in getattr(metadata, "statistics", []) or [])
    files.update(stat.statistics_path for stat in getattr(metadata, "partition_statistics", []) or [])
    for snapshot in metadata.snapshots:
        files |= snapshot_files(table.io, snapshot, cache)
    return files


def list_files(table: Any) -> dict[str, tuple[int, int | None]] | None:
    """Every file under the table's location: URI -> (size in bytes, modification time in ms). None when the
    table's FileIO cannot list (only pyarrow's file systems are listed)."""
    from pyarrow.fs import FileSelector, FileType

    io = table.io
    if not hasattr(io, "fs_by_scheme") or not hasattr(io, "parse_location"):
        return None
    scheme, netloc, path = io.parse_location(table.location())
    fs = io.fs_by_scheme(scheme, netloc)
    found: dict[str, tuple[int, int | None]] = {}
    for info in fs.get_file_info(FileSelector(path.rstrip("/"), recursive=True, allow_not_found=True)):
        if info.type != FileType.File:
            continue
        mtime = int(info.mtime.timestamp() * 1000) if info.mtime is not None else None
        found[f"{scheme}://{info.path}"] = (int(info.size or 0), mtime)
    return found


def _delete(table: Any, paths: set[str], sizes: dict[str, tuple[int, int | None]]) -> tuple[int, int]:
    deleted = size = 0
    for path in sorted(paths):
        table.io.delete(path)
        deleted += 1
        size += sizes.get(path, (0, None))[0]
    return deleted, size


def expire(catalog: Any, identifier: str, now_ms: int, retention_days: int | None, report: TableReport,
           cache: ManifestCache | None = None) -> Any:
    """Step 1 and 2: expire the snapshots the window does not need, then delete the files only they read."""
    from pyiceberg.exceptions import CommitFailedException

    cache = {} if cache is None else cache
    table = catalog.load_table(identifier)
    report.snapshots_before = len(table.metadata.snapshots)
    start = window_start_ms(now_ms, retention_days)
    for attempt in range(COMMIT_ATTEMPTS):
        doomed = snapshots_to_expire(table.metadata, start)
        if not doomed:
            break
        kept = [s for s in table.metadata.snapshots if s.snapshot_id not in doomed]
        kept_files: set[str] = set()
        for snapshot in kept:
            kept_files |= snapshot_files(table.io, snapshot, cache)
        doomed_files: set[str] = set()
        for snapshot in table.metadata.snapshots:
            if snapshot.snapshot_id in doomed:
                doomed_files |= snapshot_files(table.io, snapshot, cache)
        try:
            table.maintenance.expire_snapshots().by_ids(doomed).commit()
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise
            table = catalog.load_table(identifier)
            continue
        sizes = list_files(table) or {}
        deleted, size = _delete(table, doomed_files - kept_files, sizes)
        report.snapshots_expired = doomed
        report.expired_files_deleted, report.expired_bytes_deleted = deleted, size
        table = catalog.load_table(identifier)
        break
    report.snapshots_after = len(table.metadata.snapshots)
    report.oldest_kept_timestamp_ms = min((s.timestamp_ms for s in table.metadata.snapshots), default=None)
    return table


def remove_orphans(table: Any, now_ms: int, min_age_days: int, report: TableReport, cache: ManifestCache | None = None) -> None:
    """Step 3: delete files under the table's location that nothing references, once older than ``min_age_days``."""
    listing = list_files(table)
    if listing is None:
        report.skipped = "the table's FileIO cannot list its location: orphan files not looked for"
        return
    referenced = referenced_files(table, cache)
    threshold = now_ms - min_age_days * DAY_MS
    orphans = {path for path in listing if path not in referenced}
    old = {path for path in orphans if (listing[path][1] or now_ms) < threshold}
    report.orphans_found = len(orphans)
    report.orphans_too_young = len(orphans - old)
    report.orphans_deleted, report.orphan_bytes_deleted = _delete(table, old, listing)


def maintain_table(catalog: Any, identifier: str, now_ms: int, retention_days: int | None,
                   orphan_min_age_days: int) -> TableReport:
    """Expire, delete the expired files and remove orphans of one table (tables with gc.enabled=false are left alone)."""
    report = TableReport(table=identifier)
    table = catalog.load_table(identifier)
    if str(table.properties.get(GC_ENABLED, "true")).lower() == "false":
        report.snapshots_before = report.snapshots_after = len(table.metadata.snapshots)
        report.skipped = "gc.enabled is false: the table's files may not be deleted"
        return report
    cache: ManifestCache = {}
    table = expire(catalog, identifier, now_ms, retention_days, report, cache)
    remove_orphans(table, now_ms, orphan_min_age_days, report, cache)
    return report


def tables(catalog: Any) -> list[str]:
    """Every table of the catalog, in every namespace (nested namespaces included), as dotted identifiers."""
    found: list[str] = []
    pending = [tuple(ns) for ns in catalog.list_namespaces()]
    seen: set[tuple[str, ...]] = set()
    while pending:
        namespace = pending.pop()
        if namespace in seen:
            continue
        seen.add(namespace)
        found += [".".join(identifier) for identifier in catalog.list_tables(namespace)]
        pending += [tuple(child) for child in catalog.list_namespaces(namespace) if tuple(child) not in seen]
    return sorted(found)


def maintain_catalog(catalog: Any, now_ms: int, retention_days: int | None, orphan_min_age_days: int) -> list[TableReport]:
    """Maintain every table; a table that fails is reported (``skipped`` names the error) and the rest go on."""
    reports = []
    for identifier in tables(catalog):
        try:
            reports.append(maintain_table(catalog, identifier, now_ms, retention_days, orphan_min_age_days))
        except Exception as exc:  # noqa: BLE001 - one broken table must not stop the others' maintenance
            reports.append(TableReport(table=identifier, skipped=f"failed: {type(exc).__name__}: {exc}"))
    return reports


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def main(argv: list[str] | None = None) -> int:
    """The CronJob's entry point: maintain every table of the REST catalog; exit 1 when a table failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--catalog-uri", required=True, help="Iceberg REST catalog URI")
    parser.add_argument("--warehouse", required=True, help="catalog (warehouse) name")
    parser.add_argument("--client-id-file", required=True, help="file holding the catalog principal's client id")
    parser.add_argument("--client-secret-file", required=True, help="file holding the catalog principal's client secret")
    parser.add_argument("--scope", default="PRINCIPAL_ROLE:ALL", help="OAuth scope of the catalog token")
    parser.add_argument("--retention-days", type=int, default=None, help="history kept, days (omit: forever)")
    parser.add_argument("--orphan-min-age-days", type=int, required=True, help="minimum age of an orphan file to delete")
    args = parser.parse_args(argv)

    from pyiceberg.catalog import load_catalog

    catalog = load_catalog("platform", **{
        "type": "rest", "uri": args.catalog_uri, "warehouse": args.warehouse, "scope": args.scope,
        "credential": f"{_read(args.client_id_file)}:{_read(args.client_secret_file)}",
        "py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
    })
    reports = maintain_catalog(catalog, int(time.time() * 1000), args.retention_days, args.orphan_min_age_days)
    for report in reports:
        print(json.dumps(asdict(report), sort_keys=True))
    failed = [r.table for r in reports if r.skipped.startswith("failed")]
    if failed:
        print(f"maintenance failed for {len(failed)} table(s): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
