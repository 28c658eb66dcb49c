"""Every pod the rendered tree would run, read from the objects themselves, one adapter per kind.

A ``Workload`` is a group of identical pods: their requests, replicas at minimum and maximum scale,
the persistent volume each pod claims, and the scheduling rules the packer must honour (node pool,
one pod per node, one per node of the pool for DaemonSets). Replica ranges come from the
HorizontalPodAutoscaler or KEDA ScaledObject that targets a workload; data stores run by operators
are read from their custom resources (CloudNativePG, Altinity ClickHouse and Keeper, Strimzi,
OT redis-operator, prometheus-operator, Envoy Gateway), with field paths as in ../shared/schemas/crds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from plinth.plan.quantities import QuantityError, gibibytes, mebibytes, millicores
from plinth.render.scheduling import POOL_LABEL

Obj = dict[str, Any]

HOSTNAME_KEY = "kubernetes.io/hostname"


@dataclass(frozen=True)
class Workload:
    """A group of identical pods the platform runs."""

    name: str
    """``Kind/namespace/name`` of what runs the pods (object or chart footprint)."""
    namespace: str
    """Namespace of the pods."""
    cpu_millicores: int
    """CPU request per pod, millicores."""
    memory_mib: int
    """Memory request per pod, MiB."""
    replicas_min: int
    """Pods at the autoscaler's minimum (or the fixed count)."""
    replicas_max: int
    """Pods at the autoscaler's maximum (or the fixed count)."""
    volume_gib: int = 0
    """Persistent volume claimed per pod, GiB."""
    per_node: bool = False
    """A DaemonSet: one pod on each node of every pool it may run on (replicas ignored)."""
    one_per_node: bool = False
    """Required pod anti-affinity on the hostname: two pods of this workload never share a node."""
    node_selector_pool: str | None = None
    """Pool named by a ``plinth.dev/pool`` node selector; None = decided by the namespace."""
    tolerations: tuple[tuple[str, str, str], ...] = ()
    """(key, operator, effect) of the pod's tolerations; an empty key with Exists tolerates everything."""
    source: str = "rendered"
    """Where the planner found it: rendered object, chart footprint, or the spec (not rendered yet)."""


class WorkloadError(ValueError):
    """A rendered object whose pods the planner cannot read (bad quantity, bad shape)."""


# --------------------------------------------------------------------------- pod templates


def _requests(container: Obj) -> tuple[int, int, bool, bool]:
    res = container.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    cpu = requests.get("cpu", limits.get("cpu"))
    mem = requests.get("memory", limits.get("memory"))
    return (millicores(cpu) if cpu is not None else 0, mebibytes(mem) if mem is not None else 0, cpu is not None, mem is not None)


def pod_requests(pod_spec: Obj, default_request: tuple[int, int] = (0, 0)) -> tuple[int, int]:
    """Effective CPU (m) and memory (MiB) request of a pod, as the scheduler computes it.

    Sum of the app containers plus restartable init containers (sidecars), or the largest ordinary
    init container if that is more; a container without a request gets the namespace's LimitRange default
    (a request falls back to the limit first, as the API server defaults it).
    """
    def one(container: Obj) -> tuple[int, int]:
        cpu, mem, has_cpu, has_mem = _requests(container)
        return (cpu if has_cpu else default_request[0], mem if has_mem else default_request[1])

    cpu = mem = 0
    for container in pod_spec.get("containers") or []:
        c, m = one(container)
        cpu, mem = cpu + c, mem + m
    init_cpu = init_mem = 0
    for container in pod_spec.get("initContainers") or []:
        c, m = one(container)
        if container.get("restartPolicy") == "Always":
            cpu, mem = cpu + c, mem + m
        else:
            init_cpu, init_mem = max(init_cpu, c), max(init_mem, m)
    overhead = pod_spec.get("overhead") or {}
    cpu += millicores(overhead["cpu"]) if "cpu" in overhead else 0
    mem += mebibytes(overhead["memory"]) if "memory" in overhead else 0
    return max(cpu, init_cpu), max(mem, init_mem)


