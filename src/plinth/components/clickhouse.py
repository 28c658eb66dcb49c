"""ClickHouse: the Altinity operator, a ClickHouseKeeperInstallation (Keeper quorum) and a
ClickHouseInstallation replicated through it, with daily clickhouse-backup to the DR region.

Backups follow Altinity's documented Kubernetes pattern: a ``clickhouse-backup server`` sidecar in
every ClickHouse pod (it needs the data volume) and a CronJob that asks one replica per shard to
``create_remote`` through the sidecar's ``system.backup_actions`` integration table.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube import datastores as ds
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.kube.identities import identity_service_account
from plinth.kube.objects import k8s_object, labels
from plinth.kube.secrets import external_secret, identity_secret
from plinth.monitoring.backup_alerts import BackupFreshness
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec import derived
from plinth.spec.access import CLICKHOUSE_PRIVILEGES, StoreIdentity, identities
from plinth.spec.derived import backup_target, retained_backup_count
from plinth.spec.model import Platform
from plinth.kube.flows import CLOUD_IDENTITY, CLOUD_OBJECT_STORAGE, HTTPS, Flow, Pods, flow, scrape, to_api_server

NAME = "clickhouse"
STORE = "clickhouse"
CHI = DATASTORE_NAMES["clickhouse"]
CHK = DATASTORE_NAMES["clickhouse-keeper"]
CLUSTER = "main"
"""Name of the ClickHouse cluster inside the installation (remote_servers)."""
KEEPER_PORT = 2181
KEEPER_RAFT_PORT = 9444
BACKUP_API_PORT = 7171
HTTP_PORT = 8123
NATIVE_PORT = 9000
INTERSERVER_PORT = 9009
OPERATOR_METRICS_PORTS = (8888, 9999)
"""The operator's ClickHouse metrics exporter and its own metrics."""
CREDENTIALS = f"{CHI}-credentials"
IDENTITY = "clickhouse-backup"
"""The backup sidecar's workload identity (``derived.WORKLOAD_IDENTITIES``); its ServiceAccount runs the server pods."""
BACKUP_JOB = f"{CHI}-backup"
BACKUP_USER = "backup"
BACKUP_API_USER = "backup-api"
"""User of clickhouse-backup's REST API (basic auth): the integration tables and the metrics scrape use it."""
ANY_NETWORK = ["0.0.0.0/0", "::/0"]
"""Users may connect from any pod address: NetworkPolicies decide which pods reach ClickHouse at all."""
CHI_API = "clickhouse.altinity.com/v1"
CHK_API = "clickhouse-keeper.altinity.com/v1"
OPERATOR = "clickhouse"

POD_REQUESTS: dict[str, tuple[int, int]] = {"clickhouse-operator": (100, 256), "clickhouse-operator-metrics": (50, 128)}
"""CPU millicores and memory MiB of the operator's two containers, set in the chart values (one pod)."""


def _backup(platform: Platform):
    return platform.backup_for("clickhouse")


def _chi_selector() -> dict[str, str]:
    return {"clickhouse.altinity.com/chi": CHI}


def _chk_selector() -> dict[str, str]:
    return {"clickhouse-keeper.altinity.com/chk": CHK}


def _pod_spec(platform: Platform, selector: dict[str, str], containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        **ds.placement(platform),
        "affinity": ds.required_anti_affinity(selector),
        "topologySpreadConstraints": ds.zone_spread(selector),
        "securityContext": {"runAsUser": 101, "runAsGroup": 101, "fsGroup": 101},
        "containers": containers,
    }


