"""The drills' settings, read from the spec (never retyped), with the server configuration the components
render (the postgres component's postgresql.conf parameters, the redis component's redis.conf and Sentinel
directives), so the local drills and the cluster drill exercise exactly what the platform runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from plinth.cloud.layout import bucket_lifecycle
from plinth.components import iceberg_catalog, postgres, redis
from plinth.components.kafka import broker_config, topics
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.spec.derived import buckets, retention
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


@dataclass(frozen=True)
class KafkaDrillSettings:
    """What the Kafka drill needs from the spec."""

    version: str
    """datastores.kafka.version: the Apache Kafka release run."""
    brokers: int
    """datastores.kafka.brokers."""
    controllers: int
    """datastores.kafka.controllers: KRaft controller quorum voters."""
    replication_factor: int
    """datastores.kafka.default_replication_factor."""
    min_insync_replicas: int
    """datastores.kafka.min_insync_replicas."""
    unclean_leader_election: bool
    """datastores.kafka.unclean_leader_election."""
    topic: str
    """The spec's topic with the most partitions (the drill writes a scaled-down copy of it)."""
    topic_partitions: int
    """Its partitions in the spec."""
    zones: list[str]
    """cluster.zones: brokers get them as broker.rack, as Strimzi's rack awareness does."""
    broker_memory_limit: str
    """datastores.kafka.resources.limits_memory (shown next to the drill's small heaps)."""
    controller_memory_limit: str
    """datastores.kafka.controller_resources.limits_memory."""
    rto_seconds: int
    """datastores.kafka.ha.rto_seconds."""
    rpo_seconds: int
    """datastores.kafka.ha.rpo_seconds."""
    broker_config: dict[str, Any] = field(default_factory=dict)
    """The broker settings the platform renders into the Strimzi Kafka object (components.kafka.broker_config)."""
    topic_config: dict[str, Any] = field(default_factory=dict)
    """Topic-level settings the platform renders into its KafkaTopics."""

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the report."""
        return asdict(self)


@dataclass(frozen=True)
class IcebergDrillSettings:
    """What the Iceberg drill needs from the spec: the retention the maintenance keeps and the lifecycle of the bucket."""

    retention_days: int | None
    """backups[iceberg].retention_days (None: forever): the maintenance's --retention-days."""
    location: str
    """backups[iceberg].location (multi-region: the bucket is copied to the DR region)."""
    bucket_noncurrent_days: int | None
    """Days the warehouse bucket keeps a deleted or overwritten object's version (the cloud layer's lifecycle)."""
    bucket_current_days: int | None
    """Days after which the bucket deletes current objects (None for live data such as the warehouse)."""
    orphan_file_min_age_days: int
    """datastores.iceberg.maintenance.orphan_file_min_age_days."""
    maintenance_schedule: str
    """datastores.iceberg.maintenance.schedule."""
    maintenance_args: list[str]
    """The maintenance CronJob's arguments as rendered (retention and orphan age among them)."""
    database: str
    """datastores.iceberg.catalog.database: the catalog's PostgreSQL database (the drill's catalog uses the same name)."""
    warehouse: str
    """datastores.iceberg.catalog.warehouse."""

    def as_dict(self) -> dict[str, object]:
        """Plain dict for the report."""
        return asdict(self)


def iceberg_settings(platform: Platform) -> IcebergDrillSettings:
    """Iceberg drill settings from the spec, the maintenance arguments and bucket lifecycle exactly as rendered/created."""
    row = next((b for b in platform.backups if b.data == "iceberg"), None)
    target = next(b for b in buckets(platform) if b.key == "iceberg")
    lifecycle = bucket_lifecycle(target)
    iceberg = platform.datastores.iceberg
    return IcebergDrillSettings(
        retention_days=iceberg_catalog.retention_days(platform), location=row.location if row else target.location,
        bucket_noncurrent_days=lifecycle.noncurrent_days, bucket_current_days=lifecycle.current_days,
        orphan_file_min_age_days=iceberg.maintenance.orphan_file_min_age_days, maintenance_schedule=iceberg.maintenance.schedule,
        maintenance_args=iceberg_catalog.maintenance_args(platform), database=iceberg.catalog.database,
        warehouse=iceberg.catalog.warehouse,
    )


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


def kafka_settings(platform: Platform) -> KafkaDrillSettings:
    """Kafka drill settings from the spec; broker and topic settings exactly as the platform renders them."""
    k = platform.datastores.kafka
    topic = max(k.topics, key=lambda t: (t.partitions, t.name))
    rendered_topic = next(t for t in topics(platform) if t["spec"]["topicName"] == topic.name)
    topic_config = {key: value for key, value in rendered_topic["spec"]["config"].items() if key != "retention.ms"}
    return KafkaDrillSettings(
        version=k.version, brokers=k.brokers, controllers=k.controllers,
        replication_factor=k.default_replication_factor, min_insync_replicas=k.min_insync_replicas,
        unclean_leader_election=k.unclean_leader_election, topic=topic.name, topic_partitions=topic.partitions,
        zones=list(platform.cluster.zones), broker_memory_limit=str(k.resources.limits_memory),
        controller_memory_limit=str(k.controller_resources.limits_memory),
        rto_seconds=int(k.ha.rto_seconds), rpo_seconds=int(k.ha.rpo_seconds),
        broker_config=dict(broker_config(platform)), topic_config=topic_config,
    )


def kafka_properties(values: dict[str, Any]) -> dict[str, str]:
    """Kafka settings as server.properties / topic-config strings (booleans lower-case, as Kafka reads them)."""
    return {key: (str(value).lower() if isinstance(value, bool) else str(value)) for key, value in values.items()}


def barman_retention_policy(settings: PostgresDrillSettings) -> str | None:
    """The barman retention policy of the spec's backup retention ("RECOVERY WINDOW OF 30 DAYS"); None when the
    backups are kept forever (no policy: nothing is deleted)."""
    days = retention(settings.backup_retention_days).days
    return None if days is None else f"RECOVERY WINDOW OF {days} DAYS"
