"""PL-SEC-007 beyond its fixture: in a privileged namespace whose host-access policy is bound, the declared node agents'
DaemonSets pass and anything else with host access is reported as the policy would refuse it."""

from __future__ import annotations

import copy
from typing import Any

from plinth.checks import ALL_CHECKS, CheckContext
from plinth.checks.engine import run_checks
from plinth.components import alloy, prometheus_stack
from plinth.kube.admission import HostAccess, host_access_policy, host_access_refusals
from plinth.render.stages import host_access_agents
from plinth.components.registry import ALL_COMPONENTS
from plinth.spec.model import Platform
from tests.checks import fixtures as fx

CHECK = next(c for c in ALL_CHECKS if c.id == "PL-SEC-007")
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": fx.MON, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}


def _daemonset(name: str, service_account: str, **pod: Any) -> dict[str, Any]:
    container = {"name": "agent", "image": "example/agent:1", **pod.pop("container", {})}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": fx.meta(name, fx.MON, {"app": name}),
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"serviceAccountName": service_account, "containers": [container], **pod}}}}


EXPORTER = _daemonset(prometheus_stack.NODE_EXPORTER, prometheus_stack.NODE_EXPORTER, hostNetwork=True, hostPID=True,
                      volumes=[{"name": "proc", "hostPath": {"path": "/proc"}}],
                      container={"ports": [{"containerPort": 9100}],
                                 "volumeMounts": [{"name": "proc", "mountPath": "/host/proc", "readOnly": True}]})


def _findings(platform: Platform, extra: list[dict[str, Any]]) -> list[str]:
    objects = fx.healthy_tree(platform) + [NAMESPACE, *host_access_policy(fx.MON, host_access_agents(ALL_COMPONENTS)), *extra]
    ctx = CheckContext.from_objects(platform, objects, hydrated=fx.healthy_hydrated(platform), flows=fx.healthy_flows(platform))
    return [f"{f.obj.key}: {f.message}" for f in run_checks(ctx, [CHECK])]


def test_the_declared_agents_pass(prod: Platform) -> None:
    logs = _daemonset(alloy.NAME, alloy.NAME, volumes=[{"name": "varlog", "hostPath": {"path": "/var/log"}}],
                      container={"volumeMounts": [{"name": "varlog", "mountPath": "/var/log", "readOnly": True}]})
    assert _findings(prod, [EXPORTER, logs]) == []


def test_an_agent_under_another_account_or_with_more_access_is_reported(prod: Platform) -> None:
    other_account = copy.deepcopy(EXPORTER)
    other_account["spec"]["template"]["spec"]["serviceAccountName"] = "default"
    assert any("host network" in f for f in _findings(prod, [other_account]))
    more = copy.deepcopy(EXPORTER)
    more["spec"]["template"]["spec"]["volumes"].append({"name": "etc", "hostPath": {"path": "/etc"}})
    assert any("hostPath /etc" in f for f in _findings(prod, [more]))


def test_a_deployment_with_host_access_is_reported(prod: Platform) -> None:
    deployment = _daemonset("debug", "default", volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    deployment["kind"] = "Deployment"
    findings = _findings(prod, [deployment])
    assert any(f.startswith(f"Deployment/{fx.MON}/debug") and "hostPath /" in f for f in findings), findings


def test_refusals_read_offline_follow_the_policy() -> None:
    agent = HostAccess(fx.MON, daemonset="a", service_account="a", host_network=True, host_ports=(9100,))
    spec = {"hostNetwork": True, "containers": [{"name": "c", "ports": [{"containerPort": 9100}, {"containerPort": 9200}]}]}
    assert host_access_refusals(spec, agent) == ["host port 9200"]
    assert host_access_refusals(spec, None) == ["host network", "host port 9100", "host port 9200"]
    writable = {"volumes": [{"name": "v", "hostPath": {"path": "/var/log"}}],
                "containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x"}]}]}
    assert host_access_refusals(writable, HostAccess(fx.MON, "a", "a", host_paths=("/var/log",))) == [
        "hostPath /var/log mounted writable by c"]
