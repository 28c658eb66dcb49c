"""The one pod model: every group of identical pods a set of objects would run, read from the objects.

Checks (zone loss, capacity, selectors, NetworkPolicy coverage), the planner and the simulated cluster all
read pods through this table: one adapter per (API group, kind). A ``PodGroup`` carries what each of them
needs: the pods' labels (what selectors, spread and anti-affinity match), replicas at minimum and maximum
scale (from the HPA or ScaledObject that targets the workload), requests, the persistent volume each pod
claims, the node pool and tolerations, the topology spread and the hard anti-affinity terms.

Operators create pods from custom resources; their labels follow each operator's documented labels
(CloudNativePG ``cnpg.io/cluster``, Strimzi ``strimzi.io/cluster``/``strimzi.io/pool-name``, Altinity
``clickhouse.altinity.com/chi``, ``clickhouse-keeper.altinity.com/chk``, OT redis-operator ``app``, Envoy
Gateway ``gateway.envoyproxy.io/owning-gateway-name``) plus the metadata each custom resource asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from plinth.kube.objects import get, selector_matches
from plinth.kube.scheduling import HOST_KEY, POOL_LABEL, ZONE_KEY
from plinth.quantities import QuantityError, gibibytes, mebibytes, millicores

Obj = dict[str, Any]
Defaults = Callable[[str], tuple[int, int]]
"""Namespace -> (CPU millicores, memory MiB) a container without requests gets from the LimitRange."""

RENDERED = "rendered"
STATEFULSET_POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX = "apps.kubernetes.io/pod-index"
"""Labels the StatefulSet controller puts on each pod (its name, its ordinal)."""
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Rollout")
SCALABLE_KINDS = ("Deployment", "StatefulSet", "Rollout")


@dataclass(frozen=True)
class PodGroup:
    """Identical pods one object runs (a Deployment's replicas, a CNPG cluster's instances, a Kafka pool's nodes)."""

    kind: str
    """Kind of the object that makes the pods (or ``Chart``/``Spec`` for pods known only from values or the spec)."""
    namespace: str
    object_name: str
    role: str | None = None
    """Part of a multi-part object (a ClickHouse cluster, Kafka's entity operator, the Gateway an EnvoyProxy serves)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Labels every pod of the group carries."""
    replicas_min: int = 1
    """Pods at the autoscaler's minimum (or the fixed count)."""
    replicas_max: int = 1
    """Pods at the autoscaler's maximum (or the fixed count)."""
    cpu_millicores: int = 0
    """CPU request per pod, as the scheduler counts it."""
    memory_mib: int = 0
    """Memory request per pod, MiB."""
    volume_gib: int = 0
    """Persistent volume claimed per pod, GiB."""
    per_node: bool = False
    """A DaemonSet: one pod on each node of every pool it may run on (replicas ignored)."""
    transient: bool = False
    """Pods that run to completion (a Job's, a CronJob's run, a sync hook): selectors see them, the planner does not
    reserve nodes for them."""
    node_pool: str | None = None
    """Pool named by a ``plinth.dev/pool`` node selector or required node affinity; None = decided by the namespace."""
    tolerations: tuple[tuple[str, str, str], ...] = ()
    """(key, operator, effect) of the pods' tolerations; an empty key with Exists tolerates everything."""
    spread: tuple[dict[str, Any], ...] = ()
    """topologySpreadConstraints of the pods."""
    anti_affinity: tuple[dict[str, Any], ...] = ()
    """Required podAntiAffinity terms (hard: at most one such pod per topology domain)."""
    spread_path: str = "spec.template.spec.topologySpreadConstraints"
    """Where the spread is configured in the source object (for findings)."""
    source: str = RENDERED
    """Where it was found: an object (rendered or hydrated from a chart), or the spec (not rendered yet)."""
    obj: Obj | None = field(default=None, compare=False, repr=False)
    """The object the pods come from (None for spec-declared groups)."""
    ports: tuple[tuple[str, int, str], ...] = ()
    """(name, containerPort, protocol) of the containers' ports (named ports of NetworkPolicies resolve against them)."""
    host_network: bool = False
    """The pods use the node's network (NetworkPolicies do not select them; peers see the node's address)."""

    @property
    def name(self) -> str:
        """``Kind/namespace/name[/role]``: unique over a tree."""
        return f"{self.kind}/{self.namespace}/{self.short_name}"

    @property
    def short_name(self) -> str:
        """``name[/role]`` of the object."""
        return f"{self.object_name}/{self.role}" if self.role else self.object_name

    @property
    def memory_bytes(self) -> int:
        """Memory request per pod, bytes."""
        return self.memory_mib * 2**20

    @property
    def one_per_node(self) -> bool:
        """Required anti-affinity on the hostname or the zone keeps two pods of the group off one node."""
        return any(term.get("topologyKey") in (HOST_KEY, ZONE_KEY) and selector_matches(term.get("labelSelector"), self.labels)
                   for term in self.anti_affinity)

    def selected_by(self, selector: dict[str, Any] | None) -> bool:
        """A LabelSelector selects at least one pod of the group, counting the labels the StatefulSet controller adds
        to each pod (``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index``)."""
        if selector_matches(selector, self.labels):
            return True
        if self.kind != "StatefulSet":
            return False
        return any(selector_matches(selector, {**self.labels, STATEFULSET_POD_NAME: f"{self.object_name}-{i}", POD_INDEX: str(i)})
                   for i in range(max(self.replicas_max, 1)))

    @property
    def zone_anti_affinity(self) -> bool:
        """Required anti-affinity on the zone: at most one pod of the group per zone."""
        return any(term.get("topologyKey") == ZONE_KEY and selector_matches(term.get("labelSelector"), self.labels)
                   for term in self.anti_affinity)


class PodReadError(ValueError):
    """An object whose pods cannot be read (a bad quantity, a bad shape)."""


# --------------------------------------------------------------------------- pod specs


def _container_requests(container: Obj) -> tuple[int, int, bool, bool]:
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
        cpu, mem, has_cpu, has_mem = _container_requests(container)
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


def _hard_anti_affinity(affinity: Obj | None) -> tuple[dict[str, Any], ...]:
    return tuple(get(affinity or {}, "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", []) or [])


def _node_pool(node_selector: Obj | None, affinity: Obj | None = None) -> str | None:
    """The pool a ``plinth.dev/pool`` node selector, or a required node affinity ``In`` one pool, names."""
    pool = (node_selector or {}).get(POOL_LABEL)
    if pool:
        return str(pool)
    terms = get(affinity or {}, "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms", []) or []
    for term in terms:
        for expr in term.get("matchExpressions") or []:
            if expr.get("key") == POOL_LABEL and expr.get("operator") == "In" and len(expr.get("values") or []) == 1:
                return str(expr["values"][0])
    return None


def _claim_gib(claim_templates: Iterable[Obj | None] | None) -> int:
    total = 0
    for claim in claim_templates or []:
        size = get(claim or {}, "spec.resources.requests.storage")
        if size is not None:
            total += gibibytes(size)
    return total


def _meta(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("kind", "?"), meta.get("namespace", "default"), meta.get("name", "?")


@dataclass
class _Context:
    """What adapters may look at besides the object: LimitRange defaults and the other objects."""

    defaults: Defaults
    by_key: dict[tuple[str, str, str], Obj]
    """(namespace, kind, name) -> object."""
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o.get("kind") == kind]


def container_ports(pod: Obj) -> tuple[tuple[str, int, str], ...]:
    """(name, containerPort, protocol) of every port of the pod's containers and sidecars."""
    found = []
    for container in list(pod.get("containers") or []) + list(pod.get("initContainers") or []):
        for port in container.get("ports") or []:
            if isinstance(port.get("containerPort"), int):
                found.append((str(port.get("name") or ""), port["containerPort"], str(port.get("protocol") or "TCP")))
    return tuple(sorted(set(found)))


def _from_pod(obj: Obj, pod: Obj, pod_labels: dict[str, str], replicas: int, ctx: _Context, *, spread_path: str,
              role: str | None = None, **extra: Any) -> PodGroup:
    kind, ns, name = _meta(obj)
    cpu, mem = pod_requests(pod, ctx.defaults(ns))
    return PodGroup(kind, ns, name, role, dict(pod_labels), replicas, replicas, cpu, mem,
                    node_pool=_node_pool(pod.get("nodeSelector"), pod.get("affinity")),
                    tolerations=_tolerations(pod.get("tolerations")),
                    spread=tuple(pod.get("topologySpreadConstraints") or ()),
                    anti_affinity=_hard_anti_affinity(pod.get("affinity")), spread_path=spread_path, obj=obj,
                    ports=tuple(sorted(set(container_ports(pod) + tuple(extra.pop("ports", ()))))),
                    host_network=bool(pod.get("hostNetwork")), **extra)


# --------------------------------------------------------------------------- core kinds


def _template(obj: Obj, template: Obj, replicas: int, ctx: _Context, **extra: Any) -> PodGroup:
    pod = (template or {}).get("spec") or {}
    return _from_pod(obj, pod, get(template or {}, "metadata.labels", {}) or {}, replicas, ctx,
                     spread_path="spec.template.spec.topologySpreadConstraints", **extra)


def _deployment(obj: Obj, ctx: _Context) -> list[PodGroup]:
    spec = obj.get("spec") or {}
    return [_template(obj, spec.get("template") or {}, int(spec.get("replicas", 1)), ctx)]


def _rollout(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """An Argo Rollout: its own pod template, or (``workloadRef``) the referenced Deployment's."""
    spec = obj.get("spec") or {}
    ref = spec.get("workloadRef")
    if ref:
        _, ns, _ = _meta(obj)
        target = ctx.by_key.get((ns, ref.get("kind", "Deployment"), ref.get("name", "")), {})
        return [_template(obj, get(target, "spec.template", {}) or {}, int(spec.get("replicas", 1)), ctx)]
    return _deployment(obj, ctx)


def _statefulset(obj: Obj, ctx: _Context) -> list[PodGroup]:
    spec = obj.get("spec") or {}
    return [_template(obj, spec.get("template") or {}, int(spec.get("replicas", 1)), ctx,
                      volume_gib=_claim_gib(spec.get("volumeClaimTemplates")))]


def _daemonset(obj: Obj, ctx: _Context) -> list[PodGroup]:
    spec = obj.get("spec") or {}
    return [_template(obj, spec.get("template") or {}, 0, ctx, per_node=True)]


def _job(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """A Job: ``parallelism`` pods that run to completion."""
    spec = obj.get("spec") or {}
    return [_template(obj, spec.get("template") or {}, int(spec.get("parallelism", 1)), ctx, transient=True)]


def _cronjob(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """A CronJob: each run is a Job of its ``jobTemplate``."""
    job = get(obj, "spec.jobTemplate.spec", {}) or {}
    group = _template(obj, job.get("template") or {}, int(job.get("parallelism", 1)), ctx, transient=True)
    return [replace(group, spread_path="spec.jobTemplate.spec.template.spec.topologySpreadConstraints")]


# --------------------------------------------------------------------------- operators' pods: documented container ports

Ports = tuple[tuple[str, int, str], ...]
OPERATOR_POD_PORTS: dict[str, Ports] = {
    # CloudNativePG instance pods (pkg/specs): PostgreSQL, the instance manager's status endpoint, the exporter.
    "cnpg-instance": (("postgresql", 5432, "TCP"), ("status", 8000, "TCP"), ("metrics", 9187, "TCP")),
    # CloudNativePG Pooler pods: PgBouncer and its exporter.
    "cnpg-pooler": (("pgbouncer", 5432, "TCP"), ("metrics", 9127, "TCP")),
    # Strimzi Kafka nodes: KRaft control plane, replication (also the operators' TLS listener), the plain and TLS
    # client listeners (Strimzi's backwards-compatible names), the metrics reporter.
    "strimzi-kafka": (("tcp-ctrlplane", 9090, "TCP"), ("tcp-replication", 9091, "TCP"), ("tcp-clients", 9092, "TCP"),
                      ("tcp-clientstls", 9093, "TCP"), ("tcp-prometheus", 9404, "TCP")),
    # Altinity ClickHouse server pods: HTTP, native, interserver replication.
    "altinity-clickhouse": (("http", 8123, "TCP"), ("tcp", 9000, "TCP"), ("interserver", 9009, "TCP")),
    # Altinity ClickHouse Keeper pods: the ZooKeeper protocol, Raft, Prometheus metrics.
    "altinity-keeper": (("zk", 2181, "TCP"), ("raft", 9444, "TCP"), ("metrics", 7000, "TCP")),
    # OT redis-operator: Redis or Sentinel, and the exporter sidecar.
    "redis": (("redis-client", 6379, "TCP"), ("redis-exporter", 9121, "TCP")),
    "redis-sentinel": (("sentinel-client", 26379, "TCP"), ("redis-exporter", 9121, "TCP")),
    # prometheus-operator: the web port and the config reloader; Alertmanager's cluster mesh.
    "prometheus": (("web", 9090, "TCP"), ("reloader-web", 8080, "TCP")),
    "alertmanager": (("web", 9093, "TCP"), ("mesh-tcp", 9094, "TCP"), ("mesh-udp", 9094, "UDP"), ("reloader-web", 8080, "TCP")),
    # Envoy Gateway proxies: the admin/metrics port (listener ports come from the Gateway).
    "envoy-proxy": (("metrics", 19001, "TCP"),),
}
"""Container ports of the pods operators create, as each operator documents them (named ports of monitors and
NetworkPolicies resolve against them)."""
ENVOY_UNPRIVILEGED_OFFSET = 10000
"""Envoy Gateway maps a Gateway listener port below 1024 to the container port +10000 (80 -> 10080)."""


# --------------------------------------------------------------------------- operators' custom resources


def _cnpg_cluster(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """CloudNativePG Cluster: ``instances`` pods labelled ``cnpg.io/cluster`` + ``cnpg.io/podRole: instance``."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    labels = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance", **(get(spec, "inheritedMetadata.labels", {}) or {})}
    affinity = spec.get("affinity") or {}
    anti: list[dict[str, Any]] = []
    if affinity.get("enablePodAntiAffinity", True) and affinity.get("podAntiAffinityType") == "required":
        anti.append({"topologyKey": affinity.get("topologyKey", HOST_KEY), "labelSelector": {"matchLabels": {"cnpg.io/cluster": name}}})
    anti += list(get(affinity, "additionalPodAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", []) or [])
    instances = int(spec.get("instances", 1))
    cpu, mem = pod_requests({"containers": [{"resources": spec.get("resources") or {}}]}, ctx.defaults(ns))
    volume = sum(gibibytes(v["size"]) for v in (spec.get("storage"), spec.get("walStorage")) if v and "size" in v)
    return [PodGroup(kind, ns, name, None, labels, instances, instances, cpu, mem, volume_gib=volume,
                     node_pool=_node_pool(affinity.get("nodeSelector")), tolerations=_tolerations(affinity.get("tolerations")),
                     spread=tuple(spec.get("topologySpreadConstraints") or ()), anti_affinity=tuple(anti),
                     spread_path="spec.topologySpreadConstraints", obj=obj, ports=OPERATOR_POD_PORTS["cnpg-instance"])]


def _cnpg_pooler(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """CloudNativePG Pooler: ``instances`` PgBouncer pods from ``template`` (one container when it names none)."""
    _, _, name = _meta(obj)
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    pod = dict(template.get("spec") or {})
    if not pod.get("containers"):
        pod["containers"] = [{}]
    labels = {"cnpg.io/poolerName": name, **(get(template, "metadata.labels", {}) or {})}
    group = _from_pod(obj, pod, labels, int(spec.get("instances", 1)), ctx, spread_path="spec.template.spec.topologySpreadConstraints")
    return [replace(group, ports=tuple(sorted(set(group.ports + OPERATOR_POD_PORTS["cnpg-pooler"]))))]


def _altinity(obj: Obj, ctx: _Context, label_key: str, sharded: bool) -> list[PodGroup]:
    """Altinity ClickHouseInstallation (shards x replicas) or ClickHouseKeeperInstallation (replicas), per cluster."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    templates = get(spec, "templates.podTemplates", []) or []
    claims = get(spec, "templates.volumeClaimTemplates", []) or []
    defaults = get(spec, "defaults.templates", {}) or {}
    groups = []
    for index, cluster in enumerate(get(spec, "configuration.clusters", []) or [{}]):
        layout = cluster.get("layout") or {}
        replicas = int(layout.get("replicasCount", len(layout.get("replicas") or []) or 1))
        shards = int(layout.get("shardsCount", len(layout.get("shards") or []) or 1)) if sharded else 1
        chosen = {**defaults, **(cluster.get("templates") or {})}
        template = next((t for t in templates if t.get("name") == chosen.get("podTemplate")), templates[0] if len(templates) == 1 else {})
        t_index = templates.index(template) if template in templates else 0
        pod = template.get("spec") or {}
        cpu, mem = pod_requests(pod if pod.get("containers") else {"containers": [{}]}, ctx.defaults(ns))
        anti = list(_hard_anti_affinity(pod.get("affinity")))
        for dist in template.get("podDistribution") or []:
            if dist.get("type") in ("ClickHouseAntiAffinity", "ReplicaAntiAffinity", "ShardAntiAffinity", "MaxNumberPerNode"):
                anti.append({"topologyKey": dist.get("topologyKey", HOST_KEY), "labelSelector": {"matchLabels": {label_key: name}}})
        volumes = {chosen[k] for k in ("dataVolumeClaimTemplate", "logVolumeClaimTemplate", "volumeClaimTemplate") if chosen.get(k)}
        count = shards * replicas
        groups.append(PodGroup(
            kind, ns, name, str(cluster.get("name", index)), {label_key: name, **(get(template, "metadata.labels", {}) or {})},
            count, count, cpu, mem, volume_gib=_claim_gib([c for c in claims if not volumes or c.get("name") in volumes]),
            node_pool=_node_pool(pod.get("nodeSelector"), pod.get("affinity")), tolerations=_tolerations(pod.get("tolerations")),
            spread=tuple(pod.get("topologySpreadConstraints") or ()), anti_affinity=tuple(anti),
            spread_path=f"spec.templates.podTemplates.{t_index}.spec.topologySpreadConstraints", obj=obj,
            ports=tuple(sorted(set(container_ports(pod) + OPERATOR_POD_PORTS["altinity-clickhouse" if sharded else "altinity-keeper"])))))
    return groups


def _strimzi_storage_gib(storage: Obj | None) -> int:
    if not storage:
        return 0
    if storage.get("type") == "jbod":
        return sum(_strimzi_storage_gib(v) for v in storage.get("volumes") or [])
    if storage.get("type") == "persistent-claim" and "size" in storage:
        return gibibytes(storage["size"])
    return 0


def _kafka_node_pool(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """Strimzi KafkaNodePool: ``replicas`` broker/controller pods with ``resources`` and ``storage``."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    cluster = (get(obj, "metadata.labels", {}) or {}).get("strimzi.io/cluster", "")
    kafka = ctx.by_key.get((ns, "Kafka", cluster), {})
    labels = {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{cluster}-kafka",
              "strimzi.io/pool-name": name, **(get(kafka, "spec.kafka.template.pod.metadata.labels", {}) or {}),
              **(get(spec, "template.pod.metadata.labels", {}) or {})}
    for role in spec.get("roles") or []:
        labels[f"strimzi.io/{role}-role"] = "true"
    pod = get(spec, "template.pod", {}) or {}
    cpu, mem = pod_requests({"containers": [{"resources": spec.get("resources") or {}}]}, ctx.defaults(ns))
    replicas = int(spec.get("replicas", 1))
    return [PodGroup(kind, ns, name, None, labels, replicas, replicas, cpu, mem, volume_gib=_strimzi_storage_gib(spec.get("storage")),
                     node_pool=_node_pool(None, pod.get("affinity")), tolerations=_tolerations(pod.get("tolerations")),
                     spread=tuple(pod.get("topologySpreadConstraints") or ()), anti_affinity=_hard_anti_affinity(pod.get("affinity")),
                     spread_path="spec.template.pod.topologySpreadConstraints", obj=obj, ports=OPERATOR_POD_PORTS["strimzi-kafka"])]


def _kafka(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """Strimzi Kafka: the pods it runs besides the node pools (entity operator, Cruise Control, Kafka Exporter)."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    result = []
    parts = {"entityOperator": "entity-operator", "cruiseControl": "cruise-control", "kafkaExporter": "kafka-exporter"}
    for part, suffix in parts.items():
        section = spec.get(part)
        if section is None:
            continue
        if part == "entityOperator":
            blocks = [section[p].get("resources") or {} for p in ("topicOperator", "userOperator") if section.get(p) is not None]
            if not blocks:
                continue
        else:
            blocks = [section.get("resources") or {}]
        cpu, mem = pod_requests({"containers": [{"resources": b} for b in blocks]}, ctx.defaults(ns))
        pod = get(section, "template.pod", {}) or {}
        labels = {"strimzi.io/cluster": name, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{name}-{suffix}",
                  **(get(pod, "metadata.labels", {}) or {})}
        result.append(PodGroup(kind, ns, name, part if part != "entityOperator" else "entity-operator", labels, 1, 1, cpu, mem,
                               node_pool=_node_pool(None, pod.get("affinity")), tolerations=_tolerations(pod.get("tolerations")),
                               spread=tuple(pod.get("topologySpreadConstraints") or ()),
                               spread_path=f"spec.{part}.template.pod.topologySpreadConstraints", obj=obj))
    return result


def _redis(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """OT redis-operator RedisReplication / RedisSentinel / Redis: ``clusterSize`` pods (+ exporter) labelled as the
    operator labels them (internal/controller/common/labels.go): ``app: <name>`` — ``<name>-sentinel`` for a
    RedisSentinel, whose StatefulSet is so named — ``redis_setup_type`` and ``role``."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    containers = [{"resources": get(spec, "kubernetesConfig.resources", {}) or {}}]
    exporter = spec.get("redisExporter") or {}
    if exporter.get("enabled"):
        containers.append({"resources": exporter.get("resources") or {}})
    cpu, mem = pod_requests({"containers": containers}, ctx.defaults(ns))
    size = int(spec.get("clusterSize", 1))
    setup = {"RedisSentinel": "sentinel", "RedisReplication": "replication"}.get(kind, "standalone")
    app = f"{name}-sentinel" if kind == "RedisSentinel" else name
    labels = {"app": app, "redis_setup_type": setup, "role": setup, **(get(obj, "metadata.labels", {}) or {})}
    claim = get(spec, "storage.volumeClaimTemplate")
    return [PodGroup(kind, ns, name, None, labels, size, size, cpu, mem, volume_gib=_claim_gib([claim] if claim else []),
                     node_pool=_node_pool(spec.get("nodeSelector"), spec.get("affinity")), tolerations=_tolerations(spec.get("tolerations")),
                     spread=tuple(spec.get("topologySpreadConstraints") or ()), anti_affinity=_hard_anti_affinity(spec.get("affinity")),
                     spread_path="spec.topologySpreadConstraints", obj=obj,
                     ports=OPERATOR_POD_PORTS["redis-sentinel" if kind == "RedisSentinel" else "redis"])]


RELOADER_FLAGS = {"cpu": "--config-reloader-cpu-request=", "memory": "--config-reloader-memory-request="}
"""prometheus-operator flags that set the requests of the config-reloader sidecar it adds to every Prometheus and
Alertmanager pod (prometheus-operator ``cmd/operator``; kube-prometheus-stack sets them from
``prometheusOperator.prometheusConfigReloader.resources``)."""


def _config_reloader(ctx: _Context) -> Obj:
    """The config-reloader container the operator adds, with the requests its Deployment's flags give (none without one)."""
    for deployment in ctx.of_kind("Deployment"):
        for container in get(deployment, "spec.template.spec.containers", []) or []:
            args = [str(a) for a in container.get("args") or []]
            requests = {key: a.removeprefix(flag) for key, flag in RELOADER_FLAGS.items() for a in args if a.startswith(flag)}
            if requests and all(v not in ("", "0") for v in requests.values()):
                return {"resources": {"requests": requests}}
    return {"resources": {"requests": {"cpu": "0", "memory": "0"}}}


def _prometheus_operator(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """prometheus-operator Prometheus (replicas x shards) or Alertmanager (replicas) pods and volumes; each pod also runs
    the operator's config-reloader sidecar. Prometheus pods carry ``operator.prometheus.io/name`` (and ``/shard``)."""
    kind, ns, name = _meta(obj)
    spec = obj.get("spec") or {}
    app = "prometheus" if kind == "Prometheus" else "alertmanager"
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "prometheus-operator",
              app: name, **(get(spec, "podMetadata.labels", {}) or {})}
    if kind == "Prometheus":
        labels["operator.prometheus.io/name"] = name
        if int(spec.get("shards", 1)) == 1:
            labels["operator.prometheus.io/shard"] = "0"
    cpu, mem = pod_requests({"containers": [{"resources": spec.get("resources") or {}}, _config_reloader(ctx)]}, ctx.defaults(ns))
    count = int(spec.get("replicas", 1)) * (int(spec.get("shards", 1)) if kind == "Prometheus" else 1)
    claim = get(spec, "storage.volumeClaimTemplate")
    return [PodGroup(kind, ns, name, None, labels, count, count, cpu, mem, volume_gib=_claim_gib([claim] if claim else []),
                     node_pool=_node_pool(spec.get("nodeSelector"), spec.get("affinity")), tolerations=_tolerations(spec.get("tolerations")),
                     spread=tuple(spec.get("topologySpreadConstraints") or ()), anti_affinity=_hard_anti_affinity(spec.get("affinity")),
                     spread_path="spec.topologySpreadConstraints", obj=obj, ports=OPERATOR_POD_PORTS[app])]


ENVOY_PROXY_LABELS = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
                      "app.kubernetes.io/managed-by": "envoy-gateway"}
"""Labels Envoy Gateway puts on every proxy pod, besides the owning Gateway's name and namespace."""


def _gateways_using(proxy: Obj, ctx: _Context) -> list[Obj]:
    """Gateways whose GatewayClass (or own infrastructure) references the EnvoyProxy."""
    _, ns, name = _meta(proxy)

    def refers(ref: Obj | None, default_ns: str) -> bool:
        return bool(ref) and ref.get("kind") == "EnvoyProxy" and ref.get("name") == name and ref.get("namespace", default_ns) == ns

    classes = {c["metadata"]["name"] for c in ctx.of_kind("GatewayClass") if refers(get(c, "spec.parametersRef"), ns)}
    return [g for g in ctx.of_kind("Gateway")
            if g.get("spec", {}).get("gatewayClassName") in classes
            or refers(get(g, "spec.infrastructure.parametersRef"), g["metadata"].get("namespace", ""))]


def _envoy_proxy(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """Envoy Gateway EnvoyProxy: one proxy Deployment per Gateway it shapes (replicas, pod, container resources), in
    the namespace of the Envoy Gateway controller (the EnvoyProxy's)."""
    deployment = get(obj, "spec.provider.kubernetes.envoyDeployment")
    if deployment is None:
        return []
    pod = dict(deployment.get("pod") or {})
    pod["containers"] = [deployment.get("container") or {}]
    replicas = int(deployment.get("replicas", 1))
    path = "spec.provider.kubernetes.envoyDeployment.pod.topologySpreadConstraints"
    labels = {**ENVOY_PROXY_LABELS, **(pod.get("labels") or {})}
    gateways = _gateways_using(obj, ctx)
    if not gateways:
        return [_from_pod(obj, pod, labels, replicas, ctx, spread_path=path, ports=OPERATOR_POD_PORTS["envoy-proxy"])]
    return [_from_pod(obj, pod, {**labels, "gateway.envoyproxy.io/owning-gateway-name": g["metadata"]["name"],
                                 "gateway.envoyproxy.io/owning-gateway-namespace": g["metadata"].get("namespace", "")},
                      replicas, ctx, spread_path=path, role=f"{g['metadata'].get('namespace', '')}/{g['metadata']['name']}",
                      ports=OPERATOR_POD_PORTS["envoy-proxy"] + _listener_ports(g))
            for g in gateways]


def _listener_ports(gateway: Obj) -> Ports:
    """Container ports of a Gateway's listeners (Envoy Gateway shifts ports below 1024 by +10000)."""
    found = set()
    for listener in get(gateway, "spec.listeners", []) or []:
        port = int(listener.get("port", 0))
        if port:
            found.add((str(listener.get("name", "")), port + ENVOY_UNPRIVILEGED_OFFSET if port < 1024 else port, "TCP"))
    return tuple(sorted(found))


# --------------------------------------------------------------------------- pods on demand (network flows only)


ACME_SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
"""Labels cert-manager puts on the pods that answer ACME HTTP-01 challenges."""
ACME_SOLVER_PORT = 8089


def _acme_solver(obj: Obj, ctx: _Context) -> list[PodGroup]:
    """A cert-manager Certificate issued by an ACME issuer with an HTTP-01 solver: while a challenge is open,
    cert-manager runs a solver pod (``acme.cert-manager.io/http01-solver``) in the Certificate's namespace."""
    ref = get(obj, "spec.issuerRef", {}) or {}
    _, ns, _ = _meta(obj)
    issuer = ctx.by_key.get(("" if ref.get("kind") == "ClusterIssuer" else ns, ref.get("kind") or "Issuer", ref.get("name", "")))
    if issuer is None and ref.get("kind") == "ClusterIssuer":
        issuer = next((o for o in ctx.of_kind("ClusterIssuer") if get(o, "metadata.name") == ref.get("name")), None)
    solvers = get(issuer or {}, "spec.acme.solvers", []) or []
    if not any("http01" in (s or {}) for s in solvers):
        return []
    return [PodGroup("Certificate", ns, get(obj, "metadata.name", "?"), "http01-solver", dict(ACME_SOLVER_LABELS), 0, 1,
                     obj=obj, ports=(("http", ACME_SOLVER_PORT, "TCP"),), transient=True)]


TRANSIENT_ADAPTERS: dict[tuple[str, str], Callable[[Obj, _Context], list[PodGroup]]] = {
    ("cert-manager.io", "Certificate"): _acme_solver,
}
"""(API group, kind) -> adapter of pods that come and go; only ``pod_groups(..., transient=True)`` reads them."""


ADAPTERS: dict[tuple[str, str], Callable[[Obj, _Context], list[PodGroup]]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("argoproj.io", "Rollout"): _rollout,
    ("postgresql.cnpg.io", "Cluster"): _cnpg_cluster,
    ("postgresql.cnpg.io", "Pooler"): _cnpg_pooler,
    ("clickhouse.altinity.com", "ClickHouseInstallation"): lambda o, c: _altinity(o, c, "clickhouse.altinity.com/chi", sharded=True),
    ("clickhouse-keeper.altinity.com", "ClickHouseKeeperInstallation"):
        lambda o, c: _altinity(o, c, "clickhouse-keeper.altinity.com/chk", sharded=False),
    ("kafka.strimzi.io", "KafkaNodePool"): _kafka_node_pool,
    ("kafka.strimzi.io", "Kafka"): _kafka,
    ("redis.redis.opstreelabs.in", "RedisReplication"): _redis,
    ("redis.redis.opstreelabs.in", "RedisSentinel"): _redis,
    ("redis.redis.opstreelabs.in", "Redis"): _redis,
    ("monitoring.coreos.com", "Prometheus"): _prometheus_operator,
    ("monitoring.coreos.com", "Alertmanager"): _prometheus_operator,
    ("gateway.envoyproxy.io", "EnvoyProxy"): _envoy_proxy,
}
"""(API group, kind) -> adapter returning the pod groups an object runs."""


def api_group(obj: Obj) -> str:
    """The API group of an object (empty for the core group)."""
    api_version = obj.get("apiVersion", "")
    return api_version.split("/")[0] if "/" in api_version else ""


def scale_target(obj: Obj) -> tuple[str, str]:
    """(kind, name) an HPA or ScaledObject scales (KEDA defaults the kind to Deployment)."""
    ref = get(obj, "spec.scaleTargetRef", {}) or {}
    return ref.get("kind") or "Deployment", ref.get("name", "")


def autoscaler_bounds(objects: Iterable[Obj]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(namespace, kind, name) of each autoscaled workload -> (min, max) replicas of its HPA or ScaledObject."""
    bounds: dict[tuple[str, str, str], tuple[int, int]] = {}
    for obj in objects:
        kind, ns, _ = _meta(obj)
        spec = obj.get("spec") or {}
        if kind == "HorizontalPodAutoscaler" and api_group(obj) == "autoscaling":
            low = int(spec.get("minReplicas", 1))
            bounds[(ns, *scale_target(obj))] = (low, max(low, int(spec.get("maxReplicas", 1))))
        elif kind == "ScaledObject" and api_group(obj) == "keda.sh":
            low = int(spec.get("minReplicaCount", 0))
            bounds[(ns, *scale_target(obj))] = (low, max(low, int(spec.get("maxReplicaCount", 100))))
    return bounds


def pod_groups(objects: Iterable[Obj], defaults: Defaults = lambda ns: (0, 0), transient: bool = False) -> list[PodGroup]:
    """Every group of pods the objects would run, with HPA/ScaledObject replica ranges applied.

    ``defaults(namespace)`` gives the LimitRange default request (millicores, MiB) for containers that set none.
    A Rollout with a ``workloadRef`` runs the referenced Deployment's pods (which Argo Rollouts scales to 0), so
    that Deployment is not counted again. Jobs and CronJobs come as ``transient`` groups; ``transient=True`` also
    adds the pods cert-manager runs on demand (ACME HTTP-01 solvers): what network flows need, what capacity must not count.
    """
    objects = list(objects)
    ctx = _Context(defaults, {(_meta(o)[1], o.get("kind", ""), _meta(o)[2]): o for o in objects}, objects)
    referenced = {(_meta(o)[1], (o["spec"]["workloadRef"].get("kind") or "Deployment"), o["spec"]["workloadRef"].get("name", ""))
                  for o in objects if o.get("kind") == "Rollout" and (o.get("spec") or {}).get("workloadRef")}
    ranges = autoscaler_bounds(objects)
    groups: list[PodGroup] = []
    for obj in objects:
        kind, ns, name = _meta(obj)
        adapter = ADAPTERS.get((api_group(obj), kind)) or (TRANSIENT_ADAPTERS.get((api_group(obj), kind)) if transient else None)
        if adapter is None or (ns, kind, name) in referenced:
            continue
        try:
            found = adapter(obj, ctx)
        except (QuantityError, TypeError, ValueError, AttributeError) as exc:
            raise PodReadError(f"{kind}/{ns}/{name}: {exc}") from exc
        if (ns, kind, name) in ranges:
            low, high = ranges[(ns, kind, name)]
            found = [replace(g, replicas_min=low, replicas_max=high) for g in found]
        groups.extend(found)
    return groups
