"""Environments are typed overlays of one base; what they change is what the cloud needs apart."""

from __future__ import annotations


def test_environments_do_not_share_global_bucket_names(platforms) -> None:
    """Bucket names are global on AWS, GCP and Azure: two environments writing one bucket would clash."""
    seen: dict[str, str] = {}
    for env, platform in sorted(platforms.items()):
        buckets = {b.bucket for b in platform.backups if b.bucket} | {platform.datastores.iceberg.warehouse_bucket}
        buckets |= {r.bucket for r in (platform.observability.loki, platform.observability.tempo) if getattr(r, "bucket", None)}
        for bucket in buckets:
            assert bucket not in seen, f"{env} and {seen.get(bucket)} both use bucket {bucket}"
            seen[bucket] = env


def test_backup_rows_are_overlaid_by_data_set(platforms) -> None:
    prod, staging = platforms["prod"], platforms["staging"]
    assert prod.backup_for("postgres").bucket == "plinth-backups-postgres"
    assert staging.backup_for("postgres").bucket == "plinth-staging-backups-postgres"
    # everything else of the row is the base's
    assert staging.backup_for("postgres").retention_days == prod.backup_for("postgres").retention_days
    assert staging.backup_for("postgres").schedule == prod.backup_for("postgres").schedule
