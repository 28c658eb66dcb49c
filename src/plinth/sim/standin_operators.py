"""Stand-ins for the operators that cannot run here (their releases are not on the Go module proxy or Maven
Central: see ``plinth.sim.operators.NOT_ON_PROXY``).

Each stand-in creates the objects its operator creates for the tree's custom resources, with the names,
labels and shapes read from that operator's source (cited per function; the commits are those the source
index holds, the nearest it has to the pinned releases), so that what reaches the scheduler (pods, their
labels, spread and anti-affinity, PVCs, PodDisruptionBudgets) is the operator's and not our belief about it.
They do not do the operators' other work (configuration files, certificates, ACLs, topic partitions; a KafkaUser
gets only its Secret and status); they
report the custom resource ready once its pods are Running and Ready, where the operator would also check
the servers themselves.
"""

from __future__ import annotations

import base64
import copy
import secrets
from collections.abc import Callable
from typing import Any

from plinth.sim.kubeclient import PDBS, PODS, SECRETS, SERVICES, STATEFULSETS, ApiError, KubeClient, Resource

MANAGER = "plinth-sim-standin"

CHI = Resource("clickhouse.altinity.com", "v1", "clickhouseinstallations")
CHK = Resource("clickhouse-keeper.altinity.com", "v1", "clickhousekeeperinstallations")
KAFKAS = Resource("kafka.strimzi.io", "v1", "kafkas")
KAFKA_NODE_POOLS = Resource("kafka.strimzi.io", "v1", "kafkanodepools")
KAFKA_TOPICS = Resource("kafka.strimzi.io", "v1", "kafkatopics")
STRIMZI_POD_SETS = Resource("core.strimzi.io", "v1", "strimzipodsets")
DEPLOYMENTS = Resource("apps", "v1", "deployments")


def _served(client: KubeClient, resource: Resource) -> bool:
    try:
        client.request("GET", resource.path(), query={"limit": "1"})
        return True
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise


def _owner(obj: dict[str, Any], controller: bool = True) -> dict[str, Any]:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def _apply(client: KubeClient, resource: Resource, obj: dict[str, Any], namespace: str | None) -> bool:
    """Server-side apply; True when the object did not exist before."""
    existed = client.get(resource, obj["metadata"]["name"], namespace) is not None
    client.apply(resource, obj, MANAGER, namespace)
    return not existed


def _ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or [])


# --- Altinity clickhouse-operator 0.25.6 ------------------------------------------------------------------------


CH_LABELS = {
    # pkg/model/common/tags/labeler/const.go @153d96d (CHI) and pkg/model/chk/tags/labeler/list.go @1e724ab (CHK):
    # <group>/namespace, /app = chop, /chi (CHK: /chk), /cluster, /shard, /replica; ready label <group>/ready = yes.
    "chi": {"group": "clickhouse.altinity.com", "cr": "chi", "prefix": "chi", "service": "clickhouse-"},
    "chk": {"group": "clickhouse-keeper.altinity.com", "cr": "chk", "prefix": "chk", "service": "keeper-"},
}


def clickhouse_host_labels(kind: str, cr: dict[str, Any], cluster: str, shard: int, replica: int) -> dict[str, str]:
    """Host-scope selector labels (labeler/selector_internal.go @153d96d, getSelectorHostScope)."""
    group, cr_label = CH_LABELS[kind]["group"], CH_LABELS[kind]["cr"]
    return {f"{group}/namespace": cr["metadata"]["namespace"], f"{group}/app": "chop", f"{group}/{cr_label}": cr["metadata"]["name"],
            f"{group}/cluster": cluster, f"{group}/shard": str(shard), f"{group}/replica": str(replica)}


def _template(cr: dict[str, Any], section: str, name: str | None) -> dict[str, Any] | None:
    for item in ((cr.get("spec") or {}).get("templates") or {}).get(section) or []:
        if item.get("name") == name:
            return item
    return None


