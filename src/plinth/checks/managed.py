"""Cloud-managed stores (``managed_by: cloud``): the spec's HA and backup rows against what the cloud's service gives.

Nothing of such a store is rendered (no operator, no custom resource), so the in-cluster checks skip it; these judge the
managed service the cloud layer builds, as ``plinth.catalog.managed_stores`` decides it (sizes, standby, backups), with
the documented limits of each cloud's service (``catalog/data/managed-stores.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator

from plinth.catalog.managed_stores import managed_store, managed_store_list
from plinth.checks.engine import Check, CheckContext, Finding
from plinth.spec.derived import backup_retention
from plinth.spec.types import format_duration


def managed_store_keeps_its_ha_promise(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A managed store promised to survive a zone loss has its standby or replicas in other zones; RPO 0 needs a
    synchronous standby; the RTO is not shorter than the service's documented failover time."""
    for store in managed_store_list(ctx.platform):
        ha = getattr(ctx.platform.datastores, store.store).ha
        ref = ctx.spec_ref(f"datastores.{store.store}.ha.covers")
        if not store.fits:
            yield check.finding(ctx, ctx.spec_ref(f"datastores.{store.store}.resources.limits_cpu"), f"datastores.{store.store}.resources",
                                f"no {store.service} size holds {store.wanted} (the limits of datastores.{store.store}.resources); "
                                f"the largest Plinth knows is {store.instance_class}")
        if "zone" in ha.covers and not store.zone_redundant:
            yield check.finding(ctx, ref, f"datastores.{store.store}.ha.covers",
                                f"{store.store} promises to survive a zone loss, but {store.service} {store.instance_class} has no "
                                "standby in another zone")
        if ha.rpo_seconds == 0 and not store.synchronous_standby:
            yield check.finding(ctx, ref, f"datastores.{store.store}.ha.rpo_seconds",
                                f"{store.store} promises RPO 0, but {store.service} replicates asynchronously: a failover can lose "
                                "acknowledged writes")
        if ha.rto_seconds < store.failover_seconds:
            yield check.finding(ctx, ref, f"datastores.{store.store}.ha.rto_seconds",
                                f"{store.store} promises RTO {format_duration(ha.rto_seconds)}, but a {store.service} failover takes "
                                f"up to {format_duration(store.failover_seconds)} ({store.sources[0]})")


def managed_postgres_keeps_its_backup_row(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A managed PostgreSQL keeps automated backups as long as the spec's backup row says (the service's maximum is a
    hard limit), recovers between backups with point-in-time recovery when the row is more often than daily, and copies
    its backups out of the region when the row is cross-region."""
    store = managed_store(ctx.platform, "postgres")
    if store is None:
        return
    index, backup = next((i, b) for i, b in enumerate(ctx.platform.backups) if b.data == "postgres")
    kept = backup_retention(backup)
    row = f"backups.{index}"
    if kept.days is None or kept.days > store.backup_retention_max_days:
        yield check.finding(ctx, ctx.spec_ref(f"{row}.retention_days"), f"{row}.retention_days",
                            f"the postgres backup row keeps {kept}, but {store.service} keeps automated backups at most "
                            f"{store.backup_retention_max_days} days: older restore points are lost (shorten the retention, or "
                            f"export snapshots elsewhere) ({store.sources[1]})")
    if backup.interval_seconds is not None and backup.interval_seconds < 86400 and not store.pitr:
        yield check.finding(ctx, ctx.spec_ref(f"{row}.frequency"), f"{row}.frequency",
                            f"the postgres backup row is {backup.frequency}, but {store.service} takes one automated backup a day "
                            "and has no point-in-time recovery here: a restore loses up to a day")
    if backup.location in ("cross-region", "multi-region") and store.backup_copy is None:
        yield check.finding(ctx, ctx.spec_ref(f"{row}.location"), f"{row}.location",
                            f"the postgres backup row is {backup.location}, but {store.service}'s backups stay in "
                            f"{ctx.platform.cluster.region}: a region loss takes them with it")


CHECKS: tuple[Check, ...] = (
    Check("PL-MGD-001", "error", "promise", "A cloud-managed store keeps its HA promise (zone standby, RPO 0, failover time)",
          "Use the service's zone-redundant mode (RDS Multi-AZ, Cloud SQL regional, Azure zone-redundant HA), or state the "
          "promise the service gives in datastores.<store>.ha.",
          managed_store_keeps_its_ha_promise),
    Check("PL-MGD-002", "error", "promise", "A cloud-managed PostgreSQL keeps the spec's backup row (retention, PITR, copy)",
          "Keep backups[postgres].retention_days within the service's automated backup maximum (RDS and Azure 35 days), "
          "keep point-in-time recovery on, and copy backups to cluster.dr_region for a cross-region row.",
          managed_postgres_keeps_its_backup_row),
)
