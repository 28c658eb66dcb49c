"""Velero: cluster state (objects and anything not in Git) backed up on the ``cluster-state``
backup row's schedule to a bucket in the DR region.

Git plus Argo CD already restore every rendered object ("Configs: real-time, forever, Git"); Velero
covers what Git does not hold: generated Secrets, operator status, PVC bindings. The data stores'
volumes are not snapshotted: each store backs itself up consistently (WAL archive, clickhouse-backup,
Kafka replication), and a crash-consistent volume snapshot would add nothing restorable.
"""

from __future__ import annotations

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube import datastores as ds
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement
from plinth.kube.secrets import external_secret
from plinth.monitoring.backup_alerts import BackupFreshness
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertTest, RuleGroup
from plinth.spec.derived import backup_retention, backup_target
from plinth.spec.model import Platform
from plinth.kube.flows import CLOUD_IDENTITY, CLOUD_OBJECT_STORAGE, HTTPS, Flow, Pods, flow, scrape, to_api_server

NAME = "velero-backups"
"""Component (folder Application) name; the chart release itself is "velero"."""
CREDENTIALS_NAME = "velero-credentials"
"""Component (folder Application) of the ExternalSecret the Velero server mounts: it must exist before the chart
syncs, while the storage location and schedule need the chart's CRDs, so they are two Applications."""
CREDENTIALS_WAVE = -3
"""After the secret store (-4)."""
CHART_WAVE = -2
"""After the credentials (-3): the server mounts them at start."""
NAMESPACE = "platform-system"
BSL = "dr-region"
SCHEDULE = "platform-cluster-state"
CREDENTIALS = "velero-credentials"
VELERO_API = "velero.io/v1"
AWS_PLUGIN_IMAGE = "velero/velero-plugin-for-aws:v1.14.0"
GCP_PLUGIN_IMAGE = "velero/velero-plugin-for-gcp:v1.14.0"
AZURE_PLUGIN_IMAGE = "velero/velero-plugin-for-microsoft-azure:v1.14.0"

POD_REQUESTS: dict[str, tuple[int, int]] = {"velero": (200, 256)}
"""CPU millicores and memory MiB of the Velero server pod, set in the chart values."""


DATA_SET = "cluster-state"
"""The backup row Velero serves."""


def _backup(platform: Platform):
    return platform.backup_for(DATA_SET)


def backup_storage_location(platform: Platform) -> KubeObject:
    """The BackupStorageLocation: the cluster-state bucket the cloud layer creates (in the cluster's region,
    copied to the DR region)."""
    target = backup_target(platform, DATA_SET)
    provider = {"aws": "aws", "gcp": "gcp", "azure": "azure"}[platform.cluster.provider]
    config: dict[str, str] = {}
    if provider == "aws":
        config["region"] = target.primary.region
    if provider == "azure":
        # The Azure plugin needs the storage account and its resource group (the container is the bucket).
        config.update({"resourceGroup": target.primary.resource_group or "", "storageAccount": target.primary.account or ""})
    return k8s_object(VELERO_API, "BackupStorageLocation", BSL, NAMESPACE, labels=labels(NAME, BSL), spec={
        "provider": provider,
        "default": True,
        "objectStorage": {"bucket": target.primary.bucket, "prefix": target.prefix},
        "config": config,
        "credential": {"name": CREDENTIALS, "key": "cloud"},
        "accessMode": "ReadWrite",
    })


def schedule(platform: Platform) -> KubeObject:
    """One Schedule for the platform namespaces, cron and TTL from the backup row (never forever: the model
    rejects that for Velero, which expires every backup after its TTL)."""
    backup = _backup(platform)
    kept = backup_retention(backup)
    return k8s_object(VELERO_API, "Schedule", SCHEDULE, NAMESPACE, labels=labels(NAME, SCHEDULE), spec={
        "schedule": backup.schedule,
        "useOwnerReferencesInBackup": False,
        "template": {
            "includedNamespaces": sorted(platform.namespaces),
            "includeClusterResources": True,
            "snapshotVolumes": False,
            "defaultVolumesToFsBackup": False,
            "storageLocation": BSL,
            "ttl": f"{kept.days * 24}h0m0s",
        },
    })




def credentials(platform: Platform) -> list[KubeObject]:
    """The cloud credentials the Velero server and its storage location read (an ExternalSecret)."""
    return [external_secret(platform, CREDENTIALS, NAMESPACE, CREDENTIALS_NAME, {"cloud": "backups/velero:cloud"})]


def objects(platform: Platform) -> list[KubeObject]:
    """The storage location and the schedule (the credentials are their own Application, synced before the chart)."""
    return [backup_storage_location(platform), schedule(platform)]


def charts(platform: Platform) -> list[HelmRelease]:
    """The velero chart: server only (no node agent, no snapshots), the cloud's plugin, metrics on."""
    plugin = {"aws": AWS_PLUGIN_IMAGE, "gcp": GCP_PLUGIN_IMAGE, "azure": AZURE_PLUGIN_IMAGE}[platform.cluster.provider]
    return [HelmRelease("velero", "velero", NAMESPACE, {
        "initContainers": [{"name": "velero-plugin", "image": plugin, "volumeMounts": [{"mountPath": "/target", "name": "plugins"}]}],
        "configuration": {"backupStorageLocation": [], "volumeSnapshotLocation": []},
        "credentials": {"useSecret": True, "existingSecret": CREDENTIALS},
        "snapshotsEnabled": False,
        "deployNodeAgent": False,
        # Argo CD applies the chart's CRDs itself; the chart's pre-upgrade CRD Job would only repeat it.
        "upgradeCRDs": False,
        "resources": ds.chart_resources(*POD_REQUESTS["velero"]),
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        **pool_placement(platform, NAMESPACE),
    }, sync_wave=CHART_WAVE)]


def backup_freshness(platform: Platform) -> BackupFreshness:
    """Freshness of the cluster-state backups (Velero's last successful backup time of the schedule)."""
    return BackupFreshness("ClusterState", "Velero cluster-state backup", "velero_backup_last_successful_timestamp",
                           {"schedule": SCHEDULE}, ("schedule",), DATA_SET, _backup(platform),
                           "objects only the cluster holds (generated Secrets, operator status) would be restored older than that.")


def alerts(platform: Platform) -> list[RuleGroup]:
    """Cluster-state backup freshness (velero_backup_last_successful_timestamp per schedule)."""
    return [RuleGroup("velero", backup_freshness(platform).alerts())]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the Velero alerts."""
    return backup_freshness(platform).alert_tests()


def panels(platform: Platform) -> list[Panel]:
    """Platform-health panel: age of the newest cluster-state backup."""
    return [backup_freshness(platform).panel()]


METRICS_PORT = 8085


def flows(platform: Platform) -> list[Flow]:
    """Velero: the API server (it backs up objects), the object storage and the cloud's token service."""
    pods = Pods.of(NAMESPACE, {"app.kubernetes.io/name": "velero", "app.kubernetes.io/instance": "velero"})
    return [to_api_server(pods, "Velero reads and restores the cluster's objects"),
            flow(pods, CLOUD_OBJECT_STORAGE, HTTPS, "backups to the cluster-state bucket"),
            flow(pods, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the bucket"),
            scrape(pods, METRICS_PORT)]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=0,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=flows,
)

CREDENTIALS_COMPONENT = Component(
    name=CREDENTIALS_NAME,
    namespace=NAMESPACE,
    objects=credentials,
    sync_wave=CREDENTIALS_WAVE,
)
"""The Velero server's credentials, synced before the chart."""
