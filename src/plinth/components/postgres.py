"""PostgreSQL: CloudNativePG operator + Barman Cloud Plugin, one Cluster with synchronous
replication, a PgBouncer Pooler, WAL archiving and hourly base backups to the DR region.

RPO 0 within the region comes from ``.spec.postgresql.synchronous`` (method any, ``number`` standbys,
dataDurability required: a commit returns only once a standby has it). After region loss the
restore is from the WAL archive: RPO about ``archive_timeout`` (docs/datastores.md).
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject, in_cluster_only
from plinth.components.iceberg_catalog import postgres_role
from plinth.kube import datastores as ds
from plinth.kube.conventions import DATASTORE_NAMES, DATASTORE_PORTS
from plinth.kube.objects import k8s_object, labels
from plinth.kube.secrets import identity_secret
from plinth.monitoring.backup_alerts import BackupFreshness
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec import derived
from plinth.spec.access import StoreIdentity, identities, platform_postgres_roles
from plinth.spec.derived import ObjectLocation, backup_target, region_loss
from plinth.spec.model import Platform
from plinth.kube.flows import CLOUD_IDENTITY, CLOUD_OBJECT_STORAGE, HTTPS, Flow, Pods, flow, scrape, to_api_server, webhook

NAME = "postgres"
STORE = "postgres"
CLUSTER = DATASTORE_NAMES["postgres"]
OBJECT_STORE = DATASTORE_NAMES["postgres-objectstore"]
POOLER = f"{CLUSTER}-pooler-rw"
IDENTITY = "cnpg-backups"
"""The instance pods' workload identity (``derived.WORKLOAD_IDENTITIES``): CloudNativePG names their ServiceAccount
after the Cluster, and the Barman Cloud Plugin's sidecar archives with it."""
CNPG_API = "postgresql.cnpg.io/v1"
BARMAN_API = "barmancloud.cnpg.io/v1"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
BARMAN_VERSION = "v0.14.0"
"""Plugin and sidecar image tag (the plugin's install docs set both explicitly)."""
WAL_RESTORE_PARALLEL = 8
"""WAL segments fetched in parallel on restore: barman-cloud restores one 16 MB segment per ~1-1.7 s (dr-facts), so parallelism bounds the RTO."""

BACKUP_METRIC = "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"
"""Barman Cloud Plugin metric: UNIX time of the newest available base backup."""

POD_REQUESTS: dict[str, tuple[int, int]] = {"cnpg-operator": (100, 256), "barman-cloud-plugin": (50, 128)}
"""CPU millicores and memory MiB of the operator pods, set in the chart values and counted by the planner."""


def _backup(platform: Platform):
    return platform.backup_for("postgres")


def _credentials(platform: Platform) -> dict[str, Any]:
    """barman-cloud credentials: the instance pods' cloud identity, no key
    (https://cloudnative-pg.io/plugin-barman-cloud/docs/object_stores/)."""
    return {"aws": {"s3Credentials": {"inheritFromIAMRole": True}},
            "gcp": {"googleCredentials": {"gkeEnvironment": True}},
            "azure": {"azureCredentials": {"inheritFromAzureAD": True}}}[platform.cluster.provider]


def object_store(platform: Platform, *, source: ObjectLocation | None = None) -> KubeObject:
    """Barman Cloud Plugin ObjectStore: the postgres backup bucket the cloud layer creates (in the cluster's
    region, copied to the DR region), retention from the backup row (none when it is kept forever).

    ``source`` reads another copy of the same bucket (a restore after region loss reads the DR copy)."""
    target = backup_target(platform, STORE)
    where = source or target.primary
    configuration: dict[str, Any] = {
        "destinationPath": where.url(target.prefix),
        **_credentials(platform),
        "wal": {"compression": "zstd", "maxParallel": WAL_RESTORE_PARALLEL},
        "data": {"compression": "snappy", "jobs": 2},
    }
    if where.endpoint:
        configuration["endpointURL"] = where.endpoint
    spec: dict[str, Any] = {"configuration": configuration}
    if not target.retention.forever:
        spec["retentionPolicy"] = f"{target.retention.days}d"
    return k8s_object(BARMAN_API, "ObjectStore", OBJECT_STORE, ds.DATA_NAMESPACE, labels=labels(NAME, OBJECT_STORE), spec=spec)


