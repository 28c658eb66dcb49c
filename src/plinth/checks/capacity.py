"""Capacity checks: the spec's node pools against the pods the tree runs, and the design's own Total row.

``pool_demand`` is the one seam to the planner (``plinth plan``): it sums requests per pool at minimum
and maximum replicas. The planner bin-packs; this check only needs the lower bound (a pool whose total
allocatable is below the total requests can never hold the pods, whatever the packing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.checks.kube import ceil_div, pod_groups
from plinth.render.conventions import DATASTORE_NAMES
from plinth.spec.model import NodePool, Platform

GIB = 2**30
MIB = 2**20


def allocatable(pool: NodePool) -> tuple[int, int]:
    """CPU millicores and memory bytes one node of the pool offers pods, after the kubelet/system reservation.

    The reservation follows GKE's documented formula (EKS/AKS reserve similar amounts): CPU 6 % of the first
    core, 1 % of the second, 0.5 % of the next two, 0.25 % above four; memory 25 % of the first 4 GiB, 20 % of
    the next 4, 10 % of the next 8, 6 % of the next 112, 2 % above 128 GiB, plus a 100 MiB eviction threshold.
    """
    cpu = pool.vcpu * 1000
    cpu_reserved = 0.06 * min(cpu, 1000) + 0.01 * min(max(cpu - 1000, 0), 1000) + 0.005 * min(max(cpu - 2000, 0), 2000) + 0.0025 * max(cpu - 4000, 0)
    mem = pool.memory_gib * GIB
    bands = ((4 * GIB, 0.25), (4 * GIB, 0.20), (8 * GIB, 0.10), (112 * GIB, 0.06), (float("inf"), 0.02))
    reserved, rest = 0.0, float(mem)
    for size, share in bands:
        part = min(rest, size)
        reserved += part * share
        rest -= part
    return int(cpu - cpu_reserved), int(mem - reserved - 100 * MIB)


@dataclass
class PoolDemand:
    """Requests of all pods scheduled on one pool."""

    cpu_min: int = 0
    """CPU millicores at minimum replicas."""
    memory_min: int = 0
    """Memory bytes at minimum replicas."""
    cpu_max: int = 0
    """CPU millicores at maximum replicas."""
    memory_max: int = 0
    """Memory bytes at maximum replicas."""
    pods_min: int = 0
    """Pods at minimum replicas."""


def _spec_max(platform: Platform, kind: str, name: str, replicas: int) -> int:
    """Maximum replicas the spec allows a data store that people scale by hand."""
    stores = platform.datastores
    if kind == "Cluster" and name == DATASTORE_NAMES["postgres"]:
        return stores.postgres.scaling.max_replicas
    if kind == "ClickHouseInstallation" and name.startswith(DATASTORE_NAMES["clickhouse"] + "/"):
        return stores.clickhouse.scaling.max_replicas * stores.clickhouse.shards
    return replicas


def pool_demand(ctx: CheckContext) -> dict[str, PoolDemand]:
    """Requests per node pool at minimum and maximum replicas: rendered pods plus the charts' declared footprints."""
    platform = ctx.platform
    demand = {name: PoolDemand() for name in platform.node_pools}

    def add(namespace: str, count_min: int, count_max: int, cpu: int, memory: int) -> None:
        try:
            pool_name, _ = platform.pool_for_namespace(namespace)
        except KeyError:
            return
        d = demand[pool_name]
        d.cpu_min += count_min * cpu
        d.memory_min += count_min * memory
        d.cpu_max += count_max * cpu
        d.memory_max += count_max * memory
        d.pods_min += count_min

    for group in pod_groups(ctx.rendered):
        if group.per_node:
            nodes = platform.node_pools[platform.pool_for_namespace(group.namespace)[0]].nodes if group.namespace in platform.namespaces else 0
            add(group.namespace, nodes, nodes, group.cpu_millicores, group.memory_bytes)
            continue
        top = max(group.max_replicas, _spec_max(platform, group.source.obj["kind"], group.name, group.replicas))
        add(group.namespace, group.replicas, top, group.cpu_millicores, group.memory_bytes)
    for fp in ctx.footprints():
        count = platform.node_pools[platform.pool_for_namespace(fp.namespace)[0]].nodes if fp.per_node else fp.replicas
        add(fp.namespace, count, count, fp.cpu_millicores, fp.memory_mib * MIB)
    return demand


def _nodes_needed(pool: NodePool, cpu: int, memory: int) -> int:
    node_cpu, node_mem = allocatable(pool)
    return max(ceil_div(cpu, node_cpu), ceil_div(memory, node_mem))


