"""The typed platform spec: every number and name of the design, in one validated model.

Field names carry their unit (``retention_days``, ``memory_gib``, ``rto_seconds``); the docstring
under each field is its description (pydantic ``use_attribute_docstrings``) and feeds the generated docs.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from plinth.spec import limits as L
from plinth.spec.cron import CronError, Dialect, parse_cron
from plinth.spec.types import (
    CpuQuantity,
    DnsLabel,
    DurationSeconds,
    MemoryQuantity,
    Percent,
    StrictModel,
    cpu_millicores,
    describe_duration,
    memory_bytes,
)
from plinth.spec.zones import ZONE_LOSS_SERVING_SHARE, min_serving_after_zone_loss, smallest_zone_safe_replicas, zone_loss_survivors

NamespaceName = Literal["platform-system", "platform-apps", "platform-data", "platform-monitoring"]
"""The design's four namespaces; nothing else is rendered into the cluster."""

Provider = Literal["aws", "gcp", "azure"]
FailureDomain = Literal["pod", "node", "zone", "region"]


# --------------------------------------------------------------------------- cluster and pools


class GitSource(StrictModel):
    """Where Argo CD reads the rendered tree from."""

    repo_url: str = Field(pattern=r"^(https://|ssh://|git@)\S+$")
    """Git URL of this repository, as Argo CD clones it."""
    target_revision: str = "main"
    """Branch or tag Argo CD follows (the design: ``main``)."""
    rendered_path: str = Field(default="kubernetes", pattern=r"^[a-z0-9][a-z0-9_/-]*$")
    """Folder of the rendered GitOps tree, relative to the repository root."""


class ControlPlane(StrictModel):
    """The Kubernetes control plane (managed by the cloud on EKS/GKE/AKS)."""

    nodes: int = Field(ge=1, le=L.MAX_CONTROL_PLANE_NODES)
    """Control-plane nodes; 3 for etcd quorum."""
    vcpu: int = Field(ge=1, le=L.MAX_NODE_VCPU)
    """vCPUs per control-plane node."""
    memory_gib: int = Field(ge=1, le=L.MAX_NODE_MEMORY_GIB)
    """Memory per control-plane node, GiB."""
    disk_gib: int = Field(ge=1, le=L.MAX_VOLUME_GIB)
    """Disk per control-plane node, GiB."""
    managed: bool = True
    """True when the cloud runs it (EKS/GKE/AKS): its nodes are not ours to size, only its fee to pay."""

    @model_validator(mode="after")
    def _quorum(self) -> "ControlPlane":
        if self.nodes % 2 == 0:
            raise ValueError(f"nodes: etcd needs an odd number of control-plane nodes for quorum, got {self.nodes}")
        return self


