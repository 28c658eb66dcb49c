"""Plain-dict fixtures for the checks: a healthy tree in the real object shapes (Argo Rollouts, HPAs,
ScaledObjects, PDBs, NetworkPolicies, CloudNativePG, Strimzi, Altinity, OT redis-operator, Velero,
barman-cloud ObjectStore, chart Applications, their AppProjects and the CRDs), the objects its chart Applications
hydrate to (fixture charts: kube-prometheus-stack brings the monitoring CRDs, loki a workload with its Secret,
ServiceAccount, Service and ServiceMonitor), which every check passes, and helpers to break one thing."""

from __future__ import annotations

import copy
from typing import Any

from plinth.charts.apis import builtin_api_versions, group_version
from plinth.charts.hydrate import HydratedObject
from plinth.components import app_services as services_component
from plinth.components import clickhouse, external_secrets, kafka, postgres, redis
from plinth.kube.conventions import DATASTORE_NAMES, uses_label
from plinth.kube import secrets as kube_secrets
from plinth.kube.flows import Flow, Pods, flow
from plinth.kube.scheduling import ZONE_KEY, spread_constraints
from plinth.components import iceberg_catalog as ic
from plinth.spec.derived import backup_targets
from plinth.spec.model import Platform

DIGEST = "sha256:" + "a" * 64
ROLLOUT_TARGET = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout"}
APPS, DATA, SYSTEM, MON = "platform-apps", "platform-data", "platform-system", "platform-monitoring"


def meta(name: str, namespace: str | None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = labels
    return m


def zone_spread(match: dict[str, str]) -> list[dict[str, Any]]:
    return [{"maxSkew": 1, "topologyKey": ZONE_KEY, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": match}}]


def container(name: str, image: str, cpu: str = "500m", memory: str = "512Mi") -> dict[str, Any]:
    return {"name": name, "image": image, "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}}


def rollout(name: str, replicas: int, cpu: str, memory: str, uses: list[str], spread: bool = True) -> dict[str, Any]:
    """An app service's workload as the app-services component renders it: an Argo Rollout with a pod template."""
    pod_labels = {"app.kubernetes.io/name": name, **{uses_label(u): "true" for u in uses}}
    pod: dict[str, Any] = {"containers": [container(name, f"ghcr.io/org/{name}@{DIGEST}", cpu, memory)]}
    if spread:
        pod["topologySpreadConstraints"] = spread_constraints({"app.kubernetes.io/name": name})
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": meta(name, APPS, {"app.kubernetes.io/name": name}),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                     "template": {"metadata": {"labels": pod_labels}, "spec": pod},
                     "strategy": {"canary": {"steps": [{"setWeight": 10}, {"pause": {"duration": "60s"}}, {"setWeight": 100}]}}}}


def application(name: str, *, path: str | None = None, chart: str | None = None, values: dict[str, Any] | None = None,
                namespace: str = APPS, wave: int = 0) -> dict[str, Any]:
    source: dict[str, Any] = {"repoURL": "https://github.com/org/platform-infra.git", "targetRevision": "main", "path": path}
    if chart:
        source = {"repoURL": "https://charts.example", "chart": chart, "targetRevision": "1.0.0", "helm": {"valuesObject": values or {}}}
    metadata = {**meta(name, SYSTEM), "annotations": {"argocd.argoproj.io/sync-wave": str(wave)}}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": metadata,
            "spec": {"project": namespace, "source": source, "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}


def app_services(platform: Platform) -> list[dict[str, Any]]:
    """Every spec service: Rollout, HPA or ScaledObject (scaling the Rollout), PDB, Service, ServiceMonitor."""
    objects: list[dict[str, Any]] = []
    for name, svc in sorted(platform.services.items()):
        s = svc.scaling
        objects.append(rollout(name, s.min_replicas, svc.resources.requests_cpu, svc.resources.requests_memory, list(svc.uses)))
        if s.type == "hpa":
            objects.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name, APPS),
                            "spec": {"scaleTargetRef": ROLLOUT_TARGET | {"name": name},
                                     "minReplicas": s.min_replicas, "maxReplicas": s.max_replicas}})
        else:
            objects.append({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta(name, APPS),
                            "spec": {"scaleTargetRef": ROLLOUT_TARGET | {"name": name}, "minReplicaCount": s.min_replicas, "maxReplicaCount": s.max_replicas,
                                     "triggers": [{"type": "prometheus", "metadata": {"threshold": "1000"}}]}})
        objects.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name, APPS),
                        "spec": {"minAvailable": s.min_replicas - 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}})
        objects.append({"apiVersion": "v1", "kind": "Service", "metadata": meta(name, APPS, {"app.kubernetes.io/name": name}),
                        "spec": {"selector": {"app.kubernetes.io/name": name}, "ports": [{"port": 80, "targetPort": 8080}]}})
        objects.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta(name, APPS),
                        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": name}}, "endpoints": [{"port": "metrics"}]}})
    return objects


