"""What the checks know about Kubernetes and the operators: which pods an object runs (labels, replicas,
requests, images, spread), label selectors, zone-loss arithmetic, durations and cron schedules.

Operators create pods from custom resources; their pod labels follow each operator's documented
labels (CloudNativePG ``cnpg.io/cluster``, Strimzi ``strimzi.io/cluster``/``strimzi.io/pool-name``,
Altinity ``clickhouse.altinity.com/chi``, ``clickhouse-keeper.altinity.com/chk``, OT redis-operator
``app``) plus the metadata the CR asks to put on its pods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from plinth.render.pipeline import RenderedObject
from plinth.render.scheduling import ZONE_KEY
from plinth.spec.types import cpu_millicores, memory_bytes

POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Rollout")
SCALABLE_KINDS = ("Deployment", "StatefulSet", "Rollout")


@dataclass
class PodGroup:
    """Identical pods one object runs (a Deployment's replicas, a CNPG cluster's instances, a Kafka pool's nodes)."""

    source: RenderedObject
    """The rendered object that makes these pods."""
    name: str
    """Readable name of the group (object name, or object/role for multi-role objects)."""
    namespace: str
    labels: dict[str, str]
    """Labels every pod of the group carries."""
    replicas: int
    """Replicas as rendered (for an autoscaled workload: the autoscaler's minimum)."""
    max_replicas: int
    """Replicas at most (autoscaler or spec maximum)."""
    cpu_millicores: int
    """CPU requested per pod."""
    memory_bytes: int
    """Memory requested per pod."""
    per_node: bool = False
    """A DaemonSet: one pod per node."""
    spread: list[dict[str, Any]] = field(default_factory=list)
    """topologySpreadConstraints of the pods."""
    anti_affinity: list[dict[str, Any]] = field(default_factory=list)
    """Required podAntiAffinity terms (hard: at most one such pod per topology domain)."""
    spread_path: str = "spec.template.spec.topologySpreadConstraints"
    """Where the spread is configured in the source object (for findings)."""


def get(obj: Any, dotted: str, default: Any = None) -> Any:
    """Value at a dotted path of nested dicts (list indexes as numbers), or ``default``."""
    node = obj
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """True when a LabelSelector (matchLabels + matchExpressions) selects ``labels``; an empty selector selects all."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _requests(containers: list[dict[str, Any]] | None) -> tuple[int, int]:
    cpu = mem = 0
    for container in containers or []:
        req = (container.get("resources") or {}).get("requests") or {}
        cpu += cpu_millicores(str(req["cpu"])) if "cpu" in req else 0
        mem += memory_bytes(str(req["memory"])) if "memory" in req else 0
    return cpu, mem


def _resource_block(resources: dict[str, Any] | None) -> tuple[int, int]:
    req = (resources or {}).get("requests") or {}
    cpu = cpu_millicores(str(req["cpu"])) if "cpu" in req else 0
    mem = memory_bytes(str(req["memory"])) if "memory" in req else 0
    return cpu, mem


def required_anti_affinity(affinity: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Hard podAntiAffinity terms of an affinity block."""
    return list(get(affinity or {}, "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", []) or [])


def _pod_group(item: RenderedObject, name: str, labels: dict[str, str], replicas: int, max_replicas: int,
               cpu_mem: tuple[int, int], spread: Any, affinity: Any, spread_path: str, per_node: bool = False) -> PodGroup:
    meta = item.obj.get("metadata", {})
    return PodGroup(item, name, meta.get("namespace", ""), labels, replicas, max_replicas, cpu_mem[0], cpu_mem[1],
                    per_node, list(spread or []), required_anti_affinity(affinity), spread_path)


def _template_group(item: RenderedObject) -> PodGroup:
    obj = item.obj
    template = get(obj, "spec.template", {}) or {}
    pod = template.get("spec") or {}
    replicas = 0 if obj["kind"] == "DaemonSet" else int(get(obj, "spec.replicas", 1))
    return _pod_group(item, obj["metadata"]["name"], dict(get(template, "metadata.labels", {}) or {}), replicas, replicas,
                      _requests(pod.get("containers")), pod.get("topologySpreadConstraints"), pod.get("affinity"),
                      "spec.template.spec.topologySpreadConstraints", per_node=obj["kind"] == "DaemonSet")


def _cnpg_cluster(item: RenderedObject) -> PodGroup:
    spec = item.obj.get("spec", {})
    name = item.obj["metadata"]["name"]
    labels = {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance", **(get(spec, "inheritedMetadata.labels", {}) or {})}
    affinity = spec.get("affinity") or {}
    anti: list[dict[str, Any]] = []
    if affinity.get("enablePodAntiAffinity", True) and affinity.get("podAntiAffinityType") == "required":
        anti = [{"topologyKey": affinity.get("topologyKey", "kubernetes.io/hostname"),
                 "labelSelector": {"matchLabels": {"cnpg.io/cluster": name}}}]
    anti += list(affinity.get("additionalPodAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", []) or [])
    instances = int(spec.get("instances", 1))
    group = _pod_group(item, name, labels, instances, instances, _resource_block(spec.get("resources")),
                       spec.get("topologySpreadConstraints"), None, "spec.topologySpreadConstraints")
    group.anti_affinity = anti
    return group


def _cnpg_pooler(item: RenderedObject) -> PodGroup:
    spec = item.obj.get("spec", {})
    name = item.obj["metadata"]["name"]
    template = spec.get("template") or {}
    labels = {"cnpg.io/poolerName": name, **(get(template, "metadata.labels", {}) or {})}
    pod = template.get("spec") or {}
    instances = int(spec.get("instances", 1))
    return _pod_group(item, name, labels, instances, instances, _requests(pod.get("containers")),
                      pod.get("topologySpreadConstraints"), pod.get("affinity"), "spec.template.spec.topologySpreadConstraints")


def _kafka_pool(item: RenderedObject, kafkas: dict[tuple[str, str], dict[str, Any]]) -> PodGroup:
    obj = item.obj
    spec = obj.get("spec", {})
    meta = obj["metadata"]
    cluster = (meta.get("labels") or {}).get("strimzi.io/cluster", "")
    kafka = kafkas.get((meta.get("namespace", ""), cluster), {})
    labels = {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka", "strimzi.io/name": f"{cluster}-kafka",
              "strimzi.io/pool-name": meta["name"], **(get(kafka, "spec.kafka.template.pod.metadata.labels", {}) or {}),
              **(get(spec, "template.pod.metadata.labels", {}) or {})}
    for role in spec.get("roles") or []:
        labels[f"strimzi.io/{role}-role"] = "true"
    pod = get(spec, "template.pod", {}) or {}
    replicas = int(spec.get("replicas", 0))
    return _pod_group(item, meta["name"], labels, replicas, replicas, _resource_block(spec.get("resources")),
                      pod.get("topologySpreadConstraints"), pod.get("affinity"), "spec.template.pod.topologySpreadConstraints")


def _altinity(item: RenderedObject, label_key: str, with_shards: bool) -> list[PodGroup]:
    spec = item.obj.get("spec", {})
    name = item.obj["metadata"]["name"]
    templates = get(spec, "templates.podTemplates", []) or []
    default_template = get(spec, "defaults.templates.podTemplate")
    groups = []
    for index, cluster in enumerate(get(spec, "configuration.clusters", []) or []):
        layout = cluster.get("layout") or {}
        replicas = int(layout.get("replicasCount", 1)) * (int(layout.get("shardsCount", 1)) if with_shards else 1)
        wanted = get(cluster, "templates.podTemplate") or default_template
        template = next((t for t in templates if t.get("name") == wanted), templates[0] if len(templates) == 1 else {})
        t_index = templates.index(template) if template in templates else 0
        pod = template.get("spec") or {}
        labels = {label_key: name, **(get(template, "metadata.labels", {}) or {})}
        anti = required_anti_affinity(pod.get("affinity"))
        for dist in template.get("podDistribution") or []:
            if dist.get("type") in ("ClickHouseAntiAffinity", "ReplicaAntiAffinity", "ShardAntiAffinity"):
                anti.append({"topologyKey": dist.get("topologyKey", "kubernetes.io/hostname"), "labelSelector": {"matchLabels": {label_key: name}}})
        group = _pod_group(item, f"{name}/{cluster.get('name', index)}", labels, replicas, replicas,
                           _requests(pod.get("containers")), pod.get("topologySpreadConstraints"), None,
                           f"spec.templates.podTemplates.{t_index}.spec.topologySpreadConstraints")
        group.anti_affinity = anti
        groups.append(group)
    return groups


def _redis(item: RenderedObject) -> PodGroup:
    spec = item.obj.get("spec", {})
    meta = item.obj["metadata"]
    size = int(spec.get("clusterSize", 1))
    labels = {"app": meta["name"], **(meta.get("labels") or {})}
    return _pod_group(item, meta["name"], labels, size, size, _resource_block(get(spec, "kubernetesConfig.resources")),
                      spec.get("topologySpreadConstraints"), spec.get("affinity"), "spec.topologySpreadConstraints")


def pod_groups(rendered: list[RenderedObject]) -> list[PodGroup]:
    """Every group of pods the rendered objects make (workloads and the operators' custom resources).

    Autoscaled workloads get the autoscaler's bounds as their replicas (min) and max_replicas.
    """
    kafkas = {(r.obj["metadata"].get("namespace", ""), r.obj["metadata"]["name"]): r.obj for r in rendered if r.obj.get("kind") == "Kafka"}
    groups: list[PodGroup] = []
    for item in rendered:
        kind = item.obj.get("kind")
        if kind in POD_TEMPLATE_KINDS:
            groups.append(_template_group(item))
        elif kind == "Cluster" and item.obj.get("apiVersion", "").startswith("postgresql.cnpg.io/"):
            groups.append(_cnpg_cluster(item))
        elif kind == "Pooler":
            groups.append(_cnpg_pooler(item))
        elif kind == "KafkaNodePool":
            groups.append(_kafka_pool(item, kafkas))
        elif kind == "ClickHouseInstallation":
            groups.extend(_altinity(item, "clickhouse.altinity.com/chi", with_shards=True))
        elif kind == "ClickHouseKeeperInstallation":
            groups.extend(_altinity(item, "clickhouse-keeper.altinity.com/chk", with_shards=False))
        elif kind in ("RedisReplication", "RedisSentinel", "Redis"):
            groups.append(_redis(item))
    bounds = autoscaler_bounds(rendered)
    for group in groups:
        key = (group.namespace, group.source.obj["kind"], group.source.obj["metadata"]["name"])
        if key in bounds:
            group.replicas, group.max_replicas = bounds[key]
    return groups


def scale_target(obj: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) an HPA or ScaledObject scales (KEDA defaults the kind to Deployment)."""
    ref = get(obj, "spec.scaleTargetRef", {}) or {}
    return ref.get("kind") or "Deployment", ref.get("name", "")


def autoscaler_bounds(rendered: list[RenderedObject]) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(namespace, kind, name) of each autoscaled workload → (min, max) replicas of its HPA or ScaledObject."""
    bounds: dict[tuple[str, str, str], tuple[int, int]] = {}
    for item in rendered:
        kind, spec = item.obj.get("kind"), item.obj.get("spec", {})
        ns = item.obj.get("metadata", {}).get("namespace", "")
        if kind == "HorizontalPodAutoscaler":
            bounds[(ns, *scale_target(item.obj))] = (int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1)))
        elif kind == "ScaledObject":
            bounds[(ns, *scale_target(item.obj))] = (int(spec.get("minReplicaCount", 0)), int(spec.get("maxReplicaCount", 100)))
    return bounds