BUCKET_NAME_RULES: dict[str, tuple[str, str]] = {
    "aws": (r"(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
            "3-63 lowercase letters, digits, dots, hyphens: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"),
    "gcp": (r"(?!goog)[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]",
            "3-63 lowercase letters, digits, dots, hyphens, underscores: https://cloud.google.com/storage/docs/buckets#naming"),
    "azure": (r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
              "a container name: 3-63 lowercase letters, digits and single hyphens: "
              "https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata"),
}
"""Per cloud, the full-match pattern a bucket (on Azure: a container) name must satisfy, and its source."""
KEY_VAULT_NAME_RULE = r"(?!.*--)[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]"
"""Azure Key Vault names (https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates)."""
_GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class Cluster(StrictModel):
    """The Kubernetes cluster and the cloud it runs in."""

    name: DnsLabel
    """Cluster name, also the prefix of cloud resources."""
    provider: Provider
    """Cloud provider: aws, gcp or azure."""
    region: str = Field(min_length=2)
    """Primary region (the design's cost table: us-east-1 / us-central1 / eastus)."""
    dr_region: str = Field(min_length=2)
    """Disaster-recovery region: cross-region backups land here, and region failover goes here."""
    zones: list[str] = Field(min_length=1, max_length=16)
    """Availability zones the node pools spread over."""
    kubernetes_version: str = Field(pattern=r"^1\.(2[5-9]|3[0-7])$")
    """Kubernetes minor version, e.g. "1.32"; selects the OpenAPI schema objects are validated against."""
    control_plane: ControlPlane
    """Control-plane shape."""
    account: str = Field(min_length=1)
    """The cloud account the cluster is built in: the AWS account ID (12 digits), the GCP project ID, or the Azure
    subscription ID. Workload identity names it: IRSA role ARNs, Google service account e-mails."""
    identity_client_ids: dict[str, str] = {}
    """Azure only: the client ID of each workload identity's managed identity, by identity name (``pulumi stack output
    workloadIdentityClientIds`` after the cloud layer ran). Azure assigns client IDs; the ServiceAccounts name them."""

    @model_validator(mode="after")
    def _account(self) -> "Cluster":
        rules = {
            "aws": (r"^[0-9]{12}$", "an AWS account ID (12 digits)"),
            "gcp": (r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", "a GCP project ID (6-30 lowercase letters, digits, hyphens)"),
            "azure": (_GUID, "an Azure subscription ID (a GUID)"),
        }
        pattern, what = rules[self.provider]
        if not re.match(pattern, self.account):
            raise ValueError(f"account: {self.account!r} is not {what}")
        if self.identity_client_ids and self.provider != "azure":
            raise ValueError("identity_client_ids: only Azure workload identity names client IDs")
        for name, client_id in self.identity_client_ids.items():
            if not re.match(_GUID, client_id):
                raise ValueError(f"identity_client_ids.{name}: {client_id!r} is not a client ID (a GUID)")
        return self

    @model_validator(mode="after")
    def _regions(self) -> "Cluster":
        if self.dr_region == self.region:
            raise ValueError(f"dr_region: must differ from region {self.region!r}, or region loss loses the backups too")
        if len(set(self.zones)) != len(self.zones):
            raise ValueError("zones: each zone may appear only once")
        return self


class Taint(StrictModel):
    """A node taint that keeps other workloads off a pool."""

    key: str
    """Taint key."""
    value: str
    """Taint value."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"
    """Taint effect."""


class NodePool(StrictModel):
    """A worker node pool: its size, node shape and what runs on it."""

    nodes: int = Field(ge=1, le=L.MAX_CLUSTER_NODES)
    """Nodes the design sizes this pool at (the planner checks this number)."""
    min_nodes: int = Field(ge=0, le=L.MAX_CLUSTER_NODES)
    """Lower bound of the cluster autoscaler."""
    max_nodes: int = Field(ge=1, le=L.MAX_CLUSTER_NODES)
    """Upper bound of the cluster autoscaler."""
    vcpu: int = Field(ge=1, le=L.MAX_NODE_VCPU)
    """vCPUs per node."""
    memory_gib: int = Field(ge=1, le=L.MAX_NODE_MEMORY_GIB)
    """Memory per node, GiB."""
    disk_gib: int = Field(ge=1, le=L.MAX_VOLUME_GIB)
    """Disk per node, GiB (root volume plus local data volume)."""
    namespaces: list[NamespaceName] = Field(min_length=1)
    """Namespaces whose pods are scheduled on this pool."""
    taints: list[Taint] = []
    """Taints keeping other pods off this pool; its workloads get the matching tolerations."""

    @model_validator(mode="after")
    def _bounds(self) -> "NodePool":
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"min_nodes ({self.min_nodes}) must be <= max_nodes ({self.max_nodes})")
        if not self.min_nodes <= self.nodes <= self.max_nodes:
            raise ValueError(
                f"nodes ({self.nodes}) must lie between min_nodes ({self.min_nodes}) and max_nodes ({self.max_nodes})"
            )
        return self


class ResourceTotals(StrictModel):
    """The "Total" row of the design's resource table, as the design states it (checked, never used)."""

    nodes: int = Field(ge=0, le=L.MAX_AMOUNT)
    """Total nodes as the design states."""
    vcpu: int = Field(ge=0, le=L.MAX_AMOUNT)
    """Total vCPUs as the design states."""
    memory_gib: int = Field(ge=0, le=L.MAX_AMOUNT)
    """Total memory as the design states, GiB."""
    storage_gib: int = Field(ge=0, le=L.MAX_AMOUNT)
    """Total storage as the design states, GiB."""


class DesignCost(StrictModel):
    """A row of the design's monthly cost estimate (for 1000 organisations), compared by ``plinth plan``."""

    provider: Provider
    """Cloud of the estimate."""
    region: str = Field(min_length=2)
    """Region the design prices it in (the planner prices this cloud there)."""
    usd_per_month: int = Field(ge=0, le=L.MAX_AMOUNT)
    """The design's estimate, USD per month ("~$12,000")."""


# --------------------------------------------------------------------------- namespaces


class ResourceQuotaSpec(StrictModel):
    """A namespace's ResourceQuota."""

    requests_cpu: CpuQuantity
    """Sum of CPU requests allowed in the namespace."""
    requests_memory: MemoryQuantity
    """Sum of memory requests allowed in the namespace."""
    limits_cpu: CpuQuantity
    """Sum of CPU limits allowed in the namespace."""
    limits_memory: MemoryQuantity
    """Sum of memory limits allowed in the namespace."""
    pods: int = Field(ge=1, le=L.MAX_CLUSTER_PODS)
    """Pods allowed in the namespace."""
    persistent_volume_claims: int = Field(ge=0, le=L.MAX_CLUSTER_PODS)
    """PersistentVolumeClaims allowed in the namespace."""
    requests_storage: MemoryQuantity = "0"
    """Sum of storage requested by PVCs."""


class LimitRangeSpec(StrictModel):
    """Container defaults of a namespace's LimitRange (applied when a container says nothing)."""

    default_request_cpu: CpuQuantity
    """CPU request of a container that sets none."""
    default_request_memory: MemoryQuantity
    """Memory request of a container that sets none."""
    default_limit_cpu: CpuQuantity
    """CPU limit of a container that sets none."""
    default_limit_memory: MemoryQuantity
    """Memory limit of a container that sets none."""
    max_cpu: CpuQuantity
    """Largest CPU limit one container may have."""
    max_memory: MemoryQuantity
    """Largest memory limit one container may have."""

    @model_validator(mode="after")
    def _order(self) -> "LimitRangeSpec":
        if cpu_millicores(self.default_request_cpu) > cpu_millicores(self.default_limit_cpu):
            raise ValueError("default_request_cpu must be <= default_limit_cpu")
        if memory_bytes(self.default_request_memory) > memory_bytes(self.default_limit_memory):
            raise ValueError("default_request_memory must be <= default_limit_memory")
        if cpu_millicores(self.default_limit_cpu) > cpu_millicores(self.max_cpu):
            raise ValueError("default_limit_cpu must be <= max_cpu")
        if memory_bytes(self.default_limit_memory) > memory_bytes(self.max_memory):
            raise ValueError("default_limit_memory must be <= max_memory")
        return self


class Namespace(StrictModel):
    """One of the design's namespaces."""

    purpose: str
    """The design's "Purpose" column."""
    holds: list[str] = Field(min_length=1)
    """The design's "Services" column: what runs here."""
    pod_security: Literal["privileged", "baseline", "restricted"]
    """Pod Security Admission level enforced on the namespace."""
    quota: ResourceQuotaSpec
    """ResourceQuota of the namespace."""
    limits: LimitRangeSpec
    """LimitRange of the namespace."""


# --------------------------------------------------------------------------- components (pinned upstream)


class HelmChart(StrictModel):
    """A pinned upstream Helm chart, installed as an Argo CD Application."""

    repo_url: str = Field(pattern=r"^(https://|oci://)\S+$")
    """Chart repository (https or oci)."""
    chart: str
    """Chart name."""
    version: str = Field(pattern=r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")
    """Exact chart version (pinned; no ranges)."""
    app_version: str
    """Version of the software the chart deploys, for the docs."""


class ArgoSSO(StrictModel):
    """Single sign-on for Argo CD (OIDC): people log in through the organisation's identity provider, never as admin."""

    issuer_url: str = Field(pattern=r"^https://\S+$")
    """OIDC issuer URL of the identity provider."""
    client_id: str = Field(min_length=1)
    """OIDC client ID registered for Argo CD (its secret comes from the secret store, remote key ``argocd/oidc``)."""
    admin_groups: list[str] = Field(min_length=1)
    """Identity-provider groups that get Argo CD's admin role."""
    readonly_groups: list[str] = []
    """Groups that may look but not change anything; everyone else who logs in gets no role."""
    requested_scopes: list[str] = ["openid", "profile", "email", "groups"]
    """OIDC scopes Argo CD asks for (``groups`` carries the group claim the RBAC matches)."""


class ArgoCD(StrictModel):
    """Argo CD and the sync policy of every Application it manages."""

    namespace: NamespaceName = "platform-system"
    """Namespace Argo CD runs in and where its Applications live (the design's table says platform-system)."""
    automated_sync: bool = True
    """Applications sync automatically when Git changes."""
    prune: bool = True
    """Objects removed from Git are deleted from the cluster."""
    self_heal: bool = True
    """Drift in the cluster is reverted to what Git says."""
    sync_retry_limit: int = Field(default=5, ge=0, le=100)
    """Retries of a failed sync before Argo CD gives up."""
    controller_replicas: int = Field(default=1, ge=1, le=100)
    """Application-controller replicas (shards)."""
    server_replicas: int = Field(default=2, ge=1, le=100)
    """API server replicas."""
    repo_server_replicas: int = Field(default=2, ge=1, le=100)
    """Repo-server replicas."""
    sso: ArgoSSO
    """Single sign-on: the local admin account is disabled and every person logs in through OIDC."""


# --------------------------------------------------------------------------- services


class CpuTrigger(StrictModel):
    """Scale on average CPU utilisation of the pods (relative to their requests)."""

    kind: Literal["cpu"] = "cpu"
    target_utilization_percent: Percent
    """Average CPU utilisation the autoscaler holds (the design: 70 %)."""


class RequestRateTrigger(StrictModel):
    """Scale on requests per second per replica, read from Prometheus by a KEDA Prometheus trigger."""

    kind: Literal["requests_per_second"] = "requests_per_second"
    requests_per_second_per_replica: int = Field(ge=1, le=L.MAX_RATE)
    """Requests per second one replica should take (the design: 1000)."""


class QueueDepthTrigger(StrictModel):
    """Scale on Kafka consumer lag of a consumer group (KEDA Kafka trigger)."""

    kind: Literal["queue_depth"] = "queue_depth"
    topic: str
    """Kafka topic whose lag drives scaling."""
    consumer_group: str
    """Consumer group of the workers."""
    lag_per_replica: int = Field(ge=1, le=L.MAX_RATE)
    """Messages of lag one replica should handle."""


class ManualTrigger(StrictModel):
    """Scaled by people, watching a signal (the design's PostgreSQL "Monitoring", ClickHouse "Storage")."""

    kind: Literal["manual"] = "manual"
    signal: str
    """What operators watch to decide (e.g. "monitoring", "storage")."""


Trigger = Annotated[Union[CpuTrigger, RequestRateTrigger, QueueDepthTrigger, ManualTrigger], Field(discriminator="kind")]


class Scaling(StrictModel):
    """One row of the design's scaling table."""

    type: Literal["hpa", "keda", "manual"]
    """Autoscaler: a HorizontalPodAutoscaler, a KEDA ScaledObject, or people."""
    trigger: Trigger
    """What drives scaling."""
    min_replicas: int = Field(ge=1, le=L.MAX_REPLICAS)
    """Replicas never scaled below."""
    max_replicas: int = Field(ge=1, le=L.MAX_REPLICAS)
    """Replicas never scaled above."""
    scale_down_stabilization_seconds: DurationSeconds = 300
    """How long load must stay low before scaling down, so spikes do not flap."""

    @model_validator(mode="after")
    def _consistent(self) -> "Scaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must be <= max_replicas ({self.max_replicas})")
        allowed = {"hpa": {"cpu"}, "keda": {"requests_per_second", "queue_depth", "cpu"}, "manual": {"manual"}}
        if self.trigger.kind not in allowed[self.type]:
            raise ValueError(
                f"trigger.kind {self.trigger.kind!r} cannot drive a {self.type!r} autoscaler "
                f"(expected one of {sorted(allowed[self.type])}; an HPA cannot see requests per second or queue depth by itself)"
            )
        return self


class ContainerResources(StrictModel):
    """Requests and limits of a container."""

    requests_cpu: CpuQuantity
    """CPU request (what the scheduler reserves)."""
    requests_memory: MemoryQuantity
    """Memory request."""
    limits_cpu: CpuQuantity
    """CPU limit."""
    limits_memory: MemoryQuantity
    """Memory limit."""

    @model_validator(mode="after")
    def _order(self) -> "ContainerResources":
        if cpu_millicores(self.requests_cpu) > cpu_millicores(self.limits_cpu):
            raise ValueError(f"requests_cpu ({self.requests_cpu}) must be <= limits_cpu ({self.limits_cpu})")
        if memory_bytes(self.requests_memory) > memory_bytes(self.limits_memory):
            raise ValueError(f"requests_memory ({self.requests_memory}) must be <= limits_memory ({self.limits_memory})")
        return self


class Image(StrictModel):
    """A container image; the rendered tree references it by digest once CI has promoted one."""

    repository: str
    """Image repository, e.g. ghcr.io/org/frontend."""
    tag: str
    """Human-readable tag (for people; the digest is what runs)."""
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    """Immutable digest CI promoted; when set, the workload uses it."""


class Service(StrictModel):
    """An application service in platform-apps."""

    description: str
    """What the service does."""
    image: Image
    """Container image."""
    port: int = Field(default=8080, ge=1024, le=65535)
    """Container port serving HTTP (unprivileged)."""
    metrics_port: int = Field(default=9090, ge=1024, le=65535)
    """Container port serving Prometheus metrics."""
    health_path: str = "/healthz"
    """Liveness probe path."""
    ready_path: str = "/readyz"
    """Readiness probe path."""
    resources: ContainerResources
    """Container requests and limits."""
    scaling: Scaling
    """The service's row of the scaling table."""
    public_host: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
    """Host name prefix exposed through the public gateway (e.g. "app" → app.<domain>); None = internal only."""
    calls: list[str] = []
    """Other services this one calls (NetworkPolicy egress)."""
    uses: list[Literal["postgres", "clickhouse", "redis", "kafka", "iceberg"]] = []
    """Data stores this service connects to (NetworkPolicy egress, its own identity in each store, credentials)."""
    produces: list[DnsLabel] = []
    """Kafka topics this service writes to: its KafkaUser may write and describe exactly these (needs ``kafka`` in uses)."""
    consumes: list[DnsLabel] = []
    """Kafka topics this service reads in its consumer group: its KafkaUser may read and describe exactly these, and
    use that one group (needs ``kafka`` in uses)."""

    @model_validator(mode="after")
    def _ports(self) -> "Service":
        if self.metrics_port == self.port:
            raise ValueError(f"metrics_port ({self.metrics_port}) must differ from port ({self.port}): the Service and the pod "
                             "would list one port twice, which Kubernetes rejects")
        return self


# --------------------------------------------------------------------------- data stores


class HAPromise(StrictModel):
    """A row of the design's high-availability table."""

    strategy: str
    """The design's "Strategy" column."""
    rto_seconds: DurationSeconds
    """Recovery time objective: longest acceptable outage."""
    rpo_seconds: DurationSeconds
    """Recovery point objective: most acknowledged data that may be lost (0 = none)."""
    covers: list[FailureDomain] = ["pod", "node", "zone"]
    """Failures the RTO/RPO is promised for; region loss is the DR plan's."""
    note: str = ""
    """Why the promise is what it is (e.g. where it differs from the design)."""


class VolumeSpec(StrictModel):
    """A persistent volume per replica."""

    size_gib: int = Field(ge=1, le=L.MAX_VOLUME_GIB)
    """Size of each replica's volume, GiB."""
    storage_class: str = "plinth-ssd"
    """StorageClass of the volume."""


class Postgres(StrictModel):
    """PostgreSQL run by CloudNativePG."""

    managed_by: Literal["in-cluster", "cloud"] = "in-cluster"
    """In the cluster (CloudNativePG) or a cloud-managed database (RDS / Cloud SQL / Azure Database)."""
    version: int = Field(default=16, ge=13, le=18)
    """PostgreSQL major version."""
    instances: int = Field(ge=1, le=L.MAX_STORE_INSTANCES)
    """Instances: one primary plus streaming replicas."""
    synchronous_standbys: int = Field(ge=0, le=L.MAX_STORE_INSTANCES)
    """Standbys that must confirm each commit (RPO 0 needs >= 1)."""
    archive_timeout_seconds: DurationSeconds = 60
    """Longest time a WAL segment waits before it is archived (bounds the RPO of a restore)."""
    storage: VolumeSpec
    """Data volume per instance."""
    wal_storage: VolumeSpec
    """WAL volume per instance."""
    resources: ContainerResources
    """Requests and limits of each instance."""
    pooler_instances: int = Field(default=3, ge=1, le=L.MAX_REPLICAS)
    """PgBouncer pooler pods."""
    pooler_mode: Literal["session", "transaction"] = "transaction"
    """PgBouncer pool mode."""
    replication_lag_alert_seconds: DurationSeconds = 30
    """Standby replay lag (seconds) above which an alert warns: a lagging standby slows failover (RTO)."""
    scaling: Scaling
    """The design's scaling row (manual)."""
    ha: HAPromise
    """The design's HA row."""

    @model_validator(mode="after")
    def _ha_shape(self) -> "Postgres":
        needed = 1 + self.synchronous_standbys
        if self.scaling.min_replicas < 3:
            raise ValueError(
                f"scaling.min_replicas ({self.scaling.min_replicas}) must be >= 3: the HA strategy is one primary "
                "plus two replicas, and fewer instances break it"
            )
        if not self.scaling.min_replicas <= self.instances <= self.scaling.max_replicas:
            raise ValueError(
                f"instances ({self.instances}) must lie between scaling.min_replicas ({self.scaling.min_replicas}) "
                f"and scaling.max_replicas ({self.scaling.max_replicas})"
            )
        if self.instances < needed + 1:
            raise ValueError(
                f"instances ({self.instances}) must be >= synchronous_standbys + 2 ({needed + 1}) so a commit can "
                "still be confirmed while one standby is down"
            )
        if self.ha.rpo_seconds == 0 and self.synchronous_standbys < 1:
            raise ValueError("synchronous_standbys must be >= 1 when ha.rpo_seconds is 0 (asynchronous replicas lose commits)")
        return self


class ClickHouse(StrictModel):
    """ClickHouse run by the Altinity operator, replicated through ClickHouse Keeper."""

    version: str = "25.3"
    """ClickHouse server version (image tag)."""
    shards: int = Field(default=1, ge=1, le=L.MAX_BROKERS_OR_SHARDS)
    """Shards of the cluster."""
    replicas: int = Field(ge=1, le=L.MAX_STORE_INSTANCES)
    """Replicas per shard."""
    keeper_nodes: int = Field(ge=1, le=L.MAX_QUORUM_MEMBERS)
    """ClickHouse Keeper nodes (odd, for quorum)."""
    insert_quorum: int = Field(default=2, ge=1, le=L.MAX_STORE_INSTANCES)
    """Replicas that must acknowledge an insert."""
    storage: VolumeSpec
    """Data volume per replica."""
    keeper_storage: VolumeSpec
    """Volume per Keeper node."""
    resources: ContainerResources
    """Requests and limits of each replica."""
    keeper_resources: ContainerResources
    """Requests and limits of each Keeper node."""
    backup_image: str = "altinity/clickhouse-backup:2.6.39"
    """Altinity's clickhouse-backup image (the sidecar serving the backup API and the daily job's client)."""
    scaling: Scaling
    """The design's scaling row (manual, storage)."""
    ha: HAPromise
    """The design's HA row."""

    @model_validator(mode="after")
    def _ha_shape(self) -> "ClickHouse":
        if self.keeper_nodes < 3 or self.keeper_nodes % 2 == 0:
            raise ValueError(f"keeper_nodes ({self.keeper_nodes}) must be odd and >= 3 for a Keeper quorum that survives one loss")
        if not self.scaling.min_replicas <= self.replicas <= self.scaling.max_replicas:
            raise ValueError(
                f"replicas ({self.replicas}) must lie between scaling.min_replicas ({self.scaling.min_replicas}) "
                f"and scaling.max_replicas ({self.scaling.max_replicas})"
            )
        if self.insert_quorum > self.replicas:
            raise ValueError(f"insert_quorum ({self.insert_quorum}) must be <= replicas ({self.replicas})")
        if self.replicas < 2 and set(self.ha.covers) & {"node", "zone"}:
            raise ValueError(f"replicas ({self.replicas}) must be >= 2: ha.covers {self.ha.covers} promises surviving a node loss")
        if self.insert_quorum < 2 and self.ha.rpo_seconds < 24 * 3600:
            raise ValueError(
                f"insert_quorum ({self.insert_quorum}) must be >= 2 for ha.rpo_seconds {self.ha.rpo_seconds}: an insert "
                "acknowledged by one replica is lost with that replica"
            )
        return self


class Redis(StrictModel):
    """Redis: one primary, replicas, and Sentinel for automatic failover."""

    managed_by: Literal["in-cluster", "cloud"] = "in-cluster"
    """In the cluster (OT redis-operator) or cloud-managed (ElastiCache / Memorystore / Azure Cache)."""
    version: str = "7.2"
    """Redis version."""
    image_tag: str = "v7.2.7"
    """Tag of the OT redis-operator's Redis and Sentinel images (quay.io/opstree/redis, redis-sentinel)."""
    exporter_image: str = "quay.io/opstree/redis-exporter:v1.44.0"
    """redis_exporter sidecar image (metrics for the Redis alerts)."""
    nodes: int = Field(ge=1, le=L.MAX_STORE_INSTANCES)
    """Redis pods: one primary plus replicas."""
    sentinels: int = Field(ge=1, le=L.MAX_QUORUM_MEMBERS)
    """Sentinel pods (odd, for a failover quorum)."""
    sentinel_quorum: int = Field(ge=1, le=L.MAX_QUORUM_MEMBERS)
    """Sentinels that must agree the primary is down."""
    down_after_seconds: DurationSeconds = 5
    """Sentinel's down-after-milliseconds, in seconds: silence before a primary is judged down."""
    failover_timeout_seconds: DurationSeconds = 60
    """Sentinel's failover-timeout, in seconds."""
    min_replicas_to_write: int = Field(default=1, ge=0, le=L.MAX_STORE_INSTANCES)
    """Primary refuses writes unless this many replicas are connected and recent."""
    min_replicas_max_lag_seconds: DurationSeconds = 10
    """Replica lag (seconds) beyond which it no longer counts for min_replicas_to_write."""
    appendonly: bool = True
    """AOF persistence on."""
    appendfsync: Literal["always", "everysec", "no"] = "everysec"
    """AOF fsync policy."""
    storage: VolumeSpec
    """Volume per Redis pod."""
    resources: ContainerResources
    """Requests and limits of each Redis pod."""
    ha: HAPromise
    """The design's HA row, with the RPO Redis really gives."""

    @model_validator(mode="after")
    def _ha_shape(self) -> "Redis":
        if self.sentinels < 3 or self.sentinels % 2 == 0:
            raise ValueError(f"sentinels ({self.sentinels}) must be odd and >= 3")
        if not self.sentinels // 2 < self.sentinel_quorum <= self.sentinels:
            raise ValueError(f"sentinel_quorum ({self.sentinel_quorum}) must be a majority of sentinels ({self.sentinels})")
        if self.min_replicas_to_write > self.nodes - 1:
            raise ValueError(f"min_replicas_to_write ({self.min_replicas_to_write}) must be <= nodes - 1 ({self.nodes - 1})")
        if self.nodes < 3:
            raise ValueError(f"nodes ({self.nodes}) must be >= 3: one primary and two replicas")
        if self.min_replicas_max_lag_seconds == 0 and (self.min_replicas_to_write >= 1 or self.ha.rpo_seconds > 0):
            raise ValueError(
                f"min_replicas_max_lag_seconds: 0 switches Redis's write guard off (min-replicas-max-lag 0 disables "
                f"min-replicas-to-write), so nothing bounds what a failover discards and ha.rpo_seconds "
                f"({self.ha.rpo_seconds}) rests on nothing; give the lag a replica may have, in seconds (>= 1)")
        if self.min_replicas_to_write < 1 and self.ha.rpo_seconds > 0:
            raise ValueError("min_replicas_to_write must be >= 1: without it a primary cut off from its replicas keeps "
                             "acknowledging writes that a failover then discards, so no RPO holds")
        if self.ha.rpo_seconds < self.rpo_floor_seconds:
            raise ValueError(
                f"ha.rpo_seconds ({self.ha.rpo_seconds}) cannot be below min_replicas_max_lag_seconds "
                f"({self.min_replicas_max_lag_seconds}): Redis replicates asynchronously, so a failover can lose up to "
                "that much acknowledged writes"
            )
        return self

    @property
    def rpo_floor_seconds(self) -> int:
        """Smallest RPO Redis can honestly promise: replication is asynchronous and a failover can lose the
        writes a replica had not received, at most ``min-replicas-max-lag`` of them (the write guard)."""
        return int(self.min_replicas_max_lag_seconds)


class KafkaTopic(StrictModel):
    """A Kafka topic of the platform's pipelines."""

    name: DnsLabel
    """Topic name."""
    partitions: int = Field(ge=1, le=L.MAX_PARTITIONS)
    """Partitions (upper bound of consumer parallelism)."""
    retention_hours: int = Field(ge=1, le=L.MAX_RETENTION_HOURS)
    """How long messages are kept, hours."""


class Kafka(StrictModel):
    """Kafka run by Strimzi in KRaft mode."""

    version: str = "4.1.0"
    """Kafka version (must be supported by the pinned Strimzi)."""
    brokers: int = Field(ge=1, le=L.MAX_BROKERS_OR_SHARDS)
    """Broker nodes."""
    controllers: int = Field(ge=1, le=L.MAX_QUORUM_MEMBERS)
    """KRaft controller nodes (odd)."""
    default_replication_factor: int = Field(ge=1, le=L.MAX_BROKERS_OR_SHARDS)
    """Replication factor of new topics."""
    min_insync_replicas: int = Field(ge=1, le=L.MAX_BROKERS_OR_SHARDS)
    """Replicas that must have a write before acks=all succeeds."""
    unclean_leader_election: bool = False
    """Allow an out-of-sync replica to become leader (loses acknowledged writes)."""
    storage: VolumeSpec
    """Volume per broker."""
    controller_storage: VolumeSpec
    """Volume per controller."""
    resources: ContainerResources
    """Requests and limits per broker."""
    controller_resources: ContainerResources
    """Requests and limits per controller."""
    topics: list[KafkaTopic] = Field(min_length=1, max_length=10_000)
    """Topics of the platform's pipelines."""
    ha: HAPromise
    """The design's HA row."""

    @model_validator(mode="after")
    def _ha_shape(self) -> "Kafka":
        if self.controllers < 3 or self.controllers % 2 == 0:
            raise ValueError(f"controllers ({self.controllers}) must be odd and >= 3 for a KRaft quorum")
        if self.default_replication_factor > self.brokers:
            raise ValueError(
                f"default_replication_factor ({self.default_replication_factor}) must be <= brokers ({self.brokers})"
            )
        if self.min_insync_replicas > self.default_replication_factor:
            raise ValueError(
                f"min_insync_replicas ({self.min_insync_replicas}) must be <= default_replication_factor "
                f"({self.default_replication_factor})"
            )
        if self.ha.rpo_seconds == 0:
            if self.min_insync_replicas < 2:
                raise ValueError(f"min_insync_replicas ({self.min_insync_replicas}) must be >= 2 for ha.rpo_seconds 0: "
                                 "an acks=all write held by one broker is lost with it")
            if self.default_replication_factor < self.min_insync_replicas + 1:
                raise ValueError(f"default_replication_factor ({self.default_replication_factor}) must be >= "
                                 f"min_insync_replicas + 1 ({self.min_insync_replicas + 1}) so writes continue while one broker is down")
            if self.unclean_leader_election:
                raise ValueError("unclean_leader_election must be false for ha.rpo_seconds 0: an out-of-sync leader drops acknowledged writes")
        return self


class IcebergCatalog(StrictModel):
    """The Iceberg REST catalog of platform-data: Apache Polaris from its pinned chart, table metadata in the
    platform's PostgreSQL, the warehouse in the Iceberg bucket."""

    chart: DnsLabel = "polaris"
    """Key of the pinned chart (``charts``) that installs the catalog server; it must be Apache Polaris' ``polaris``."""
    replicas: int = Field(default=3, ge=1)
    """Catalog server replicas: stateless, spread over the zones, drained one at a time."""
    resources: ContainerResources
    """Requests and limits of each catalog server."""
    warehouse: DnsLabel = "plinth"
    """Name of the Iceberg catalog (the warehouse clients name) the catalog server serves from the warehouse bucket."""
    realm: str = Field(default="POLARIS", pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
    """Polaris realm holding the catalog (bootstrapped once with its root credentials)."""
    database: str = Field(default="iceberg_catalog", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL database, and role owning it, of the catalog in the platform's CloudNativePG cluster."""


class IcebergMaintenance(StrictModel):
    """Table maintenance: snapshot expiry at the Iceberg backup row's retention, and orphan-file removal."""

    schedule: str = Field(default="30 4 * * *", pattern=r"^(\S+\s+){4}\S+$")
    """Cron schedule (five fields, UTC) of the maintenance job."""
    orphan_file_min_age_days: int = Field(default=3, ge=1)
    """Files no snapshot references are removed only once older than this (a write in progress is never removed)."""
    image: Image
    """Image of the maintenance job: Python with the pinned pyiceberg (built from images/iceberg-maintenance)."""

    @model_validator(mode="after")
    def _kubernetes_cron(self) -> "IcebergMaintenance":
        try:
            parse_cron(self.schedule, "kubernetes")
        except CronError as exc:
            raise ValueError(f"schedule: Kubernetes would not run the maintenance CronJob as written: {exc}") from None
        return self


class Iceberg(StrictModel):
    """Iceberg table storage on object storage, served by a REST catalog."""

    warehouse_bucket: DnsLabel
    """Bucket holding the Iceberg warehouse."""
    catalog: IcebergCatalog
    """The REST catalog server."""
    maintenance: IcebergMaintenance
    """Snapshot expiry and orphan-file removal."""


class DataStores(StrictModel):
    """The data stores of platform-data."""

    postgres: Postgres
    """PostgreSQL."""
    clickhouse: ClickHouse
    """ClickHouse."""
    redis: Redis
    """Redis."""
    kafka: Kafka
    """Kafka."""
    iceberg: Iceberg
    """Iceberg."""


class ServicePromise(StrictModel):
    """The design's HA row for the application services."""

    ha: HAPromise
    """The design's "API Services" row."""


# --------------------------------------------------------------------------- observability


class Retention(StrictModel):
    """A telemetry store's retention and storage."""

    retention_days: int = Field(ge=1, le=L.MAX_RETENTION_DAYS)
    """How long data is kept, days."""
    storage_gib: int = Field(ge=1, le=L.MAX_STORAGE_GIB)
    """Volume or bucket size budgeted for that retention, GiB."""
    replicas: int = Field(default=1, ge=1, le=L.MAX_REPLICAS)
    """Replicas of the store."""
    bucket: DnsLabel | None = None
    """Object-storage bucket the store keeps its data in (Loki, Tempo); None for a local volume (Prometheus)."""


class Dashboard(StrictModel):
    """A Grafana dashboard of the design's key dashboards."""

    uid: DnsLabel
    """Stable dashboard UID."""
    title: str
    """Title as the design names it."""
    per_service: bool = False
    """Repeated once per service (a template variable)."""


class Heartbeat(StrictModel):
    """The dead man's switch: Alertmanager sends the always-firing Watchdog alert to an external heartbeat service every
    ``interval_minutes``; that service, not the platform, alerts when the pings stop (Prometheus, Alertmanager, their
    network path or the whole cluster down)."""

    url: str = Field(pattern=r"^https://[^\s{}]+$")
    """Ping endpoint of the heartbeat service (HTTPS; no secret in it: the token comes from the secret manager)."""
    auth_scheme: str = Field(default="Bearer", pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    """HTTP Authorization scheme the service expects before the token (``Bearer``, ``GenieKey``...)."""
    service: str = Field(min_length=1)
    """What the heartbeat service is and whom it pages when the pings stop (stated in the README and alert text)."""
    interval_minutes: int = Field(default=1, ge=1, le=60)
    """How often Alertmanager pings (the Watchdog route's group and repeat interval)."""
    missing_after_minutes: int = Field(default=5, ge=2)
    """How long without a ping before the heartbeat service alerts (set the same grace period in the service)."""

    @model_validator(mode="after")
    def _grace(self) -> "Heartbeat":
        if self.missing_after_minutes < 2 * self.interval_minutes:
            raise ValueError(f"missing_after_minutes ({self.missing_after_minutes}) must be >= 2 x interval_minutes "
                             f"({2 * self.interval_minutes}): one late ping must not page")
        return self


class Alerting(StrictModel):
    """Alert routing."""

    receiver: Literal["pagerduty"] = "pagerduty"
    """Where critical alerts page."""
    paging_severities: list[Literal["critical", "warning", "info"]] = ["critical"]
    """Severities that page someone."""
    alertmanager_replicas: int = Field(default=3, ge=2, le=L.MAX_STORE_INSTANCES)
    """Alertmanager replicas (a gossip cluster; at least 2, or one pod restart silences every page)."""
    warning_channel: str = Field(default="#platform-alerts", pattern=r"^[#@]?[a-z0-9._-]+$")
    """Chat channel that receives non-paging (warning) alerts; the webhook URL comes from the secret manager."""
    heartbeat: Heartbeat
    """Dead man's switch: where the always-firing Watchdog is sent, and who notices when it stops."""


class SLO(StrictModel):
    """Service-level objectives of the application services."""

    availability_percent: float = Field(gt=0, lt=100)
    """Share of successful requests promised over the window."""
    window_days: int = Field(default=30, ge=1, le=L.MAX_RETENTION_DAYS)
    """SLO window, days."""
    latency_p95_ms: int = Field(ge=1, le=L.MAX_LATENCY_MS)
    """95th-percentile latency objective, milliseconds."""


class Tracing(StrictModel):
    """Distributed tracing of the application services: OTLP to the node's collector (Alloy), on to Tempo."""

    sampling_ratio: float = Field(gt=0, le=1)
    """Share of root traces kept (OpenTelemetry ``parentbased_traceidratio``: a child follows its parent's decision)."""
    protocol: Literal["grpc", "http/protobuf"] = "grpc"
    """OTLP transport the services use (the collector listens on 4317 for gRPC, 4318 for HTTP)."""


class Observability(StrictModel):
    """The observability stack of platform-monitoring."""

    prometheus: Retention
    """Prometheus (metrics)."""
    loki: Retention
    """Loki (logs)."""
    tempo: Retention
    """Tempo (traces)."""
    grafana_replicas: int = Field(default=2, ge=1, le=L.MAX_STORE_INSTANCES)
    """Grafana replicas."""
    alerting: Alerting
    """PagerDuty alerting."""
    dashboards: list[Dashboard] = Field(min_length=1, max_length=1_000)
    """The design's key dashboards."""
    slo: SLO
    """Application SLOs (burn-rate alerts and canary analysis read these)."""
    tracing: Tracing
    """Trace export of the application services (endpoint derived: the collector the tree runs)."""

    @model_validator(mode="after")
    def _stores(self) -> "Observability":
        for store in ("loki", "tempo"):
            if getattr(self, store).bucket is None:
                raise ValueError(f"{store}.bucket: {store} keeps its data in object storage and needs a bucket")
        if self.prometheus.bucket is not None:
            raise ValueError("prometheus.bucket: Prometheus keeps its data on its volume (storage_gib), not in a bucket")
        uids = [d.uid for d in self.dashboards]
        if len(uids) != len(set(uids)):
            raise ValueError(f"dashboards: uids must be unique, got {uids}")
        return self


# --------------------------------------------------------------------------- backups and recovery


SCHEDULE_READERS: dict[str, tuple[Dialect, str]] = {
    "postgres": ("cloudnativepg", "CloudNativePG's ScheduledBackup"),
    "clickhouse": ("kubernetes", "the clickhouse-backup CronJob"),
    "cluster-state": ("kubernetes", "Velero's Schedule"),
}
"""Which program reads each data set's ``schedule``, and so which cron dialect it is written in."""


class Backup(StrictModel):
    """A row of the design's backup schedule."""

    data: Literal["postgres", "clickhouse", "iceberg", "configs", "cluster-state"]
    """The data set backed up."""
    frequency: Literal["continuous", "real-time", "hourly", "daily"]
    """How often (continuous = object replication / WAL streaming; real-time = every Git commit)."""
    schedule: str | None = None
    """Cron schedule for periodic backups (hourly/daily), in the dialect of the program that runs them: six fields,
    seconds first, for PostgreSQL (CloudNativePG); five for ClickHouse (a CronJob) and cluster-state (Velero). None
    for continuous ones."""
    retention_days: int | Literal["forever"]
    """How long backups are kept."""
    location: Literal["cross-region", "multi-region", "same-region", "git"]
    """Where backups live relative to the cluster."""
    bucket: str | None = None
    """Object-storage bucket (None for git)."""

    @property
    def interval_seconds(self) -> int:
        """Seconds between two backups (0 for continuous ones)."""
        return {"continuous": 0, "real-time": 0, "hourly": 3600, "daily": 86400}[self.frequency]

    @model_validator(mode="after")
    def _shape(self) -> "Backup":
        periodic = self.frequency in ("hourly", "daily")
        if periodic and self.schedule is None:
            raise ValueError(f"schedule: a {self.frequency} backup needs a cron schedule")
        if not periodic and self.schedule is not None:
            raise ValueError(f"schedule: a {self.frequency} backup has no cron schedule")
        if isinstance(self.retention_days, int) and not 1 <= self.retention_days <= L.MAX_RETENTION_DAYS:
            raise ValueError(f"retention_days must be between 1 and {L.MAX_RETENTION_DAYS} (ten years) or 'forever', "
                             f"got {self.retention_days}")
        if self.schedule is not None and self.data in SCHEDULE_READERS:
            dialect, reader = SCHEDULE_READERS[self.data]
            try:
                cron = parse_cron(self.schedule, dialect)
            except CronError as exc:
                raise ValueError(f"schedule: {reader} would not run it as written: {exc}") from None
            interval = cron.interval_seconds()
            if interval != self.interval_seconds:
                runs = f"runs every {describe_duration(interval)}" if interval else "does not run at one fixed interval"
                raise ValueError(f"schedule: the {self.data} backup is {self.frequency} (every "
                                 f"{describe_duration(self.interval_seconds)}), but {self.schedule!r} {runs} as {reader} reads it")
        if (self.location == "git") != (self.bucket is None):
            raise ValueError("bucket: needed for object-storage backups, and only for them (git backups have none)")
        return self


class RecoveryProcedure(StrictModel):
    """A row of the design's recovery procedures."""

    failure: FailureDomain | Literal["service"]
    """The failure."""
    response: str
    """What happens (the design's words)."""
    automated: bool
    """True when no person is needed."""
    mechanism: str
    """What performs it on this platform."""
    rto_seconds: DurationSeconds | None = None
    """Recovery time objective of the procedure, if the design states one."""


# --------------------------------------------------------------------------- delivery


class PipelineStage(StrictModel):
    """A stage of the deployment pipeline."""

    name: DnsLabel
    """Stage name."""
    title: str
    """As the design names it."""
    budget_minutes: int = Field(ge=1, le=L.MAX_JOB_MINUTES)
    """Time budget (the design's "~N min"); CI jobs time out after it."""
    does: str
    """What runs in the stage."""


class CanaryStep(StrictModel):
    """A step of a progressive rollout: shift traffic, then pause and analyse."""

    weight_percent: Percent
    """Share of traffic on the new version."""
    pause_seconds: DurationSeconds
    """How long to hold the weight (analysis runs meanwhile)."""


class Analysis(StrictModel):
    """Thresholds a canary must hold, read from Prometheus."""

    success_rate_min_percent: float = Field(gt=0, le=100)
    """Lowest acceptable share of non-5xx responses."""
    latency_p95_max_ms: int = Field(ge=1, le=L.MAX_LATENCY_MS)
    """Highest acceptable p95 latency, milliseconds."""
    interval_seconds: DurationSeconds = 60
    """Time between measurements."""
    failure_limit: int = Field(default=1, ge=0, le=1_000)
    """Failed measurements tolerated before abort."""


class Delivery(StrictModel):
    """The deployment pipeline and progressive delivery."""

    ci: Literal["github-actions"] = "github-actions"
    """CI system."""
    stages: list[PipelineStage] = Field(min_length=1)
    """Pipeline stages, in order."""
    canary_steps: list[CanaryStep] = Field(min_length=1)
    """Rollout steps of this environment."""
    analysis: Analysis
    """Canary analysis thresholds."""
    gateway_plugin_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """SHA-256 of the Argo Rollouts Gateway API plugin binary the controller downloads (the release's
    ``gatewayapi-plugin-linux-amd64``, from its published checksums); the controller refuses a download that differs.
    Unset, the controller runs whatever the release URL serves (PL-SEC-006)."""

    @model_validator(mode="after")
    def _steps(self) -> "Delivery":
        weights = [s.weight_percent for s in self.canary_steps]
        if weights != sorted(weights):
            raise ValueError(f"canary_steps: weights must not decrease, got {weights}")
        return self


# --------------------------------------------------------------------------- edge


class Edge(StrictModel):
    """Public entry: DNS zone, gateway, certificates."""

    domain: str = Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")
    """DNS zone the platform's host names live in."""
    acme_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    """Contact address for the ACME account."""
    acme_issuer: Literal["letsencrypt-staging", "letsencrypt-production"]
    """ACME endpoint public certificates come from."""
    gateway_replicas: int = Field(default=3, ge=1, le=L.MAX_REPLICAS)
    """Envoy proxy replicas of the public gateway."""
    cdn: bool = True
    """A CDN sits in front of the gateway."""


class LoadModel(StrictModel):
    """Per-organisation load, calibrated on the design's 1000-organisation point.

    An environment's replica counts and volume sizes are what its ``organisations`` need (for the base and
    prod that is ``calibration_organisations``, the design's 1000-organisation point; staging's overlay sets
    its own sizes for its own count). ``plinth plan --orgs N`` scales them by the load factor
    f = N / organisations (``plinth.plan.growth``):

    - autoscaled services: min and max replicas x f^replica_exponent, rounded up, never below the spec's
      minimum (the HA floor of 3 replicas over 3 zones holds at any size);
    - data volumes (PostgreSQL, ClickHouse, Kafka) and telemetry storage (Prometheus, Loki, Tempo)
      x f^storage_exponent; a volume never exceeds max_volume_gib: ClickHouse then adds shards and
      Kafka adds brokers (PostgreSQL cannot, and is reported);
    - Redis, Keeper, KRaft controllers, operators and the control plane do not grow;
    - object storage and network traffic follow the per-organisation figures below.

    Assumptions: every organisation brings the same average request rate, ingest volume and data
    (load is linear in organisations unless an exponent says otherwise); node shapes stay as the spec
    says and pools grow in node count only.
    """

    organisations: int = Field(ge=1, le=L.MAX_ORGANISATIONS)
    """Organisations the platform is sized for."""
    calibration_organisations: int = Field(default=1000, ge=1, le=L.MAX_ORGANISATIONS)
    """Organisations at which the spec's replica and storage numbers hold (the design's point)."""
    # ---- growth model (plinth plan); defaults are the assumptions stated above
    replica_exponent: float = Field(default=1.0, gt=0, le=2)
    """Replicas grow as f^replica_exponent; 1.0 = linear (each organisation brings the same requests per second)."""
    storage_exponent: float = Field(default=1.0, gt=0, le=2)
    """Data and telemetry volumes grow as f^storage_exponent; 1.0 = linear (same data per organisation)."""
    max_volume_gib: int = Field(default=16384, ge=1, le=L.MAX_VOLUME_GIB)
    """Largest single persistent volume, GiB (16 TiB: the EBS gp3 maximum); stores shard or add brokers beyond it."""
    data_fill_percent: int = Field(default=60, ge=1, le=100)
    """Share of a provisioned data volume that holds data (what a full backup copies), percent."""
    daily_change_percent: float = Field(default=5.0, ge=0, le=100)
    """Share of the data written or rewritten per day (WAL, incremental backups, replication), percent."""
    iceberg_gib_per_org: float = Field(default=5.0, ge=0, le=1_000_000)
    """Iceberg warehouse data per organisation on object storage, GiB."""
    egress_gib_per_org_month: float = Field(default=10.0, ge=0, le=1_000_000)
    """Traffic to the internet per organisation per month (through the load balancer), GiB."""
    nat_gib_per_org_month: float = Field(default=5.0, ge=0, le=1_000_000)
    """Outbound traffic through NAT per organisation per month (connectors pulling customers' sources), GiB."""
    inter_zone_gib_per_org_month: float = Field(default=20.0, ge=0, le=1_000_000)
    """Traffic crossing zones per organisation per month (Kafka and data-store replication to the other two
    zones, cross-zone service calls), GiB."""



# --------------------------------------------------------------------------- platform-system and platform-apps (sys-apps)


class SecretManager(StrictModel):
    """The cloud secret manager behind the ClusterSecretStore (External Secrets Operator)."""

    remote_prefix: str = Field(default="plinth", pattern=r"^[A-Za-z0-9][A-Za-z0-9_./-]*$")
    """Prefix of every remote secret name the platform reads (``<prefix>/<name>``)."""
    refresh_interval_seconds: DurationSeconds = 3600
    """How often ExternalSecrets re-read the secret manager (rotation reaches pods within this)."""
    gcp_project_id: str | None = None
    """GCP project holding Secret Manager secrets (needed when cluster.provider is gcp)."""
    azure_key_vault_url: str | None = Field(default=None, pattern=r"^https://[a-z0-9-]+\.vault\.azure\.net/?$")
    """Azure Key Vault URL (needed when cluster.provider is azure)."""


class PlatformAlertThresholds(StrictModel):
    """Thresholds of the platform's own alerts (autoscaling, certificates); formatted into expr and text."""

    saturation_at_max_minutes: int = Field(default=15, ge=1, le=L.MAX_THRESHOLD_MINUTES)
    """Minutes an autoscaler may sit at its max replicas before the service is called saturated."""
    certificate_expiry_warning_days: int = Field(default=14, ge=1, le=365)
    """Days before expiry a certificate not yet renewed raises an alert (cert-manager renews at 2/3 of lifetime)."""
    keda_scaler_error_minutes: int = Field(default=5, ge=1, le=L.MAX_THRESHOLD_MINUTES)
    """Minutes a KEDA scaler may keep failing before an alert (the HPA then holds its last size)."""


# --------------------------------------------------------------------------- the platform


ROLLOUT_STAGES: dict[str, str] = {"staging": "stage-deploy"}
"""Pipeline stage whose budget an environment's canary rollout must fit (the design: "Stage Deploy: canary (10%) in
staging"; every other environment rolls out in the production stage)."""
ROLLOUT_STAGE_DEFAULT = "prod-deploy"


class Platform(StrictModel):
    """A whole platform for one environment."""

    name: DnsLabel
    """Platform name."""
    environment: DnsLabel = "base"
    """Environment this spec was resolved for (set by the loader)."""
    git: GitSource
    """Where Argo CD reads the rendered tree from."""
    cluster: Cluster
    """The cluster and its cloud."""
    node_pools: dict[DnsLabel, NodePool] = Field(min_length=1, max_length=100)
    """Worker node pools."""
    design_totals: ResourceTotals
    """The design's resource-table "Total" row as written (a check compares it with the rows)."""
    namespaces: dict[NamespaceName, Namespace]
    """The four namespaces."""
    charts: dict[DnsLabel, HelmChart]
    """Pinned upstream Helm charts, by component."""
    argocd: ArgoCD
    """Argo CD and the sync policy."""
    edge: Edge
    """Public entry."""
    services: dict[DnsLabel, Service] = Field(min_length=1, max_length=1_000)
    """Application services of platform-apps."""
    api_services: ServicePromise
    """The HA promise of the application services."""
    datastores: DataStores
    """Data stores of platform-data."""
    observability: Observability
    """Observability stack."""
    backups: list[Backup] = Field(min_length=1)
    """Backup schedule."""
    recovery: list[RecoveryProcedure] = Field(min_length=1)
    """Recovery procedures."""
    delivery: Delivery
    """Deployment pipeline."""
    load: LoadModel
    """Sizing point."""
    design_costs: list[DesignCost] = []
    """The design's monthly cost estimates per cloud (checked by ``plinth plan``, never used to compute)."""
    # sys-apps: secret manager and platform alert thresholds (defaults keep older specs loading)
    secrets: SecretManager = SecretManager()
    """The cloud secret manager every credential comes from."""
    platform_alerts: PlatformAlertThresholds = PlatformAlertThresholds()
    """Thresholds of the autoscaling and certificate alerts."""

    @model_validator(mode="after")
    def _cross_refs(self) -> "Platform":
        placed: dict[str, str] = {}
        for pool_name, pool in self.node_pools.items():
            for ns in pool.namespaces:
                if ns in placed:
                    raise ValueError(f"node_pools.{pool_name}.namespaces: {ns} is already placed on pool {placed[ns]!r}")
                placed[ns] = pool_name
        missing = sorted(set(self.namespaces) - set(placed))
        if missing:
            raise ValueError(f"node_pools: namespaces {missing} are placed on no pool")
        for name, service in self.services.items():
            unknown = sorted(set(service.calls) - set(self.services))
            if unknown:
                raise ValueError(f"services.{name}.calls: unknown services {unknown}")
            trigger = service.scaling.trigger
            topics = {t.name for t in self.datastores.kafka.topics}
            if isinstance(trigger, QueueDepthTrigger):
                if trigger.topic not in topics:
                    raise ValueError(
                        f"services.{name}.scaling.trigger.topic: {trigger.topic!r} is not a Kafka topic of the spec "
                        f"(expected one of {sorted(topics)})"
                    )
                if trigger.topic not in service.consumes:
                    raise ValueError(f"services.{name}.consumes: the queue_depth trigger reads the lag of {trigger.topic!r}, "
                                     f"so the service must consume it (consumes: {service.consumes})")
            for field_name in ("produces", "consumes"):
                listed = getattr(service, field_name)
                unknown_topics = sorted(set(listed) - topics)
                if unknown_topics:
                    raise ValueError(f"services.{name}.{field_name}: unknown Kafka topics {unknown_topics} "
                                     f"(expected some of {sorted(topics)})")
                if listed and "kafka" not in service.uses:
                    raise ValueError(f"services.{name}.{field_name}: the service does not use kafka (add it to uses)")
            if "kafka" in service.uses and not (service.produces or service.consumes):
                raise ValueError(f"services.{name}.uses: kafka is used but no topic is produced or consumed; list them in "
                                 "produces/consumes (its Kafka identity may touch exactly those topics)")
        hosts: dict[str, str] = {}
        for name, service in self.services.items():
            if service.public_host is None:
                continue
            if service.public_host in hosts:
                raise ValueError(f"services.{name}.public_host: {service.public_host!r} is already the host of service "
                                 f"{hosts[service.public_host]!r}: the gateway would get two listeners (and two routes) for "
                                 f"{service.public_host}.{self.edge.domain}, which it rejects as conflicting")
            hosts[service.public_host] = name
            fqdn = f"{service.public_host}.{self.edge.domain}"
            if len(fqdn) > 253:
                raise ValueError(f"services.{name}.public_host: {fqdn!r} is {len(fqdn)} characters, more than the 253 a "
                                 "host name may have")
        data_sets = [b.data for b in self.backups]
        duplicates = sorted({d for d in data_sets if data_sets.count(d) > 1})
        if duplicates:
            raise ValueError(f"backups: data sets listed twice: {duplicates}")
        # postgres and clickhouse: the design's rows; cluster-state: what Velero's Schedule is rendered from.
        for needed in ("postgres", "clickhouse", "cluster-state"):
            if needed not in data_sets:
                raise ValueError(f"backups: no backup for {needed}")
        for index, row in enumerate(self.backups):
            if row.data == "iceberg" and row.bucket != self.datastores.iceberg.warehouse_bucket:
                raise ValueError(f"backups.{index}.bucket: the iceberg row's bucket {row.bucket!r} differs from "
                                 f"datastores.iceberg.warehouse_bucket {self.datastores.iceberg.warehouse_bucket!r}; the warehouse is "
                                 "versioned in place, so they must be the same bucket")
        buckets = [b.bucket for b in self.backups if b.bucket] + [self.observability.loki.bucket, self.observability.tempo.bucket]
        if self.datastores.iceberg.warehouse_bucket not in buckets:
            buckets.append(self.datastores.iceberg.warehouse_bucket)
        twice = sorted({b for b in buckets if buckets.count(b) > 1})
        if twice:
            raise ValueError(f"backups: bucket names used twice: {twice} (each data set needs its own bucket: retention and "
                             "replication are per bucket)")
        velero = self.backup_for("cluster-state")
        if velero.retention_days == "forever":
            index = self.backups.index(velero)
            raise ValueError(f"backups.{index}.retention_days: Velero expires every backup after its TTL and cannot keep "
                             "cluster-state forever; give a number of days")
        return self

    @model_validator(mode="after")
    def _names_for_provider(self) -> "Platform":
        provider = self.cluster.provider
        rule, source = BUCKET_NAME_RULES[provider]
        fields = [(f"backups.{i}.bucket", b.bucket) for i, b in enumerate(self.backups) if b.bucket]
        fields += [("datastores.iceberg.warehouse_bucket", self.datastores.iceberg.warehouse_bucket),
                   ("observability.loki.bucket", self.observability.loki.bucket), ("observability.tempo.bucket", self.observability.tempo.bucket)]
        for field, name in fields:
            if name and not re.fullmatch(rule, name):
                raise ValueError(f"{field}: {name!r} breaks {provider}'s bucket name rules ({source})")
        if provider == "azure" and self.secrets.azure_key_vault_url:
            vault = self.secrets.azure_key_vault_url.removeprefix("https://").split(".", 1)[0]
            if not re.fullmatch(KEY_VAULT_NAME_RULE, vault):
                raise ValueError(f"secrets.azure_key_vault_url: vault name {vault!r} breaks Key Vault's rules (3-24 letters, digits and "
                                 "hyphens, starting with a letter, ending with a letter or digit, no two hyphens in a row)")
        return self

    @model_validator(mode="after")
    def _secret_manager_for_provider(self) -> "Platform":
        provider = self.cluster.provider
        if provider == "gcp" and not self.secrets.gcp_project_id:
            raise ValueError("secrets.gcp_project_id: needed when cluster.provider is gcp (Secret Manager is per project)")
        if provider == "azure" and not self.secrets.azure_key_vault_url:
            raise ValueError("secrets.azure_key_vault_url: needed when cluster.provider is azure (the Key Vault to read)")
        return self

    @model_validator(mode="after")
    def _zone_failure_promise(self) -> "Platform":
        zones = len(self.cluster.zones)
        if "zone" in self.api_services.ha.covers:
            share = "/".join(map(str, ZONE_LOSS_SERVING_SHARE))
            for name, service in self.services.items():
                low = service.scaling.min_replicas
                left = zone_loss_survivors(low, zones)
                if left < min_serving_after_zone_loss(low):
                    enough = smallest_zone_safe_replicas(low, zones)
                    advice = (f"raise it to {enough}" if enough is not None else
                              f"no replica count can: with {zones} zone{'s' if zones > 1 else ''} a zone loss takes "
                              f"{'every replica' if zones == 1 else 'at least half of them'}; spread over at least 3 zones "
                              "(cluster.zones) or drop 'zone' from api_services.ha.covers")
                    raise ValueError(
                        f"services.{name}.scaling.min_replicas: with {zones} zone{'s' if zones > 1 else ''}, losing one leaves "
                        f"{left} of {low} replicas, less than the {share} api_services.ha promises for a zone failure; {advice}")
        catalog = self.datastores.iceberg.catalog
        if "zone" in self.api_services.ha.covers:
            left = zone_loss_survivors(catalog.replicas, zones)
            if catalog.replicas < 3 or left < min_serving_after_zone_loss(catalog.replicas):
                raise ValueError(
                    f"datastores.iceberg.catalog.replicas: {catalog.replicas} catalog replica(s) over {zones} zones keep {left} "
                    f"after losing one; the stateless services' promise needs >= 3 replicas and "
                    f"{'/'.join(map(str, ZONE_LOSS_SERVING_SHARE))} of them serving (use a multiple of {zones}, at least {max(3, zones)})")
        if self.edge.gateway_replicas < max(3, zones):
            raise ValueError(f"edge.gateway_replicas ({self.edge.gateway_replicas}) must be >= 3 and >= the zone count "
                             f"({zones}): one proxy per zone, two left after a zone failure")
        return self

    @model_validator(mode="after")
    def _iceberg_catalog(self) -> "Platform":
        iceberg = self.datastores.iceberg
        chart = self.charts.get(iceberg.catalog.chart)
        if chart is None:
            raise ValueError(f"datastores.iceberg.catalog.chart: {iceberg.catalog.chart!r} is not a pinned chart "
                             f"(expected a key of charts: {sorted(self.charts)})")
        if chart.chart != "polaris":
            raise ValueError(f"datastores.iceberg.catalog.chart: charts.{iceberg.catalog.chart} installs {chart.chart!r}; the "
                             "catalog is rendered for Apache Polaris' chart 'polaris'")
        row = next((b for b in self.backups if b.data == "iceberg"), None)
        if row is not None and isinstance(row.retention_days, int) and iceberg.maintenance.orphan_file_min_age_days >= row.retention_days:
            raise ValueError(f"datastores.iceberg.maintenance.orphan_file_min_age_days: {iceberg.maintenance.orphan_file_min_age_days} "
                             f"days must be below the iceberg backup row's retention ({row.retention_days} days)")
        return self

    @model_validator(mode="after")
    def _rollout_within_stage_budget(self) -> "Platform":
        stage_name = ROLLOUT_STAGES.get(self.environment, ROLLOUT_STAGE_DEFAULT)
        stage = next((s for s in self.delivery.stages if s.name == stage_name), None)
        if stage is None:
            return self
        steps = self.delivery.canary_steps
        pauses = sum(s.pause_seconds for s in steps)
        needed = self.rollout_seconds()
        if needed > stage.budget_minutes * 60:
            raise ValueError(
                f"delivery.canary_steps: the {self.environment} rollout pauses {describe_duration(pauses)} over {len(steps)} "
                f"step(s) and needs one more analysis measurement ({describe_duration(self.delivery.analysis.interval_seconds)}) "
                f"after the last: {describe_duration(needed)}, more than the {stage.budget_minutes} min budget of stage "
                f"{stage.name!r} ({stage.title}); shorten the pauses or raise the budget")
        return self

    def rollout_seconds(self) -> float:
        """Time a canary rollout takes with no one intervening: its pauses plus one analysis measurement after the
        last, seconds (what the environment's deploy stage budget must hold)."""
        return sum(s.pause_seconds for s in self.delivery.canary_steps) + self.delivery.analysis.interval_seconds

    def backup_for(self, data: str) -> Backup:
        """The backup row of one data set."""
        for backup in self.backups:
            if backup.data == data:
                return backup
        raise KeyError(data)

    def pool_for_namespace(self, namespace: str) -> tuple[str, NodePool]:
        """The node pool a namespace's pods are scheduled on."""
        for name, pool in self.node_pools.items():
            if namespace in pool.namespaces:
                return name, pool
        raise KeyError(namespace)
