"""Facts derived from the resolved platform, written once and read by every layer.

Render, the cloud layer, drills, checks, docs and the planner all need the same few facts: where each
backup is written and where a restore reads it after a region loss, which Kubernetes service account
gets which cloud identity, what a retention of "forever" means, when a backup counts as stale, how many
replicas survive a zone loss, what a region loss costs each store. Each is a pure function of the
``Platform`` here; nobody else recomputes them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from plinth.spec.model import Backup, Platform, Provider
from plinth.spec.types import describe_duration

# --------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class Retention:
    """How long data is kept. ``days`` None means **forever**.

    Forever means one thing everywhere: the platform never deletes the data. The writer gets no
    retention policy (CloudNativePG's ObjectStore has no ``retentionPolicy``, clickhouse-backup keeps every
    remote backup), the bucket gets no expiry rule, and old copies go only when a person deletes them.
    A consumer that cannot keep data forever (Velero expires every backup after its TTL) rejects it in the
    spec model instead of inventing a long number.
    """

    days: int | None

    @property
    def forever(self) -> bool:
        """True when nothing is ever expired."""
        return self.days is None

    @property
    def seconds(self) -> int | None:
        """The retention in seconds (None = forever)."""
        return None if self.days is None else self.days * 86400

    def __str__(self) -> str:
        return "forever" if self.days is None else f"{self.days} days"

    def at_most(self, limit_days: int) -> int:
        """Days a consumer with a hard limit keeps (a cloud's longest automated backup retention): the retention, or the
        limit when the retention is longer or forever. The promise is then not kept in full: callers say so."""
        return limit_days if self.days is None else min(self.days, limit_days)


FOREVER = Retention(None)


def retention(value: int | Literal["forever"]) -> Retention:
    """The spec's ``retention_days`` (a number of days or the word ``forever``) as a Retention."""
    return FOREVER if value == "forever" else Retention(int(value))


def backup_retention(backup: Backup) -> Retention:
    """Retention of one backup row."""
    return retention(backup.retention_days)


def retained_backup_count(backup: Backup) -> int | None:
    """How many periodic backups cover a row's retention (90 daily backups for 90 days); None = keep all."""
    kept = backup_retention(backup)
    if kept.forever:
        return None
    if backup.interval_seconds == 0:
        raise ValueError(f"backups.{backup.data}: a count of backups needs a periodic (hourly/daily) backup")
    return max(1, kept.days * 86400 // backup.interval_seconds)  # type: ignore[operator]


# --------------------------------------------------------------------------- backup freshness

STALE_AFTER_INTERVALS = 2
"""A periodic backup is stale when the newest success is older than this many intervals: one missed run
is tolerated (a run may be late or retried), a second one is not."""


def backup_stale_after_seconds(backup: Backup) -> int | None:
    """Age of the newest successful backup past which it is stale (None for continuous/real-time rows)."""
    if backup.interval_seconds == 0:
        return None
    return STALE_AFTER_INTERVALS * backup.interval_seconds


# --------------------------------------------------------------------------- object storage locations

REPLICATION_BOUND_SECONDS: dict[str, int | None] = {
    "aws": 900,  # S3 Replication Time Control: 99.99 % of objects within 15 minutes
    "gcp": 900,  # GCS dual-region turbo replication: the newly written objects within 15 minutes
    "azure": None,  # Blob object replication: asynchronous, no replication-time objective
}
"""How late the copy in the DR region may be behind the primary bucket, per cloud (None = no bound)."""
REPLICATION_SOURCES: dict[str, str] = {
    "aws": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-time-control.html",
    "gcp": "https://cloud.google.com/storage/docs/availability-durability#turbo-replication",
    "azure": "https://learn.microsoft.com/en-us/azure/storage/blobs/object-replication-overview",
}


def storage_account_name(cluster_name: str, region: str) -> str:
    """Azure storage account of the cluster's data in ``region`` (3-24 lowercase letters and digits)."""
    base = re.sub(r"[^a-z0-9]", "", cluster_name.lower())
    suffix = re.sub(r"[^a-z0-9]", "", region.lower())
    return (base[: 24 - len(suffix)] + suffix)[:24]


def azure_resource_group(platform: Platform, region: str) -> str:
    """Azure resource group holding the cluster's resources in ``region``: ``<cluster>`` in the cluster's region,
    ``<cluster>-dr`` in the DR region."""
    return platform.cluster.name if region == platform.cluster.region else f"{platform.cluster.name}-dr"


@dataclass(frozen=True)
class ObjectLocation:
    """One copy of a bucket: its name and region (on Azure, a container in a storage account)."""

    provider: Provider
    bucket: str
    """Bucket name (GCS, S3) or container name (Azure Blob)."""
    region: str
    """Region that holds this copy."""
    account: str | None = None
    """Azure storage account holding the container; None elsewhere."""
    resource_group: str | None = None
    """Azure resource group of the storage account; None elsewhere."""

    def url(self, prefix: str = "") -> str:
        """URL of ``prefix`` in this copy, in the scheme the writers use (s3://, gs://, https:// for Azure)."""
        if self.provider == "aws":
            base = f"s3://{self.bucket}"
        elif self.provider == "gcp":
            base = f"gs://{self.bucket}"
        else:
            base = f"https://{self.account}.blob.core.windows.net/{self.bucket}"
        return f"{base}/{prefix}".rstrip("/")

    @property
    def endpoint(self) -> str | None:
        """Regional API endpoint where the cloud needs one named (S3); None where the URL is enough."""
        return f"https://s3.{self.region}.amazonaws.com" if self.provider == "aws" else None

    def describe(self) -> str:
        """How a person finds this copy: ``s3://bucket (us-east-1)``."""
        return f"{self.url()} ({self.region})"


@dataclass(frozen=True)
class BucketTarget:
    """A bucket the cloud layer creates and what writes into it."""

    key: str
    """What it holds: postgres, clickhouse, velero, iceberg, loki, tempo."""
    data: str
    """The spec's data set (backup row) or telemetry store it belongs to."""
    primary: ObjectLocation
    """The copy writers write to, in the cluster's region."""
    copy: ObjectLocation | None
    """The copy outside the cluster's region (None when the data has no cross-region copy)."""
    location: Literal["cross-region", "multi-region", "same-region"]
    """The spec's backup location (telemetry is same-region)."""
    retention: Retention
    """How long its objects are kept."""
    expire: Literal["objects", "noncurrent-versions"]
    """What a lifecycle rule removes: backups expire as objects; live data (Iceberg) only loses old versions."""
    prefix: str
    """Folder every backup writer of this data set writes under (``<cluster>/<data set>``); empty for live data (the
    Iceberg warehouse, the telemetry stores), which lay out the bucket from its root."""

    @property
    def replicated(self) -> bool:
        """True when a copy lives outside the cluster's region."""
        return self.copy is not None

    def restore_source(self, region_lost: bool) -> ObjectLocation:
        """The copy a restore reads: the primary, or after a region loss the copy in the DR region."""
        if region_lost:
            if self.copy is None:
                raise ValueError(f"{self.data}: no copy outside {self.primary.region}; a region loss loses it")
            return self.copy
        return self.primary


_BUCKET_KEYS = {"postgres": "postgres", "clickhouse": "clickhouse", "cluster-state": "velero", "iceberg": "iceberg"}
"""Bucket key of each backup row's data set (the cloud layer names resources and identities by it)."""


def _location(platform: Platform, bucket: str, region: str) -> ObjectLocation:
    provider = platform.cluster.provider
    if provider == "azure":
        return ObjectLocation(provider, bucket, region, storage_account_name(platform.cluster.name, region),
                              azure_resource_group(platform, region))
    return ObjectLocation(provider, bucket, region)


def replica_bucket_name(platform: Platform, bucket: str) -> str:
    """Name of a bucket's copy in the DR region: GCS dual-region buckets are one bucket in both regions;
    an S3 replica needs its own global name; an Azure container keeps its name in the DR storage account."""
    return f"{bucket}-{platform.cluster.dr_region}" if platform.cluster.provider == "aws" else bucket


def _target(platform: Platform, key: str, data: str, bucket: str, location: str, kept: Retention,
            expire: Literal["objects", "noncurrent-versions"], prefix: str) -> BucketTarget:
    cluster = platform.cluster
    copy = None
    if location in ("cross-region", "multi-region"):
        copy = _location(platform, replica_bucket_name(platform, bucket), cluster.dr_region)
    return BucketTarget(key, data, _location(platform, bucket, cluster.region), copy, location,  # type: ignore[arg-type]
                        kept, expire, prefix)


def backup_targets(platform: Platform) -> dict[str, BucketTarget]:
    """Every object-storage backup row's bucket, by data set (git rows have none)."""
    targets: dict[str, BucketTarget] = {}
    for row in platform.backups:
        if row.bucket is None:
            continue
        live = row.frequency == "continuous"  # the data itself, versioned in place (the Iceberg warehouse)
        targets[row.data] = _target(platform, _BUCKET_KEYS[row.data], row.data, row.bucket, row.location, backup_retention(row),
                                    "noncurrent-versions" if live else "objects", "" if live else f"{platform.cluster.name}/{row.data}")
    return targets


def backup_target(platform: Platform, data: str) -> BucketTarget:
    """The bucket of one backup row (postgres, clickhouse, cluster-state, iceberg)."""
    targets = backup_targets(platform)
    if data not in targets:
        raise KeyError(f"backups: no object-storage backup row for {data!r}")
    return targets[data]


def telemetry_target(platform: Platform, store: Literal["loki", "tempo"]) -> BucketTarget:
    """The bucket a telemetry store keeps its data in, in the cluster's region, expiring after its retention."""
    settings = getattr(platform.observability, store)
    return _target(platform, store, store, settings.bucket, "same-region", Retention(settings.retention_days), "objects", "")


def buckets(platform: Platform) -> list[BucketTarget]:
    """Every bucket the cloud layer creates: the backup rows', the Iceberg warehouse, Loki's and Tempo's."""
    plans = list(backup_targets(platform).values())
    iceberg = platform.datastores.iceberg
    if "iceberg" not in {p.key for p in plans}:
        plans.append(_target(platform, "iceberg", "iceberg", iceberg.warehouse_bucket, "same-region", FOREVER,
                             "noncurrent-versions", ""))
    plans += [telemetry_target(platform, "loki"), telemetry_target(platform, "tempo")]
    return plans


# --------------------------------------------------------------------------- region loss


@dataclass(frozen=True)
class RegionLoss:
    """What a region loss costs one data set: the most acknowledged data lost, and why."""

    seconds: int | None
    """Most data lost, in seconds of writes (None: everything, there is no copy outside the region)."""
    reason: str
    """Where the bound comes from, in words."""

    def describe(self) -> str:
        """``up to 15m: <reason>``, ``nothing: <reason>`` or ``everything: <reason>``."""
        if self.seconds is None:
            return f"everything: {self.reason}"
        if self.seconds == 0:
            return f"nothing: {self.reason}"
        return f"up to {describe_duration(self.seconds)}: {self.reason}"


def _replication(platform: Platform) -> tuple[int | None, str]:
    provider = platform.cluster.provider
    bound = REPLICATION_BOUND_SECONDS[provider]
    if bound is None:
        return None, f"the copy in {platform.cluster.dr_region} is asynchronous with no replication-time objective"
    return bound, f"copied to {platform.cluster.dr_region} within {describe_duration(bound)}"


def region_loss(platform: Platform, data: str) -> RegionLoss:
    """Region-loss RPO of a data store or data set (postgres, clickhouse, redis, kafka, cluster-state,
    iceberg, configs), from the backups and replication the spec configures."""
    backups = {b.data: b for b in platform.backups}
    if data in ("redis", "kafka"):
        return RegionLoss(None, f"{data} has no copy outside {platform.cluster.region}")
    backup = backups.get(data)
    if backup is None:
        return RegionLoss(None, f"no backup of {data} in the spec")
    if backup.location == "git":
        return RegionLoss(0, "every change is a Git commit pushed to the Git host, outside the cluster's region")
    if backup.location == "same-region":
        return RegionLoss(None, f"the {data} backup stays in {platform.cluster.region}")
    lag, how = _replication(platform)
    if data == "postgres":
        written = int(platform.datastores.postgres.archive_timeout_seconds)
        what = f"WAL archived at least every {describe_duration(written)} (archive_timeout)"
    elif backup.interval_seconds == 0:
        written, what = 0, f"{backup.frequency} writes"
    else:
        written, what = backup.interval_seconds, f"{backup.frequency} backup (every {describe_duration(backup.interval_seconds)})"
    if lag is None:
        return RegionLoss(None, f"{what}; {how}")
    return RegionLoss(written + lag, f"{what}, {how}")


# --------------------------------------------------------------------------- secrets and cloud identities


SECRET_NAME_RULES: dict[str, tuple[str, str, str]] = {
    "aws": ("/", r"[^A-Za-z0-9/_+=.@-]", "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html"),
    "gcp": ("-", r"[^A-Za-z0-9_-]", "https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create"),
    "azure": ("-", r"[^A-Za-z0-9-]", "https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#object-identifiers"),
}
"""Per cloud: the separator of a remote secret name's parts, the characters its secret manager refuses in a name
(each becomes the separator), and the rule's source. AWS Secrets Manager allows ``/`` (names are paths, IAM grants
``<prefix>/*``); GCP Secret Manager allows letters, digits, ``-`` and ``_``; Azure Key Vault letters, digits and ``-``."""


def _remote_name(platform: Platform, *parts: str) -> str:
    separator, refused, _ = SECRET_NAME_RULES[platform.cluster.provider]
    return re.sub(refused, separator, separator.join(parts))


def secret_name_prefix(platform: Platform) -> str:
    """Prefix of every remote secret the environment reads: ``<secrets.remote_prefix>/<environment>`` on AWS,
    ``<secrets.remote_prefix>-<environment>`` where the secret manager refuses ``/`` in names (GCP, Azure).

    ExternalSecrets read ``<prefix><separator><name>`` (:func:`remote_secret_name`); the cloud layer lets External
    Secrets read exactly the names under this prefix.
    """
    return _remote_name(platform, platform.secrets.remote_prefix, platform.environment)


def remote_secret_name(platform: Platform, name: str) -> str:
    """The secret manager's name of the environment's secret ``name`` (``backups/velero`` ->
    ``plinth/prod/backups/velero`` on AWS, ``plinth-prod-backups-velero`` on GCP and Azure)."""
    return _remote_name(platform, platform.secrets.remote_prefix, platform.environment, name)


def secret_name_separator(platform: Platform) -> str:
    """What follows the prefix in every remote secret name of the environment (``/`` or ``-``)."""
    return SECRET_NAME_RULES[platform.cluster.provider][0]


IDENTITY_SECRETS_SCOPE = "identities"
"""Remote subtree of the data-store identities' passwords: the one subtree two namespaces share, because both ends of
a ``uses`` edge need the password (the service in platform-apps, the store's operator in platform-data)."""
IDENTITY_SECRET_READERS: tuple[str, ...] = ("platform-apps", "platform-data")
"""Namespaces whose secret store may read the identities' passwords."""


def secret_scopes(platform: Platform) -> dict[str, tuple[str, ...]]:
    """Remote subtrees (under ``secret_name_prefix``) each namespace may read: its own (``<prefix>/<namespace>/…``), and
    for the two ends of the ``uses`` edges the identities' passwords. Nothing else: a namespace never reads another's."""
    return {ns: (ns, IDENTITY_SECRETS_SCOPE) if ns in IDENTITY_SECRET_READERS else (ns,) for ns in sorted(platform.namespaces)}


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
    """Reads the cloud's secret manager (External Secrets), names under ``secret_name_prefix``."""
    snapshots_volumes: bool = False
    """Creates and restores disk snapshots (Velero)."""
    scales_nodes: bool = False
    """Resizes the node groups between their bounds (the cluster autoscaler, where the cloud runs none itself)."""
    reads_copies: bool = False
    """Also reads its buckets' copies in the DR region (a restore after a region loss reads those)."""
    providers: tuple[Provider, ...] = ("aws", "gcp", "azure")
    """Clouds where this identity exists (the cluster autoscaler only where the cloud has no managed one)."""

    @property
    def subject(self) -> str:
        """The service account's OIDC subject, as the cloud's trust policy names it."""
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"


WORKLOAD_IDENTITIES: tuple[WorkloadIdentity, ...] = (
    # The Barman Cloud Plugin runs in the CloudNativePG instance pods, whose service account is the Cluster's name.
    WorkloadIdentity("cnpg-backups", "platform-data", "plinth-pg", buckets=("postgres",)),
    # The cluster restore drill's scratch Cluster (plinth-restore-drill/plinth-pg-restore-drill) reads the DR copy.
    WorkloadIdentity("postgres-restore-drill", "plinth-restore-drill", "plinth-pg-restore-drill", buckets=("postgres",),
                     reads_copies=True),
    WorkloadIdentity("clickhouse-backup", "platform-data", "plinth-ch", buckets=("clickhouse",)),
    WorkloadIdentity("velero", "platform-system", "velero", buckets=("velero",), snapshots_volumes=True),
    WorkloadIdentity("loki", "platform-monitoring", "loki", buckets=("loki",)),
    WorkloadIdentity("tempo", "platform-monitoring", "tempo", buckets=("tempo",)),
    WorkloadIdentity("iceberg", "platform-data", "iceberg-catalog", buckets=("iceberg",)),
    WorkloadIdentity("external-dns", "platform-system", "external-dns", manages_dns=True),
    WorkloadIdentity("external-secrets", "platform-system", "external-secrets", reads_secrets=True),
    # EKS managed node groups have no autoscaler of their own (GKE and AKS scale their pools themselves).
    WorkloadIdentity("cluster-autoscaler", "platform-system", "cluster-autoscaler", scales_nodes=True, providers=("aws",)),
)
"""The components that need cloud access, with the service account names their charts/objects use."""


def cloud_identity_name(platform: Platform, identity: WorkloadIdentity) -> str:
    """Name of the identity's cloud role / service account / managed identity (``<cluster>-<name>``)."""
    return f"{platform.cluster.name}-{identity.name}"


def workload_identities(platform: Platform) -> tuple[WorkloadIdentity, ...]:
    """The identities that exist on the platform's cloud."""
    return tuple(i for i in WORKLOAD_IDENTITIES if platform.cluster.provider in i.providers)


def workload_identity(platform: Platform, name: str) -> WorkloadIdentity:
    """One identity of the platform's cloud by name (``velero``, ``loki``, ...)."""
    for identity in workload_identities(platform):
        if identity.name == name:
            return identity
    raise KeyError(f"no workload identity {name!r} on {platform.cluster.provider}")


def gcp_service_account_id(platform: Platform, identity: WorkloadIdentity) -> str:
    """The Google service account ID of an identity: its cloud name cut to GCP's 30 characters (6-30 lowercase letters,
    digits and hyphens, not ending in a hyphen)."""
    return cloud_identity_name(platform, identity)[:30].rstrip("-")


def aws_role_arn(platform: Platform, identity: WorkloadIdentity) -> str:
    """The IAM role ARN of an identity (the cloud layer names the role exactly :func:`cloud_identity_name`)."""
    return f"arn:aws:iam::{platform.cluster.account}:role/{cloud_identity_name(platform, identity)}"


def gcp_service_account_email(platform: Platform, identity: WorkloadIdentity) -> str:
    """The Google service account e-mail of an identity, in the cluster's project."""
    return f"{gcp_service_account_id(platform, identity)}@{platform.cluster.account}.iam.gserviceaccount.com"


IDENTITY_ANNOTATIONS: dict[str, str] = {
    "aws": "eks.amazonaws.com/role-arn",
    "gcp": "iam.gke.io/gcp-service-account",
    "azure": "azure.workload.identity/client-id",
}
"""The ServiceAccount annotation each cloud's workload identity reads: IRSA
(https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html), GKE Workload Identity
(https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity), Azure workload identity
(https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html)."""
AZURE_USE_LABEL = "azure.workload.identity/use"
"""Pod label the Azure workload identity webhook acts on (it injects the token and AZURE_* variables)."""


def identity_annotations(platform: Platform, name: str) -> dict[str, str]:
    """The annotations of the ServiceAccount of identity ``name``: the role, Google account or client ID it acts as."""
    identity = workload_identity(platform, name)
    provider = platform.cluster.provider
    if provider == "aws":
        value = aws_role_arn(platform, identity)
    elif provider == "gcp":
        value = gcp_service_account_email(platform, identity)
    else:
        value = platform.cluster.identity_client_ids.get(identity.name, "")
        if not value:
            raise ValueError(f"cluster.identity_client_ids.{identity.name}: Azure workload identity needs the client ID of "
                             f"managed identity {cloud_identity_name(platform, identity)} (pulumi stack output "
                             "workloadIdentityClientIds)")
    return {IDENTITY_ANNOTATIONS[provider]: value}


def identity_pod_labels(platform: Platform) -> dict[str, str]:
    """Labels the pods of an identity's ServiceAccount need (Azure's webhook only mutates labelled pods)."""
    return {AZURE_USE_LABEL: "true"} if platform.cluster.provider == "azure" else {}


# --------------------------------------------------------------------------- public entry

ORIGIN_HOST = "origin"
"""Host name (under ``edge.domain``) of the public gateway's load balancer: the CDN's origin. external-dns publishes
it from the gateway's Service; the CDN serves every public host and forwards to it."""


def origin_host(platform: Platform) -> str:
    """The CDN's origin: the gateway's load balancer name under the platform's domain."""
    return f"{ORIGIN_HOST}.{platform.edge.domain}"


# --------------------------------------------------------------------------- node autoscaling

NODE_AUTOSCALERS: dict[str, str] = {
    "aws": "cluster autoscaler (rendered, platform-system) resizing each EKS managed node group's Auto Scaling group",
    "gcp": "GKE node-pool autoscaling (total_min/max_node_count per pool)",
    "azure": "AKS cluster autoscaler (min_count/max_count per agent pool)",
}
"""What keeps each pool's node count between ``min_nodes`` and ``max_nodes`` on each cloud."""


# --------------------------------------------------------------------------- cluster addresses

NETWORK_CIDR = "10.0.0.0/16"
"""Address space of the cluster's network (VPC / VNet); node subnets are /20s carved from it, one pair per zone."""
GKE_CONTROL_PLANE_CIDR = "172.16.0.0/28"
"""The GKE control plane's private range (outside NETWORK_CIDR): the ``kubernetes`` Service's endpoints on GKE."""
GKE_POD_CIDR = "10.64.0.0/14"
GKE_SERVICE_CIDR = "10.68.0.0/20"
AKS_POD_CIDR = "10.244.0.0/16"
"""Azure CNI overlay: pod addresses outside the VNet."""
AKS_SERVICE_CIDR = "10.96.0.0/16"
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8")
"""Addresses that are never a public endpoint (RFC 1918, carrier-grade NAT, link-local, loopback)."""


def zone_subnets(zones: list[str] | tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Per zone, the (private node subnet, public load-balancer/NAT subnet) CIDRs carved from ``NETWORK_CIDR``."""
    network = ipaddress.ip_network(NETWORK_CIDR)
    blocks = list(network.subnets(new_prefix=20))
    if 2 * len(zones) > len(blocks):
        raise ValueError(f"cluster.zones: {len(zones)} zones do not fit in {NETWORK_CIDR}")
    return {zone: (str(blocks[i]), str(blocks[len(zones) + i])) for i, zone in enumerate(zones)}


def control_plane_subnets(zones: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Per zone, a /28 for the managed control plane's endpoint ENIs (EKS), carved from the first /20 after the node
    and public subnets: no pod or node ever gets an address there, so a NetworkPolicy can name the API server alone."""
    network = ipaddress.ip_network(NETWORK_CIDR)
    blocks = list(network.subnets(new_prefix=20))
    if 2 * len(zones) + 1 > len(blocks):
        raise ValueError(f"cluster.zones: {len(zones)} zones do not fit in {NETWORK_CIDR}")
    small = list(blocks[2 * len(zones)].subnets(new_prefix=28))
    return {zone: str(small[i]) for i, zone in enumerate(zones)}


MANAGED_STORE_PORTS: dict[str, dict[str, int]] = {
    "aws": {"postgres": 5432, "redis": 6379},
    "gcp": {"postgres": 5432, "redis": 6378},
    "azure": {"postgres": 5432, "redis": 10000},
}
"""Port each cloud-managed store answers on: PostgreSQL's own everywhere; Redis on ElastiCache's 6379 (TLS on the same
port), Memorystore's 6378 with in-transit encryption, Azure Managed Redis' 10000. The NetworkPolicies' egress, the
security groups and the secrets the cloud layer writes name the same port."""


def managed_store_port(platform: Platform, store: str) -> int:
    """The port the cloud-managed ``store`` answers on, on the spec's cloud."""
    return MANAGED_STORE_PORTS[platform.cluster.provider][store]


def managed_stores(platform: Platform) -> tuple[str, ...]:
    """The data stores the spec hands to the cloud (``managed_by: cloud``), of ``postgres`` and ``redis``."""
    stores = platform.datastores
    return tuple(name for name, store in (("postgres", stores.postgres), ("redis", stores.redis)) if store.managed_by == "cloud")


def managed_store_subnets(zones: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Per zone, a /24 for the cloud-managed stores' private addresses, carved from the /20 after the control plane's
    (``control_plane_subnets``): no pod or node gets an address there, so a NetworkPolicy names the stores alone."""
    network = ipaddress.ip_network(NETWORK_CIDR)
    blocks = list(network.subnets(new_prefix=20))
    if 2 * len(zones) + 2 > len(blocks):
        raise ValueError(f"cluster.zones: {len(zones)} zones do not fit in {NETWORK_CIDR}")
    small = list(blocks[2 * len(zones) + 1].subnets(new_prefix=24))
    return {zone: str(small[i]) for i, zone in enumerate(zones)}


def managed_store_range(zones: list[str] | tuple[str, ...]) -> str:
    """The /20 holding every managed store address (``managed_store_subnets``): GCP's private services access range."""
    network = ipaddress.ip_network(NETWORK_CIDR)
    return str(list(network.subnets(new_prefix=20))[2 * len(zones) + 1])


def managed_store_cidrs(platform: Platform) -> tuple[str, ...]:
    """Where the cloud-managed stores answer, as a NetworkPolicy ``ipBlock`` names them (empty when none is managed):
    on AWS the data subnets the RDS and ElastiCache subnet groups use, on GCP the private services access range Cloud
    SQL and Memorystore take addresses from, on Azure the subnet of the stores' private endpoints."""
    if not managed_stores(platform):
        return ()
    if platform.cluster.provider == "aws":
        return tuple(managed_store_subnets(platform.cluster.zones).values())
    if platform.cluster.provider == "gcp":
        return (managed_store_range(platform.cluster.zones),)
    return (next(iter(managed_store_subnets(platform.cluster.zones).values())),)


def store_credentials_secret(consumer: str, store: str) -> str:
    """The name (before ``remote_secret_name``) of the secret holding ``consumer``'s address and credentials of a data
    store (``apps/<service>/<store>``): the service's ExternalSecret reads it; for a cloud-managed store the cloud layer
    writes it (host, port, username, password)."""
    return f"apps/{consumer}/{store}"


ICEBERG_CATALOG_DB_SECRET = "iceberg/catalog-db"
"""The Iceberg catalog's PostgreSQL role (username, password; with host and port when PostgreSQL is cloud-managed)."""


SERVICES_NAMESPACE = "platform-apps"
CATALOG_NAMESPACE = "platform-data"
"""Namespaces of the managed stores' clients: each reads its secrets from its own remote subtree (``secret_scopes``)."""


def managed_store_secrets(platform: Platform, store: str) -> tuple[str, ...]:
    """Names (before ``remote_secret_name``) of every secret a client of the cloud-managed ``store`` reads its address
    and credentials from, each in its reader's subtree (``<namespace>/…``): each service that ``uses`` it (platform-apps),
    and for PostgreSQL the Iceberg catalog's role (platform-data). The cloud layer writes exactly these; the
    ExternalSecrets read exactly these, through the reader namespace's own store."""
    names = [f"{SERVICES_NAMESPACE}/{store_credentials_secret(name, store)}" for name, svc in sorted(platform.services.items())
             if store in svc.uses]
    if store == "postgres":
        names.append(f"{CATALOG_NAMESPACE}/{ICEBERG_CATALOG_DB_SECRET}")
    return tuple(names)


@dataclass(frozen=True)
class ClusterAddresses:
    """Where each kind of peer of a pod lives, on the spec's cloud: what a NetworkPolicy's ``ipBlock`` can name."""

    provider: Provider
    node_subnets: tuple[str, ...]
    """The nodes' addresses (kubelets, host-network pods)."""
    pods: tuple[str, ...]
    """Addresses pods get."""
    api_server: tuple[str, ...]
    """The ``kubernetes`` Service's endpoints: where the managed control plane answers on 443."""
    api_server_why: str
    load_balancers: tuple[str, ...]
    """Addresses the public load balancer's connections come from (besides the clients' own)."""
    private: tuple[str, ...] = PRIVATE_RANGES


def cluster_addresses(platform: Platform) -> ClusterAddresses:
    """The address plan of the cluster the cloud layer builds for ``platform.cluster.provider``.

    * AWS (EKS, VPC CNI): pods take addresses from the node subnets; the API server's private endpoint is a set of
      ENIs EKS places in the cluster's own subnets: dedicated /28s per zone (``control_plane_subnets``), re-created
      there on upgrades. The gateway's NLB (EKS's cloud-provider controller: instance targets, externalTrafficPolicy
      Local) keeps the client's address; its health checks come from the public subnets.
    * GCP (GKE, VPC-native): pods come from the ``pods`` secondary range; the control plane answers on its private
      /28 (``master_ipv4_cidr_block``); the passthrough load balancer keeps the client's address.
    * Azure (AKS, CNI overlay with Cilium): pods come from the overlay range; the private cluster's API server is a
      private endpoint in the node subnet; the load balancer keeps the client's address.
    """
    provider = platform.cluster.provider
    subnets = zone_subnets(platform.cluster.zones)
    private = tuple(pair[0] for pair in subnets.values())
    public = tuple(pair[1] for pair in subnets.values())
    if provider == "aws":
        return ClusterAddresses(provider, private, private, tuple(control_plane_subnets(platform.cluster.zones).values()),
                                "EKS puts the API server's endpoint ENIs in the cluster's own subnets (a /28 per zone)", public)
    first = (private[0],)
    if provider == "gcp":
        return ClusterAddresses(provider, first, (GKE_POD_CIDR,), (GKE_CONTROL_PLANE_CIDR,),
                                "GKE's private control plane range (master_ipv4_cidr_block)", ())
    return ClusterAddresses(provider, first, (AKS_POD_CIDR,), first,
                            "the private AKS API server's private endpoint is in the node subnet", ())
