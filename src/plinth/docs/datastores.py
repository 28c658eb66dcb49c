"""``docs/datastores.md``: per data store, which failures each promise covers and the RTO/RPO the
rendered configuration really gives, computed from the spec (one number, read from one place).

Measured facts quoted here come from ``../shared/design/dr-facts.md`` (real servers killed with SIGKILL).
"""

from __future__ import annotations

from dataclasses import dataclass

from plinth.spec.derived import backup_retention, backup_target, region_loss
from plinth.spec.model import Backup, HAPromise, Platform, RecoveryProcedure
from plinth.spec.types import format_duration

FAILURES = ("pod", "node", "zone", "region")


@dataclass(frozen=True)
class Outcome:
    """What one failure does to one data store with this configuration."""

    failure: str
    mechanism: str
    rto: str
    rpo: str


@dataclass(frozen=True)
class StoreReport:
    """A data store's promise and the outcome of each failure."""

    title: str
    setup: str
    promise: HAPromise
    outcomes: tuple[Outcome, ...]
    notes: tuple[str, ...] = ()


def _d(seconds: int) -> str:
    return format_duration(seconds)


def _region(platform: Platform) -> RecoveryProcedure | None:
    return next((r for r in platform.recovery if r.failure == "region"), None)


def _region_rto(platform: Platform) -> str:
    proc = _region(platform)
    if proc is None or proc.rto_seconds is None:
        return "manual, no target"
    return f"{_d(proc.rto_seconds)} ({'automated' if proc.automated else 'manual'} region failover)"


def _where(platform: Platform, backup: Backup) -> str:
    target = backup_target(platform, backup.data)
    copy = f", copied to `{target.copy.url()}` in {target.copy.region}" if target.copy else ""
    return f"`{target.primary.url(target.prefix)}` in {target.primary.region} ({backup.location}{copy})"


def _kept(backup: Backup) -> str:
    return f"kept {backup_retention(backup)}"


def postgres(platform: Platform) -> StoreReport:
    """PostgreSQL: synchronous standbys in-region, WAL archive + hourly base backups across regions."""
    pg = platform.datastores.postgres
    b = platform.backup_for("postgres")
    inside = Outcome("pod", f"CloudNativePG promotes a synchronous standby ({pg.synchronous_standbys} of {pg.instances - 1} must confirm every commit, dataDurability required)",
                     f"{_d(pg.ha.rto_seconds)} promised; failover itself takes seconds (measured 9-22 s with Patroni timers)", "0 for committed transactions")
    return StoreReport(
        "PostgreSQL (CloudNativePG)",
        f"{pg.instances} instances (1 primary + {pg.instances - 1} standbys), one per zone, synchronous `any {pg.synchronous_standbys}`; "
        f"PgBouncer pooler x{pg.pooler_instances}; WAL archived at least every {_d(pg.archive_timeout_seconds)} and {b.frequency} base backups "
        f"(`{b.schedule}`) {_kept(b)} in {_where(platform, b)}.",
        pg.ha,
        (
            inside,
            Outcome("node", "as for a pod: one instance per node and zone, so a node takes at most one instance", inside.rto, inside.rpo),
            Outcome("zone", f"the remaining {pg.instances - 1} instances still include {pg.synchronous_standbys} synchronous standby: commits continue", inside.rto, inside.rpo),
            Outcome("region", f"restore a new Cluster in {platform.cluster.dr_region} from the latest base backup plus the WAL archive "
                    "in the bucket's DR copy (Barman Cloud Plugin)",
                    f"{_region_rto(platform)}; the restore replays at most {_d(b.interval_seconds)} of WAL (measured ~94 s for 0.9 GB)",
                    f"{region_loss(platform, 'postgres').describe()}; not 0"),
        ),
        ("A client that cancels a commit stuck waiting for the standby gets 'committed locally': that commit can be lost (dr-facts).",),
    )


