"""The drills' settings, read from the spec (never retyped), with the server configuration the components
render (the postgres component's postgresql.conf parameters, the redis component's redis.conf and Sentinel
directives), so the local drills and the cluster drill exercise exactly what the platform runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from plinth.components import postgres, redis
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.spec.derived import retention
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
    server_parameters: dict[str, str]
    """postgresql.conf parameters the postgres component renders into the Cluster (archive_timeout)."""

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
    server_directives: dict[str, str]
    """redis.conf directives the redis component renders into the RedisReplication."""
    sentinel_directives: tuple[str, ...]
    """sentinel.conf lines the redis component's RedisSentinel settings amount to (for the drill's master name)."""

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
        server_parameters=postgres.postgresql_parameters(platform),
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
        server_directives=redis.redis_directives(platform),
        sentinel_directives=tuple(redis.sentinel_directives(platform, DATASTORE_NAMES["redis"])),
    )


def barman_retention_policy(settings: PostgresDrillSettings) -> str | None:
    """The barman retention policy of the spec's backup retention ("RECOVERY WINDOW OF 30 DAYS"); None when the
    backups are kept forever (no policy: nothing is deleted)."""
    days = retention(settings.backup_retention_days).days
    return None if days is None else f"RECOVERY WINDOW OF {days} DAYS"