def role_secret_name(identity: StoreIdentity) -> str:
    """Secret (basic-auth, in platform-data) the managed role of a service takes its password from."""
    return f"{CLUSTER}-role-{identity.service}"


def role_secrets(platform: Platform) -> list[KubeObject]:
    """One ExternalSecret per service role: the password the service reads too, in the basic-auth form CloudNativePG
    wants, labelled so the operator re-reads it when it rotates."""
    return [identity_secret(platform, role_secret_name(i), ds.DATA_NAMESPACE, NAME, i, secret_type="kubernetes.io/basic-auth",
                            secret_labels={"cnpg.io/reload": "true"}) for i in identities(platform, STORE)]


def managed_roles(platform: Platform) -> list[dict[str, Any]]:
    """CloudNativePG managed roles: one login role per service using PostgreSQL, nothing more (no superuser,
    createdb, createrole, replication or bypassrls)."""
    return [{"name": i.user, "ensure": "present", "login": True, "inherit": True, "superuser": False, "createdb": False,
             "createrole": False, "replication": False, "bypassrls": False, "connectionLimit": -1,
             "comment": f"service {i.service}", "passwordSecret": {"name": role_secret_name(i)}}
            for i in identities(platform, STORE)]


def pg_hba(platform: Platform) -> list[str]:
    """pg_hba.conf lines after CloudNativePG's own (local peer, replication and the pooler's certificates): each
    service role (and the Iceberg catalog's) reaches its own database only, with SCRAM; every other network
    connection is refused."""
    lines = [f"host {i.database} {i.user} all scram-sha-256" for i in identities(platform, STORE)]
    lines += [f"host {database} {role} all scram-sha-256" for role, database in sorted(platform_postgres_roles(platform).items())]
    return [*lines, "host all all all reject"]


def databases(platform: Platform) -> list[KubeObject]:
    """One CloudNativePG Database per service, owned by its role (kept when the object is deleted)."""
    return [k8s_object(CNPG_API, "Database", f"{CLUSTER}-{i.service}", ds.DATA_NAMESPACE,
                       labels=labels(NAME, f"{CLUSTER}-{i.service}"), spec={
        "cluster": {"name": CLUSTER}, "name": i.database, "owner": i.user, "ensure": "present",
        "databaseReclaimPolicy": "retain",
    }) for i in identities(platform, STORE)]


def postgresql_parameters(platform: Platform) -> dict[str, str]:
    """postgresql.conf parameters the spec sets (WAL archiving bound); the drills' servers run the same."""
    return {"archive_timeout": f"{int(platform.datastores.postgres.archive_timeout_seconds)}s"}