def _volume_claim(name: str, size_gib: int, storage_class: str) -> dict[str, Any]:
    return {"name": name, "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                                   "resources": {"requests": {"storage": f"{size_gib}Gi"}}}}


def keeper(platform: Platform) -> KubeObject:
    """ClickHouse Keeper: ``keeper_nodes`` Raft members spread over the zones."""
    ch = platform.datastores.clickhouse
    return k8s_object(CHK_API, "ClickHouseKeeperInstallation", CHK, ds.DATA_NAMESPACE, labels=labels(NAME, CHK, ch.version), spec={
        "configuration": {
            "clusters": [{"name": "keeper", "layout": {"replicasCount": ch.keeper_nodes}, "pdbMaxUnavailable": 1}],
            "settings": {"keeper_server/tcp_port": str(KEEPER_PORT),
                         "keeper_server/raft_configuration/server/port": str(KEEPER_RAFT_PORT),
                         "prometheus/endpoint": "/metrics", "prometheus/port": "7000", "prometheus/metrics": "true"},
        },
        "defaults": {"templates": {"podTemplate": "keeper", "dataVolumeClaimTemplate": "keeper-data"}},
        "templates": {
            "podTemplates": [{"name": "keeper", "metadata": {"labels": ds.datastore_labels(STORE)},
                              "spec": _pod_spec(platform, _chk_selector(), [{
                                  "name": "clickhouse-keeper", "image": f"clickhouse/clickhouse-keeper:{ch.version}",
                                  "resources": ds.resources(ch.keeper_resources)}])}],
            "volumeClaimTemplates": [_volume_claim("keeper-data", ch.keeper_storage.size_gib, ch.keeper_storage.storage_class)],
        },
    })


def _backup_env(platform: Platform) -> list[dict[str, Any]]:
    """clickhouse-backup settings: the clickhouse backup bucket the cloud layer creates (in the cluster's region,
    copied to the DR region), retention as a count of backups (0 keeps every backup: retention forever)."""
    backup = _backup(platform)
    target = backup_target(platform, STORE)
    where = target.primary
    provider = platform.cluster.provider
    remote = {"aws": "s3", "gcp": "gcs", "azure": "azblob"}[provider]
    env: list[dict[str, Any]] = [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "ALLOW_EMPTY_BACKUPS", "value": "true"},
        {"name": "API_LISTEN", "value": f"0.0.0.0:{BACKUP_API_PORT}"},
        {"name": "API_CREATE_INTEGRATION_TABLES", "value": "true"},
        {"name": "API_ENABLE_METRICS", "value": "true"},
        # Basic auth on every route (actions, lists, restore, metrics); the integration tables carry it in their URL.
        {"name": "API_USERNAME", "value": BACKUP_API_USER},
        {"name": "API_PASSWORD", "valueFrom": {"secretKeyRef": {"name": CREDENTIALS, "key": "backup_api_password"}}},
        {"name": "CLICKHOUSE_USERNAME", "value": BACKUP_USER},
        {"name": "CLICKHOUSE_PASSWORD", "valueFrom": {"secretKeyRef": {"name": CREDENTIALS, "key": "backup_password"}}},
        {"name": "REMOTE_STORAGE", "value": remote},
        {"name": "BACKUPS_TO_KEEP_LOCAL", "value": "-1"},
        {"name": "BACKUPS_TO_KEEP_REMOTE", "value": str(retained_backup_count(backup) or 0)},
    ]
    path = f"{target.prefix}/{{shard}}"
    # No key: the pods' ServiceAccount carries the cloud identity (IRSA / GKE Workload Identity / Azure workload
    # identity), which the SDKs find by themselves when no key is set.
    if remote == "s3":
        env += [{"name": "S3_BUCKET", "value": where.bucket}, {"name": "S3_REGION", "value": where.region},
                {"name": "S3_PATH", "value": path}]
    elif remote == "gcs":
        env += [{"name": "GCS_BUCKET", "value": where.bucket}, {"name": "GCS_PATH", "value": path}]
    else:
        env += [{"name": "AZBLOB_CONTAINER", "value": where.bucket}, {"name": "AZBLOB_PATH", "value": path},
                {"name": "AZBLOB_ACCOUNT_NAME", "value": where.account},
                {"name": "AZBLOB_USE_MANAGED_IDENTITY", "value": "true"}]
    return env


def user_secret_name(identity: StoreIdentity) -> str:
    """Secret (in platform-data) a service user's password is read from."""
    return f"{CHI}-user-{identity.service}"


def user_secrets(platform: Platform) -> list[KubeObject]:
    """One ExternalSecret per service user (the password the service reads too)."""
    return [identity_secret(platform, user_secret_name(i), ds.DATA_NAMESPACE, NAME, i) for i in identities(platform, STORE)]


def grants(identity: StoreIdentity) -> list[str]:
    """GRANT statements of a service user: its own database, created by itself, and nothing else."""
    assert identity.database is not None
    return [f"GRANT CREATE DATABASE ON {identity.database}.*",
            f"GRANT {', '.join(CLICKHOUSE_PRIVILEGES)} ON {identity.database}.*"]