def data_stores(platform: Platform) -> list[dict[str, Any]]:
    """The data stores as the operators' custom resources, spread over zones, with backups to the DR region."""
    d = platform.datastores
    targets = backup_targets(platform)
    pg, ch, keeper = DATASTORE_NAMES["postgres"], DATASTORE_NAMES["clickhouse"], DATASTORE_NAMES["clickhouse-keeper"]
    redis, sentinel, kafka = DATASTORE_NAMES["redis"], DATASTORE_NAMES["redis-sentinel"], DATASTORE_NAMES["kafka"]
    req = lambda r: {"requests": {"cpu": r.requests_cpu, "memory": r.requests_memory}}  # noqa: E731
    backup = {b.data: b for b in platform.backups}

    def altinity(kind: str, api: str, name: str, label: str, replicas: int, resources: Any, shards: bool) -> dict[str, Any]:
        layout = {"replicasCount": replicas, **({"shardsCount": d.clickhouse.shards} if shards else {})}
        return {"apiVersion": api, "kind": kind, "metadata": meta(name, DATA),
                "spec": {"configuration": {"clusters": [{"name": "main", "layout": layout, "templates": {"podTemplate": "pod"}}]},
                         "templates": {"podTemplates": [{"name": "pod", "metadata": {"labels": {"plinth.dev/datastore": "clickhouse"}},
                                                         "spec": {"containers": [container("server", f"clickhouse/clickhouse-server@{DIGEST}", resources.requests_cpu, resources.requests_memory)]
                                                                  + ([backup_sidecar] if shards else []),
                                                                  "topologySpreadConstraints": zone_spread({label: name})}}]}}}

    backup_sidecar = {"name": "clickhouse-backup", "image": f"altinity/clickhouse-backup@{DIGEST}",
                      "env": [{"name": "REMOTE_STORAGE", "value": "s3"}, {"name": "S3_REGION", "value": targets["clickhouse"].primary.region},
                              {"name": "S3_BUCKET", "value": targets["clickhouse"].primary.bucket},
                              {"name": "BACKUPS_TO_KEEP_REMOTE", "value": str(backup["clickhouse"].retention_days)}]}

    def redis_cr(kind: str, name: str, size: int) -> dict[str, Any]:
        return {"apiVersion": "redis.redis.opstreelabs.in/v1beta2", "kind": kind, "metadata": meta(name, DATA, {"plinth.dev/datastore": "redis"}),
                "spec": {"clusterSize": size, "kubernetesConfig": {"image": f"quay.io/opstree/redis@{DIGEST}", "resources": req(d.redis.resources)},
                         "topologySpreadConstraints": zone_spread({"app": f"{name}-sentinel" if kind == "RedisSentinel" else name})}}

    def pool(name: str, role: str, replicas: int, resources: Any) -> dict[str, Any]:
        return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool", "metadata": meta(name, DATA, {"strimzi.io/cluster": kafka}),
                "spec": {"replicas": replicas, "roles": [role], "resources": req(resources), "storage": {"type": "persistent-claim", "size": "100Gi"},
                         "template": {"pod": {"topologySpreadConstraints": zone_spread({"strimzi.io/pool-name": name})}}}}

    return [
        {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta(pg, DATA),
         "spec": {"instances": d.postgres.instances, "imageName": f"ghcr.io/cloudnative-pg/postgresql@{DIGEST}",
                  "inheritedMetadata": {"labels": {"plinth.dev/datastore": "postgres"}},
                  "postgresql": {"synchronous": {"method": "any", "number": d.postgres.synchronous_standbys, "dataDurability": "required"}},
                  "affinity": {"topologyKey": ZONE_KEY, "podAntiAffinityType": "required"},
                  "resources": req(d.postgres.resources),
                  "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True, "parameters": {"barmanObjectName": DATASTORE_NAMES["postgres-objectstore"]}}]}},
        {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore", "metadata": meta(DATASTORE_NAMES["postgres-objectstore"], DATA),
         "spec": {"retentionPolicy": f"{backup['postgres'].retention_days}d",
                  "configuration": {"destinationPath": targets["postgres"].primary.url(targets["postgres"].prefix),
                                    "s3Credentials": {"inheritFromIAMRole": True}},
                  "instanceSidecarConfiguration": {"env": [{"name": "AWS_DEFAULT_REGION", "value": targets["postgres"].primary.region}]}}},
        {"apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup", "metadata": meta(f"{pg}-hourly", DATA),
         "spec": {"schedule": backup["postgres"].schedule, "cluster": {"name": pg}, "method": "plugin",
                  "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"}}},
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": meta(kafka, DATA),
         "spec": {"kafka": {"config": {"default.replication.factor": d.kafka.default_replication_factor, "min.insync.replicas": d.kafka.min_insync_replicas,
                                       "unclean.leader.election.enable": False}, "rack": {"topologyKey": ZONE_KEY},
                           "listeners": [{"name": "plain", "port": 9092, "type": "internal", "tls": False}]}}},
        pool("brokers", "broker", d.kafka.brokers, d.kafka.resources),
        pool("controllers", "controller", d.kafka.controllers, d.kafka.controller_resources),
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic", "metadata": meta("pipeline-events", DATA, {"strimzi.io/cluster": kafka}),
         "spec": {"partitions": 60, "replicas": 3, "config": {"min.insync.replicas": 2}}},
        altinity("ClickHouseInstallation", "clickhouse.altinity.com/v1", ch, "clickhouse.altinity.com/chi", d.clickhouse.replicas, d.clickhouse.resources, True),
        altinity("ClickHouseKeeperInstallation", "clickhouse-keeper.altinity.com/v1", keeper, "clickhouse-keeper.altinity.com/chk", d.clickhouse.keeper_nodes, d.clickhouse.keeper_resources, False),
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(f"{ch}-backup", DATA),
         "spec": {"schedule": backup["clickhouse"].schedule, "jobTemplate": {"spec": {"template": {"spec": {"containers": [{
             "name": "backup", "image": f"clickhouse/clickhouse-server@{DIGEST}",
             "command": ["/bin/sh", "-c", "clickhouse-client --query \"INSERT INTO system.backup_actions(command) VALUES('create_remote x')\""]}]}}}}}},
        redis_cr("RedisReplication", redis, d.redis.nodes),
        redis_cr("RedisSentinel", sentinel, d.redis.sentinels),
        {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": meta("cluster-state", SYSTEM),
         "spec": {"schedule": backup["cluster-state"].schedule, "template": {"ttl": f"{backup['cluster-state'].retention_days * 24}h0m0s"}}},
        {"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation", "metadata": meta("default", SYSTEM),
         "spec": {"provider": "aws", "objectStorage": {"bucket": targets["cluster-state"].primary.bucket},
                  "config": {"region": targets["cluster-state"].primary.region}}},
    ]