def cluster(platform: Platform) -> KubeObject:
    """The CloudNativePG Cluster: instances, synchronous standbys, storage and placement from the spec."""
    pg = platform.datastores.postgres
    pod_labels = ds.datastore_labels(STORE)
    place = ds.placement(platform)
    return k8s_object(CNPG_API, "Cluster", CLUSTER, ds.DATA_NAMESPACE, labels=labels(NAME, CLUSTER, str(pg.version)), spec={
        "instances": pg.instances,
        "imageName": f"ghcr.io/cloudnative-pg/postgresql:{pg.version}",
        "inheritedMetadata": {"labels": {**pod_labels, **derived.identity_pod_labels(platform)}},
        "serviceAccountTemplate": {"metadata": {"annotations": derived.identity_annotations(platform, IDENTITY)}},
        "primaryUpdateStrategy": "unsupervised",
        "enablePDB": True,
        "postgresql": {
            "synchronous": {"method": "any", "number": pg.synchronous_standbys, "dataDurability": "required",
                            # Promote only a standby a quorum proves has every synchronously committed transaction.
                            "failoverQuorum": True},
            "parameters": postgresql_parameters(platform),
            "pg_hba": pg_hba(platform),
        },
        # One role per service from its uses, plus the platform's own consumer in platform-data (the Iceberg catalog).
        "managed": {"roles": [*managed_roles(platform), postgres_role(platform)]},
        "storage": {"size": f"{pg.storage.size_gib}Gi", "storageClass": pg.storage.storage_class},
        "walStorage": {"size": f"{pg.wal_storage.size_gib}Gi", "storageClass": pg.wal_storage.storage_class},
        "resources": ds.resources(pg.resources),
        "affinity": {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": "required",
            "topologyKey": ds.ZONE_KEY if pg.instances <= len(platform.cluster.zones) else "kubernetes.io/hostname",
            "nodeSelector": place["nodeSelector"],
            **({"tolerations": place["tolerations"]} if "tolerations" in place else {}),
        },
        "topologySpreadConstraints": ds.zone_spread({"cnpg.io/cluster": CLUSTER}),
        "plugins": [{"name": BARMAN_PLUGIN, "isWALArchiver": True, "parameters": {"barmanObjectName": OBJECT_STORE}}],
    })


def pooler(platform: Platform) -> KubeObject:
    """PgBouncer in front of the primary (instances and pool mode from the spec)."""
    pg = platform.datastores.postgres
    pod_labels = {**ds.datastore_labels(STORE), "cnpg.io/poolerName": POOLER}
    return k8s_object(CNPG_API, "Pooler", POOLER, ds.DATA_NAMESPACE, labels=labels(NAME, POOLER), spec={
        "cluster": {"name": CLUSTER},
        "instances": pg.pooler_instances,
        "type": "rw",
        "pgbouncer": {"poolMode": pg.pooler_mode, "parameters": {"max_client_conn": "1000", "default_pool_size": "50"}},
        "template": {
            "metadata": {"labels": pod_labels},
            "spec": {
                "containers": [],
                **ds.placement(platform),
                "topologySpreadConstraints": ds.zone_spread({"cnpg.io/poolerName": POOLER}),
            },
        },
    })


def scheduled_backup(platform: Platform) -> KubeObject:
    """Base backups on the backup row's cron (six fields, seconds first), through the plugin."""
    backup = _backup(platform)
    return k8s_object(CNPG_API, "ScheduledBackup", f"{CLUSTER}-{backup.frequency}", ds.DATA_NAMESPACE,
                      labels=labels(NAME, f"{CLUSTER}-{backup.frequency}"), spec={
        "schedule": backup.schedule,
        "cluster": {"name": CLUSTER},
        "method": "plugin",
        "pluginConfiguration": {"name": BARMAN_PLUGIN},
        "backupOwnerReference": "self",
        "target": "prefer-standby",
        "immediate": True,
    })


def pod_monitors(platform: Platform) -> list[KubeObject]:
    """PodMonitors for the instances and the pooler (CloudNativePG 1.30 deprecates enablePodMonitor)."""
    return [
        k8s_object("monitoring.coreos.com/v1", "PodMonitor", CLUSTER, ds.DATA_NAMESPACE, labels=labels(NAME, CLUSTER), spec={
            "selector": {"matchLabels": {"cnpg.io/cluster": CLUSTER, "cnpg.io/podRole": "instance"}},
            "podMetricsEndpoints": [{"port": "metrics"}],
        }),
        k8s_object("monitoring.coreos.com/v1", "PodMonitor", POOLER, ds.DATA_NAMESPACE, labels=labels(NAME, POOLER), spec={
            "selector": {"matchLabels": {"cnpg.io/poolerName": POOLER}},
            "podMetricsEndpoints": [{"port": "metrics"}],
        }),
    ]


