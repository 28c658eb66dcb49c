"""The spec's dashboards exist as code with stable UIDs, at least one panel each, every query parses in promtool.
(Whether each metric they read is produced is judged on the union: tests/monitoring/test_producers.py.)"""

from __future__ import annotations

import json

import pytest

from plinth.components.prometheus_stack import DASHBOARD_LABEL, grafana_values
from plinth.components.registry import ALL_COMPONENTS
from plinth.monitoring.dashboards import SERVICE_VARIABLE, DashboardError, dashboard_queries, panels_by_dashboard
from plinth.render.stages import GRAFANA_DASHBOARDS, all_panels, dashboards
from plinth.monitoring.promql import expand_grafana_variables
from plinth.monitoring.panels import Panel
from plinth.monitoring.promtool import check_expressions, promtool_path

DESIGN_DASHBOARDS = ["Platform Health Overview", "Service Performance", "Pipeline Execution Status", "Cost Tracking", "User Activity"]


def _configmaps(platform) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in GRAFANA_DASHBOARDS.objects(platform, ALL_COMPONENTS)}


def test_the_five_design_dashboards_exist_with_spec_uids_and_panels(platforms) -> None:
    for platform in platforms.values():
        built = dashboards(platform, ALL_COMPONENTS)
        assert sorted(d.title for d in platform.observability.dashboards) == sorted(DESIGN_DASHBOARDS)
        for spec in platform.observability.dashboards:
            model = built[spec.uid]
            assert model["uid"] == spec.uid and model["title"] == spec.title
            panels = [p for p in model["panels"] if p["type"] != "row"]
            assert len(panels) >= 1, spec.title
            assert all(p["targets"] for p in panels), spec.title


def test_dashboards_are_provisioned_as_sidecar_configmaps(prod) -> None:
    maps = _configmaps(prod)
    sidecar = grafana_values(prod)["sidecar"]["dashboards"]
    assert sidecar["enabled"] and sidecar["label"] == DASHBOARD_LABEL
    for spec in prod.observability.dashboards:
        cm = maps[f"dashboard-{spec.uid}"]
        assert cm["metadata"]["labels"][DASHBOARD_LABEL] == sidecar["labelValue"]
        assert cm["metadata"]["namespace"] == sidecar["searchNamespace"]
        model = json.loads(cm["data"][f"{spec.uid}.json"])
        assert model["uid"] == spec.uid


def test_dashboard_json_is_stable_across_renders(prod) -> None:
    assert GRAFANA_DASHBOARDS.objects(prod, ALL_COMPONENTS) == GRAFANA_DASHBOARDS.objects(prod, ALL_COMPONENTS)


def test_service_performance_repeats_per_service(prod) -> None:
    spec = next(d for d in prod.observability.dashboards if d.per_service)
    model = dashboards(prod, ALL_COMPONENTS)[spec.uid]
    (variable,) = [v for v in model["templating"]["list"] if v["name"] == SERVICE_VARIABLE]
    assert variable["query"].split(",") == sorted(prod.services)
    rows = [p for p in model["panels"] if p["type"] == "row"]
    assert rows and rows[0]["repeat"] == SERVICE_VARIABLE
    for panel in model["panels"]:
        if panel["type"] != "row":
            assert all(f"${SERVICE_VARIABLE}" in t["expr"] for t in panel["targets"] if "vector(" not in t["expr"]), panel["title"]


def _sample_variables(platform) -> dict[str, str]:
    return {SERVICE_VARIABLE: next(iter(sorted(platform.services)))}


@pytest.mark.skipif(promtool_path() is None, reason="promtool missing: `make test` installs Debian's prometheus package")
def test_every_dashboard_query_parses_in_promtool(platforms) -> None:
    for platform in platforms.values():
        queries = [expand_grafana_variables(q, _sample_variables(platform))
                   for model in dashboards(platform, ALL_COMPONENTS).values() for kind, q in dashboard_queries(model) if kind == "prometheus"]
        assert queries
        result = check_expressions(queries)
        assert result.ok, result.output


@pytest.mark.skipif(promtool_path() is None, reason="promtool missing")
def test_a_broken_dashboard_query_fails_promtool() -> None:
    assert not check_expressions(["sum(rate(http_requests_total[5m])"]).ok


def test_a_panel_on_an_unknown_dashboard_is_a_clear_error(prod) -> None:
    with pytest.raises(DashboardError, match="not one of the spec's observability.dashboards"):
        panels_by_dashboard(prod, [Panel("no-such-dashboard", "x", ("up",))])


def test_panels_come_from_several_components(prod) -> None:
    contributors = {c.name for c in ALL_COMPONENTS if c.panels(prod)}
    assert {"kube-prometheus-stack", "opencost", "app-services", "kafka"} <= contributors
    assert len(all_panels(prod, ALL_COMPONENTS)) == sum(len(c.panels(prod)) for c in ALL_COMPONENTS)


def test_kube_state_metrics_exports_the_object_labels_dashboards_group_by(prod) -> None:
    """A ``label_x`` on kube_pod_labels/kube_node_labels exists only if kube-state-metrics allow-lists it."""
    import re

    from plinth.components import prometheus_stack

    allow = prometheus_stack.values(prod)["kube-state-metrics"]["metricLabelsAllowlist"]
    exported = {"label_" + re.sub(r"[^a-zA-Z0-9]", "_", label)
                for entry in allow for label in entry.split("=", 1)[1].strip("[]").split(",")}
    used = {m for model in dashboards(prod, ALL_COMPONENTS).values() for _, q in dashboard_queries(model)
            for m in re.findall(r"\blabel_[a-z0-9_]+", q)} - {"label_replace", "label_join"}
    assert used, "the dashboards group by object labels"
    assert used <= exported, sorted(used - exported)