def gateway(platform: Platform) -> list[dict[str, Any]]:
    """The public gateway's data plane: an EnvoyProxy (proxies spread over zones), its GatewayClass and Gateway."""
    proxy_labels = {"gateway.envoyproxy.io/owning-gateway-name": "public", "gateway.envoyproxy.io/owning-gateway-namespace": SYSTEM}
    return [
        {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyProxy", "metadata": meta("public-proxy", SYSTEM),
         "spec": {"provider": {"type": "Kubernetes", "kubernetes": {"envoyDeployment": {
             "replicas": platform.edge.gateway_replicas, "pod": {"topologySpreadConstraints": zone_spread(proxy_labels)},
             "container": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}}}}}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": meta("envoy", None),
         "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                  "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": "public-proxy", "namespace": SYSTEM}}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta("public", SYSTEM),
         "spec": {"gatewayClassName": "envoy", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}},
    ]


def network_policies() -> list[dict[str, Any]]:
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-deny", ns),
             "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}} for ns in (APPS, DATA, SYSTEM, MON)]


def monitoring(platform: Platform) -> list[dict[str, Any]]:
    o = platform.observability
    return [
        application("kube-prometheus-stack", chart="kube-prometheus-stack", namespace=MON, wave=-5,
                    values={"prometheus": {"prometheusSpec": {"retention": f"{o.prometheus.retention_days}d"}}}),
        application("loki", chart="loki", namespace=MON, wave=-3,
                    values={"loki": {"limits_config": {"retention_period": f"{o.loki.retention_days * 24}h"}, "compactor": {"retention_enabled": True}}}),
        application("tempo", chart="tempo-distributed", namespace=MON, wave=-3,
                    values={"tempo": {"structuredConfig": {"compactor": {"compaction": {"block_retention": f"{o.tempo.retention_days * 24}h"}}}}}),
    ]


