"""Capacity checks: the spec's node pools against the pods the tree runs, and the design's own Total row.

They judge the planner's capacity plan (``plinth plan``): the same pod inventory, the same node model
(``plinth.catalog.nodes``: each cloud's allocatable, max pods and the cloud's own DaemonSets), the same
packing. PL-CAP-001 is the lower bound no placement can go below; PL-CAP-004 the first-fit packing
with zone spread and one-per-node anti-affinity; PL-CAP-003 the distance at maximum replicas.
"""

from __future__ import annotations

from collections.abc import Iterator

from plinth.checks.engine import Check, CheckContext, Finding

GIB_MIB = 1024


def pools_hold_minimum(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each pool's nodes (the spec's size) offer at least the requests of every pod at minimum replicas."""
    plan = ctx.capacity()
    for pool in plan.pools:
        point = pool.at_min
        if point.lower_bound > pool.spec.nodes:
            shape = pool.shape
            yield check.finding(ctx, ctx.spec_ref(f"node_pools.{pool.name}.nodes"), f"node_pools.{pool.name}.nodes",
                                f"pool {pool.name}: {point.pods} pods at minimum replicas need at least {point.lower_bound} "
                                f"{shape.instance.name} nodes ({plan.provider}; each offers "
                                f"{(shape.allocatable_cpu_millicores - pool.daemonset_cpu_millicores) / 1000:g} vCPU and "
                                f"{(shape.allocatable_memory_mib - pool.daemonset_memory_mib) / GIB_MIB:.1f} GiB to them after "
                                f"DaemonSets); the spec has {pool.spec.nodes}")


def pools_headroom_at_maximum(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """How far each pool is from holding every pod at maximum replicas (the autoscaler must add nodes beyond it)."""
    for pool in ctx.capacity().pools:
        needed = pool.at_max.nodes
        if needed > pool.spec.nodes:
            within = "within" if needed <= pool.spec.max_nodes else "BEYOND"
            yield check.finding(ctx, ctx.spec_ref(f"node_pools.{pool.name}.max_nodes"), f"node_pools.{pool.name}",
                                f"pool {pool.name}: at maximum replicas pods request {pool.at_max.cpu_requested_millicores / 1000:g} vCPU "
                                f"and {pool.at_max.memory_requested_mib / GIB_MIB:.1f} GiB, packed onto {needed} nodes: "
                                f"{needed - pool.spec.nodes} more than its {pool.spec.nodes}, {within} the autoscaler's max_nodes "
                                f"{pool.spec.max_nodes}")


def pools_hold_minimum_packed(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each pool's nodes hold every pod at minimum replicas when the planner bin-packs them (zone spread,
    one-per-node anti-affinity, max pods and DaemonSets per node): stricter than PL-CAP-001's lower bound."""
    plan = ctx.capacity()
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
