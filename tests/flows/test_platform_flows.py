"""The platform's flows over the real pods of both environments (the rendered tree and the hydrated charts): every
intended flow allowed, nothing allowed that is not intended except the waived breadth, no policy late; and planted
policies that cut a declared flow, open an undeclared one or arrive late are reported with the policy and rule.

Needs ../shared/charts (the pinned chart archives) to hydrate the charts; skips without it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from plinth.charts.workflow import hydrate_spec
from plinth.checks import check_platforms, load_waivers
from plinth.cli import app
from plinth.components.registry import ALL_COMPONENTS
from plinth.flows.analysis import analyse
from plinth.flows.inventory import sourced_objects
from plinth.kube.flows import API_SERVER, Pods, flow
from plinth.render.network import declared_flows
from plinth.render.pipeline import RenderedObject, render_all
from tests.conftest import DEFAULT_SPEC, REPO, SHARED

CHARTS = SHARED / "charts"
pytestmark = pytest.mark.skipif(not CHARTS.is_dir(), reason="needs ../shared/charts (the pinned chart archives; CI always has them)")
WAIVERS = REPO / "check-waivers.yaml"


@pytest.fixture(scope="module")
def world(platforms):
    rendered = render_all(platforms)
    return rendered, hydrate_spec(DEFAULT_SPEC, platforms, rendered)


def _report(platform, rendered, hydration, flows=None):
    objects = sourced_objects(platform, rendered, hydration.for_environment(platform.environment))
    return analyse(platform, objects, flows if flows is not None else declared_flows(platform, ALL_COMPONENTS))


def _net_findings(platforms, rendered, hydration):
    report = check_platforms(platforms, rendered, load_waivers(WAIVERS), WAIVERS, str(DEFAULT_SPEC), hydration=hydration)
    return [f for f in report.findings if f.check_id.startswith("PL-NET-")]


def _replace_policy(rendered, env, namespace, name, change):
    result = []
    for item in rendered:
        meta = item.obj["metadata"]
        if item.environment == env and item.obj["kind"] == "NetworkPolicy" and meta["name"] == name and meta["namespace"] == namespace:
            obj = copy.deepcopy(item.obj)
            change(obj)
            item = replace(item, obj=obj)
        result.append(item)
    return result


def test_every_intended_flow_is_allowed_and_only_the_waived_breadth_is_unintended(platforms, world) -> None:
    rendered, hydration = world
    for env, platform in sorted(platforms.items()):
        report = _report(platform, rendered, hydration)
        inv = report.inventory
        assert report.missing == [], [(inv.label(m.source), inv.label(m.destination), m.ports.describe()) for m in report.missing]
        assert report.unmatched == [] and report.late == []
        assert len(report.intended) > 250 and len(inv.policies) > 60
        for extra in report.unintended:
            assert {str(c.ref) for c in extra.rules} == {"platform-monitoring/allow-prometheus spec.egress.0"}, extra
            assert inv.namespace_of(extra.destination) == "kube-system" and extra.ports.describe() == "TCP 9100, 10250"
    findings = _net_findings(platforms, rendered, hydration)
    assert [f for f in findings if f.waived_by is None] == []
    assert {(f.check_id, f.obj.key) for f in findings} == {("PL-NET-002", "NetworkPolicy/platform-monitoring/allow-prometheus")}


def test_the_flows_that_were_broken_are_allowed(platforms, world) -> None:
    """KEDA reads Kafka, Argo CD reaches redis-ha through HAProxy, the chart hooks and Strimzi's agent port."""
    rendered, hydration = world
    report = _report(platforms["prod"], rendered, hydration)
    inv = report.inventory
    allowed = {(inv.label(s), inv.label(d)): ports.describe() for (s, d), (ports, _) in report.intended.items()}
    assert allowed[("keda-operator", "brokers")] == "TCP 9093"
    assert allowed[("argocd-server", "argocd-redis-ha-haproxy")] == "TCP 6379"
    assert allowed[("argocd-redis-ha-haproxy", "argocd-redis-ha-server")] == "TCP 6379, 26379"
    assert allowed[("strimzi-cluster-operator", "brokers")] == "TCP 8443, 9090-9091"
    for hook in ("envoy-gateway-gateway-helm-certgen", "argocd-redis-secret-init",
                 "cert-manager-startupapicheck"):
        assert allowed[(hook, "API server")] == "TCP 443", hook
    hooks = {o.key for o in hydration.for_environment("prod") if o.is_hook and o.obj["kind"] == "Job"}
    assert "Job/platform-system/velero-upgrade-crds" not in hooks and "Job/platform-data/clickhouse-operator-crd-install" not in hooks