def clickhouse_objects(kind: str, cr: dict[str, Any]) -> list[tuple[Resource, dict[str, Any]]]:
    """What the operator makes for one ClickHouseInstallation/ClickHouseKeeperInstallation: per host a
    StatefulSet of one replica and its Service (chi/namer/patterns.go @21f40cf: ``chi-{chi}-{cluster}-{host}``
    with host ``{shard}-{replica}``; CHK: chk/namer/patterns.go @1e724ab, ``chk-…``), the CR's Service
    (``clickhouse-{chi}``; CHK ``keeper-{chk}``) and per cluster a PodDisruptionBudget (``chi-{chi}-{cluster}``,
    maxUnavailable = ``pdbMaxUnavailable``, default 1)."""
    meta, spec = cr["metadata"], cr.get("spec") or {}
    namespace, name = meta["namespace"], meta["name"]
    info = CH_LABELS[kind]
    group, prefix = info["group"], info["prefix"]
    defaults = (spec.get("defaults") or {}).get("templates") or {}
    cr_labels = {k: v for k, v in (meta.get("labels") or {}).items()}
    objects: list[tuple[Resource, dict[str, Any]]] = []
    owner = _owner(cr)
    for cluster in ((spec.get("configuration") or {}).get("clusters") or []):
        cluster_name = cluster.get("name", "cluster")
        layout = cluster.get("layout") or {}
        shards = int(layout.get("shardsCount", 1)) if kind == "chi" else 1
        replicas = int(layout.get("replicasCount", 1))
        templates = {**defaults, **(cluster.get("templates") or {})}
        pod_template = _template(cr, "podTemplates", templates.get("podTemplate")) or {"spec": {"containers": []}}
        volume_templates = [t for t in [_template(cr, "volumeClaimTemplates", templates.get("dataVolumeClaimTemplate")),
                                        _template(cr, "volumeClaimTemplates", templates.get("logVolumeClaimTemplate"))] if t]
        for shard in range(shards):
            for replica in range(replicas):
                host = f"{prefix}-{name}-{cluster_name}-{shard}-{replica}"
                selector = clickhouse_host_labels(kind, cr, cluster_name, shard, replica)
                labels = {**selector, **cr_labels}
                pod_labels = {**labels, **((pod_template.get("metadata") or {}).get("labels") or {})}
                pod_spec = copy.deepcopy(pod_template.get("spec") or {})
                claims = [{"metadata": {"name": t["name"], "labels": labels}, "spec": copy.deepcopy(t["spec"])} for t in volume_templates]
                for container in pod_spec.get("containers") or []:
                    mounts = container.setdefault("volumeMounts", [])
                    if container is (pod_spec.get("containers") or [None])[0]:
                        for claim in claims:
                            mounts.append({"name": claim["metadata"]["name"],
                                           "mountPath": "/var/lib/clickhouse" if kind == "chi" else "/var/lib/clickhouse-keeper"})
                statefulset = {"apiVersion": "apps/v1", "kind": "StatefulSet",
                               "metadata": {"name": host, "namespace": namespace, "labels": labels, "ownerReferences": [owner]},
                               "spec": {"replicas": 1, "serviceName": host, "selector": {"matchLabels": selector},
                                        "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate"},
                                        "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
                                        "volumeClaimTemplates": claims}}
                objects.append((STATEFULSETS, statefulset))
                ports = ([{"name": "tcp", "port": 9000}, {"name": "http", "port": 8123}, {"name": "interserver", "port": 9009}]
                         if kind == "chi" else [{"name": "zk", "port": 2181}, {"name": "raft", "port": 9444}])
                objects.append((SERVICES, {"apiVersion": "v1", "kind": "Service",
                                           "metadata": {"name": host, "namespace": namespace, "labels": labels, "ownerReferences": [owner]},
                                           "spec": {"clusterIP": "None", "selector": selector, "ports": ports,
                                                    "publishNotReadyAddresses": True}}))
        cluster_selector = {k: v for k, v in clickhouse_host_labels(kind, cr, cluster_name, 0, 0).items()
                            if not k.endswith(("/shard", "/replica"))}
        objects.append((PDBS, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                               "metadata": {"name": f"{prefix}-{name}-{cluster_name}", "namespace": namespace,
                                            "labels": {**cluster_selector, **cr_labels}, "ownerReferences": [owner]},
                               "spec": {"maxUnavailable": int(cluster.get("pdbMaxUnavailable", 1)),
                                        "selector": {"matchLabels": cluster_selector}}}))
    cr_selector = {f"{group}/namespace": namespace, f"{group}/app": "chop", f"{group}/{info['cr']}": name}
    ports = [{"name": "http", "port": 8123}, {"name": "tcp", "port": 9000}] if kind == "chi" else [{"name": "zk", "port": 2181}]
    objects.append((SERVICES, {"apiVersion": "v1", "kind": "Service",
                               "metadata": {"name": f"{info['service']}{name}", "namespace": namespace,
                                            "labels": {**cr_selector, **cr_labels}, "ownerReferences": [owner]},
                               "spec": {"selector": {**cr_selector, f"{group}/ready": "yes"}, "ports": ports}}))
    return objects