def clickhouse(platform: Platform) -> StoreReport:
    """ClickHouse: replicated tables with insert_quorum in-region, daily backups across regions."""
    ch = platform.datastores.clickhouse
    b = platform.backup_for("clickhouse")
    survives = ch.replicas - ch.insert_quorum
    keeper_losses = (ch.keeper_nodes - 1) // 2
    inside_rpo = "0 for inserts acknowledged with insert_quorum" if survives >= 1 else "inserts acknowledged by the lost replicas"
    inside = Outcome("pod", f"replicas continue; insert_quorum {ch.insert_quorum} of {ch.replicas} keeps accepting inserts while {survives} replica(s) are down; "
                     f"Keeper ({ch.keeper_nodes} nodes) survives {keeper_losses} loss(es)", f"{_d(ch.ha.rto_seconds)} promised (queries move to the other replicas at once)", inside_rpo)
    return StoreReport(
        "ClickHouse (Altinity operator + ClickHouse Keeper)",
        f"{ch.shards} shard(s) x {ch.replicas} replicas, one per node, spread over the zones; Keeper {ch.keeper_nodes} nodes; "
        f"`insert_quorum` {ch.insert_quorum}; {b.frequency} clickhouse-backup (`{b.schedule}`) {_kept(b)} in {_where(platform, b)}.",
        ch.ha,
        (
            inside,
            Outcome("node", inside.mechanism, inside.rto, inside.rpo),
            Outcome("zone", "one replica and one Keeper node per zone: a zone takes one of each", inside.rto, inside.rpo),
            Outcome("region", f"restore the latest {b.frequency} backup from the bucket's DR copy into a new installation in {platform.cluster.dr_region}",
                    _region_rto(platform), f"{region_loss(platform, 'clickhouse').describe()}; not {_d(ch.ha.rpo_seconds)}"),
        ),
        ("Inserts sent without insert_quorum (a client override) are acknowledged by one replica and can be lost with it.",),
    )


def redis(platform: Platform) -> StoreReport:
    """Redis: asynchronous replication with Sentinel; no cross-region copy."""
    r = platform.datastores.redis
    inside = Outcome("pod", f"Sentinel ({r.sentinels} pods, quorum {r.sentinel_quorum}) promotes a replica after {_d(r.down_after_seconds)} down-after "
                     f"(measured ~6 s at 5 s); the primary refuses writes unless {r.min_replicas_to_write} replica(s) lag < {_d(r.min_replicas_max_lag_seconds)}",
                     f"{_d(r.ha.rto_seconds)} promised; ~{_d(r.down_after_seconds)} + election in practice",
                     f"up to {_d(r.rpo_floor_seconds)} of acknowledged writes (asynchronous replication)")
    return StoreReport(
        "Redis (OT redis-operator: RedisReplication + RedisSentinel)",
        f"{r.nodes} Redis pods (1 primary + {r.nodes - 1} replicas) and {r.sentinels} Sentinels, one per node, spread over the zones; "
        f"`min-replicas-to-write {r.min_replicas_to_write}`, `min-replicas-max-lag {r.min_replicas_max_lag_seconds}`, "
        f"`appendonly {'yes' if r.appendonly else 'no'}`, `appendfsync {r.appendfsync}`; no backup row.",
        r.ha,
        (
            inside,
            Outcome("node", inside.mechanism, inside.rto, inside.rpo),
            Outcome("zone", "one Redis pod and one Sentinel per zone: Sentinel keeps its quorum and fails over", inside.rto, inside.rpo),
            Outcome("region", "nothing to restore: Redis has no cross-region copy; it starts empty in the DR region", _region_rto(platform),
                    region_loss(platform, "redis").describe()),
        ),
        ("The design promised RPO 0; Redis cannot give it (Sentinel 'does not guarantee that acknowledged writes are retained'). "
         "One measured run at down-after 1 s had two primaries for ~11 s and lost 2,006 of 5,022 acknowledged writes.",),
    )