# --------------------------------------------------------------------------- zone loss


def worst_zone_count(group: PodGroup, zones: int) -> tuple[int, str]:
    """Most pods of the group that can sit in one zone (so a zone loss takes them all), and why.

    A hard zone spread (DoNotSchedule, maxSkew s) over Z zones bounds a zone to floor((n + (Z-1)s) / Z);
    hard zone anti-affinity to one pod; anything softer guarantees nothing, so all n may share a zone.
    """
    n = group.replicas
    if zones <= 1 or n == 0:
        return n, f"the spec has {zones} zone(s)"
    if any(term.get("topologyKey") == ZONE_KEY for term in group.anti_affinity):
        return min(n, 1), "required zone anti-affinity"
    hard = [c for c in group.spread if c.get("topologyKey") == ZONE_KEY and c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
            and selector_matches(c.get("labelSelector"), group.labels)]
    if hard:
        skew = min(int(c.get("maxSkew", 1)) for c in hard)
        return min(n, (n + (zones - 1) * skew) // zones), f"zone spread maxSkew {skew} (DoNotSchedule)"
    return n, "no hard zone spread or zone anti-affinity"


def survivors_after_zone_loss(group: PodGroup, zones: int) -> tuple[int, str]:
    """Pods of the group still running after the worst single-zone loss, and the reason."""
    worst, why = worst_zone_count(group, zones)
    return group.replicas - worst, why


def majority(n: int) -> int:
    """Members a quorum of ``n`` needs."""
    return n // 2 + 1


# --------------------------------------------------------------------------- durations and schedules

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}