def iceberg(platform: Platform, apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Iceberg catalog chart, its maintenance and setup CronJobs, and for each service using Iceberg: the catalog's
    URI and warehouse, its credentials Secret (an ExternalSecret reading the entry the setup job's copy reads) and the
    flows both ways."""
    row = next(b for b in platform.backups if b.data == "iceberg")
    users = sorted(name for name, svc in platform.services.items() if "iceberg" in svc.uses)
    setup_pod = {"containers": [{"name": "setup", "image": f"ghcr.io/org/iceberg-maintenance@{DIGEST}",
                                 "args": ["/opt/plinth/catalog_setup.py", *(a for u in users for a in ("--service", f"{u}={ic.principal_dir(u)}"))]}],
                 "volumes": [{"name": f"principal-{u}", "secret": {"secretName": ic.principal_secret(u)}} for u in users]}
    objects: list[dict[str, Any]] = [
        application("polaris", chart="polaris", namespace=DATA, values={"replicaCount": 3}),
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("iceberg-maintenance", DATA),
         "spec": {"schedule": "30 4 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{
             "name": "maintenance", "image": f"ghcr.io/org/iceberg-maintenance@{DIGEST}",
             "args": ["/opt/plinth/maintenance.py", "--retention-days", str(row.retention_days)]}]}}}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(ic.SETUP_JOB, DATA),
         "spec": {"schedule": "*/15 * * * *", "jobTemplate": {"spec": {"template": {"spec": setup_pod}}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("iceberg-catalog-server", DATA),
         "spec": {"podSelector": {"matchLabels": dict(ic.SERVER_LABELS)}, "policyTypes": ["Ingress"], "ingress": [
             {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": APPS}},
                        "podSelector": {"matchLabels": {uses_label("iceberg"): "true"}}}], "ports": [{"protocol": "TCP", "port": 8181}]}]}},
    ]
    for name in users:
        secret = ic.service_credentials_secret(name)
        entries = ic.service_credentials_entries(name)
        pod = find(apps, "Rollout", name)["spec"]["template"]["spec"]
        pod["containers"][0]["env"] = [{"name": "ICEBERG_CATALOG_URI", "value": "http://polaris.platform-data.svc:8181/api/catalog"},
                                       {"name": "ICEBERG_WAREHOUSE", "value": platform.datastores.iceberg.catalog.warehouse}]
        pod["volumes"] = [{"name": "iceberg-credentials", "secret": {"secretName": secret}}]
        objects += [
            kube_secrets.external_secret(platform, secret, APPS, "fixture", entries),
            kube_secrets.external_secret(platform, ic.principal_secret(name), DATA, "fixture", entries),
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(f"{name}-flows", APPS),
             "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}, "policyTypes": ["Egress"], "egress": [
                 {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": DATA}},
                          "podSelector": {"matchLabels": dict(ic.SERVER_LABELS)}}], "ports": [{"protocol": "TCP", "port": 8181}]}]}},
        ]
    return objects


def healthy_flows(platform: Platform) -> list[Flow]:
    """The flows the fixture declares (its policies allow exactly these): each service using Iceberg to the catalog."""
    return [flow(Pods.of(APPS, {"app.kubernetes.io/name": name}), Pods.of(DATA, ic.SERVER_LABELS), ic.HTTP_PORT, f"{name} uses the catalog")
            for name, svc in sorted(platform.services.items()) if "iceberg" in svc.uses]


def crd(group: str, kind: str, scope: str = "Namespaced", version: str = "v1") -> dict[str, Any]:
    """A CustomResourceDefinition of ``kind`` in ``group`` serving ``version`` (an open schema)."""
    plural = kind.lower() + ("es" if kind.lower().endswith("s") else "s")
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": meta(f"{plural}.{group}", None),
            "spec": {"group": group, "scope": scope, "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


CLUSTER_SCOPED_FIXTURE_KINDS = {("gateway.networking.k8s.io", "GatewayClass"), ("external-secrets.io", "ClusterSecretStore")}


def argo_scaffold(platform: Platform, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Argo CD needs besides the fixture objects: an AppProject per namespace an Application deploys to (its own
    namespace; CRDs and GatewayClasses allowed cluster-wide), and a CRD for every custom kind the objects use."""
    builtin = {group_version(e.rsplit("/", 1)[0])[0] for e in builtin_api_versions(platform.cluster.kubernetes_version)}
    namespaces = sorted({o["spec"]["destination"]["namespace"] for o in objects if o["kind"] == "Application"})
    projects = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": meta(ns, SYSTEM),
                 "spec": {"sourceRepos": ["*"], "destinations": [{"server": "https://kubernetes.default.svc", "namespace": ns}],
                          "clusterResourceWhitelist": [{"group": "apiextensions.k8s.io", "kind": "CustomResourceDefinition"},
                                                       *({"group": g, "kind": k} for g, k in sorted(CLUSTER_SCOPED_FIXTURE_KINDS))]}}
                for ns in namespaces]
    kinds = sorted({(group_version(o["apiVersion"])[0], o["kind"], group_version(o["apiVersion"])[1]) for o in objects
                    if group_version(o["apiVersion"])[0] not in builtin and group_version(o["apiVersion"])[0] != "argoproj.io"
                    or o["kind"] == "Rollout"})
    crds = [crd(g, k, "Cluster" if (g, k) in CLUSTER_SCOPED_FIXTURE_KINDS else "Namespaced", v) for g, k, v in kinds]
    return projects + crds