def users_config(platform: Platform) -> dict[str, Any]:
    """The installation's users: the backup user, and one user per service with its grants (users.xml ``grants``),
    passwords from Secrets (the operator reads them with ``k8s_secret_password``)."""
    config: dict[str, Any] = {
        f"{BACKUP_USER}/k8s_secret_password": f"{ds.DATA_NAMESPACE}/{CREDENTIALS}/backup_password",
        f"{BACKUP_USER}/networks/ip": list(ANY_NETWORK),
    }
    for identity in identities(platform, STORE):
        config[f"{identity.user}/k8s_secret_password"] = f"{ds.DATA_NAMESPACE}/{user_secret_name(identity)}/password"
        config[f"{identity.user}/networks/ip"] = list(ANY_NETWORK)
        config[f"{identity.user}/profile"] = "default"
        config[f"{identity.user}/grants/query"] = grants(identity)
    return config


def installation(platform: Platform) -> KubeObject:
    """The ClickHouseInstallation: shards x replicas from the spec, Keeper for replication, insert_quorum."""
    ch = platform.datastores.clickhouse
    server = {"name": "clickhouse", "image": f"clickhouse/clickhouse-server:{ch.version}", "resources": ds.resources(ch.resources)}
    sidecar = {"name": "clickhouse-backup", "image": ch.backup_image, "args": ["server"], "env": _backup_env(platform),
               "ports": [{"name": "backup-api", "containerPort": BACKUP_API_PORT}],
               "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}}
    return k8s_object(CHI_API, "ClickHouseInstallation", CHI, ds.DATA_NAMESPACE, labels=labels(NAME, CHI, ch.version), spec={
        "configuration": {
            "zookeeper": {"nodes": [{"host": f"keeper-{CHK}", "port": KEEPER_PORT}]},
            "users": users_config(platform),
            "profiles": {
                "default/insert_quorum": str(ch.insert_quorum),
                "default/insert_quorum_timeout": "60000",
            },
            "clusters": [{
                "name": CLUSTER,
                "layout": {"shardsCount": ch.shards, "replicasCount": ch.replicas},
                "pdbMaxUnavailable": 1,
            }],
        },
        "defaults": {"templates": {"podTemplate": "clickhouse", "dataVolumeClaimTemplate": "data"}},
        "templates": {
            "podTemplates": [{"name": "clickhouse",
                              "metadata": {"labels": {**ds.datastore_labels(STORE), **derived.identity_pod_labels(platform)}},
                              "spec": {**_pod_spec(platform, _chi_selector(), [server, sidecar]),
                                       "serviceAccountName": derived.workload_identity(platform, IDENTITY).service_account}}],
            "volumeClaimTemplates": [_volume_claim("data", ch.storage.size_gib, ch.storage.storage_class)],
        },
    })


BACKUP_SCRIPT = """set -eu
name="{prefix}-$(date -u +%Y%m%dT%H%M%S)"
for shard in $(seq 0 $((SHARDS - 1))); do
  host="chi-{chi}-{cluster}-${{shard}}-0"
  q() {{ clickhouse-client --host "$host" --user {user} --password "$(cat /credentials/backup_password)" --query "$1"; }}
  q "INSERT INTO system.backup_actions(command) VALUES('create_remote ${{name}}')"
  while [ "$(q "SELECT status FROM system.backup_actions WHERE command='create_remote ${{name}}' ORDER BY start DESC LIMIT 1")" = "in progress" ]; do
    sleep 30
  done
  status="$(q "SELECT status FROM system.backup_actions WHERE command='create_remote ${{name}}' ORDER BY start DESC LIMIT 1")"
  [ "$status" = "success" ] || {{ echo "shard $shard: backup $name ended with status $status" >&2; exit 1; }}
done
"""


def backup_cronjob(platform: Platform) -> KubeObject:
    """Daily job (the backup row's cron) asking one replica per shard to back up to the DR bucket."""
    ch = platform.datastores.clickhouse
    backup = _backup(platform)
    script = BACKUP_SCRIPT.format(prefix=CHI, chi=CHI, cluster=CLUSTER, user=BACKUP_USER)
    return k8s_object("batch/v1", "CronJob", BACKUP_JOB, ds.DATA_NAMESPACE, labels=labels(NAME, BACKUP_JOB), spec={
        "schedule": backup.schedule,
        "timeZone": "Etc/UTC",
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {"spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": backup.interval_seconds // 2,
            "template": {
                "metadata": {"labels": {**ds.datastore_labels(STORE), "app.kubernetes.io/name": BACKUP_JOB}},
                "spec": {
                    **ds.placement(platform),
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10101, "runAsGroup": 10101, "fsGroup": 10101,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "backup",
                        "image": f"clickhouse/clickhouse-server:{ch.version}",
                        "command": ["/bin/sh", "-c", script],
                        "imagePullPolicy": "Always",
                        "env": [{"name": "SHARDS", "value": str(ch.shards)}, {"name": "HOME", "value": "/tmp"}],
                        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                                         {"name": "credentials", "mountPath": "/credentials", "readOnly": True}],
                    }],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                                {"name": "credentials", "secret": {"secretName": CREDENTIALS, "items": [{"key": "backup_password", "path": "backup_password"}]}}],
                },
            },
        }},
    })


