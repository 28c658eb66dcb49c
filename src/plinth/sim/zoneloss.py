"""``plinth sim zone-loss ZONE``: lose a zone of the simulated cluster and see what the promises hold.

1. Every node of the zone is cordoned, then drained through the Eviction API: the API server refuses an
   eviction a PodDisruptionBudget forbids (HTTP 429) and the drain retries it, as ``kubectl drain`` does,
   until ``drain_seconds``; what stays blocked is reported with the budget that blocked it.
2. The zone's nodes are deleted (the machines are gone); their pods go with them.
3. Right after, each service and store is counted (Ready pods outside the lost zone) against its promise;
   after the controllers and operators have reacted (until nothing changes), again, with every pod left
   Pending and the scheduler's reason.

Promises (the same numbers as ``plinth check``'s zone-loss checks): a service keeps
``min_serving_after_zone_loss(min_replicas)`` (two thirds of its minimum, rounded up); PostgreSQL a primary
plus its synchronous standbys; Kafka ``min.insync.replicas`` brokers and a controller majority; ClickHouse
``insert_quorum`` replicas and a Keeper majority; Redis a primary plus ``min_replicas_to_write`` and a Sentinel
majority. A workload's pods are found through their owner references (pod -> ReplicaSet/StatefulSet/... ->
the Rollout or operator resource), never through labels we assume.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from plinth.kube.conventions import DATASTORE_NAMES
from plinth.sim.kubeclient import NODES, PODS, ApiError, KubeClient, Resource
from plinth.spec.model import Platform
from plinth.spec.zones import min_serving_after_zone_loss

ZONE_KEY = "topology.kubernetes.io/zone"
APPS_NAMESPACE = "platform-apps"
DATA_NAMESPACE = "platform-data"


def majority(members: int) -> int:
    """More than half."""
    return members // 2 + 1


@dataclass(frozen=True)
class Target:
    """A service or store and what it must keep after a zone loss."""

    name: str
    owner_kind: str
    owner_name: str
    namespace: str
    needed: int
    promise: str
    roles: tuple[tuple[str, str], ...] = ()
    """Pod labels that select the members counted (Kafka brokers vs controllers)."""


@dataclass
class TargetResult:
    """One target before, right after and after recovery."""

    name: str
    promise: str
    needed: int
    before: int
    right_after: int
    recovered: int
    held: bool
    zones_before: dict[str, int] = field(default_factory=dict)
    zones_after: dict[str, int] = field(default_factory=dict)


@dataclass
class ZoneLossReport:
    """What losing one zone did."""

    zone: str
    nodes_lost: list[str] = field(default_factory=list)
    evicted: int = 0
    eviction_refusals: list[str] = field(default_factory=list)
    """Evictions a PodDisruptionBudget still refused when the drain gave up: pod and the API server's message."""
    pods_lost_with_nodes: int = 0
    drain_seconds: float = 0.0
    recovery_seconds: float = 0.0
    targets: list[TargetResult] = field(default_factory=list)
    pending: list[dict[str, str]] = field(default_factory=list)
    held: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        return asdict(self)