def kafka(platform: Platform) -> StoreReport:
    """Kafka: RF across zones with min ISR; no cross-region replication."""
    k = platform.datastores.kafka
    inside = Outcome("pod", f"partition leadership moves to an in-sync replica; acks=all writes are on >= {k.min_insync_replicas} brokers in different zones (rack awareness)",
                     f"{_d(k.ha.rto_seconds)} promised; leader election takes seconds", "0 for acks=all writes")
    return StoreReport(
        "Kafka (Strimzi, KRaft)",
        f"{k.brokers} brokers and {k.controllers} KRaft controllers, rack-aware by zone; replication factor {k.default_replication_factor}, "
        f"`min.insync.replicas` {k.min_insync_replicas}, unclean leader election {'on' if k.unclean_leader_election else 'off'}; "
        f"topics: {', '.join(t.name for t in k.topics)}; no backup row.",
        k.ha,
        (
            inside,
            Outcome("node", inside.mechanism, inside.rto, inside.rpo),
            Outcome("zone", f"each partition keeps {k.default_replication_factor - 1} replicas in the other zones, still >= min.insync.replicas", inside.rto, inside.rpo),
            Outcome("region", "no cross-region replication (no MirrorMaker 2): topics start empty in the DR region; producers replay from their sources",
                    _region_rto(platform), f"{region_loss(platform, 'kafka').describe()}: messages not yet consumed into ClickHouse/Iceberg"),
        ),
        ("RPO 0 needs producers with acks=all; 'committed' means in the page cache of the in-sync replicas, not fsynced.",),
    )


def cluster_state(platform: Platform) -> StoreReport | None:
    """Velero: objects not held in Git."""
    try:
        b = platform.backup_for("cluster-state")
    except KeyError:
        return None
    return StoreReport(
        "Cluster state (Velero) and configuration (Git + Argo CD)",
        f"rendered objects live in Git and Argo CD re-applies them; Velero backs up the platform namespaces' objects {b.frequency} (`{b.schedule}`), "
        f"{_kept(b)} in {_where(platform, b)}; volumes are left to each data store's own backup.",
        HAPromise(strategy="Git + Velero", rto_seconds=0, rpo_seconds=0, covers=["pod", "node", "zone"]),
        (
            Outcome("pod", "controllers recreate objects from their owners", "seconds", "0"),
            Outcome("node", "as for a pod", "seconds", "0"),
            Outcome("zone", "as for a pod", "seconds", "0"),
            Outcome("region", f"Argo CD syncs Git into the DR cluster; Velero restores the rest from the bucket's copy in {platform.cluster.dr_region}",
                    _region_rto(platform), f"0 for Git; {region_loss(platform, 'cluster-state').describe()} for objects only in the cluster"),
        ),
    )


def reports(platform: Platform) -> list[StoreReport]:
    """Every data store's report, in the design's order."""
    result = [postgres(platform), clickhouse(platform), redis(platform), kafka(platform)]
    state = cluster_state(platform)
    return result + ([state] if state else [])


def render_markdown(platform: Platform) -> str:
    """The whole page for one environment's spec."""
    lines = [
        "# Data stores: failures covered, RTO and RPO",
        "",
        f"Generated by `plinth generate` from `platform.yaml` (environment `{platform.environment}`); do not edit by hand.",
        f"Cluster region {platform.cluster.region}, DR region {platform.cluster.dr_region}. "
        "\"Promise\" is the spec's HA row; the table says what the rendered configuration really gives.",
        "",
    ]
    for rep in reports(platform):
        p = rep.promise
        lines += [
            f"## {rep.title}",
            "",
            rep.setup,
            "",
            f"Promise: {p.strategy}, RTO {_d(p.rto_seconds)}, RPO {_d(p.rpo_seconds)}, covering {', '.join(p.covers)}."
            + (f" Note: {p.note}." if p.note else ""),
            "",
            "| Failure | Covered by the promise | What happens | RTO | RPO |",
            "|---|---|---|---|---|",
        ]
        for o in rep.outcomes:
            covered = "yes" if o.failure in p.covers else "no (DR plan)"
            lines.append(f"| {o.failure} | {covered} | {o.mechanism} | {o.rto} | {o.rpo} |")
        lines.append("")
        lines += [f"- {n}" for n in rep.notes]
        if rep.notes:
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