def clickhouse_pass(client: KubeClient) -> list[str]:
    """Reconcile every CHI and CHK: objects, the ready label on Ready pods, the CR's status."""
    done: list[str] = []
    for kind, resource in (("chk", CHK), ("chi", CHI)):
        if not _served(client, resource):
            continue
        group = CH_LABELS[kind]["group"]
        for cr in client.list(resource):
            namespace = cr["metadata"]["namespace"]
            statefulsets = 0
            for target, obj in clickhouse_objects(kind, cr):
                if _apply(client, target, obj, namespace):
                    done.append(f"created {obj['kind']} {namespace}/{obj['metadata']['name']}")
                statefulsets += target is STATEFULSETS
            selector = f"{group}/{CH_LABELS[kind]['cr']}={cr['metadata']['name']}"
            pods = client.list(PODS, namespace, label_selector=selector)
            ready = 0
            for pod in pods:
                labels = pod["metadata"].get("labels") or {}
                if _ready(pod) and pod["metadata"].get("deletionTimestamp") is None:
                    ready += 1
                    if labels.get(f"{group}/ready") != "yes":
                        client.patch(PODS, pod["metadata"]["name"], {"metadata": {"labels": {f"{group}/ready": "yes"}}}, namespace)
                elif labels.get(f"{group}/ready") == "yes":
                    client.patch(PODS, pod["metadata"]["name"], {"metadata": {"labels": {f"{group}/ready": "no"}}}, namespace)
            state = "Completed" if statefulsets and ready >= statefulsets else "InProgress"
            if (cr.get("status") or {}).get("status") != state:
                client.patch(resource, cr["metadata"]["name"], {"status": {"status": state, "hostsCount": statefulsets,
                                                                           "hostsCompletedCount": ready}}, namespace, sub="status")
                done.append(f"{cr['kind']} {namespace}/{cr['metadata']['name']}: {state} ({ready}/{statefulsets} hosts ready)")
    return done


# --- Strimzi 1.2.0 ----------------------------------------------------------------------------------------------


def strimzi_pool_labels(kafka: dict[str, Any], pool: dict[str, Any]) -> dict[str, str]:
    """Labels of a node pool's pods (cluster-operator/.../model/KafkaPool.java @0f21fb6, constructor): the pool's
    own labels except ``app.kubernetes.io/*`` (the operator's default STRIMZI_LABELS_EXCLUSION_PATTERN), then
    strimzi.io/kind, /name (``<cluster>-kafka``), /cluster, /component-type (kafka), /pool-name and the
    app.kubernetes.io name (kafka), instance, part-of (``strimzi-<cluster>``) and managed-by."""
    cluster = kafka["metadata"]["name"]
    labels = {k: v for k, v in (pool["metadata"].get("labels") or {}).items() if not k.startswith("app.kubernetes.io/")}
    labels.update({"strimzi.io/kind": "Kafka", "strimzi.io/name": f"{cluster}-kafka", "strimzi.io/cluster": cluster,
                   "strimzi.io/component-type": "kafka", "strimzi.io/pool-name": pool["metadata"]["name"],
                   "app.kubernetes.io/name": "kafka", "app.kubernetes.io/instance": cluster,
                   "app.kubernetes.io/part-of": f"strimzi-{cluster}", "app.kubernetes.io/managed-by": "strimzi-cluster-operator"})
    return labels