def _tolerations(items: Iterable[Obj] | None) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted((t.get("key", ""), t.get("operator", "Equal"), t.get("effect", "")) for t in items or []))


def _hard_host_anti_affinity(affinity: Obj | None, own_labels: dict[str, str]) -> bool:
    terms = ((affinity or {}).get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or []
    for term in terms:
        if term.get("topologyKey") != HOSTNAME_KEY:
            continue
        wanted = (term.get("labelSelector") or {}).get("matchLabels") or {}
        if wanted and all(own_labels.get(k) == v for k, v in wanted.items()):
            return True
    return False


def _pool_selector(node_selector: Obj | None) -> str | None:
    return (node_selector or {}).get(POOL_LABEL)


def _claim_gib(claim_templates: Iterable[Obj] | None) -> int:
    total = 0
    for claim in claim_templates or []:
        spec = claim.get("spec") or {}
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        if size is not None:
            total += gibibytes(size)
    return total


# --------------------------------------------------------------------------- core kinds


def _meta(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("kind", "?"), meta.get("namespace", "default"), meta.get("name", "?")


def _from_template(obj: Obj, template: Obj, replicas: int, defaults: Callable[[str], tuple[int, int]], **extra: Any) -> Workload:
    kind, ns, name = _meta(obj)
    pod = (template or {}).get("spec") or {}
    pod_labels = ((template or {}).get("metadata") or {}).get("labels") or {}
    cpu, mem = pod_requests(pod, defaults(ns))
    return Workload(
        name=f"{kind}/{ns}/{name}", namespace=ns, cpu_millicores=cpu, memory_mib=mem,
        replicas_min=replicas, replicas_max=replicas,
        one_per_node=_hard_host_anti_affinity(pod.get("affinity"), pod_labels),
        node_selector_pool=_pool_selector(pod.get("nodeSelector")),
        tolerations=_tolerations(pod.get("tolerations")), **extra,
    )


def _deployment(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    spec = obj.get("spec") or {}
    return [_from_template(obj, spec.get("template") or {}, int(spec.get("replicas", 1)), defaults)]


def _statefulset(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    spec = obj.get("spec") or {}
    return [_from_template(obj, spec.get("template") or {}, int(spec.get("replicas", 1)), defaults,
                           volume_gib=_claim_gib(spec.get("volumeClaimTemplates")))]


def _daemonset(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    spec = obj.get("spec") or {}
    return [_from_template(obj, spec.get("template") or {}, 0, defaults, per_node=True)]


# --------------------------------------------------------------------------- operators' custom resources


def _cnpg_cluster(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """CloudNativePG Cluster: ``instances`` pods with ``resources``, data + WAL volume each."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    cpu, mem = pod_requests({"containers": [{"resources": spec.get("resources") or {}}]}, defaults(ns))
    affinity = spec.get("affinity") or {}
    hard = affinity.get("enablePodAntiAffinity", True) and affinity.get("podAntiAffinityType", "preferred") == "required" \
        and affinity.get("topologyKey", HOSTNAME_KEY) == HOSTNAME_KEY
    volume = sum(gibibytes(v["size"]) for v in (spec.get("storage"), spec.get("walStorage")) if v and "size" in v)
    instances = int(spec.get("instances", 1))
    return [Workload(f"{kind}/{ns}/{name}", ns, cpu, mem, instances, instances, volume_gib=volume, one_per_node=bool(hard),
                     node_selector_pool=_pool_selector(affinity.get("nodeSelector")), tolerations=_tolerations(affinity.get("tolerations")))]


def _cnpg_pooler(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """CloudNativePG Pooler: ``instances`` PgBouncer pods from ``template``."""
    spec = obj.get("spec") or {}
    template = spec.get("template") or {"spec": {"containers": [{}]}}
    if not (template.get("spec") or {}).get("containers"):
        template = {**template, "spec": {**(template.get("spec") or {}), "containers": [{}]}}
    return [_from_template(obj, template, int(spec.get("instances", 1)), defaults)]


def _altinity_pod_template(spec: Obj, cluster: Obj) -> Obj:
    wanted = ((cluster.get("templates") or {}).get("podTemplate")
              or ((spec.get("defaults") or {}).get("templates") or {}).get("podTemplate"))
    templates = (spec.get("templates") or {}).get("podTemplates") or []
    for template in templates:
        if template.get("name") == wanted:
            return template
    return templates[0] if len(templates) == 1 else {}


def _altinity_volume_gib(spec: Obj, cluster: Obj) -> int:
    chosen = {**((spec.get("defaults") or {}).get("templates") or {}), **(cluster.get("templates") or {})}
    names = {chosen[k] for k in ("dataVolumeClaimTemplate", "logVolumeClaimTemplate", "volumeClaimTemplate") if chosen.get(k)}
    claims = (spec.get("templates") or {}).get("volumeClaimTemplates") or []
    if names:
        claims = [c for c in claims if c.get("name") in names]
    return _claim_gib(claims)


def _altinity(obj: Obj, defaults: Callable[[str], tuple[int, int]], sharded: bool) -> list[Workload]:
    """Altinity ClickHouseInstallation (shards x replicas) or ClickHouseKeeperInstallation (replicas) pods."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    result = []
    for cluster in (spec.get("configuration") or {}).get("clusters") or [{}]:
        layout = cluster.get("layout") or {}
        replicas = int(layout.get("replicasCount", len(layout.get("replicas") or []) or 1))
        shards = int(layout.get("shardsCount", len(layout.get("shards") or []) or 1)) if sharded else 1
        template = _altinity_pod_template(spec, cluster)
        pod = template.get("spec") or {}
        cpu, mem = pod_requests(pod if pod.get("containers") else {"containers": [{}]}, defaults(ns))
        distribution = {d.get("type") for d in template.get("podDistribution") or []}
        hard = bool(distribution & {"ClickHouseAntiAffinity", "ReplicaAntiAffinity", "ShardAntiAffinity", "MaxNumberPerNode"}) \
            or _hard_host_anti_affinity(pod.get("affinity"), ((template.get("metadata") or {}).get("labels") or {}))
        count = shards * replicas
        result.append(Workload(
            f"{kind}/{ns}/{name}/{cluster.get('name', 'default')}", ns, cpu, mem, count, count,
            volume_gib=_altinity_volume_gib(spec, cluster), one_per_node=hard,
            node_selector_pool=_pool_selector(pod.get("nodeSelector")), tolerations=_tolerations(pod.get("tolerations")),
        ))
    return result


def _strimzi_storage_gib(storage: Obj | None) -> int:
    if not storage:
        return 0
    if storage.get("type") == "jbod":
        return sum(_strimzi_storage_gib(v) for v in storage.get("volumes") or [])
    if storage.get("type") == "persistent-claim" and "size" in storage:
        return gibibytes(storage["size"])
    return 0


def _strimzi_pod_template(template: Obj | None) -> Obj:
    return ((template or {}).get("pod") or {})


def _kafka_node_pool(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """Strimzi KafkaNodePool: ``replicas`` broker/controller pods with ``resources`` and ``storage``."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    cpu, mem = pod_requests({"containers": [{"resources": spec.get("resources") or {}}]}, defaults(ns))
    pod = _strimzi_pod_template(spec.get("template"))
    affinity = pod.get("affinity") or {}
    replicas = int(spec.get("replicas", 1))
    node_selector = ((affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    pool = None
    for term in node_selector.get("nodeSelectorTerms") or []:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == POOL_LABEL and expr.get("operator") == "In" and len(expr.get("values") or []) == 1:
                pool = expr["values"][0]
    labels = ((pod.get("metadata") or {}).get("labels") or {})
    return [Workload(f"{kind}/{ns}/{name}", ns, cpu, mem, replicas, replicas, volume_gib=_strimzi_storage_gib(spec.get("storage")),
                     one_per_node=_hard_host_anti_affinity(affinity, {**labels, "strimzi.io/pool-name": name}),
                     node_selector_pool=pool, tolerations=_tolerations(pod.get("tolerations")))]


def _kafka(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """Strimzi Kafka: the pods it runs besides the node pools (entity operator, Cruise Control, exporter)."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    result = []
    entity = spec.get("entityOperator")
    if entity is not None:
        parts = [entity[p] for p in ("topicOperator", "userOperator") if entity.get(p) is not None]
        if parts:
            cpu, mem = pod_requests({"containers": [{"resources": p.get("resources") or {}} for p in parts]}, defaults(ns))
            pod = _strimzi_pod_template(entity.get("template"))
            result.append(Workload(f"{kind}/{ns}/{name}/entity-operator", ns, cpu, mem, 1, 1,
                                   tolerations=_tolerations(pod.get("tolerations"))))
    for part in ("cruiseControl", "kafkaExporter"):
        if spec.get(part) is not None:
            cpu, mem = pod_requests({"containers": [{"resources": spec[part].get("resources") or {}}]}, defaults(ns))
            pod = _strimzi_pod_template(spec[part].get("template"))
            result.append(Workload(f"{kind}/{ns}/{name}/{part}", ns, cpu, mem, 1, 1, tolerations=_tolerations(pod.get("tolerations"))))
    return result


def _redis(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """OT redis-operator RedisReplication / RedisSentinel: ``clusterSize`` pods (+ exporter sidecar)."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    containers = [{"resources": (spec.get("kubernetesConfig") or {}).get("resources") or {}}]
    exporter = spec.get("redisExporter") or {}
    if exporter.get("enabled"):
        containers.append({"resources": exporter.get("resources") or {}})
    cpu, mem = pod_requests({"containers": containers}, defaults(ns))
    size = int(spec.get("clusterSize", 1))
    storage = ((spec.get("storage") or {}).get("volumeClaimTemplate"))
    return [Workload(f"{kind}/{ns}/{name}", ns, cpu, mem, size, size, volume_gib=_claim_gib([storage] if storage else []),
                     one_per_node=_hard_host_anti_affinity(spec.get("affinity"), {"app": name}),
                     node_selector_pool=_pool_selector(spec.get("nodeSelector")), tolerations=_tolerations(spec.get("tolerations")))]


def _prometheus_operator(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """prometheus-operator Prometheus (replicas x shards) or Alertmanager (replicas) pods and volumes."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    cpu, mem = pod_requests({"containers": [{"resources": spec.get("resources") or {}}]}, defaults(ns))
    count = int(spec.get("replicas", 1)) * (int(spec.get("shards", 1)) if kind == "Prometheus" else 1)
    claim = ((spec.get("storage") or {}).get("volumeClaimTemplate"))
    return [Workload(f"{kind}/{ns}/{name}", ns, cpu, mem, count, count, volume_gib=_claim_gib([claim] if claim else []),
                     node_selector_pool=_pool_selector(spec.get("nodeSelector")), tolerations=_tolerations(spec.get("tolerations")))]


def _envoy_proxy(obj: Obj, defaults: Callable[[str], tuple[int, int]]) -> list[Workload]:
    """Envoy Gateway EnvoyProxy: the proxy Deployment it shapes (replicas, container resources)."""
    kind, ns, name = _meta(obj)
    deployment = ((((obj.get("spec") or {}).get("provider") or {}).get("kubernetes") or {}).get("envoyDeployment"))
    if deployment is None:
        return []
    pod = deployment.get("pod") or {}
    cpu, mem = pod_requests({"containers": [deployment.get("container") or {}]}, defaults(ns))
    replicas = int(deployment.get("replicas", 1))
    return [Workload(f"{kind}/{ns}/{name}", ns, cpu, mem, replicas, replicas,
                     node_selector_pool=_pool_selector(pod.get("nodeSelector")), tolerations=_tolerations(pod.get("tolerations")))]


ADAPTERS: dict[tuple[str, str], Callable[..., list[Workload]]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("argoproj.io", "Rollout"): _deployment,
    ("postgresql.cnpg.io", "Cluster"): _cnpg_cluster,
    ("postgresql.cnpg.io", "Pooler"): _cnpg_pooler,
    ("clickhouse.altinity.com", "ClickHouseInstallation"): lambda o, d: _altinity(o, d, sharded=True),
    ("clickhouse-keeper.altinity.com", "ClickHouseKeeperInstallation"): lambda o, d: _altinity(o, d, sharded=False),
    ("kafka.strimzi.io", "KafkaNodePool"): _kafka_node_pool,
    ("kafka.strimzi.io", "Kafka"): _kafka,
    ("redis.redis.opstreelabs.in", "RedisReplication"): _redis,
    ("redis.redis.opstreelabs.in", "RedisSentinel"): _redis,
    ("monitoring.coreos.com", "Prometheus"): _prometheus_operator,
    ("monitoring.coreos.com", "Alertmanager"): _prometheus_operator,
    ("gateway.envoyproxy.io", "EnvoyProxy"): _envoy_proxy,
}
"""(API group, kind) -> adapter returning the workloads an object runs."""


def _group(obj: Obj) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.split("/")[0] if "/" in api_version else ""


def _scale_ranges(objects: Iterable[Obj]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(namespace, kind, name) of a scaled workload -> (min, max) replicas from HPAs and ScaledObjects."""
    ranges: dict[tuple[str, str, str], tuple[int, int]] = {}
    for obj in objects:
        kind, ns, _ = _meta(obj)
        spec = obj.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        if kind == "HorizontalPodAutoscaler" and _group(obj) == "autoscaling":
            ranges[(ns, target.get("kind", "Deployment"), target.get("name", ""))] = (
                int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1)))
        elif kind == "ScaledObject" and _group(obj) == "keda.sh":
            low = int(spec.get("minReplicaCount", 0))
            ranges[(ns, target.get("kind", "Deployment"), target.get("name", ""))] = (low, int(spec.get("maxReplicaCount", 100)))
    return ranges


def workloads_from_objects(objects: Iterable[Obj], defaults: Callable[[str], tuple[int, int]] = lambda ns: (0, 0)) -> list[Workload]:
    """Every workload the objects would run, with HPA/ScaledObject replica ranges applied.

    ``defaults(namespace)`` gives the LimitRange default request (millicores, MiB) for containers that set none.
    A Rollout with a ``workloadRef`` runs the referenced Deployment's pods (which Argo Rollouts scales to 0).
    """
    objects = list(objects)
    by_key = {(_meta(o)[1], o.get("kind"), _meta(o)[2]): o for o in objects}
    referenced: set[tuple[str, str, str]] = set()
    result: list[Workload] = []
    ranges = _scale_ranges(objects)
    for obj in objects:
        kind, ns, name = _meta(obj)
        adapter = ADAPTERS.get((_group(obj), kind))
        if adapter is None:
            continue
        if kind == "Rollout" and (obj.get("spec") or {}).get("workloadRef"):
            ref = obj["spec"]["workloadRef"]
            target = by_key.get((ns, ref.get("kind", "Deployment"), ref.get("name", "")))
            referenced.add((ns, ref.get("kind", "Deployment"), ref.get("name", "")))
            template = ((target or {}).get("spec") or {}).get("template") or {}
            found = [_from_template(obj, template, int(obj["spec"].get("replicas", 1)), defaults)]
        else:
            try:
                found = adapter(obj, defaults)
            except (QuantityError, TypeError, ValueError) as exc:
                raise WorkloadError(f"{kind}/{ns}/{name}: {exc}") from exc
        if (ns, kind, name) in ranges:
            low, high = ranges[(ns, kind, name)]
            found = [replace(w, replicas_min=low, replicas_max=max(low, high)) for w in found]
        result.extend(found)
    return [w for w in result if tuple(w.name.split("/")[:3]) not in {(k, n, m) for n, k, m in referenced}]
