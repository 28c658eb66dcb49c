"""Host access in platform-monitoring, judged by the real API server: the namespace must enforce the privileged Pod
Security level for node-exporter and Alloy, and the rendered ValidatingAdmissionPolicy confines host access to those
two DaemonSets' pods. The real DaemonSet controller creates the agents' pods (admitted); pods created by hand with
host features, even under an agent's ServiceAccount, are refused with the policy's message. Needs ../shared/charts
(the two charts' DaemonSets)."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from plinth.charts.workflow import hydrate_spec
from plinth.components import alloy, prometheus_stack
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.admission import COMPONENT_NAME, host_access_refusals, policy_name
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.render.pipeline import render_platform
from plinth.render.stages import host_access_agents
from plinth.sim.apply import APPLIED, apply_objects
from plinth.sim.kubeclient import PODS, ApiError, Resource, cluster_client
from plinth.spec.model import Platform
from tests.conftest import CHART_DIR, DEFAULT_SPEC

pytestmark = pytest.mark.sim

DAEMONSETS = Resource("apps", "v1", "daemonsets")
POLICIES = Resource("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", namespaced=False)
AGENTS = (prometheus_stack.NODE_EXPORTER, alloy.NAME)


def _pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": MONITORING_NAMESPACE}, "spec": spec}


def _restricted_container(**extra: Any) -> dict[str, Any]:
    return {"name": "main", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "10m", "memory": "16Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                                "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}}, **extra}


def _refusal(client, pod: dict[str, Any]) -> str | None:
    """The API server's refusal of creating ``pod`` (server-side dry run), or None when admitted."""
    try:
        client.request("POST", PODS.path(MONITORING_NAMESPACE), pod, query={"dryRun": "All"})
    except ApiError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def confined(sim_cluster, prod: Platform):
    """The namespaces, the host-access policy and the two agents' charts objects applied; the agents' pods created."""
    if not CHART_DIR.is_dir():
        pytest.skip("needs ../shared/charts (the kube-prometheus-stack and alloy charts; CI always has them)")
    rendered = render_platform(prod)
    hydration = hydrate_spec(DEFAULT_SPEC, {"prod": prod}, rendered, CHART_DIR)
    namespaces = [r.obj for r in rendered if r.component == "namespaces" and r.obj["kind"] == "Namespace"]
    policy = [r.obj for r in rendered if r.component == COMPONENT_NAME]
    agents = [h.obj for h in hydration.objects if h.environment == "prod" and h.obj["kind"] in ("DaemonSet", "ServiceAccount")
              and h.obj["metadata"]["name"] in AGENTS]
    assert {o["kind"] for o in agents} == {"DaemonSet", "ServiceAccount"} and len(agents) == 4
    report = apply_objects(sim_cluster, namespaces + policy)
    assert all(r.status == APPLIED for r in report.results), [(r.key, r.message) for r in report.results if r.status != APPLIED]
    client = cluster_client(str(sim_cluster.folder), sim_cluster.server, sim_cluster.netns)
    # The policy is in force once the API server refuses what it forbids (its informer picks it up within seconds).
    probe = _pod("probe", {"hostIPC": True, "containers": [_restricted_container()]})
    deadline = time.monotonic() + 60
    while _refusal(client, probe) is None:
        assert time.monotonic() < deadline, "the host-access policy never came into force"
        time.sleep(1)
    report = apply_objects(sim_cluster, agents)
    assert all(r.status == APPLIED for r in report.results), [(r.key, r.message) for r in report.results if r.status != APPLIED]
    return client, {o["metadata"]["name"]: o for o in agents if o["kind"] == "DaemonSet"}


def test_the_policy_type_checks_against_the_pod_schema(confined) -> None:
    client, _ = confined
    status = (client.get(POLICIES, policy_name(MONITORING_NAMESPACE)) or {}).get("status") or {}
    assert not (status.get("typeChecking") or {}).get("expressionWarnings"), status


