"""The drills' settings, read from the spec (never retyped), and the server configuration made from them.

The same functions feed the local drills (config files for Debian's servers) and the cluster drill
(manifests), so both exercise the numbers the platform is rendered with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from plinth.spec.model import Platform


@dataclass(frozen=True)
class PostgresDrillSettings:
    """What the PostgreSQL drills need from the spec."""

    archive_timeout_seconds: int
    """datastores.postgres.archive_timeout_seconds: longest wait before a WAL segment is archived."""
    synchronous_standbys: int
    """datastores.postgres.synchronous_standbys: standbys that confirm each commit."""
    instances: int
    """datastores.postgres.instances: primary plus replicas."""
    rto_seconds: int
    """datastores.postgres.ha.rto_seconds."""
    rpo_seconds: int
    """datastores.postgres.ha.rpo_seconds."""
    backup_retention_days: int | str
    """backups[postgres].retention_days."""
    backup_interval_seconds: int
    """backups[postgres]: seconds between base backups."""
    region_rto_seconds: int | None
    """recovery[region].rto_seconds: the manual region failover's RTO."""

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the report."""
        return asdict(self)


@dataclass(frozen=True)
class RedisDrillSettings:
    """What the Redis drill needs from the spec."""

    nodes: int
    sentinels: int
    sentinel_quorum: int
    down_after_seconds: int
    failover_timeout_seconds: int
    min_replicas_to_write: int
    min_replicas_max_lag_seconds: int
    appendonly: bool
    appendfsync: str
    rto_seconds: int
    rpo_seconds: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the report."""
        return asdict(self)


def region_rto_seconds(platform: Platform) -> int | None:
    """RTO of the recovery procedure for region loss, if the spec states one."""
    for procedure in platform.recovery:
        if procedure.failure == "region":
            return procedure.rto_seconds
    return None


def postgres_settings(platform: Platform) -> PostgresDrillSettings:
    """PostgreSQL drill settings from the spec."""
    pg = platform.datastores.postgres
    backup = platform.backup_for("postgres")
    return PostgresDrillSettings(
        archive_timeout_seconds=int(pg.archive_timeout_seconds),
        synchronous_standbys=pg.synchronous_standbys,
        instances=pg.instances,
        rto_seconds=int(pg.ha.rto_seconds),
        rpo_seconds=int(pg.ha.rpo_seconds),
        backup_retention_days=backup.retention_days,
        backup_interval_seconds=backup.interval_seconds,
        region_rto_seconds=region_rto_seconds(platform),
    )


def redis_settings(platform: Platform) -> RedisDrillSettings:
    """Redis drill settings from the spec."""
    r = platform.datastores.redis
    return RedisDrillSettings(
        nodes=r.nodes, sentinels=r.sentinels, sentinel_quorum=r.sentinel_quorum,
        down_after_seconds=int(r.down_after_seconds), failover_timeout_seconds=int(r.failover_timeout_seconds),
        min_replicas_to_write=r.min_replicas_to_write, min_replicas_max_lag_seconds=int(r.min_replicas_max_lag_seconds),
        appendonly=r.appendonly, appendfsync=r.appendfsync,
        rto_seconds=int(r.ha.rto_seconds), rpo_seconds=int(r.ha.rpo_seconds),
    )


def barman_retention_policy(settings: PostgresDrillSettings) -> str | None:
    """The barman retention policy of the spec's backup retention ("RECOVERY WINDOW OF 30 DAYS"); None = forever."""
    if isinstance(settings.backup_retention_days, int):
        return f"RECOVERY WINDOW OF {settings.backup_retention_days} DAYS"
    return None


def postgres_archiving_parameters(settings: PostgresDrillSettings) -> dict[str, str]:
    """postgresql.conf parameters the spec sets for WAL archiving (the same go into the CloudNativePG Cluster)."""
    return {"archive_timeout": f"{settings.archive_timeout_seconds}s"}


def redis_server_directives(settings: RedisDrillSettings) -> dict[str, str]:
    """redis.conf directives the spec sets (persistence and the write guard)."""
    return {
        "appendonly": "yes" if settings.appendonly else "no",
        "appendfsync": settings.appendfsync,
        "min-replicas-to-write": str(settings.min_replicas_to_write),
        "min-replicas-max-lag": str(settings.min_replicas_max_lag_seconds),
    }


def sentinel_directives(settings: RedisDrillSettings, master_name: str) -> list[str]:
    """sentinel.conf lines the spec sets for ``master_name`` (after its ``sentinel monitor`` line)."""
    return [
        f"sentinel down-after-milliseconds {master_name} {settings.down_after_seconds * 1000}",
        f"sentinel failover-timeout {master_name} {settings.failover_timeout_seconds * 1000}",
        f"sentinel parallel-syncs {master_name} 1",
    ]