def duration_seconds(text: Any) -> int | None:
    """Seconds of a Go/Prometheus duration ("720h0m0s", "15d", "1w2d"); None when unparseable."""
    if isinstance(text, bool) or text is None:
        return None
    if isinstance(text, (int, float)):
        return int(text)
    value = str(text).strip()
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return int(sum(float(n) * _UNITS[u] for n, u in parts))


def barman_retention_days(text: Any) -> int | None:
    """Days of a Barman retention policy ("30d", "4w", "1m" = 30 days); None when unparseable."""
    match = re.fullmatch(r"([1-9][0-9]*)([dwm])", str(text or ""))
    if not match:
        return None
    return int(match.group(1)) * {"d": 1, "w": 7, "m": 30}[match.group(2)]


def normalise_cron(expr: Any) -> str:
    """A cron expression with single spaces (for comparing the spec's schedule with an object's)."""
    return " ".join(str(expr or "").split())


def cron_interval_seconds(expr: str) -> int | None:
    """Seconds between runs of a simple cron schedule (5 fields, or 6 with seconds first): hourly or daily."""
    fields = normalise_cron(expr).split(" ")
    if len(fields) == 6:
        fields = fields[1:]
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    if dom != "*" or month != "*" or dow != "*" or not minute.isdigit():
        return None
    if hour == "*":
        return 3600
    if hour.isdigit():
        return 86400
    step = re.fullmatch(r"\*/(\d+)", hour)
    return int(step.group(1)) * 3600 if step else None


def ceil_div(a: int, b: int) -> int:
    """Integer ceiling division."""
    return -(-a // b) if b else 0


__all__ = ["PodGroup", "pod_groups", "selector_matches", "worst_zone_count", "survivors_after_zone_loss", "majority",
           "duration_seconds", "barman_retention_days", "normalise_cron", "cron_interval_seconds", "get"]