def secrets(platform: Platform) -> list[KubeObject]:
    """ExternalSecrets: the backup user's and the backup API's passwords, the services' users, the operator's own
    account (the bucket needs no key: the pods' ServiceAccount carries the backup identity)."""
    backup = external_secret(platform, CREDENTIALS, ds.DATA_NAMESPACE, NAME, {
        "backup_password": "clickhouse/users:backup_password", "backup_api_password": "clickhouse/users:backup_api_password"})
    backup["spec"]["target"]["template"] = {"engineVersion": "v2", "mergePolicy": "Merge",
                                            "data": {"backup_api_username": BACKUP_API_USER}}
    return [
        backup, *user_secrets(platform),
        external_secret(platform, "clickhouse-operator", ds.DATA_NAMESPACE, NAME,
                        {"username": "clickhouse/operator:username", "password": "clickhouse/operator:password"}),
    ]


def service_monitor(platform: Platform) -> KubeObject:
    """Scrapes the backup sidecars (clickhouse-backup's /metrics)."""
    return k8s_object("monitoring.coreos.com/v1", "PodMonitor", BACKUP_JOB, ds.DATA_NAMESPACE, labels=labels(NAME, BACKUP_JOB), spec={
        "selector": {"matchLabels": _chi_selector()},
        "podMetricsEndpoints": [{"port": "backup-api", "path": "/metrics", "basicAuth": {
            "username": {"name": CREDENTIALS, "key": "backup_api_username"},
            "password": {"name": CREDENTIALS, "key": "backup_api_password"}}}],
    })



def objects(platform: Platform) -> list[KubeObject]:
    """Every ClickHouse object of platform-data."""
    return [*secrets(platform), identity_service_account(platform, IDENTITY, NAME), keeper(platform), installation(platform),
            backup_cronjob(platform), service_monitor(platform)]


def charts(platform: Platform) -> list[HelmRelease]:
    """Altinity's clickhouse-operator chart, watching platform-data, credentials from the ExternalSecret."""
    return [HelmRelease("clickhouse-operator", "clickhouse-operator", ds.DATA_NAMESPACE, {
        "fullnameOverride": "clickhouse-operator",
        # Argo CD applies the chart's CRDs (crds/); the hook Job would repeat it with bitnami/kubectl:latest (moved in 2025).
        "crdHook": {"enabled": False},
        "operator": {"resources": ds.chart_resources(*POD_REQUESTS["clickhouse-operator"])},
        "metrics": {"enabled": True, "resources": ds.chart_resources(*POD_REQUESTS["clickhouse-operator-metrics"])},
        "podLabels": {ds.OPERATOR_LABEL: OPERATOR},
        "secret": {"create": False},
        "serviceMonitor": {"enabled": True},
        "rbac": {"create": True, "namespaceScoped": True},
        **ds.operator_placement(platform),
    }, sync_wave=-5, ignore_differences=(DEFAULTED_DIVISOR,))]


DEFAULTED_DIVISOR = {
    "group": "apps", "kind": "Deployment", "name": "clickhouse-operator",
    # The chart's resourceFieldRef env entries carry no divisor; the API server stores its default ("0"), which Argo CD's
    # structured-merge diff (server-side apply) reads as drift, so the Application would stay OutOfSync forever
    # (measured with Argo CD's own diff code against the simulated cluster's object).
    "jqPathExpressions": ['.spec.template.spec.containers[].env[]?.valueFrom.resourceFieldRef.divisor | select(. == "0")'],
}
"""The operator Deployment's field the API server defaults and the chart leaves out."""


