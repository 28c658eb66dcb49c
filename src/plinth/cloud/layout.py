"""What the cloud layer builds, decided once from the spec and shared by the three clouds' programs.

Nothing here imports Pulumi: it turns the spec into plain records (node pools with their instance type,
buckets with retention and replication, workload identities) that each cloud's program then creates
with its own resources, and that the tests compare the created resources against.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from plinth.cloud.instances import InstanceType, instance_for
from plinth.render.scheduling import POOL_LABEL
from plinth.spec.model import Platform, Taint

NETWORK_CIDR = "10.0.0.0/16"
"""Address space of the cluster's network; node subnets are /20s carved from it, one per zone."""

ORIGIN_HOST = "origin"
"""Host name (under ``edge.domain``) of the public gateway's load balancer: the CDN's origin.

external-dns publishes it from the gateway Service; the CDN serves every public host and forwards to it."""


@dataclass(frozen=True)
class PoolPlan:
    """A node pool as the cloud creates it."""

    name: str
    instance: InstanceType
    min_nodes: int
    max_nodes: int
    desired_nodes: int
    disk_gib: int
    labels: dict[str, str]
    taints: tuple[Taint, ...]


@dataclass(frozen=True)
class BucketPlan:
    """An object-storage bucket, its retention and where it is replicated."""

    key: str
    """What it holds: postgres, clickhouse, velero, iceberg, loki, tempo."""
    name: str
    """Bucket name in the primary region."""
    retention_days: int | None
    """Days objects (or, for live data, old versions) are kept; None = forever."""
    expire: Literal["objects", "noncurrent-versions"]
    """What the lifecycle rule removes: backups expire as objects; live data (Iceberg) only loses old versions."""
    location: Literal["cross-region", "multi-region", "same-region"]
    """The spec's backup location (telemetry is same-region)."""

    @property
    def replicated(self) -> bool:
        """True when a copy must live outside the cluster's region."""
        return self.location in ("cross-region", "multi-region")

    def replica_name(self, dr_region: str) -> str:
        """Name of the copy in the disaster-recovery region."""
        return f"{self.name}-{dr_region}"


@dataclass(frozen=True)
class WorkloadIdentity:
    """A Kubernetes service account that gets a cloud identity, and what that identity may reach."""

    name: str
    namespace: str
    service_account: str
    buckets: tuple[str, ...] = ()
    """Keys of the buckets it reads and writes."""
    manages_dns: bool = False
    """Writes records in the DNS zone (external-dns)."""
    reads_secrets: bool = False
    """Reads the cloud's secret manager (External Secrets)."""
    snapshots_volumes: bool = False
    """Creates and restores disk snapshots (Velero)."""


WORKLOAD_IDENTITIES: tuple[WorkloadIdentity, ...] = (
    # The Barman Cloud Plugin runs in the CloudNativePG instance pods, whose service account is the Cluster's name.
    WorkloadIdentity("cnpg-backups", "platform-data", "plinth-pg", buckets=("postgres",)),
    WorkloadIdentity("clickhouse-backup", "platform-data", "plinth-ch", buckets=("clickhouse",)),
    WorkloadIdentity("velero", "platform-system", "velero", buckets=("velero",), snapshots_volumes=True),
    WorkloadIdentity("loki", "platform-monitoring", "loki", buckets=("loki",)),
    WorkloadIdentity("tempo", "platform-monitoring", "tempo", buckets=("tempo",)),
    WorkloadIdentity("iceberg", "platform-data", "iceberg-catalog", buckets=("iceberg",)),
    WorkloadIdentity("external-dns", "platform-system", "external-dns", manages_dns=True),
    WorkloadIdentity("external-secrets", "platform-system", "external-secrets", reads_secrets=True),
)
"""The components that need cloud access, with the service account names their charts/objects use."""

_BACKUP_KEYS = {"postgres": "postgres", "clickhouse": "clickhouse", "cluster-state": "velero", "iceberg": "iceberg"}


def node_pools(platform: Platform) -> list[PoolPlan]:
    """Every spec pool with its instance type (the planner's data) and its label and taints."""
    provider = platform.cluster.provider
    return [
        PoolPlan(
            name=name,
            instance=instance_for(provider, pool),
            min_nodes=pool.min_nodes,
            max_nodes=pool.max_nodes,
            desired_nodes=pool.nodes,
            disk_gib=pool.disk_gib,
            labels={POOL_LABEL: name},
            taints=tuple(pool.taints),
        )
        for name, pool in sorted(platform.node_pools.items())
    ]


def buckets(platform: Platform) -> list[BucketPlan]:
    """The buckets: one per object-storage backup row, plus Loki and Tempo with the telemetry retentions."""
    plans: list[BucketPlan] = []
    for row in platform.backups:
        if row.bucket is None:
            continue  # kept in Git
        key = _BACKUP_KEYS[row.data]
        if key == "iceberg" and row.bucket != platform.datastores.iceberg.warehouse_bucket:
            raise ValueError(
                f"backups: the iceberg row's bucket {row.bucket!r} differs from datastores.iceberg.warehouse_bucket "
                f"{platform.datastores.iceberg.warehouse_bucket!r}; the warehouse is versioned in place, so they must match"
            )
        plans.append(
            BucketPlan(
                key=key,
                name=row.bucket,
                retention_days=None if row.retention_days == "forever" else row.retention_days,
                expire="noncurrent-versions" if row.frequency == "continuous" else "objects",
                location=row.location,  # type: ignore[arg-type]  # git rows have no bucket
            )
        )
    if not any(p.key == "iceberg" for p in plans):
        plans.append(BucketPlan("iceberg", platform.datastores.iceberg.warehouse_bucket, None, "noncurrent-versions", "same-region"))
    for key, retention in (("loki", platform.observability.loki), ("tempo", platform.observability.tempo)):
        plans.append(BucketPlan(key, f"{platform.cluster.name}-{key}", retention.retention_days, "objects", "same-region"))
    names = [p.name for p in plans]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"backups: bucket names used twice: {duplicates}")
    return plans


def subnets(zones: list[str]) -> dict[str, tuple[str, str]]:
    """Per zone, the (private node subnet, public load-balancer/NAT subnet) CIDRs."""
    network = ipaddress.ip_network(NETWORK_CIDR)
    blocks = list(network.subnets(new_prefix=20))
    if 2 * len(zones) > len(blocks):
        raise ValueError(f"cluster.zones: {len(zones)} zones do not fit in {NETWORK_CIDR}")
    return {zone: (str(blocks[i]), str(blocks[len(zones) + i])) for i, zone in enumerate(zones)}


def public_hosts(platform: Platform) -> list[str]:
    """Fully qualified public host names the CDN serves (services with a ``public_host``)."""
    return sorted({f"{s.public_host}.{platform.edge.domain}" for s in platform.services.values() if s.public_host})


def origin_host(platform: Platform) -> str:
    """The CDN's origin: the gateway's load balancer name under the platform's domain."""
    return f"{ORIGIN_HOST}.{platform.edge.domain}"