OPERATOR = "cnpg"
OPERATOR_WEBHOOK_PORT = 9443
INSTANCE_STATUS_PORT = 8000
PLUGIN_GRPC_PORT = 9090
OPERATOR_METRICS_PORT = 8080
INSTANCE_METRICS_PORT = 9187
POOLER_METRICS_PORT = 9127



def objects(platform: Platform) -> list[KubeObject]:
    """Every PostgreSQL object of platform-data."""
    return [*role_secrets(platform), object_store(platform), cluster(platform),
            *databases(platform), pooler(platform), scheduled_backup(platform), *pod_monitors(platform)]


def charts(platform: Platform) -> list[HelmRelease]:
    """The CloudNativePG operator and the Barman Cloud Plugin (same namespace, as the plugin requires)."""
    place = ds.operator_placement(platform)
    operator_labels = {ds.OPERATOR_LABEL: OPERATOR}
    return [
        HelmRelease("cloudnative-pg", "cloudnative-pg", ds.DATA_NAMESPACE, {
            "replicaCount": 1,
            "resources": ds.chart_resources(*POD_REQUESTS["cnpg-operator"]),
            "podLabels": operator_labels,
            "monitoring": {"podMonitorEnabled": True},
            "crds": {"create": True},
            **place,
        }, sync_wave=-6),
        HelmRelease("plugin-barman-cloud", "barman-cloud", ds.DATA_NAMESPACE, {
            "image": {"tag": BARMAN_VERSION},
            "sidecarImage": {"tag": BARMAN_VERSION},
            "resources": ds.chart_resources(*POD_REQUESTS["barman-cloud-plugin"]),
            "podLabels": operator_labels,
            **place,
        }, sync_wave=-4),  # its Issuer and Certificates need cert-manager's CRDs and webhook (-5)
    ]


def backup_freshness(platform: Platform) -> BackupFreshness:
    """Freshness of the base backups (Barman Cloud Plugin metric, per namespace)."""
    return BackupFreshness("Postgres", "PostgreSQL base backup", BACKUP_METRIC, {"namespace": ds.DATA_NAMESPACE}, ("namespace",),
                           STORE, _backup(platform), "restores replay more WAL than planned, or fail.",
                           series_labels={"pod": f"{CLUSTER}-2"})