def healthy_tree(platform: Platform) -> list[dict[str, Any]]:
    """A whole tree every check passes on."""
    apps = app_services(platform)
    objects = [*apps, *data_stores(platform), *gateway(platform), *network_policies(), *monitoring(platform), *iceberg(platform, apps),
               application("apps", path=f"kubernetes/{platform.environment}/{APPS}/fixture")]
    objects = with_identities(platform, objects)
    return objects + argo_scaffold(platform, objects)


def hydrated(platform: Platform, application: str, obj: dict[str, Any], wave: int = 0, phases: tuple[str, ...] = (),
             application_wave: int = 0) -> HydratedObject:
    """``obj`` as a fixture chart Application renders it."""
    name = obj["metadata"]["name"]
    return HydratedObject(f"{platform.environment}/hydrated/{application}/{obj['kind'].lower()}-{name}.yaml", obj, application,
                          platform.environment, wave, phases, f"{application}-1.0.0", application_wave)


def healthy_hydrated(platform: Platform) -> list[HydratedObject]:
    """What the fixture's chart Applications hydrate to: kube-prometheus-stack the monitoring CRDs, loki a workload
    with the Secret, ServiceAccount, Service and ServiceMonitor it needs, polaris the catalog servers."""
    labels = {"app.kubernetes.io/name": "loki", "app.kubernetes.io/component": "read"}
    pod = {"serviceAccountName": "loki", "containers": [{**container("loki", f"grafana/loki@{DIGEST}", "100m", "256Mi"),
                                                         "envFrom": [{"secretRef": {"name": "loki-object-storage"}}]}]}
    loki = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("loki", MON)},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("loki-object-storage", MON), "stringData": {"BUCKET": "logs"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("loki-read", MON, labels),
         "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("loki-read", MON, labels),
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 3100}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta("loki", MON),
         "spec": {"selector": {"matchLabels": labels}, "endpoints": [{"port": "http"}]}},
    ]
    server = dict(ic.SERVER_LABELS)
    catalog_pod = {"serviceAccountName": ic.SERVICE_ACCOUNT, "topologySpreadConstraints": zone_spread(server),
                   "containers": [container("polaris", f"apache/polaris@{DIGEST}", "500m", "1Gi")]}
    polaris = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(ic.SERVICE_ACCOUNT, DATA)},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(ic.SERVICE, DATA, server),
         "spec": {"replicas": 3, "selector": {"matchLabels": server}, "template": {"metadata": {"labels": server}, "spec": catalog_pod}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(ic.SERVICE, DATA),
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": server}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta(ic.SERVICE, DATA, server),
         "spec": {"selector": server, "ports": [{"name": "http", "port": ic.HTTP_PORT}]}},
    ]
    monitoring_crds = [crd("monitoring.coreos.com", k) for k in ("ServiceMonitor", "PodMonitor", "Prometheus")]
    argocd_crds = [crd("argoproj.io", k, version="v1alpha1") for k in ("Application", "AppProject")]
    return ([hydrated(platform, "argocd", c, application_wave=-20) for c in argocd_crds]
            + [hydrated(platform, "kube-prometheus-stack", c, application_wave=-5) for c in monitoring_crds]
            + [hydrated(platform, "loki", o, application_wave=-3) for o in loki]
            + [hydrated(platform, "polaris", o, application_wave=1) for o in polaris])