def targets(platform: Platform) -> list[Target]:
    """The promises of the spec, as owner kinds and names in the cluster."""
    found = [Target(name, "Rollout", name, APPS_NAMESPACE, min_serving_after_zone_loss(service.scaling.min_replicas),
                    f"service keeps >= 2/3 of its minimum {service.scaling.min_replicas}")
             for name, service in sorted(platform.services.items())]
    stores = platform.datastores
    pg = stores.postgres
    if pg.managed_by == "in-cluster":
        needed = 1 + pg.synchronous_standbys
        found.append(Target("postgres", "Cluster", DATASTORE_NAMES["postgres"], DATA_NAMESPACE, needed,
                            f"a primary + {needed - 1} synchronous standby"))
    kafka = stores.kafka
    found.append(Target("kafka brokers", "Kafka", DATASTORE_NAMES["kafka"], DATA_NAMESPACE, kafka.min_insync_replicas,
                        f"min.insync.replicas {kafka.min_insync_replicas} brokers", roles=(("strimzi.io/broker-role", "true"),)))
    found.append(Target("kafka controllers", "Kafka", DATASTORE_NAMES["kafka"], DATA_NAMESPACE, majority(kafka.controllers),
                        f"a controller majority of {kafka.controllers}", roles=(("strimzi.io/controller-role", "true"),)))
    ch = stores.clickhouse
    found.append(Target("clickhouse", "ClickHouseInstallation", DATASTORE_NAMES["clickhouse"], DATA_NAMESPACE, ch.insert_quorum,
                        f"insert_quorum {ch.insert_quorum} replicas"))
    found.append(Target("clickhouse keeper", "ClickHouseKeeperInstallation", DATASTORE_NAMES["clickhouse-keeper"], DATA_NAMESPACE,
                        majority(ch.keeper_nodes), f"a Keeper majority of {ch.keeper_nodes}"))
    redis = stores.redis
    if redis.managed_by == "in-cluster":
        found.append(Target("redis", "RedisReplication", DATASTORE_NAMES["redis"], DATA_NAMESPACE, 1 + redis.min_replicas_to_write,
                            f"a primary + min-replicas-to-write {redis.min_replicas_to_write}"))
        found.append(Target("redis sentinel", "RedisSentinel", DATASTORE_NAMES["redis-sentinel"], DATA_NAMESPACE,
                            max(redis.sentinel_quorum, majority(redis.sentinels)), f"a Sentinel majority of {redis.sentinels}"))
    return found


