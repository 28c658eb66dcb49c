"""Bounds on what Plinth reads: the spec file itself and every count and duration in it.

Each bound is far above anything a real platform writes and low enough that loading, rendering, checking
and planning stay in bounded time and memory: a spec past one is an error located at the field, never a
process that grows until the machine gives up. The reason for each number is written next to it.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- the file

MAX_SPEC_BYTES = 256 * 1024
"""Largest spec (or waiver) file read: 12x today's ``platform.yaml`` (21 KB), room for ~300 services. The round-trip
YAML reader that keeps line numbers and comments is pure Python (~40-100 KB of YAML per CPU second), so this also
bounds a load to a few seconds."""
MAX_YAML_DEPTH = 32
"""Deepest nesting of collections: the spec model is 7 levels deep; anything deeper cannot be a valid spec."""
MAX_YAML_NODES = 100_000
"""Most values the document may expand to, aliases and merge keys counted at their full size: today's spec has
~800; an alias-expansion bomb ("billion laughs") is stopped at the alias that crosses this."""

# --------------------------------------------------------------------------- counts

MAX_CLUSTER_NODES = 5_000
"""Nodes of one pool (and of the autoscaler's max): Kubernetes' supported cluster size (5,000 nodes, the upstream
scalability thresholds; EKS and AKS document the same)."""
MAX_CLUSTER_PODS = 150_000
"""Pods (and PVCs) a namespace quota may allow: Kubernetes' supported pods per cluster (upstream thresholds)."""
MAX_REPLICAS = 10_000
"""Replicas of one workload (a service, the gateway, a telemetry store): two thirds of the pods 5,000 nodes may hold
at the default 110 pods per node would be one service; the planner then packs at most ~10^4 pods per workload."""
MAX_CONTROL_PLANE_NODES = 7
"""etcd members: etcd recommends at most 7 (every write waits for a majority)."""
MAX_QUORUM_MEMBERS = 9
"""Members of a Raft/Sentinel quorum (KRaft controllers, ClickHouse Keeper, Sentinels): 3 or 5 in practice; more only
slows every commit."""
MAX_STORE_INSTANCES = 100
"""PostgreSQL instances, Redis pods, ClickHouse replicas per shard: one primary and a handful of replicas in practice."""
MAX_BROKERS_OR_SHARDS = 1_000
"""Kafka brokers, ClickHouse shards: the largest public deployments run hundreds per cluster."""
MAX_PARTITIONS = 100_000
"""Partitions of one Kafka topic: Kafka's guidance is ~4,000 partitions per broker; one topic past 100,000 is not a
design."""
MAX_ORGANISATIONS = 1_000_000
"""Organisations ``plinth plan --orgs`` and ``load.organisations`` accept: 1,000x the design's 1,000-organisation
point; the grown platform must still fit the replica bound above."""
MAX_ORGS_POINTS = 50
"""Points of one ``plinth plan --orgs N,N,...`` growth curve."""

# --------------------------------------------------------------------------- sizes

MAX_NODE_VCPU = 1_024
"""vCPUs of one node: the largest instances of the three clouds have 896 (AWS u7i), 832 (Azure), 416 (GCP)."""
MAX_NODE_MEMORY_GIB = 32_768
"""Memory of one node, GiB: the largest instance has 32 TiB (AWS u7in-32tb)."""
MAX_VOLUME_GIB = 65_536
"""One volume, GiB (node disks too): 64 TiB, the largest block volume of the three clouds (EBS io2 Block Express,
Hyperdisk, Ultra Disk)."""
MAX_STORAGE_GIB = 10 * 1024 * 1024
"""A store's total budget (a bucket, Prometheus over its replicas), GiB: 10 PiB."""
MAX_AMOUNT = 10**9
"""The design's own totals and cost estimates (nodes, vCPU, GiB, USD per month): any real figure is far below."""

# --------------------------------------------------------------------------- time

MAX_DURATION_SECONDS = 10 * 365 * 86_400
"""Any duration of the spec: ten years. Longer is not an operational duration (retention past it is "forever")."""
MAX_RETENTION_DAYS = 3_650
"""Retention in days: ten years; data kept longer is written ``forever`` (never deleted)."""
MAX_RETENTION_HOURS = MAX_RETENTION_DAYS * 24
"""Retention in hours (Kafka topics)."""
MAX_JOB_MINUTES = 360
"""A pipeline stage's budget: GitHub Actions ends a job on a GitHub-hosted runner after 6 hours (timeout-minutes 360),
and the budget becomes the job's timeout-minutes."""
MAX_LATENCY_MS = 600_000
"""A latency threshold or objective: ten minutes; no request path is judged beyond that."""
MAX_THRESHOLD_MINUTES = 7 * 24 * 60
"""An alert's waiting time in minutes: a week; an alert that waits longer is never seen."""
MAX_RATE = 10**9
"""Requests per second or messages of lag one replica takes."""
