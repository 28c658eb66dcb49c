"""Capacity: how many nodes each pool needs to run every pod, at minimum and at maximum replicas.

``plan_capacity(platform, rendered, hydrated=...)`` is the entry point (the capacity check calls it): it takes
the inventory (``inventory.py``) of the rendered objects and of what the chart Applications hydrate to, places each workload on its node pool (``plinth.dev/pool`` node selector or
the namespace's pool; taints must be tolerated), subtracts what every node of the pool gives to
DaemonSets (the cloud's and the platform's) from the node's allocatable capacity, spreads each
workload's replicas over the cluster's zones round-robin, and packs each zone with first-fit
decreasing. Next to it: the lower bound, the requests, the utilisation, and whether the spec's pool
sizes hold the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from plinth.catalog.nodes import NodeShape, cloud_daemonset_requests, node_shape
from plinth.charts.hydrate import HydratedObject, chart_applications
from plinth.kube.pods import PodGroup
from plinth.plan.inventory import inventory
from plinth.plan.packing import Capacity, Pod, first_fit_decreasing, lower_bound
from plinth.render.pipeline import RenderedObject, render_platform
from plinth.spec.model import NodePool, Platform, Provider


@dataclass(frozen=True)
class ScalePoint:
    """One pool at one replica scale (minimum or maximum)."""

    nodes: int
    """Nodes first-fit decreasing needs."""
    lower_bound: int
    """Nodes no placement can go below."""
    pods: int
    """Pods placed (DaemonSet pods not counted)."""
    cpu_requested_millicores: int
    """CPU requested by the placed pods plus DaemonSet pods on the nodes needed."""
    memory_requested_mib: int
    """Memory requested likewise."""
    cpu_utilisation: float
    """Requested CPU / allocatable CPU of the nodes needed (0-1)."""
    memory_utilisation: float
    """Requested memory / allocatable memory of the nodes needed (0-1)."""


@dataclass(frozen=True)
class PoolPlan:
    """The plan of one node pool."""

    name: str
    spec: NodePool
    shape: NodeShape
    daemonset_cpu_millicores: int
    """CPU each node gives to DaemonSet pods (cloud add-ons + the platform's)."""
    daemonset_memory_mib: int
    """Memory each node gives to DaemonSet pods."""
    at_min: ScalePoint
    at_max: ScalePoint
    volume_gib: int
    """Persistent volumes claimed by the pool's pods at maximum replicas, GiB."""
    workloads: tuple[PodGroup, ...]
    """Workloads placed on this pool (DaemonSets included)."""

    @property
    def holds(self) -> bool:
        """The spec's sizing holds: its node count runs minimum replicas and its autoscaler ceiling runs maximum ones."""
        return self.at_min.nodes <= self.spec.nodes and self.at_max.nodes <= self.spec.max_nodes


@dataclass(frozen=True)
class CapacityPlan:
    """Capacity of every pool of one platform on one cloud."""

    provider: Provider
    organisations: int
    pools: tuple[PoolPlan, ...]
    problems: tuple[str, ...] = field(default=())
    """Pods that cannot be scheduled (unknown pool, untolerated taint, larger than a node)."""
    unrendered: tuple[str, ...] = field(default=())
    """Workloads planned from the spec because nothing rendered them yet."""
    unhydrated: tuple[str, ...] = field(default=())
    """Chart Applications whose objects were not hydrated (no chart directory): their pods are missing from the plan."""

    def pool(self, name: str) -> PoolPlan:
        """The plan of one pool."""
        return next(p for p in self.pools if p.name == name)


def _tolerates(workload: PodGroup, pool: NodePool) -> bool:
    for taint in pool.taints:
        ok = any(
            (key == "" and op == "Exists") or (key == taint.key and (op == "Exists" or op == "Equal") and effect in ("", taint.effect))
            for key, op, effect in workload.tolerations
        )
        if not ok:
            return False
    return True


def _pools_of(workload: PodGroup, platform: Platform, problems: list[str]) -> list[str]:
    if workload.node_pool is not None:
        if workload.node_pool not in platform.node_pools:
            problems.append(f"{workload.name}: node selector names pool {workload.node_pool!r}, which the spec does not have")
            return []
        candidates = [workload.node_pool]
    elif workload.per_node:
        candidates = sorted(platform.node_pools)
    else:
        try:
            candidates = [platform.pool_for_namespace(workload.namespace)[0]]
        except KeyError:
            problems.append(f"{workload.name}: namespace {workload.namespace!r} is placed on no node pool")
            return []
    tolerated = [p for p in candidates if _tolerates(workload, platform.node_pools[p])]
    if not tolerated and not workload.per_node:
        problems.append(f"{workload.name}: does not tolerate the taints of pool {candidates[0]!r}")
    return tolerated


def _zone_pods(workloads: list[PodGroup], zones: int, at_max: bool) -> list[list[tuple[Pod, int]]]:
    """Each workload's replicas dealt over the zones round-robin (as a maxSkew 1 zone spread places them),
    continuing where the previous workload stopped so small workloads do not all start in the first zone."""
    per_zone: list[list[tuple[Pod, int]]] = [[] for _ in range(zones)]
    offset = 0
    for w in workloads:
        count = w.replicas_max if at_max else w.replicas_min
        pod = Pod(w.name, w.cpu_millicores, w.memory_mib, w.one_per_node)
        for zone in range(zones):
            share = count // zones + (1 if (zone - offset) % zones < count % zones else 0)
            if share:
                per_zone[zone].append((pod, share))
        offset = (offset + count) % zones
    return per_zone


def _scale_point(workloads: list[PodGroup], zones: int, at_max: bool, capacity: Capacity, shape: NodeShape,
                 ds_cpu: int, ds_mem: int, problems: list[str], pool_name: str) -> ScalePoint:
    per_zone = _zone_pods(workloads, zones, at_max)
    nodes = 0
    cpu = mem = pods = 0
    for zone_pods in per_zone:
        result = first_fit_decreasing(zone_pods, capacity)
        nodes += result.nodes
        cpu, mem = cpu + result.cpu_used_millicores, mem + result.memory_used_mib
        pods += sum(count for _, count in zone_pods) - result.unplaced_count
        for pod in result.unplaced:
            message = (f"{pod.group}: a pod requests {pod.cpu_millicores}m CPU / {pod.memory_mib}Mi, more than a {shape.instance.name} "
                       f"node of pool {pool_name!r} offers after DaemonSets ({capacity.cpu_millicores}m / {capacity.memory_mib}Mi)")
            if message not in problems:
                problems.append(message)
    bound = lower_bound(per_zone, capacity)
    cpu += nodes * ds_cpu
    mem += nodes * ds_mem
    alloc_cpu, alloc_mem = nodes * shape.allocatable_cpu_millicores, nodes * shape.allocatable_memory_mib
    return ScalePoint(nodes, bound, pods, cpu, mem, cpu / alloc_cpu if alloc_cpu else 0.0, mem / alloc_mem if alloc_mem else 0.0)


def plan_pools(platform: Platform, workloads: Iterable[PodGroup], provider: Provider) -> CapacityPlan:
    """Pack a given inventory onto the platform's pools on ``provider`` (pods that run to completion, Jobs and sync
    hooks, reserve no node: they run in the room the others leave)."""
    problems: list[str] = []
    placed: dict[str, list[PodGroup]] = {name: [] for name in platform.node_pools}
    workloads = [w for w in workloads if not w.transient]
    for w in workloads:
        for pool in (_pools_of(w, platform, problems) if (w.per_node or w.replicas_max > 0) else []):
            placed[pool].append(w)
            if not w.per_node:
                break
    zones = len(platform.cluster.zones)
    plans = []
    for name, pool in platform.node_pools.items():
        shape = node_shape(provider, pool)
        daemonsets = [w for w in placed[name] if w.per_node]
        movable = sorted((w for w in placed[name] if not w.per_node), key=lambda w: w.name)
        cloud_cpu, cloud_mem, cloud_pods = cloud_daemonset_requests(provider)
        ds_cpu = cloud_cpu + sum(w.cpu_millicores for w in daemonsets)
        ds_mem = cloud_mem + sum(w.memory_mib for w in daemonsets)
        ds_pods = cloud_pods + len(daemonsets)
        capacity = Capacity(shape.allocatable_cpu_millicores - ds_cpu, shape.allocatable_memory_mib - ds_mem, shape.max_pods - ds_pods)
        if min(capacity.cpu_millicores, capacity.memory_mib, capacity.pods) <= 0:
            problems.append(f"pool {name!r}: DaemonSets take all of a {shape.instance.name} node ({ds_cpu}m CPU, {ds_mem}Mi)")
            capacity = Capacity(max(capacity.cpu_millicores, 1), max(capacity.memory_mib, 1), max(capacity.pods, 1))
        at_min = _scale_point(movable, zones, False, capacity, shape, ds_cpu, ds_mem, problems, name)
        at_max = _scale_point(movable, zones, True, capacity, shape, ds_cpu, ds_mem, problems, name)
        volume = sum(w.volume_gib * w.replicas_max for w in movable)
        plans.append(PoolPlan(name, pool, shape, ds_cpu, ds_mem, at_min, at_max, volume, tuple(daemonsets + movable)))
    unrendered = tuple(w.name for w in workloads if w.source.startswith("spec"))
    return CapacityPlan(provider, platform.load.organisations, tuple(plans), tuple(problems), unrendered)


def rendered_objects(platform: Platform, rendered: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """Objects of ``platform``'s environment: from ``rendered`` (RenderedObjects or dicts), or a fresh render."""
    if rendered is None:
        rendered = render_platform(platform)
    objects = []
    for item in rendered:
        if hasattr(item, "obj"):
            if item.environment == platform.environment:
                objects.append(item.obj)
        else:
            objects.append(item)
    return objects


def unhydrated_applications(platform: Platform, objects: Iterable[dict[str, Any]],
                            hydrated: Iterable[HydratedObject] | None) -> tuple[str, ...]:
    """Chart Applications among ``objects`` none of whose objects are in ``hydrated`` (all of them when None)."""
    done = {h.application for h in hydrated or () if h.environment == platform.environment}
    apps = chart_applications(RenderedObject(f"{platform.environment}/apps/x.yaml", o, "gitops", platform.environment)
                              for o in objects if o.get("kind") == "Application")
    return tuple(a.name for a in apps if hydrated is None or a.name not in done)


def plan_capacity(platform: Platform, rendered: Iterable[Any] | None = None, provider: Provider | None = None,
                  hydrated: Iterable[HydratedObject] | None = None) -> CapacityPlan:
    """Nodes each pool needs for every pod of ``platform``: the rendered objects, the objects its chart Applications
    hydrate to (``hydrated``; None: not hydrated, and the plan lists them in ``unhydrated``), and spec workloads
    nothing runs."""
    objects = rendered_objects(platform, rendered)
    hydrated = None if hydrated is None else [h for h in hydrated if h.environment == platform.environment]
    missing = unhydrated_applications(platform, objects, hydrated)
    plan = plan_pools(platform, inventory(platform, objects + [h.obj for h in hydrated or ()]), provider or platform.cluster.provider)
    return replace(plan, unhydrated=missing)