def alerts(platform: Platform) -> list[RuleGroup]:
    """Replication lag, failed WAL archiving, base-backup freshness (CloudNativePG and plugin metrics)."""
    pg = platform.datastores.postgres
    lag = pg.replication_lag_alert_seconds
    region = region_loss(platform, STORE)
    return [RuleGroup("postgres", (
        AlertRule(
            name="PostgresReplicationLagHigh",
            expr=f'max by (namespace, pod) (cnpg_pg_replication_lag{{namespace="{ds.DATA_NAMESPACE}"}}) > {lag}',
            for_="5m", severity="warning", labels={"datastore": STORE},
            summary="PostgreSQL standby {{ $labels.pod }} lags behind the primary",
            description=f"Standby {{{{ $labels.pod }}}} has been more than {lag} s behind the primary for 5 minutes: a failover now would take longer (RTO {pg.ha.rto_seconds} s).",
        ),
        AlertRule(
            name="PostgresWALArchivingFailing",
            expr=f'max by (namespace, pod) (cnpg_pg_stat_archiver_last_failed_time{{namespace="{ds.DATA_NAMESPACE}"}} - cnpg_pg_stat_archiver_last_archived_time{{namespace="{ds.DATA_NAMESPACE}"}}) > 0',
            for_="5m", severity="critical", labels={"datastore": STORE},
            summary="PostgreSQL WAL archiving fails on {{ $labels.pod }}",
            description=f"The last WAL archive attempt of {{{{ $labels.pod }}}} failed after the last success: after a region loss the restore would miss every commit since (region-loss RPO otherwise {region.describe()}).",
        ),
        *backup_freshness(platform).alerts(),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the PostgreSQL alerts."""
    pg = platform.datastores.postgres
    ns = ds.DATA_NAMESPACE
    pod = f"{CLUSTER}-2"
    lag = lambda v: {"series": f'cnpg_pg_replication_lag{{namespace="{ns}",pod="{pod}"}}', "values": f"{v}x30"}
    arch = lambda failed, ok: (
        {"series": f'cnpg_pg_stat_archiver_last_failed_time{{namespace="{ns}",pod="{pod}"}}', "values": f"{failed}x30"},
        {"series": f'cnpg_pg_stat_archiver_last_archived_time{{namespace="{ns}",pod="{pod}"}}', "values": f"{ok}x30"},
    )
    return [
        AlertTest("PostgresReplicationLagHigh", (lag(pg.replication_lag_alert_seconds + 5),), (lag(max(0, pg.replication_lag_alert_seconds - 5)),),
                  "10m", {"namespace": ns, "pod": pod}),
        AlertTest("PostgresWALArchivingFailing", arch(200, 100), arch(100, 200), "10m", {"namespace": ns, "pod": pod}),
        *backup_freshness(platform).alert_tests(),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Platform-health panels: standby lag and age of the newest base backup."""
    return [
        Panel("platform-health", "PostgreSQL standby lag", (f'max by (pod) (cnpg_pg_replication_lag{{namespace="{ds.DATA_NAMESPACE}"}})',), unit="s"),
        backup_freshness(platform).panel(),
    ]


def flows(platform: Platform) -> list[Flow]:
    """PostgreSQL: replication between instances, PgBouncer to the instances, the instance manager and the operator
    through the API server, the operator to each instance's status endpoint and to the Barman Cloud Plugin, WAL and
    base backups to the object storage; applications reach the pooler (``app_services``)."""
    ns = ds.DATA_NAMESPACE
    instances = Pods.of(ns, {"cnpg.io/cluster": CLUSTER, "cnpg.io/podRole": "instance"})
    pooler = Pods.of(ns, {"cnpg.io/poolerName": POOLER})
    operator = Pods.of(ns, {"app.kubernetes.io/name": "cloudnative-pg", ds.OPERATOR_LABEL: OPERATOR})
    plugin = Pods.of(ns, {"app.kubernetes.io/name": "plugin-barman-cloud", ds.OPERATOR_LABEL: OPERATOR})
    return [
        flow(instances, instances, DATASTORE_PORTS[STORE] + (INSTANCE_STATUS_PORT,), "streaming replication, pg_rewind, instance status"),
        flow(pooler, instances, DATASTORE_PORTS[STORE], "PgBouncer forwards to the primary"),
        to_api_server(instances, "the instance manager reconciles its pod (status, secrets, failover)"),
        to_api_server(pooler, "the pooler's instance manager reads its configuration"),
        to_api_server(operator, "CloudNativePG reconciles Clusters and Poolers"),
        to_api_server(plugin, "the Barman Cloud Plugin reconciles ObjectStores"),
        flow(operator, instances, INSTANCE_STATUS_PORT, "the operator reads each instance's status"),
        flow(operator, plugin, PLUGIN_GRPC_PORT, "the operator calls the Barman Cloud Plugin (gRPC)"),
        flow(instances, CLOUD_OBJECT_STORAGE, HTTPS, "WAL archive and base backups (the plugin's sidecar)"),
        flow(instances, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the backup bucket"),
        webhook(operator, OPERATOR_WEBHOOK_PORT, "admission webhooks for Clusters, Poolers, backups"),
        scrape(operator, OPERATOR_METRICS_PORT), scrape(instances, INSTANCE_METRICS_PORT), scrape(pooler, POOLER_METRICS_PORT),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=ds.DATA_NAMESPACE,
    objects=in_cluster_only(STORE, objects),
    charts=in_cluster_only(STORE, charts),
    alerts=in_cluster_only(STORE, alerts),
    alert_tests=in_cluster_only(STORE, alert_tests),
    panels=in_cluster_only(STORE, panels),
    sync_wave=0,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=in_cluster_only(STORE, flows),
)