def pools_hold_minimum(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each pool's nodes (the spec's size) offer at least the requests of every pod at minimum replicas."""
    for name, d in pool_demand(ctx).items():
        pool = ctx.platform.node_pools[name]
        needed = _nodes_needed(pool, d.cpu_min, d.memory_min)
        if needed > pool.nodes:
            node_cpu, node_mem = allocatable(pool)
            yield check.finding(ctx, ctx.spec_ref(f"node_pools.{name}.nodes"), f"node_pools.{name}.nodes",
                                f"pool {name}: {d.pods_min} pods at minimum replicas request {d.cpu_min / 1000:g} vCPU and "
                                f"{d.memory_min / GIB:.1f} GiB, {pool.nodes} nodes offer {pool.nodes * node_cpu / 1000:g} vCPU and "
                                f"{pool.nodes * node_mem / GIB:.1f} GiB allocatable: at least {needed} nodes are needed")


def pools_headroom_at_maximum(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """How far each pool is from holding every pod at maximum replicas (the autoscaler must add nodes beyond it)."""
    for name, d in pool_demand(ctx).items():
        pool = ctx.platform.node_pools[name]
        needed = _nodes_needed(pool, d.cpu_max, d.memory_max)
        if needed > pool.nodes:
            within = "within" if needed <= pool.max_nodes else "BEYOND"
            yield check.finding(ctx, ctx.spec_ref(f"node_pools.{name}.max_nodes"), f"node_pools.{name}",
                                f"pool {name}: at maximum replicas pods request {d.cpu_max / 1000:g} vCPU and {d.memory_max / GIB:.1f} GiB, "
                                f"needing at least {needed} nodes: {needed - pool.nodes} more than its {pool.nodes}, {within} "
                                f"the autoscaler's max_nodes {pool.max_nodes}")


def pools_hold_minimum_packed(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each pool's nodes hold every pod at minimum replicas when the planner bin-packs them (zone spread,
    one-per-node anti-affinity, max pods and DaemonSets per node): stricter than PL-CAP-001's request sum."""
    from plinth.plan.capacity import plan_capacity

    plan = plan_capacity(ctx.platform, ctx.rendered)
    for pool in plan.pools:
        if pool.at_min.nodes > pool.spec.nodes:
            yield check.finding(ctx, ctx.spec_ref(f"node_pools.{pool.name}.nodes"), f"node_pools.{pool.name}.nodes",
                                f"pool {pool.name}: the planner packs the {pool.at_min.pods} pods at minimum replicas onto "
                                f"{pool.at_min.nodes} {pool.shape.instance.name} nodes ({plan.provider}), the spec has {pool.spec.nodes}")


def design_totals_add_up(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """The design's "Total" row equals the sum of its rows (control plane + node pools)."""
    p = ctx.platform
    if p.environment != check.params["environment"]:
        return  # the design's table describes the production cluster; other environments overlay the pool sizes
    cp = p.cluster.control_plane
    rows = [(cp.nodes, cp.vcpu, cp.memory_gib, cp.disk_gib)] + [(n.nodes, n.vcpu, n.memory_gib, n.disk_gib) for n in p.node_pools.values()]
    sums = {
        "nodes": sum(r[0] for r in rows),
        "vcpu": sum(r[0] * r[1] for r in rows),
        "memory_gib": sum(r[0] * r[2] for r in rows),
        "storage_gib": sum(r[0] * r[3] for r in rows),
    }
    for field_name, total in sums.items():
        stated = getattr(p.design_totals, field_name)
        if stated != total:
            yield check.finding(ctx, ctx.spec_ref(f"design_totals.{field_name}"), f"design_totals.{field_name}",
                                f"the Total row says {field_name} {stated}, but control plane + pools add up to {total}")


CHECKS = (
    Check("PL-CAP-001", "error", "promise", "Node pools hold every pod at minimum replicas",
          "Add nodes to the pool (node_pools.<pool>.nodes) or lower requests/minimum replicas.", pools_hold_minimum),
    Check("PL-CAP-002", "error", "promise", "The design's Total row equals the sum of its rows",
          "Correct design_totals to the sum of control plane and node pools (nodes x per-node size).", design_totals_add_up,
          {"environment": "prod"}),
    Check("PL-CAP-004", "error", "promise", "Node pools hold every pod at minimum replicas, bin-packed by the planner",
          "Add nodes to the pool (node_pools.<pool>.nodes); `plinth plan` shows the packing.", pools_hold_minimum_packed),
    Check("PL-CAP-003", "info", "promise", "Distance of each pool from holding every pod at maximum replicas",
          "Size max_nodes for the maximum replicas, or accept that the autoscaler adds nodes up to it.", pools_headroom_at_maximum),
)
