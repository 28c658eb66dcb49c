"""Every pod group of one platform: the objects Argo CD would apply (the rendered tree and what its chart
Applications hydrate to), and what the spec declares but nothing renders yet. The planner and the checks read
the same inventory.

The objects are the truth: every Deployment, StatefulSet, DaemonSet, Rollout and operator custom resource of
the rendered tree and of the hydrated charts is read by the one pod model (``plinth.kube.pods``).
A workload the spec declares (a service, a data store, a telemetry store, the gateway) that no object runs
(e.g. its chart was not hydrated) is still planned, from the spec's own numbers, and marked
``spec (not rendered)`` so the gap is visible instead of silently under-counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from plinth.kube.pods import PodGroup, pod_groups
from plinth.kube.scheduling import pool_placement
from plinth.spec.model import ContainerResources, Platform
from plinth.spec.types import cpu_millicores, memory_bytes

SPEC_SOURCE = "spec (not rendered)"

ASSUMED_TELEMETRY_REQUESTS: dict[str, tuple[int, int]] = {
    "prometheus": (2000, 8192),
    "loki": (1000, 2048),
    "tempo": (1000, 2048),
    "alertmanager": (100, 256),
    "grafana": (250, 512),
    "gateway": (500, 512),
}
"""CPU (m) and memory (MiB) per pod assumed for telemetry stores and the gateway while no component renders
them (the spec gives their replicas and storage, not their requests): sized for ~1000 organisations."""


def limit_range_defaults(platform: Platform) -> Callable[[str], tuple[int, int]]:
    """Namespace -> (CPU m, memory MiB) a container without requests gets from the namespace's LimitRange."""
    def lookup(namespace: str) -> tuple[int, int]:
        ns = platform.namespaces.get(namespace)  # type: ignore[call-overload]
        if ns is None:
            return (0, 0)
        return cpu_millicores(ns.limits.default_request_cpu), memory_bytes(ns.limits.default_request_memory) // 2**20
    return lookup


def _requests(resources: ContainerResources) -> tuple[int, int]:
    return cpu_millicores(resources.requests_cpu), memory_bytes(resources.requests_memory) // 2**20


@dataclass(frozen=True)
class Declared:
    """A workload the spec declares, and how to recognise it among rendered workloads."""

    workload: PodGroup
    matches: Callable[[PodGroup], bool]


def _kind_is(*kinds: str) -> Callable[[PodGroup], bool]:
    return lambda w: w.kind in kinds


def _named(namespace: str, word: str, *, kinds: tuple[str, ...] = (), unless: tuple[str, ...] = ("exporter", "operator")) -> Callable[[PodGroup], bool]:
    def match(w: PodGroup) -> bool:
        name = w.short_name.lower()
        if kinds and w.kind in kinds:
            return True
        return w.namespace == namespace and word in name and not any(u in name for u in unless)
    return match


def declared_workloads(platform: Platform) -> list[Declared]:
    """Every workload the spec declares, with the spec's replicas, requests and volumes."""
    ds = platform.datastores
    defaults = limit_range_defaults(platform)
    data_ns, apps_ns, mon_ns, sys_ns = "platform-data", "platform-apps", "platform-monitoring", "platform-system"
    out: list[Declared] = []

    def add(name: str, ns: str, requests: tuple[int, int], low: int, high: int, matches: Callable[[PodGroup], bool], volume: int = 0) -> None:
        placement = pool_placement(platform, ns)
        tolerations = tuple(sorted((t["key"], t["operator"], t["effect"]) for t in placement.get("tolerations", [])))
        out.append(Declared(PodGroup("Spec", ns, name, None, {}, low, high, requests[0], requests[1], volume_gib=volume,
                                     tolerations=tolerations, source=SPEC_SOURCE), matches))

    for name, svc in sorted(platform.services.items()):
        add(name, apps_ns, _requests(svc.resources), svc.scaling.min_replicas, svc.scaling.max_replicas,
            lambda w, n=name: w.namespace == apps_ns and w.kind in ("Deployment", "Rollout", "StatefulSet") and w.object_name == n)
    if ds.postgres.managed_by == "in-cluster":
        add("postgres", data_ns, _requests(ds.postgres.resources), ds.postgres.instances, ds.postgres.instances, _kind_is("Cluster"),
            ds.postgres.storage.size_gib + ds.postgres.wal_storage.size_gib)
        add("postgres-pooler", data_ns, defaults(data_ns), ds.postgres.pooler_instances, ds.postgres.pooler_instances, _kind_is("Pooler"))
    ch = ds.clickhouse
    add("clickhouse", data_ns, _requests(ch.resources), ch.shards * ch.replicas, ch.shards * ch.replicas,
        _kind_is("ClickHouseInstallation"), ch.storage.size_gib)
    add("clickhouse-keeper", data_ns, _requests(ch.keeper_resources), ch.keeper_nodes, ch.keeper_nodes,
        _kind_is("ClickHouseKeeperInstallation"), ch.keeper_storage.size_gib)
    if ds.redis.managed_by == "in-cluster":
        add("redis", data_ns, _requests(ds.redis.resources), ds.redis.nodes, ds.redis.nodes, _kind_is("RedisReplication"), ds.redis.storage.size_gib)
        add("redis-sentinel", data_ns, defaults(data_ns), ds.redis.sentinels, ds.redis.sentinels, _kind_is("RedisSentinel"))
    kf = ds.kafka
    add("kafka-broker", data_ns, _requests(kf.resources), kf.brokers, kf.brokers, _kind_is("KafkaNodePool"), kf.storage.size_gib)
    add("kafka-controller", data_ns, _requests(kf.controller_resources), kf.controllers, kf.controllers, _kind_is("KafkaNodePool"),
        kf.controller_storage.size_gib)
    obs = platform.observability
    add("prometheus", mon_ns, ASSUMED_TELEMETRY_REQUESTS["prometheus"], obs.prometheus.replicas, obs.prometheus.replicas,
        _named(mon_ns, "prometheus", kinds=("Prometheus",)), obs.prometheus.storage_gib)
    for store in ("loki", "tempo"):
        replicas = getattr(obs, store).replicas
        add(store, mon_ns, ASSUMED_TELEMETRY_REQUESTS[store], replicas, replicas, _named(mon_ns, store))
    add("alertmanager", mon_ns, ASSUMED_TELEMETRY_REQUESTS["alertmanager"], obs.alerting.alertmanager_replicas,
        obs.alerting.alertmanager_replicas, _named(mon_ns, "alertmanager", kinds=("Alertmanager",)))
    add("grafana", mon_ns, ASSUMED_TELEMETRY_REQUESTS["grafana"], obs.grafana_replicas, obs.grafana_replicas, _named(mon_ns, "grafana"))
    add("gateway-envoy", sys_ns, ASSUMED_TELEMETRY_REQUESTS["gateway"], platform.edge.gateway_replicas, platform.edge.gateway_replicas,
        _named(sys_ns, "envoy", kinds=("EnvoyProxy",), unless=("envoy-gateway", "operator")))
    return out


def inventory(platform: Platform, objects: Iterable[dict[str, Any]], fill_from_spec: bool = True) -> list[PodGroup]:
    """Every pod group of one platform: the objects' pods (rendered and hydrated), and declared-but-unrendered spec workloads."""
    found = pod_groups(objects, limit_range_defaults(platform))
    if fill_from_spec:
        found.extend(d.workload for d in declared_workloads(platform) if not any(d.matches(w) for w in found))
    return sorted(found, key=lambda w: w.name)