def _node_ids(pools: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Node IDs per pool: the ones already recorded in the pool's status, else the next free IDs from 0 in
    pool-name order (NodeIdAssignor without ID-range annotations)."""
    assigned: dict[str, list[int]] = {}
    used: set[int] = set()
    for pool in pools:
        ids = list((pool.get("status") or {}).get("nodeIds") or [])
        if len(ids) == int((pool.get("spec") or {}).get("replicas", 0)):
            assigned[pool["metadata"]["name"]] = ids
            used.update(ids)
    next_id = 0
    for pool in sorted(pools, key=lambda p: p["metadata"]["name"]):
        name = pool["metadata"]["name"]
        if name in assigned:
            continue
        ids = []
        while len(ids) < int((pool.get("spec") or {}).get("replicas", 0)):
            if next_id not in used:
                ids.append(next_id)
                used.add(next_id)
            next_id += 1
        assigned[name] = ids
    return assigned


def _rack_affinity(kafka: dict[str, Any], affinity: dict[str, Any]) -> dict[str, Any]:
    """With ``rack.topologyKey`` Strimzi requires the key on the node and prefers spreading the cluster's pods
    over it (ModelUtils.populateAffinityBuilderWithRackLabelSelector)."""
    rack = ((kafka.get("spec") or {}).get("kafka") or {}).get("rack") or {}
    key = rack.get("topologyKey")
    if not key:
        return affinity
    affinity = copy.deepcopy(affinity)
    required = affinity.setdefault("nodeAffinity", {}).setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.setdefault("nodeSelectorTerms", [{}])
    for term in terms:
        term.setdefault("matchExpressions", []).append({"key": key, "operator": "Exists"})
    cluster = kafka["metadata"]["name"]
    preferred = affinity.setdefault("podAntiAffinity", {}).setdefault("preferredDuringSchedulingIgnoredDuringExecution", [])
    preferred.append({"weight": 100, "podAffinityTerm": {"topologyKey": key, "labelSelector": {"matchLabels": {
        "strimzi.io/cluster": cluster, "strimzi.io/name": f"{cluster}-kafka"}}}})
    return affinity


def strimzi_pods(kafka: dict[str, Any], pool: dict[str, Any], node_ids: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pods (``<cluster>-<pool>-<id>``) and PVCs (``data-<volume id>-<pod>``) of one node pool."""
    cluster = kafka["metadata"]["name"]
    namespace = kafka["metadata"]["namespace"]
    spec = pool.get("spec") or {}
    roles = set(spec.get("roles") or [])
    template = ((spec.get("template") or {}).get("pod")) or ((((kafka.get("spec") or {}).get("kafka") or {}).get("template") or {}).get("pod")) or {}
    labels = strimzi_pool_labels(kafka, pool)
    labels.update({"strimzi.io/broker-role": str("broker" in roles).lower(), "strimzi.io/controller-role": str("controller" in roles).lower()})
    resources = spec.get("resources") or ((kafka.get("spec") or {}).get("kafka") or {}).get("resources") or {}
    storage = spec.get("storage") or {}
    volumes = storage.get("volumes") if storage.get("type") == "jbod" else [dict(storage, id=None)]
    pods, claims = [], []
    for node_id in node_ids:
        pod_name = f"{cluster}-{pool['metadata']['name']}-{node_id}"
        pod_labels = {**labels, **((template.get("metadata") or {}).get("labels") or {}),
                      "strimzi.io/pod-name": pod_name, "statefulset.kubernetes.io/pod-name": pod_name}
        pod_volumes, mounts = [], []
        for volume in volumes or []:
            if volume.get("type") != "persistent-claim":
                continue
            claim_name = f"data-{volume['id']}-{pod_name}" if volume.get("id") is not None else f"data-{pod_name}"
            claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": {"name": claim_name, "namespace": namespace, "labels": labels},
                           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": volume["size"]}},
                                    **({"storageClassName": volume["class"]} if volume.get("class") else {})}})
            volume_name = f"data-{volume['id']}" if volume.get("id") is not None else "data"
            pod_volumes.append({"name": volume_name, "persistentVolumeClaim": {"claimName": claim_name}})
            mounts.append({"name": volume_name, "mountPath": f"/var/lib/kafka/{volume_name}"})
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": pod_name, "namespace": namespace, "labels": pod_labels},
               "spec": {"hostname": pod_name, "subdomain": f"{cluster}-kafka-brokers",
                        "affinity": _rack_affinity(kafka, template.get("affinity") or {}),
                        "tolerations": template.get("tolerations") or [],
                        "topologySpreadConstraints": template.get("topologySpreadConstraints") or [],
                        "containers": [{"name": "kafka", "image": f"quay.io/strimzi/kafka:1.2.0-kafka-{((kafka.get('spec') or {}).get('kafka') or {}).get('version', '')}",
                                        "resources": resources, "volumeMounts": mounts,
                                        "ports": [{"containerPort": 9090, "name": "tcp-ctrlplane"}, {"containerPort": 9091, "name": "tcp-replication"},
                                                  {"containerPort": 9092, "name": "tcp-clients"}, {"containerPort": 9093, "name": "tcp-clientstls"}]}],
                        "volumes": pod_volumes, "terminationGracePeriodSeconds": 30}}
        for key in ("nodeSelector", "priorityClassName", "securityContext"):
            if template.get(key):
                pod["spec"][key] = template[key]
        pods.append(pod)
    return pods, claims