def _owner_index(client: KubeClient, namespaces: set[str]) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(namespace, kind, name) of every intermediate controller -> its own owner (kind, name)."""
    index: dict[tuple[str, str, str], tuple[str, str]] = {}
    resources = {"ReplicaSet": Resource("apps", "v1", "replicasets"), "StatefulSet": Resource("apps", "v1", "statefulsets"),
                 "Deployment": Resource("apps", "v1", "deployments")}
    for namespace in namespaces:
        for kind, resource in resources.items():
            for obj in client.list(resource, namespace):  # items of a built-in list carry no kind
                refs = obj["metadata"].get("ownerReferences") or []
                if refs:
                    index[(namespace, kind, obj["metadata"]["name"])] = (refs[0]["kind"], refs[0]["name"])
        try:
            for obj in client.list(Resource("core.strimzi.io", "v1", "strimzipodsets"), namespace):
                refs = obj["metadata"].get("ownerReferences") or []
                if refs:
                    index[(namespace, "StrimziPodSet", obj["metadata"]["name"])] = (refs[0]["kind"], refs[0]["name"])
        except ApiError:
            pass
    return index


def _roots(pod: dict[str, Any], index: dict[tuple[str, str, str], tuple[str, str]]) -> set[tuple[str, str]]:
    """Every owner up the chain of a pod (kind, name)."""
    namespace = pod["metadata"]["namespace"]
    found: set[tuple[str, str]] = set()
    refs = pod["metadata"].get("ownerReferences") or []
    current = (refs[0]["kind"], refs[0]["name"]) if refs else None
    while current and current not in found:
        found.add(current)
        current = index.get((namespace, *current))
    return found


def _ready(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and pod["metadata"].get("deletionTimestamp") is None and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def count(client: KubeClient, goals: list[Target], lost_nodes: set[str], node_zone: dict[str, str]) -> dict[str, tuple[int, dict[str, int]]]:
    """Ready pods per target (not on a lost node) and their zones."""
    namespaces = {t.namespace for t in goals}
    index = _owner_index(client, namespaces)
    pods = [p for ns in namespaces for p in client.list(PODS, ns)]
    result: dict[str, tuple[int, dict[str, int]]] = {}
    for target in goals:
        zones: dict[str, int] = {}
        total = 0
        for pod in pods:
            if pod["metadata"]["namespace"] != target.namespace or (target.owner_kind, target.owner_name) not in _roots(pod, index):
                continue
            labels = pod["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in target.roles):
                continue
            node = (pod.get("spec") or {}).get("nodeName", "")
            if not _ready(pod) or node in lost_nodes:
                continue
            total += 1
            zone = node_zone.get(node, "")
            zones[zone] = zones.get(zone, 0) + 1
        result[target.name] = (total, dict(sorted(zones.items())))
    return result


def _pending(client: KubeClient) -> list[dict[str, str]]:
    found = []
    for pod in client.list(PODS):
        status = pod.get("status") or {}
        if status.get("phase") != "Pending":
            continue
        reason = next((f"{c.get('reason', '')}: {c.get('message', '')}" for c in status.get("conditions") or []
                       if c.get("type") == "PodScheduled" and c.get("status") != "True"), "not scheduled yet")
        found.append({"pod": f"{pod['metadata']['namespace']}/{pod['metadata']['name']}", "reason": reason})
    return sorted(found, key=lambda p: p["pod"])


def lose_zone(client: KubeClient, platform: Platform, zone: str, *, drain_seconds: float = 180.0, settle_seconds: float = 60.0,
              recovery_timeout: float = 900.0, tick: Callable[[], object] = lambda: None,
              log: Callable[[str], None] = print) -> ZoneLossReport:
    """Cordon, drain (Eviction API) and delete the zone's nodes; count every promise before, right after and
    after recovery. ``tick`` runs between polls (the caller's reconcile of programs and stand-ins)."""
    report = ZoneLossReport(zone)
    nodes = client.list(NODES)
    node_zone = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(ZONE_KEY, "") for n in nodes}
    lost = {name for name, z in node_zone.items() if z == zone}
    if not lost:
        known = ", ".join(sorted(set(node_zone.values())))
        raise ValueError(f"no node is in zone {zone!r} (zones: {known})")
    report.nodes_lost = sorted(lost)
    goals = targets(platform)
    before = count(client, goals, set(), node_zone)
    for name in report.nodes_lost:
        client.patch(NODES, name, {"spec": {"unschedulable": True}})
    log(f"cordoned {len(lost)} nodes in {zone}")
    started = time.monotonic()
    refusals: dict[str, str] = {}
    while True:
        victims = [p for p in client.list(PODS) if (p.get("spec") or {}).get("nodeName") in lost
                   and not any(o.get("kind") == "DaemonSet" for o in p["metadata"].get("ownerReferences") or [])
                   and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                   and p["metadata"].get("deletionTimestamp") is None]
        if not victims:
            break
        for pod in victims:
            key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            try:
                client.evict(pod["metadata"]["name"], pod["metadata"]["namespace"])
                report.evicted += 1
                refusals.pop(key, None)
            except ApiError as exc:
                if exc.status == 404:
                    continue
                refusals[key] = exc.message
        if time.monotonic() - started > drain_seconds:
            break
        tick()
        time.sleep(5.0)
    report.drain_seconds = round(time.monotonic() - started, 1)
    report.eviction_refusals = [f"{pod}: {message}" for pod, message in sorted(refusals.items())]
    log(f"drained in {report.drain_seconds:.0f} s: {report.evicted} evicted, {len(refusals)} still refused")
    remaining = [p for p in client.list(PODS) if (p.get("spec") or {}).get("nodeName") in lost]
    report.pods_lost_with_nodes = len(remaining)
    for name in report.nodes_lost:
        client.delete(NODES, name)
    log(f"deleted the {len(lost)} nodes of {zone} ({len(remaining)} pods were still on them)")
    right_after = count(client, goals, lost, node_zone)
    started = time.monotonic()
    last, last_change = None, time.monotonic()
    while time.monotonic() - started < recovery_timeout:
        tick()
        snapshot = count(client, goals, lost, node_zone)
        pending = _pending(client)
        state = (snapshot, [p["pod"] for p in pending])
        if state != last:
            last, last_change = state, time.monotonic()
        elif time.monotonic() - last_change >= settle_seconds:
            break
        time.sleep(5.0)
    report.recovery_seconds = round(time.monotonic() - started, 1)
    recovered = count(client, goals, lost, node_zone)
    report.pending = _pending(client)
    for goal in goals:
        report.targets.append(TargetResult(goal.name, goal.promise, goal.needed, before[goal.name][0], right_after[goal.name][0],
                                           recovered[goal.name][0], right_after[goal.name][0] >= goal.needed,
                                           before[goal.name][1], recovered[goal.name][1]))
    report.held = all(t.held for t in report.targets)
    return report
