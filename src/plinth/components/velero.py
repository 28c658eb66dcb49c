"""Velero: cluster state (objects and anything not in Git) backed up on the ``cluster-state``
backup row's schedule to a bucket in the DR region.

Git plus Argo CD already restore every rendered object ("Configs: real-time, forever, Git"); Velero
covers what Git does not hold: generated Secrets, operator status, PVC bindings. The data stores'
volumes are not snapshotted: each store backs itself up consistently (WAL archive, clickhouse-backup,
Kafka replication), and a crash-consistent volume snapshot would add nothing restorable.
"""

from __future__ import annotations

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject, PodFootprint
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.render import datastores as ds
from plinth.render.objects import k8s_object, labels
from plinth.render.scheduling import pool_placement
from plinth.render.secrets import external_secret
from plinth.spec.model import Platform

NAME = "velero-backups"
"""Component (folder Application) name; the chart release itself is "velero"."""
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


def _backup(platform: Platform):
    return platform.backup_for("cluster-state")


def backup_storage_location(platform: Platform) -> KubeObject:
    """The BackupStorageLocation: the cluster-state bucket in the DR region."""
    backup = _backup(platform)
    provider = {"aws": "aws", "gcp": "gcp", "azure": "azure"}[platform.cluster.provider]
    config: dict[str, str] = {}
    if provider == "aws":
        config["region"] = ds.backup_region(platform, backup)
    return k8s_object(VELERO_API, "BackupStorageLocation", BSL, NAMESPACE, labels=labels(NAME, BSL), spec={
        "provider": provider,
        "default": True,
        "objectStorage": {"bucket": backup.bucket, "prefix": platform.cluster.name},
        "config": config,
        "credential": {"name": CREDENTIALS, "key": "cloud"},
        "accessMode": "ReadWrite",
    })


def schedule(platform: Platform) -> KubeObject:
    """One Schedule for the platform namespaces, cron and TTL from the backup row."""
    backup = _backup(platform)
    ttl_hours = backup.retention_days * 24 if isinstance(backup.retention_days, int) else 24 * 365 * 100
    return k8s_object(VELERO_API, "Schedule", SCHEDULE, NAMESPACE, labels=labels(NAME, SCHEDULE), spec={
        "schedule": backup.schedule,
        "useOwnerReferencesInBackup": False,
        "template": {
            "includedNamespaces": sorted(platform.namespaces),
            "includeClusterResources": True,
            "snapshotVolumes": False,
            "defaultVolumesToFsBackup": False,
            "storageLocation": BSL,
            "ttl": f"{ttl_hours}h0m0s",
        },
    })


def network_policy(platform: Platform) -> KubeObject:
    """The Velero server reaches the API server and the object store (both HTTPS)."""
    return k8s_object("networking.k8s.io/v1", "NetworkPolicy", "velero-egress", NAMESPACE, labels=labels(NAME, "velero-egress"), spec={
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "velero"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [{"protocol": "TCP", "port": p} for p in sorted(set(ds.API_SERVER_PORTS + ds.OBJECT_STORE_PORTS))]}],
    })


def objects(platform: Platform) -> list[KubeObject]:
    """Credentials, the storage location, the schedule and Velero's egress."""
    return [external_secret(CREDENTIALS, NAMESPACE, NAME, {"cloud": "backups/velero:cloud"}),
            backup_storage_location(platform), schedule(platform), network_policy(platform)]


def charts(platform: Platform) -> list[HelmRelease]:
    """The velero chart: server only (no node agent, no snapshots), the cloud's plugin, metrics on."""
    plugin = {"aws": AWS_PLUGIN_IMAGE, "gcp": GCP_PLUGIN_IMAGE, "azure": AZURE_PLUGIN_IMAGE}[platform.cluster.provider]
    return [HelmRelease("velero", "velero", NAMESPACE, {
        "initContainers": [{"name": "velero-plugin", "image": plugin, "volumeMounts": [{"mountPath": "/target", "name": "plugins"}]}],
        "configuration": {"backupStorageLocation": [], "volumeSnapshotLocation": []},
        "credentials": {"useSecret": True, "existingSecret": CREDENTIALS},
        "snapshotsEnabled": False,
        "deployNodeAgent": False,
        "upgradeCRDs": True,
        "resources": ds.chart_resources(*POD_REQUESTS["velero"]),
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        **pool_placement(platform, NAMESPACE),
    }, sync_wave=-5)]


def alerts(platform: Platform) -> list[RuleGroup]:
    """Cluster-state backup freshness (velero_backup_last_successful_timestamp per schedule)."""
    backup = _backup(platform)
    stale = 2 * backup.interval_seconds
    return [RuleGroup("velero", (
        AlertRule(
            name="ClusterStateBackupTooOld",
            expr=f'time() - max by (schedule) (velero_backup_last_successful_timestamp{{schedule="{SCHEDULE}"}}) > {stale}',
            for_="10m", severity="critical", labels={"datastore": "cluster-state"},
            summary="Velero cluster-state backup is stale",
            description=f"The last successful backup of schedule {SCHEDULE} is older than {stale} s, twice the {backup.frequency} schedule.",
        ),
        ds.backup_missing_alert("ClusterStateBackupMissing", "velero_backup_last_successful_timestamp", f'schedule="{SCHEDULE}"', backup, "cluster-state"),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool case for the Velero alert."""
    stale = 2 * _backup(platform).interval_seconds
    horizon = stale + 3600
    last = lambda ts: {"series": f'velero_backup_last_successful_timestamp{{schedule="{SCHEDULE}"}}', "values": f"{ts}x{horizon // 60 + 30}"}
    return [AlertTest("ClusterStateBackupTooOld", (last(0),), (last(horizon - 600),), f"{horizon // 60}m", {"schedule": SCHEDULE}),
            ds.backup_missing_test("ClusterStateBackupMissing", "velero_backup_last_successful_timestamp", {"schedule": SCHEDULE}, _backup(platform))]


def panels(platform: Platform) -> list[Panel]:
    """Platform-health panel: age of the newest cluster-state backup."""
    return [Panel("platform-health", "Cluster-state backup age",
                  (f'time() - max(velero_backup_last_successful_timestamp{{schedule="{SCHEDULE}"}})',), unit="s", kind="stat")]


def footprints(platform: Platform) -> list[PodFootprint]:
    """The Velero server pod."""
    return [PodFootprint("velero", NAMESPACE, 1, *POD_REQUESTS["velero"])]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    footprints=footprints,
    sync_wave=0,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
)