def strimzi_pass(client: KubeClient) -> list[str]:
    """Reconcile every Kafka with node pools: StrimziPodSets, pods (recreated when deleted, as the PodSet
    controller does), PVCs, Services, the PodDisruptionBudget, the entity operator, statuses."""
    done: list[str] = []
    if not _served(client, KAFKAS) or not _served(client, KAFKA_NODE_POOLS):
        return done
    podsets = _served(client, STRIMZI_POD_SETS)
    pools_all = client.list(KAFKA_NODE_POOLS)
    for kafka in client.list(KAFKAS):
        namespace, cluster = kafka["metadata"]["namespace"], kafka["metadata"]["name"]
        pools = [p for p in pools_all if p["metadata"]["namespace"] == namespace
                 and (p["metadata"].get("labels") or {}).get("strimzi.io/cluster") == cluster]
        ids = _node_ids(pools)
        total, ready = 0, 0
        for pool in pools:
            pods, claims = strimzi_pods(kafka, pool, ids[pool["metadata"]["name"]])
            owner = _owner(kafka)  # Strimzi's resources, node pools' PodSets included, are owned by the Kafka resource
            if podsets:
                podset = {"apiVersion": "core.strimzi.io/v1", "kind": "StrimziPodSet",
                          "metadata": {"name": f"{cluster}-{pool['metadata']['name']}", "namespace": namespace,
                                       "labels": strimzi_pool_labels(kafka, pool), "ownerReferences": [owner]},
                          "spec": {"selector": {"matchLabels": {"strimzi.io/cluster": cluster, "strimzi.io/name": f"{cluster}-kafka",
                                                                "strimzi.io/kind": "Kafka", "strimzi.io/pool-name": pool["metadata"]["name"]}},
                                   "pods": pods}}
                if _apply(client, STRIMZI_POD_SETS, podset, namespace):
                    done.append(f"created StrimziPodSet {namespace}/{podset['metadata']['name']}")
                podset = client.get(STRIMZI_POD_SETS, podset["metadata"]["name"], namespace)
                pod_owner = _owner(podset) if podset else owner
            else:
                pod_owner = owner
            for claim in claims:
                if client.get(Resource("", "v1", "persistentvolumeclaims"), claim["metadata"]["name"], namespace) is None:
                    client.create(Resource("", "v1", "persistentvolumeclaims"), claim, namespace)
                    done.append(f"created PersistentVolumeClaim {namespace}/{claim['metadata']['name']}")
            for pod in pods:
                total += 1
                live = client.get(PODS, pod["metadata"]["name"], namespace)
                if live is None:
                    pod["metadata"]["ownerReferences"] = [pod_owner]
                    client.create(PODS, pod, namespace)
                    done.append(f"created Pod {namespace}/{pod['metadata']['name']}")
                elif _ready(live) and live["metadata"].get("deletionTimestamp") is None:
                    ready += 1
            status = {"nodeIds": ids[pool["metadata"]["name"]], "replicas": len(ids[pool["metadata"]["name"]]),
                      "roles": sorted((pool.get("spec") or {}).get("roles") or []),
                      "labelSelector": ",".join(f"{k}={v}" for k, v in sorted({"strimzi.io/cluster": cluster, "strimzi.io/name": f"{cluster}-kafka",
                                                                                 "strimzi.io/kind": "Kafka", "strimzi.io/pool-name": pool["metadata"]["name"]}.items()))}
            if (pool.get("status") or {}).get("nodeIds") != status["nodeIds"]:
                client.patch(KAFKA_NODE_POOLS, pool["metadata"]["name"], {"status": status}, namespace, sub="status")
        selector = {"strimzi.io/cluster": cluster, "strimzi.io/name": f"{cluster}-kafka", "strimzi.io/kind": "Kafka"}
        common = {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka", "app.kubernetes.io/instance": cluster,
                  "app.kubernetes.io/managed-by": "strimzi-cluster-operator", "app.kubernetes.io/part-of": f"strimzi-{cluster}"}
        owner = _owner(kafka)
        extra: list[tuple[Resource, dict[str, Any]]] = [
            (SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{cluster}-kafka-bootstrap", "namespace": namespace,
                                                                            "labels": {**common, "strimzi.io/name": f"{cluster}-kafka"}, "ownerReferences": [owner]},
                        "spec": {"selector": {**selector, "strimzi.io/broker-role": "true"},
                                 "ports": [{"name": "tcp-clients", "port": 9092}, {"name": "tcp-clientstls", "port": 9093},
                                           {"name": "tcp-replication", "port": 9091}]}}),
            (SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"{cluster}-kafka-brokers", "namespace": namespace,
                                                                            "labels": {**common, "strimzi.io/name": f"{cluster}-kafka"}, "ownerReferences": [owner]},
                        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": selector,
                                 "ports": [{"name": "tcp-ctrlplane", "port": 9090}, {"name": "tcp-replication", "port": 9091},
                                           {"name": "tcp-clients", "port": 9092}, {"name": "tcp-clientstls", "port": 9093}]}}),
            # PodDisruptionBudgetUtils: pods of a StrimziPodSet have no scale subresource, so the budget is minAvailable
            # = replicas - maxUnavailable (template default 1) over all the cluster's Kafka pods.
            (PDBS, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": {"name": f"{cluster}-kafka", "namespace": namespace, "labels": {**common, "strimzi.io/name": f"{cluster}-kafka"},
                                 "ownerReferences": [owner]},
                    "spec": {"minAvailable": max(0, total - 1), "selector": {"matchLabels": selector}}}),
        ]
        entity = (kafka.get("spec") or {}).get("entityOperator")
        if entity is not None:
            template = ((entity.get("template") or {}).get("pod")) or {}
            eo_labels = {**common, "strimzi.io/name": f"{cluster}-entity-operator", "strimzi.io/component-type": "entity-operator",
                         "app.kubernetes.io/name": "entity-operator"}
            containers = []
            for operator_key, container in (("topicOperator", "topic-operator"), ("userOperator", "user-operator")):
                if operator_key in entity:
                    containers.append({"name": container, "image": "quay.io/strimzi/operator:1.2.0",
                                       "resources": (entity.get(operator_key) or {}).get("resources") or {}})
            extra.append((DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "metadata": {"name": f"{cluster}-entity-operator", "namespace": namespace, "labels": eo_labels,
                                                     "ownerReferences": [owner]},
                                        "spec": {"replicas": 1, "selector": {"matchLabels": {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka",
                                                                                            "strimzi.io/name": f"{cluster}-entity-operator"}},
                                                 "template": {"metadata": {"labels": {**eo_labels, **((template.get("metadata") or {}).get("labels") or {})}},
                                                              "spec": {"containers": containers or [{"name": "topic-operator", "image": "quay.io/strimzi/operator:1.2.0"}],
                                                                       "affinity": template.get("affinity") or {},
                                                                       "tolerations": template.get("tolerations") or []}}}}))
        for target, obj in extra:
            if _apply(client, target, obj, namespace):
                done.append(f"created {obj['kind']} {namespace}/{obj['metadata']['name']}")
        state = "True" if total and ready >= total else "False"
        conditions = (kafka.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == state for c in conditions):
            condition = ({"type": "Ready", "status": "True"} if state == "True"
                         else {"type": "NotReady", "status": "True", "reason": "Creating", "message": f"{ready}/{total} Kafka pods ready"})
            client.patch(KAFKAS, cluster, {"status": {"conditions": [condition], "kafkaVersion": ((kafka.get("spec") or {}).get("kafka") or {}).get("version")}},
                         namespace, sub="status")
            done.append(f"Kafka {namespace}/{cluster}: {condition['type']} ({ready}/{total} pods ready)")
        if state == "True" and _served(client, KAFKA_TOPICS):
            for topic in client.list(KAFKA_TOPICS, namespace, label_selector=f"strimzi.io/cluster={cluster}"):
                if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in (topic.get("status") or {}).get("conditions") or []):
                    client.patch(KAFKA_TOPICS, topic["metadata"]["name"], {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                                 namespace, sub="status")
                    done.append(f"KafkaTopic {namespace}/{topic['metadata']['name']}: Ready (the topic operator's part)")
    return done


KAFKA_USERS = Resource("kafka.strimzi.io", "v1", "kafkausers")


def strimzi_user_pass(client: KubeClient) -> list[str]:
    """The User Operator's part for SCRAM-SHA-512 users of a Ready Kafka: the user's Secret, named after the
    KafkaUser, holding ``password`` (from ``spec.authentication.password.valueFrom.secretKeyRef`` when given, else
    generated) and ``sasl.jaas.config``, labelled and owned as Strimzi does, and the status (``username``,
    ``secret``, Ready). A password Secret that does not exist leaves the user NotReady, as the operator does.
    From strimzi-kafka-operator 1.2.0 ``user-operator/src/main/java/io/strimzi/operator/user/model/KafkaUserModel.java``
    (``generateSecret``, ``getScramUserName``). ACLs and quotas live in the brokers, which are kwok's fakes: not
    applied, and not claimed."""
    done: list[str] = []
    if not _served(client, KAFKA_USERS) or not _served(client, KAFKAS):
        return done
    ready_clusters = {(k["metadata"]["namespace"], k["metadata"]["name"]) for k in client.list(KAFKAS) if _ready(k)}
    for user in client.list(KAFKA_USERS):
        meta, spec = user["metadata"], user.get("spec") or {}
        namespace, name = meta["namespace"], meta["name"]
        cluster = (meta.get("labels") or {}).get("strimzi.io/cluster", "")
        conditions = (user.get("status") or {}).get("conditions") or []
        if (namespace, cluster) not in ready_clusters or _ready(user):
            continue
        authentication = spec.get("authentication") or {}
        if authentication.get("type") not in (None, "scram-sha-512"):
            continue
        condition: dict[str, Any] = {"type": "Ready", "status": "True"}
        if authentication.get("type") == "scram-sha-512":
            ref = ((authentication.get("password") or {}).get("valueFrom") or {}).get("secretKeyRef")
            password = secrets.token_urlsafe(24)
            if ref:
                source = client.get(SECRETS, ref.get("name", ""), namespace)
                value = ((source or {}).get("data") or {}).get(ref.get("key", ""))
                if value is None:
                    condition = {"type": "NotReady", "status": "True", "reason": "InvalidResourceException",
                                 "message": f"Secret {ref.get('name')} with requested user password does not exist or has no key {ref.get('key')}"}
                else:
                    password = base64.b64decode(value).decode()
            if condition["type"] == "Ready" and client.get(SECRETS, name, namespace) is None:
                jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{name}" password="{password}";'
                client.create(SECRETS, {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                        "metadata": {"name": name, "namespace": namespace, "ownerReferences": [_owner(user)],
                                                     "labels": {"app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "strimzi-user-operator",
                                                                "app.kubernetes.io/name": "strimzi-user-operator", "app.kubernetes.io/part-of": f"strimzi-{name}",
                                                                "strimzi.io/cluster": cluster, "strimzi.io/kind": "KafkaUser"}},
                                        "data": {"password": base64.b64encode(password.encode()).decode(),
                                                 "sasl.jaas.config": base64.b64encode(jaas.encode()).decode()}}, namespace)
                done.append(f"created Secret {namespace}/{name} for KafkaUser {name}")
        status: dict[str, Any] = {"conditions": [condition], "observedGeneration": meta.get("generation")}
        if condition["type"] == "Ready":
            status.update({"username": name, "secret": name} if authentication else {"username": name})
        if [c.get("type") for c in conditions] != [condition["type"]]:
            client.patch(KAFKA_USERS, name, {"status": status}, namespace, sub="status")
            done.append(f"KafkaUser {namespace}/{name}: {condition['type']}")
    return done


STANDIN_PASSES: list[tuple[str, Callable[[KubeClient], list[str]]]] = [
    ("clickhouse-operator", clickhouse_pass),
    ("strimzi", strimzi_pass),
    ("strimzi-user-operator", strimzi_user_pass),
]
"""(name, one reconcile pass) of every stand-in operator."""
