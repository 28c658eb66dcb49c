"""Plain-dict objects of every kind the planner reads, shaped as the components render them.

Each fixture is checked against the real Kubernetes / CRD schema in test_workloads.py, so the field
paths the adapters read are the ones the operators define.
"""

from __future__ import annotations

from typing import Any

NS_APPS, NS_DATA, NS_MON = "platform-apps", "platform-data", "platform-monitoring"
DATA_TOLERATION = {"key": "plinth.dev/pool", "operator": "Equal", "value": "data", "effect": "NoSchedule"}


def meta(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace}


def container(cpu: str | None, memory: str | None, name: str = "app", limits: dict[str, str] | None = None) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return {"name": name, "image": "ghcr.io/org/app:1.0.0", "resources": resources}


def deployment(name: str, replicas: int | None, containers: list[dict[str, Any]], namespace: str = NS_APPS,
               init: list[dict[str, Any]] | None = None, anti_affinity: bool = False) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": containers}
    if init:
        pod["initContainers"] = init
    if anti_affinity:
        pod["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": name}}}]}}
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, namespace), "spec": spec}


def hpa(target: str, low: int, high: int, namespace: str = NS_APPS) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(target, namespace),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": low, "maxReplicas": high}}


def scaled_object(target: str, low: int, high: int, namespace: str = NS_APPS) -> dict[str, Any]:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta(target, namespace),
            "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": low, "maxReplicaCount": high,
                     "triggers": [{"type": "kafka", "metadata": {"topic": "pipeline-events", "consumerGroup": target,
                                                                 "bootstrapServers": "kafka:9092", "lagThreshold": "1000"}}]}}


def statefulset(name: str, replicas: int, cpu: str, memory: str, storage: str, namespace: str = NS_MON) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(name, namespace), "spec": {
        "replicas": replicas, "serviceName": name, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container(cpu, memory)]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}}]}}


def daemonset(name: str, cpu: str, memory: str, namespace: str = NS_MON, tolerate_all: bool = True) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": [container(cpu, memory)]}
    if tolerate_all:
        pod["tolerations"] = [{"operator": "Exists"}]
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(name, namespace), "spec": {
        "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}}


def rollout_with_ref(name: str, replicas: int, namespace: str = NS_APPS) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": meta(name, namespace), "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "scaleDown": "progressively"},
        "strategy": {"canary": {"steps": [{"setWeight": 10}]}}}}


def cnpg_cluster() -> dict[str, Any]:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": meta("postgres", NS_DATA), "spec": {
        "instances": 3, "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}},
        "storage": {"size": "500Gi", "storageClass": "plinth-ssd"}, "walStorage": {"size": "50Gi", "storageClass": "plinth-ssd"},
        "affinity": {"enablePodAntiAffinity": True, "podAntiAffinityType": "required", "topologyKey": "kubernetes.io/hostname",
                     "nodeSelector": {"plinth.dev/pool": "data"}, "tolerations": [DATA_TOLERATION]}}}


def cnpg_pooler() -> dict[str, Any]:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Pooler", "metadata": meta("postgres-pooler", NS_DATA), "spec": {
        "cluster": {"name": "postgres"}, "instances": 3, "type": "rw", "pgbouncer": {"poolMode": "transaction"},
        "template": {"spec": {"containers": [container("250m", "256Mi", name="pgbouncer")], "tolerations": [DATA_TOLERATION],
                              "nodeSelector": {"plinth.dev/pool": "data"}}}}}


def clickhouse_installation() -> dict[str, Any]:
    return {"apiVersion": "clickhouse.altinity.com/v1", "kind": "ClickHouseInstallation", "metadata": meta("clickhouse", NS_DATA), "spec": {
        "defaults": {"templates": {"podTemplate": "clickhouse", "dataVolumeClaimTemplate": "data"}},
        "configuration": {"clusters": [{"name": "main", "layout": {"shardsCount": 2, "replicasCount": 3}}]},
        "templates": {
            "podTemplates": [{"name": "clickhouse", "podDistribution": [{"type": "ClickHouseAntiAffinity", "scope": "ClickHouseInstallation"}],
                              "spec": {"containers": [container("4", "16Gi", name="clickhouse")], "tolerations": [DATA_TOLERATION]}}],
            "volumeClaimTemplates": [{"name": "data", "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1000Gi"}}}}],
        }}}