def test_the_daemonset_controller_creates_every_agent_pod(confined, sim_cluster) -> None:
    client, daemonsets = confined
    nodes = len(sim_cluster.get_json("nodes")["items"])
    deadline = time.monotonic() + 120
    while True:
        status = {name: (client.get(DAEMONSETS, name, MONITORING_NAMESPACE) or {}).get("status") or {} for name in daemonsets}
        created = {name: s.get("currentNumberScheduled", 0) for name, s in status.items()}
        if all(count == nodes for count in created.values()):
            break
        events = client.request("GET", f"/api/v1/namespaces/{MONITORING_NAMESPACE}/events").get("items", [])
        refusals = [e["message"] for e in events if e.get("reason") == "FailedCreate"]
        assert time.monotonic() < deadline, f"agent pods created {created} of {nodes} nodes; refusals: {refusals[:3]}"
        time.sleep(2)
    pods = client.list(PODS, MONITORING_NAMESPACE)
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in pods} == set(daemonsets)
    exporter = next(p for p in pods if p["spec"]["serviceAccountName"] == prometheus_stack.NODE_EXPORTER)
    assert exporter["spec"]["hostNetwork"] and exporter["spec"]["hostPID"]
    # The offline reading of the policy (PL-SEC-007) agrees: the admitted pods, as the API server defaulted them, pass.
    agents = {a.daemonset: a for a in host_access_agents(ALL_COMPONENTS)}
    for pod in pods:
        assert host_access_refusals(pod["spec"], agents[pod["metadata"]["ownerReferences"][0]["name"]]) == [], pod["metadata"]["name"]


def test_an_agents_pod_copied_by_hand_is_refused(confined) -> None:
    client, daemonsets = confined
    template = copy.deepcopy(daemonsets[prometheus_stack.NODE_EXPORTER]["spec"]["template"]["spec"])
    refusal = _refusal(client, _pod("stolen-exporter", template))
    assert refusal and "host network refused" in refusal, refusal


@pytest.mark.parametrize(("case", "spec", "expected"), [
    ("host path", {"volumes": [{"name": "etc", "hostPath": {"path": "/etc"}}],
                   "containers": [_restricted_container(volumeMounts=[{"name": "etc", "mountPath": "/host", "readOnly": True}])]},
     "hostPath volume refused"),
    ("host PID", {"hostPID": True, "containers": [_restricted_container()]}, "host PID namespace refused"),
    ("privileged", {"containers": [_restricted_container(securityContext={"privileged": True})]}, "privileged container refused"),
    ("capability", {"containers": [_restricted_container(securityContext={"capabilities": {"add": ["SYS_ADMIN"]}})]},
     "capability beyond the baseline set"),
    ("host port", {"containers": [_restricted_container(ports=[{"containerPort": 8080, "hostPort": 8080}])]}, "host port refused"),
])
def test_host_features_are_refused_to_other_pods(confined, case: str, spec: dict[str, Any], expected: str) -> None:
    client, _ = confined
    refusal = _refusal(client, _pod(f"not-an-agent-{case.replace(' ', '-').lower()}", spec))
    assert refusal and expected in refusal, refusal
    assert host_access_refusals(spec, None), "PL-SEC-007's offline reading must refuse it too"


def test_a_writable_host_path_is_refused_even_to_an_agents_account(confined) -> None:
    client, _ = confined
    spec = {"serviceAccountName": alloy.NAME, "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
            "containers": [_restricted_container(volumeMounts=[{"name": "varlog", "mountPath": "/var/log"}])]}
    refusal = _refusal(client, _pod("writable-logs", spec))
    assert refusal and "mounted writable" in refusal, refusal


def test_a_baseline_pod_is_admitted(confined) -> None:
    client, _ = confined
    assert _refusal(client, _pod("ordinary", {"containers": [_restricted_container()]})) is None