def policy(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A NetworkPolicy."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name, namespace), "spec": spec}


def webhook(name: str, service: str, selects: dict[str, str] | None, namespace: str = APPS, target_port: int = 8443) -> list[dict[str, Any]]:
    """A ValidatingWebhookConfiguration calling ``service`` (and the Service, when it selects pods)."""
    config = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": meta(name, None),
              "webhooks": [{"name": f"{name}.plinth.dev", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                            "clientConfig": {"service": {"namespace": namespace, "name": service, "port": 443}}}]}
    if selects is None:
        return [config]
    return [config, {"apiVersion": "v1", "kind": "Service", "metadata": meta(service, namespace),
                     "spec": {"selector": selects, "ports": [{"name": "https", "port": 443, "targetPort": target_port}]}}]


def api_egress_policy(name: str, namespace: str, pod_labels: dict[str, str]) -> dict[str, Any]:
    """Egress to the API server's addresses on 443 for ``pod_labels``."""
    return policy(name, namespace, {"podSelector": {"matchLabels": pod_labels}, "policyTypes": ["Egress"],
                                    "egress": [{"to": [{"ipBlock": {"cidr": "10.0.96.0/28"}}, {"ipBlock": {"cidr": "10.0.96.16/28"}},
                                                       {"ipBlock": {"cidr": "10.0.96.32/28"}}], "ports": [{"protocol": "TCP", "port": 443}]}]})