def keeper_installation() -> dict[str, Any]:
    return {"apiVersion": "clickhouse-keeper.altinity.com/v1", "kind": "ClickHouseKeeperInstallation",
            "metadata": meta("clickhouse-keeper", NS_DATA), "spec": {
                "defaults": {"templates": {"podTemplate": "keeper", "dataVolumeClaimTemplate": "keeper-data"}},
                "configuration": {"clusters": [{"name": "keeper", "layout": {"replicasCount": 3}}]},
                "templates": {
                    "podTemplates": [{"name": "keeper", "spec": {"containers": [container("500m", "1Gi", name="clickhouse-keeper")],
                                                                  "tolerations": [DATA_TOLERATION]}}],
                    "volumeClaimTemplates": [{"name": "keeper-data", "spec": {"accessModes": ["ReadWriteOnce"],
                                                                              "resources": {"requests": {"storage": "20Gi"}}}}],
                }}}


def kafka_node_pool(name: str, role: str, replicas: int, cpu: str, memory: str, jbod: list[str]) -> dict[str, Any]:
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool", "metadata": {**meta(name, NS_DATA), "labels": {"strimzi.io/cluster": "kafka"}},
            "spec": {"replicas": replicas, "roles": [role],
                     "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}},
                     "storage": {"type": "jbod", "volumes": [{"id": i, "type": "persistent-claim", "size": s, "deleteClaim": False}
                                                             for i, s in enumerate(jbod)]},
                     "template": {"pod": {"tolerations": [DATA_TOLERATION], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                         "nodeSelectorTerms": [{"matchExpressions": [{"key": "plinth.dev/pool", "operator": "In", "values": ["data"]}]}]}}}}}}}


def kafka() -> dict[str, Any]:
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": meta("kafka", NS_DATA), "spec": {
        "kafka": {"version": "4.1.0", "listeners": [{"name": "tls", "port": 9093, "type": "internal", "tls": True}]},
        "entityOperator": {
            "topicOperator": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}},
            "userOperator": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}}},
            "template": {"pod": {"tolerations": [DATA_TOLERATION]}},
        }}}


def redis_replication() -> dict[str, Any]:
    return {"apiVersion": "redis.redis.opstreelabs.in/v1beta2", "kind": "RedisReplication", "metadata": meta("redis", NS_DATA), "spec": {
        "clusterSize": 3,
        "kubernetesConfig": {"image": "quay.io/opstree/redis:v7.2.7", "resources": {"requests": {"cpu": "1", "memory": "4Gi"}}},
        "redisExporter": {"enabled": True, "image": "quay.io/opstree/redis-exporter:v1.48.0",
                          "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}},
        "storage": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}}}},
        "tolerations": [DATA_TOLERATION]}}


def redis_sentinel() -> dict[str, Any]:
    return {"apiVersion": "redis.redis.opstreelabs.in/v1beta2", "kind": "RedisSentinel", "metadata": meta("redis-sentinel", NS_DATA), "spec": {
        "clusterSize": 3,
        "kubernetesConfig": {"image": "quay.io/opstree/redis-sentinel:v7.2.7", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
        "redisSentinelConfig": {"redisReplicationName": "redis"},
        "tolerations": [DATA_TOLERATION]}}


def prometheus() -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": meta("prometheus", NS_MON), "spec": {
        "replicas": 2, "resources": {"requests": {"cpu": "2", "memory": "8Gi"}},
        "storage": {"volumeClaimTemplate": {"spec": {"resources": {"requests": {"storage": "200Gi"}}}}}}}


def envoy_proxy() -> dict[str, Any]:
    return {"apiVersion": "gateway.envoyproxy.io/v1alpha1", "kind": "EnvoyProxy", "metadata": meta("public", "platform-system"), "spec": {
        "provider": {"type": "Kubernetes", "kubernetes": {"envoyDeployment": {
            "replicas": 3, "container": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}}}}}}


def all_fixtures() -> list[dict[str, Any]]:
    """One object of every kind the planner reads."""
    return [
        deployment("frontend", None, [container("250m", "256Mi")]), hpa("frontend", 3, 10),
        deployment("data-workers", 3, [container("1", "1Gi")]), scaled_object("data-workers", 3, 20),
        statefulset("loki", 3, "1", "2Gi", "100Gi"), daemonset("node-exporter", "50m", "64Mi"),
        deployment("auth", 0, [container("250m", "256Mi")]), rollout_with_ref("auth", 4),
        cnpg_cluster(), cnpg_pooler(), clickhouse_installation(), keeper_installation(),
        kafka_node_pool("brokers", "broker", 3, "2", "8Gi", ["500Gi"]),
        kafka_node_pool("controllers", "controller", 3, "500m", "2Gi", ["20Gi"]),
        kafka(), redis_replication(), redis_sentinel(), prometheus(), envoy_proxy(),
    ]