def backup_freshness(platform: Platform) -> BackupFreshness:
    """Freshness of the backup job (kube-state-metrics' last successful time of the backup CronJob)."""
    return BackupFreshness("ClickHouse", "ClickHouse backup", "kube_cronjob_status_last_successful_time",
                           {"namespace": ds.DATA_NAMESPACE, "cronjob": BACKUP_JOB}, ("namespace", "cronjob"), STORE, _backup(platform),
                           "after a region loss the inserts since the newest backup would be gone.")


def alerts(platform: Platform) -> list[RuleGroup]:
    """Replica lag beyond the in-region RPO, and backup freshness (kube-state-metrics CronJob status)."""
    ch = platform.datastores.clickhouse
    lag = ch.ha.rpo_seconds
    return [RuleGroup("clickhouse", (
        AlertRule(
            name="ClickHouseReplicaLagHigh",
            expr=f'max by (namespace, chi, hostname) (chi_clickhouse_metric_ReplicasMaxAbsoluteDelay{{namespace="{ds.DATA_NAMESPACE}"}}) > {lag}',
            for_="5m", severity="warning", labels={"datastore": STORE},
            summary="ClickHouse replica {{ $labels.hostname }} lags behind",
            description=f"Replica {{{{ $labels.hostname }}}} is more than {lag} s behind the other replicas (the in-region RPO is {lag} s): losing the others now would lose that much.",
        ),
        *backup_freshness(platform).alerts(),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the ClickHouse alerts."""
    lag = platform.datastores.clickhouse.ha.rpo_seconds
    ns = ds.DATA_NAMESPACE
    host = f"chi-{CHI}-{CLUSTER}-0-1"
    delay = lambda v: {"series": f'chi_clickhouse_metric_ReplicasMaxAbsoluteDelay{{namespace="{ns}",chi="{CHI}",hostname="{host}"}}', "values": f"{v}x30"}
    return [
        AlertTest("ClickHouseReplicaLagHigh", (delay(lag + 30),), (delay(max(0, lag - 30)),), "10m",
                  {"namespace": ns, "chi": CHI, "hostname": host}),
        *backup_freshness(platform).alert_tests(),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Platform-health panels: replica delay and backup age."""
    return [
        Panel("platform-health", "ClickHouse replica delay",
              (f'max by (hostname) (chi_clickhouse_metric_ReplicasMaxAbsoluteDelay{{namespace="{ds.DATA_NAMESPACE}"}})',), unit="s"),
        backup_freshness(platform).panel(),
    ]


def flows(platform: Platform) -> list[Flow]:
    """ClickHouse: replicas and shards talk native and interserver, ClickHouse to Keeper, Keeper's Raft quorum, the
    backup sidecar to the object storage, the daily job to each shard, the operator to the API and the servers."""
    ns = ds.DATA_NAMESPACE
    servers = Pods.of(ns, _chi_selector())
    keeper = Pods.of(ns, {"clickhouse-keeper.altinity.com/chk": CHK})
    operator = Pods.of(ns, {"app.kubernetes.io/name": "altinity-clickhouse-operator", ds.OPERATOR_LABEL: OPERATOR})
    job = Pods.of(ns, {"app.kubernetes.io/name": BACKUP_JOB})
    return [
        flow(servers, servers, (NATIVE_PORT, INTERSERVER_PORT), "distributed queries and replica fetches"),
        flow(servers, keeper, KEEPER_PORT, "replication metadata in Keeper"),
        flow(keeper, keeper, KEEPER_RAFT_PORT, "Keeper's Raft quorum"),
        flow(servers, CLOUD_OBJECT_STORAGE, HTTPS, "clickhouse-backup uploads to the backup bucket"),
        flow(servers, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the backup bucket"),
        flow(job, servers, NATIVE_PORT, "the daily job asks each shard for a remote backup"),
        to_api_server(operator, "the Altinity operator reconciles installations"),
        flow(operator, servers, (HTTP_PORT, NATIVE_PORT), "the operator queries the servers (schema, metrics)"),
        flow(operator, keeper, KEEPER_PORT, "the operator checks Keeper"),
        scrape(operator, OPERATOR_METRICS_PORTS), scrape(servers, BACKUP_API_PORT, "Prometheus scrapes clickhouse-backup"),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=ds.DATA_NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=0,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=flows,
)
