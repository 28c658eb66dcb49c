"""The checks and the planner read one pod model and one node model: the same pods, the same allocatable."""

from __future__ import annotations

from plinth.catalog.nodes import node_shape
from plinth.checks.engine import CheckContext
from plinth.plan.capacity import plan_capacity
from plinth.plan.inventory import inventory
from plinth.render.pipeline import render_platform


def test_checks_see_every_pod_group_the_planner_packs(platforms) -> None:
    for platform in platforms.values():
        rendered = render_platform(platform)
        ctx = CheckContext(platform, rendered)
        seen_by_checks = {g.name for g in ctx.pod_groups()}
        planned = {g.name for g in inventory(platform, [r.obj for r in rendered]) if g.source == "rendered"}
        assert seen_by_checks == planned
        proxies = [g for g in ctx.pod_groups() if g.kind == "EnvoyProxy"]
        assert [g.role for g in proxies] == ["platform-system/public"], "the gateway's Envoy proxies are pods the checks see"
        assert proxies[0].labels["gateway.envoyproxy.io/owning-gateway-name"] == "public"
        assert proxies[0].replicas_min == platform.edge.gateway_replicas


def test_capacity_checks_judge_the_planners_plan_on_the_catalogs_nodes(prod) -> None:
    rendered = render_platform(prod)
    ctx = CheckContext(prod, rendered)
    plan = ctx.capacity()
    assert plan == plan_capacity(prod, rendered)
    for pool in plan.pools:
        assert pool.shape == node_shape(prod.cluster.provider, prod.node_pools[pool.name])
    apps = plan.pool("apps").shape
    # one allocatable for an AWS apps node: m6i.2xlarge, EKS reservations (11 MiB x 58 pods + 255 MiB + 100 MiB)
    assert (apps.instance.name, apps.allocatable_memory_mib) == ("m6i.2xlarge", 32768 - (255 + 11 * 58 + 100))