def test_a_policy_that_cuts_a_declared_flow_is_reported_with_the_policy(platforms, world) -> None:
    rendered, hydration = world

    def drop_kafka(obj):
        obj["spec"]["egress"] = [r for r in obj["spec"]["egress"]
                                 if r["to"][0].get("podSelector", {}).get("matchLabels", {}).get("strimzi.io/broker-role") != "true"]

    cut = _replace_policy(rendered, "prod", "platform-system", "allow-keda-operator", drop_kafka)
    findings = [f for f in _net_findings({"prod": platforms["prod"]}, cut, hydration) if f.check_id == "PL-NET-001"]
    assert [(f.obj.key, f.field_path) for f in findings] == [("NetworkPolicy/platform-system/allow-keda-operator", "spec.egress")]
    assert "keda-operator -> brokers TCP 9093 is refused" in findings[0].message
    assert findings[0].obj.file.endswith("prod/cluster/network-policies/networkpolicy-platform-system-allow-keda-operator.yaml")


def test_a_policy_that_opens_an_undeclared_flow_is_reported_with_its_rule(platforms, world) -> None:
    rendered, hydration = world
    opened = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-web", "namespace": "platform-apps"},
              "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                       "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}]}}
    planted = rendered + [RenderedObject("prod/platform-apps/debug/networkpolicy-allow-web.yaml", opened, "debug", "prod")]
    findings = [f for f in _net_findings({"prod": platforms["prod"]}, planted, hydration) if f.check_id == "PL-NET-002" and f.waived_by is None]
    assert [(f.obj.key, f.field_path) for f in findings] == [("NetworkPolicy/platform-apps/allow-web", "spec.egress.0")]
    assert "api-gateway -> internet TCP 443" in findings[0].message and "api-gateway -> API server TCP 443" in findings[0].message


def test_an_allow_policy_synced_after_the_workloads_is_reported(platforms, world) -> None:
    """The operator's API egress in the postgres folder (wave 0) would come after the operator (-6) and the deny."""
    rendered, hydration = world
    moved = []
    for item in rendered:
        if item.environment == "prod" and item.obj["kind"] == "NetworkPolicy" and item.obj["metadata"]["name"] == "allow-cloudnative-pg":
            item = replace(item, path="prod/platform-data/postgres/networkpolicy-allow-cloudnative-pg.yaml")
        moved.append(item)
    findings = [f for f in _net_findings({"prod": platforms["prod"]}, moved, hydration) if f.check_id == "PL-NET-004"]
    assert findings and all(f.obj.key == "NetworkPolicy/platform-data/allow-cloudnative-pg" for f in findings)
    assert any("cloudnative-pg -> API server is needed from sync wave -6" in f.message and "allowed only at wave 0" in f.message
               for f in findings), [f.message for f in findings]


def test_a_flow_whose_pods_do_not_exist_is_unmatched(platforms, world) -> None:
    rendered, hydration = world
    prod = platforms["prod"]
    ghost = replace(flow(Pods.of("platform-system", {"app.kubernetes.io/name": "ghost"}), API_SERVER, 443, "a removed controller"), owner="ghost")
    report = _report(prod, rendered, hydration, declared_flows(prod, ALL_COMPONENTS) + [ghost])
    assert [(u.flow.owner, u.side) for u in report.unmatched] == [("ghost", "source")]


def test_plinth_flows_command(world) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["flows", "--spec", str(DEFAULT_SPEC), "--env", "prod", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    prod = data["environments"]["prod"]
    assert data["failing"] == 0 and prod["missing"] == [] and prod["unmatched"] == []
    assert {f["check"] for f in prod["findings"]} == {"PL-NET-002"} and all(f["waived"] for f in prod["findings"])
    dot = runner.invoke(app, ["flows", "--spec", str(DEFAULT_SPEC), "--env", "prod", "--format", "dot", "--namespace", "platform-data"])
    assert dot.exit_code == 0 and dot.output.startswith("digraph") and "cluster_platform_data" in dot.output
    bad = runner.invoke(app, ["flows", "--spec", str(DEFAULT_SPEC), "--format", "svg"])
    assert bad.exit_code == 2 and "--format" in bad.output
