"""The planner plans the pods the charts hydrate to, with no declared footprints; without the charts it says so."""

from __future__ import annotations

from plinth.charts.workflow import Hydrator
from plinth.plan import plan_capacity, plan_point
from plinth.render.pipeline import render_platform
from tests.conftest import CHART_DIR, DEFAULT_SPEC, needs_charts


@needs_charts
def test_chart_pods_are_planned_from_the_hydrated_objects(prod, hydration) -> None:
    rendered = render_platform(prod)
    plan = plan_capacity(prod, rendered, hydrated=hydration.for_environment("prod"))
    assert plan.unhydrated == () and plan.unrendered == () and plan.problems == ()
    names = {w.name for pool in plan.pools for w in pool.workloads}
    assert {"Deployment/platform-system/cert-manager-webhook", "Prometheus/platform-monitoring/kps-prometheus",
            "DaemonSet/platform-monitoring/alloy", "Deployment/platform-data/cloudnative-pg"} <= names
    assert not any(name.startswith(("Chart/", "Spec/")) for name in names)
    data = {w.name for w in plan.pool("data").workloads}
    assert "Deployment/platform-data/strimzi-cluster-operator" in data, "the data operators tolerate the data pool's taint"
    assert not any(w.transient for pool in plan.pools for w in pool.workloads), "hooks and Jobs reserve no node"


def test_without_the_charts_the_plan_names_what_it_left_out(prod) -> None:
    plan = plan_capacity(prod, render_platform(prod))
    assert len(plan.unhydrated) == 20 and {"kube-prometheus-stack-chart", "polaris"} <= set(plan.unhydrated)
    names = {w.name for pool in plan.pools for w in pool.workloads}
    assert "Spec/platform-monitoring/prometheus" in names, "the spec's telemetry stores stand in, marked as planned from the spec"
    point = plan_point(prod, providers=("aws",))
    assert sorted(point.unhydrated) == sorted(plan.unhydrated), "a growth point leaves out the same chart Applications"


@needs_charts
def test_every_size_of_a_growth_curve_is_hydrated(prod) -> None:
    hydrator = Hydrator(DEFAULT_SPEC, CHART_DIR)
    small, big = (plan_point(prod, orgs, ("aws",), hydrator=hydrator) for orgs in (1000, 3000))
    assert small.unhydrated == big.unhydrated == ()

    def prometheus(point):
        return next(w for pool in point.clouds["aws"].capacity.pools for w in pool.workloads if w.kind == "Prometheus")

    assert prometheus(small).volume_gib == prod.observability.prometheus.storage_gib
    assert prometheus(big).volume_gib == big.platform.observability.prometheus.storage_gib > prometheus(small).volume_gib