def hydrated_hook_behind_a_deny(platform: Platform, namespace: str, pod_labels: dict[str, str]) -> list[HydratedObject]:
    """A chart (Application wave -6) whose PreSync hook Job talks to the API server, and a default-deny of the namespace
    arriving at wave -8 (from another chart Application)."""
    env = platform.environment
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("migrate", namespace, {"helm.sh/hook": "pre-install"}),
           "spec": {"template": {"metadata": {"labels": pod_labels}, "spec": {"restartPolicy": "Never", "containers": [container("migrate", f"migrate@{DIGEST}")]}}}}
    deny = policy("default-deny", namespace, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    return [HydratedObject(f"{env}/hydrated/operator/job-migrate.yaml", job, "operator", env, 0, ("PreSync",), "operator-1.0.0", -6),
            HydratedObject(f"{env}/hydrated/baseline/networkpolicy-default-deny.yaml", deny, "baseline", env, 0, (), "baseline-1.0.0", -8)]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The fixture object of that kind and name (to break it)."""
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def without(objects: list[dict[str, Any]], kind: str, name: str, namespace: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if not (o["kind"] == kind and o["metadata"]["name"] == name and (namespace is None or o["metadata"].get("namespace") == namespace))]


def _replaced(node: Any, parts: list[str], value: Any) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        return {**node, head: _replaced(node[head], rest, value) if rest else value}
    if isinstance(node, list):
        index = int(head)
        return [*node[:index], _replaced(node[index], rest, value) if rest else value, *node[index + 1:]]
    return node.model_copy(update={head: _replaced(getattr(node, head), rest, value) if rest else value})


def spec_changed(platform: Platform, changes: dict[str, Any]) -> Platform:
    """The platform with values changed at dotted paths, NOT validated again: the checks must catch a broken
    promise even where today's model would already reject it (defence in depth, and models change)."""
    for dotted, value in changes.items():
        platform = _replaced(platform, dotted.split("."), value)
    return platform


def edited(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(objects)


def with_identities(platform: Platform, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The data-plane identities as the components render them (``plinth.spec.access``): CloudNativePG roles,
    Databases and pg_hba, ClickHouse users with grants, KafkaUsers with ACLs on a TLS + SCRAM listener, the Redis
    ACL file; the stores' and the services' ExternalSecrets; each service's Rollout mounting its own credentials."""
    find(objects, "Cluster", DATASTORE_NAMES["postgres"])["spec"].setdefault("postgresql", {}).update(
        pg_hba=postgres.pg_hba(platform))
    find(objects, "Cluster", DATASTORE_NAMES["postgres"])["spec"]["managed"] = {"roles": postgres.managed_roles(platform)}
    find(objects, "Kafka", DATASTORE_NAMES["kafka"])["spec"]["kafka"].update(
        listeners=kafka.kafka(platform)["spec"]["kafka"]["listeners"], authorization={"type": "simple"})
    find(objects, "ClickHouseInstallation", DATASTORE_NAMES["clickhouse"])["spec"]["configuration"]["users"] = clickhouse.users_config(platform)
    replication = find(objects, "RedisReplication", DATASTORE_NAMES["redis"])["spec"]
    replication["kubernetesConfig"]["redisSecret"] = {"name": redis.PASSWORD_SECRET, "key": "password"}
    replication["acl"] = {"secret": {"secretName": redis.ACL_SECRET}}
    added = [*postgres.role_secrets(platform), *postgres.databases(platform), *clickhouse.secrets(platform)[:1],
             *clickhouse.user_secrets(platform), *kafka.user_secrets(platform), *kafka.users(platform), redis.password_secret(platform),
             redis.acl_secret(platform)]
    present = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for name, svc in sorted(platform.services.items()):
        credentials = [o for o in services_component.service_objects(platform, name) if o["kind"] == "ExternalSecret"]
        added += [o for o in credentials if ("ExternalSecret", o["metadata"]["name"]) not in present]
        pod = find(objects, "Rollout", name)["spec"]["template"]["spec"]
        pod["volumes"] = [{"name": o["metadata"]["name"], "secret": {"secretName": o["spec"]["target"]["name"]}} for o in credentials]
    store_app = application("secret-store", path=f"kubernetes/{platform.environment}/cluster/fixture", namespace=SYSTEM, wave=-4)
    return objects + added + external_secrets.secret_stores(platform) + [store_app]
