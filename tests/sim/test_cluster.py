"""A real control plane on kwok nodes shaped like the spec: API server, nodes, scheduling, isolation."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from plinth.catalog.nodes import node_shape
from plinth.kube.scheduling import POOL_LABEL, ZONE_KEY
from plinth.kube.yamlio import dump_yaml
from plinth.sim.nodes import spec_nodes
from plinth.spec.model import Platform

pytestmark = pytest.mark.sim


def _wait(check, timeout: float = 90.0, what: str = ""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def test_the_api_server_answers_with_the_built_version(sim_cluster, sim_versions) -> None:
    version = json.loads(sim_cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == sim_versions.kubernetes
    assert version["clientVersion"]["gitVersion"] == sim_versions.kubernetes
    assert sim_cluster.kubectl("get", "--raw=/readyz").stdout.strip() == "ok"


def test_the_network_namespace_has_only_loopback_and_no_route_out(sim_cluster) -> None:
    links = sim_cluster.in_netns(["ip", "-o", "link"]).stdout.splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]
    assert sim_cluster.in_netns(["ip", "route"]).stdout.strip() == ""
    probe = "import errno,socket,sys; s=socket.socket(); s.settimeout(3); sys.exit(s.connect_ex(('192.0.2.1', 443)))"
    result = sim_cluster.in_netns(["python3", "-c", probe], check=False)
    import errno

    assert result.returncode == errno.ENETUNREACH


def test_nodes_have_the_spec_pools_shape(sim_cluster, prod: Platform) -> None:
    nodes = {n["metadata"]["name"]: n for n in sim_cluster.get_json("nodes")["items"]}
    expected = {n["metadata"]["name"]: n for n in spec_nodes(prod)}
    assert set(nodes) == set(expected)
    assert Counter(n["metadata"]["labels"][POOL_LABEL] for n in nodes.values()) == {p: pool.nodes for p, pool in prod.node_pools.items()}
    for pool_name, pool in prod.node_pools.items():
        shape = node_shape(prod.cluster.provider, pool)
        members = sorted((n for n in nodes.values() if n["metadata"]["labels"][POOL_LABEL] == pool_name), key=lambda n: n["metadata"]["name"])
        zones = Counter(n["metadata"]["labels"][ZONE_KEY] for n in members)
        assert set(zones) <= set(prod.cluster.zones)
        assert max(zones.values()) - min(zones.values()) <= 1 and len(zones) == min(len(members), len(prod.cluster.zones))
        for node in members:
            assert node["metadata"]["labels"]["kubernetes.io/hostname"] == node["metadata"]["name"]
            assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
            taints = [(t["key"], t["value"], t["effect"]) for t in node["spec"].get("taints", []) if not t["key"].startswith("node.kubernetes.io/")]
            assert taints == [(t.key, t.value, t.effect) for t in pool.taints]
            allocatable = node["status"]["allocatable"]
            assert allocatable["cpu"] == f"{shape.allocatable_cpu_millicores}m"
            assert allocatable["memory"] == f"{shape.allocatable_memory_mib}Mi"
            assert allocatable["pods"] == str(shape.max_pods)
    ready = _wait(lambda: all(any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
                              for n in sim_cluster.get_json("nodes")["items"]), what="every node Ready (kwok)")
    assert ready


def _deployment(name: str, namespace: str, replicas: int, pool: str, cpu: str, tolerate: bool) -> dict:
    pod_spec = {
        "nodeSelector": {POOL_LABEL: pool},
        "containers": [{"name": "app", "image": "registry.example/app:1", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}],
    }
    if tolerate:
        pod_spec["tolerations"] = [{"key": POOL_LABEL, "operator": "Equal", "value": pool, "effect": "NoSchedule"}]
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}},
    }


def _apply(sim_cluster, *objects: dict) -> None:
    sim_cluster.kubectl("apply", "--server-side", "-f", "-", input_text=dump_yaml({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def _pods(sim_cluster, namespace: str, app: str) -> list[dict]:
    return sim_cluster.get_json("pods", "-n", namespace, "-l", f"app={app}")["items"]


def _scheduled_condition(pod: dict) -> dict:
    return next((c for c in pod["status"].get("conditions", []) if c["type"] == "PodScheduled"), {})


def test_a_deployment_lands_on_its_pool_through_the_real_scheduler(sim_cluster, prod: Platform) -> None:
    _apply(sim_cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sched"}},
           _deployment("on-data", "sched", 3, "data", "500m", tolerate=True))
    pods = _wait(lambda: (p := _pods(sim_cluster, "sched", "on-data")) and len(p) == 3
                 and all(x["status"].get("phase") == "Running" for x in p) and p, what="3 Running pods")
    node_pools = {n["metadata"]["name"]: n["metadata"]["labels"][POOL_LABEL] for n in sim_cluster.get_json("nodes")["items"]}
    assert {node_pools[p["spec"]["nodeName"]] for p in pods} == {"data"}


def test_an_untolerated_taint_leaves_pods_pending_with_the_scheduler_reason(sim_cluster, prod: Platform) -> None:
    _apply(sim_cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "taint"}},
           _deployment("no-toleration", "taint", 1, "data", "100m", tolerate=False))
    pod = _wait(lambda: next((p for p in _pods(sim_cluster, "taint", "no-toleration") if _scheduled_condition(p).get("reason") == "Unschedulable"), None),
                what="an Unschedulable pod")
    message = _scheduled_condition(pod)["message"]
    data, others = prod.node_pools["data"].nodes, sum(p.nodes for n, p in prod.node_pools.items() if n != "data")
    assert f"{data} node(s) had untolerated taint(s)" in message, message
    assert f"{others} node(s) didn't match Pod's node affinity/selector" in message, message


def test_a_pod_too_big_for_any_node_is_pending_with_insufficient_cpu(sim_cluster) -> None:
    _apply(sim_cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "big"}},
           _deployment("too-big", "big", 1, "apps", "1000", tolerate=False))
    pod = _wait(lambda: next((p for p in _pods(sim_cluster, "big", "too-big") if _scheduled_condition(p).get("reason") == "Unschedulable"), None),
                what="an Unschedulable pod")
    message = _scheduled_condition(pod)["message"]
    assert "Insufficient cpu" in message, message


def test_pod_states_name_the_pool_and_zone_or_the_scheduler_reason(sim_cluster) -> None:
    from plinth.sim.apply import pod_states

    states = {(p.namespace, p.owner): p for p in pod_states(sim_cluster)}
    placed = states[("sched", "Deployment/on-data")]
    assert placed.pool == "data" and placed.zone and placed.phase == "Running"
    pending = states[("big", "Deployment/too-big")]
    assert pending.node == "" and pending.reason.startswith("Unschedulable: 0/15 nodes are available")


def test_each_program_has_its_own_pod_network(sim_cluster) -> None:
    """Two programs listen on the same port, each in its pod's network (as two pods do); the cluster's namespace
    reaches each at its pod IP, each reaches the API server at the gateway address, and nothing else."""
    import subprocess
    import sys

    from plinth.sim.cluster import alias_pod_ips, attach_pod_network, delete_pod_networks
    from plinth.sim.pki import GATEWAY_IP

    server = ("import http.server, socketserver, sys\n"
              "class H(http.server.BaseHTTPRequestHandler):\n"
              "    def do_GET(self):\n"
              "        self.send_response(200); self.end_headers(); self.wfile.write(sys.argv[1].encode())\n"
              "socketserver.TCPServer.allow_reuse_address = True\n"
              "socketserver.TCPServer(('', 8081), H).serve_forever()\n")
    pods = {"first": "10.0.250.1", "second": "10.0.250.2"}
    processes = []
    try:
        for name, ip in pods.items():
            netns = attach_pod_network(sim_cluster.netns, f"test-{name}", ip)
            processes.append(subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", server, name]))
        for name, ip in pods.items():
            fetch = f"import urllib.request; print(urllib.request.urlopen('http://{ip}:8081/', timeout=5).read().decode())"
            answer = _wait(lambda: sim_cluster.in_netns([sys.executable, "-c", fetch], check=False).stdout.strip(), 30,
                           f"the program of pod {name}")
            assert answer == name
        probe = ("import socket; s = socket.create_connection(('%s', %d), timeout=5); print('connected')"
                 % (GATEWAY_IP, sim_cluster.ports["kube-apiserver"]))
        netns = f"{sim_cluster.netns}-pod-"
        first = next(p for p in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                     if p.startswith(netns))
        assert subprocess.run(["ip", "netns", "exec", first, sys.executable, "-c", probe], capture_output=True,
                              text=True).stdout.strip() == "connected"
        routes = subprocess.run(["ip", "netns", "exec", first, "ip", "route"], capture_output=True, text=True).stdout
        assert f"default via {GATEWAY_IP} dev eth0" in routes
        # A replica without a program answers through the first program once its IP is aliased there, and no longer after.
        replica = "10.0.250.3"
        alias_pod_ips(sim_cluster.netns, "test-first", [replica], [])
        fetch = f"import urllib.request; print(urllib.request.urlopen('http://{replica}:8081/', timeout=5).read().decode())"
        assert _wait(lambda: sim_cluster.in_netns([sys.executable, "-c", fetch], check=False).stdout.strip(), 30,
                     "the replica's IP") == "first"
        alias_pod_ips(sim_cluster.netns, "test-first", [], [replica])
        assert sim_cluster.in_netns([sys.executable, "-c", fetch], check=False).returncode != 0
    finally:
        for process in processes:
            process.kill()
            process.wait()
        delete_pod_networks(sim_cluster.netns)
    assert [line.split(":")[1].strip() for line in sim_cluster.in_netns(["ip", "-o", "link"]).stdout.splitlines()] == ["lo"]
