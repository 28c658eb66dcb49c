"""Real programs playing simulated pods (``plinth.sim.programs``): one program per pod of a data store's
StatefulSet, each at its own pod IP, the headless Service's per-pod names in the hosts file, and a pod recreated
under the same name (another UID, another IP) played again."""

from __future__ import annotations

import sys
import time

import pytest

from plinth.kube.scheduling import POOL_LABEL
from plinth.kube.yamlio import dump_yaml
from plinth.procs import Supervisor
from plinth.sim.cluster import delete_pod_networks, netns_etc
from plinth.sim.programs import PodProgram, Programs

pytestmark = pytest.mark.sim

NAMESPACE = "programs"
SERVER = ("import http.server, socketserver, sys\n"
          "greeting = open('/etc/kv/greeting').read()\n"
          "class H(http.server.BaseHTTPRequestHandler):\n"
          "    def do_GET(self):\n"
          "        self.send_response(200); self.end_headers(); self.wfile.write(f'{greeting} {sys.argv[1]}'.encode())\n"
          "socketserver.TCPServer.allow_reuse_address = True\n"
          "socketserver.TCPServer((sys.argv[2], 7000), H).serve_forever()\n")
RULE = PodProgram("kv", "StatefulSet", "kv", "server", system_binary=sys.executable,
                  argv=("-c", SERVER, "$(POD_NAME)", "$(POD_IP)"), env=(("POD_IP", "$(POD_IP)"),),
                  image_files=(("/etc/kv/greeting", "hello from"),), per_pod=True)


def _objects() -> list[dict]:
    labels = {"app": "kv"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kv", "namespace": NAMESPACE},
         "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "http", "port": 7000}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "kv", "namespace": NAMESPACE},
         "spec": {"replicas": 2, "serviceName": "kv", "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "nodeSelector": {POOL_LABEL: "data"},
                      "tolerations": [{"key": POOL_LABEL, "operator": "Equal", "value": "data", "effect": "NoSchedule"}],
                      "containers": [{"name": "server", "image": "registry.example/kv:1",
                                      "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                                      "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}},
    ]


def _until(check, timeout: float, what: str, tick=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if tick is not None:
            tick()
        last = check()
        if last:
            return last
        time.sleep(1.0)
    raise AssertionError(f"timed out waiting for {what}: last {last!r}")


def _pods(sim_cluster) -> dict[str, dict]:
    items = sim_cluster.get_json("pods", "-n", NAMESPACE, "-l", "app=kv")["items"]
    return {p["metadata"]["name"]: p for p in items if p["status"].get("phase") == "Running" and p["status"].get("podIP")}


def _answer(sim_cluster, ip: str) -> str:
    fetch = f"import urllib.request; print(urllib.request.urlopen('http://{ip}:7000/', timeout=5).read().decode())"
    return sim_cluster.in_netns([sys.executable, "-c", fetch], check=False).stdout.strip()


def test_each_pod_of_a_data_store_runs_its_own_program(sim_cluster, tmp_path) -> None:
    sim_cluster.kubectl("apply", "--server-side", "-f", "-", input_text=dump_yaml({"apiVersion": "v1", "kind": "List", "items": _objects()}))
    programs = Programs(sim_cluster, Supervisor(tmp_path), {"kv": NAMESPACE}, (RULE,), {}, log=lambda _line: None)
    try:
        pods = _until(lambda: len(p := _pods(sim_cluster)) == 2 and p, 120, "two Running pods")
        _until(lambda: all(s.status == "running" for s in programs.states.values()) and len(programs.states) == 2, 60,
               "a program per pod", tick=programs.reconcile)
        assert sorted(s.key for s in programs.states.values()) == ["StatefulSet/kv[kv-0]", "StatefulSet/kv[kv-1]"]
        for name, pod in pods.items():
            assert _until(lambda: _answer(sim_cluster, pod["status"]["podIP"]), 30, f"{name}'s program") == f"hello from {name}"
        hosts = (netns_etc(sim_cluster.netns) / "hosts").read_text()
        for name, pod in pods.items():
            assert f"{pod['status']['podIP']} {name}.kv.{NAMESPACE}.svc.cluster.local\n" in hosts
        assert f"{pods['kv-0']['status']['podIP']} kv.{NAMESPACE}.svc\n" in hosts  # the first pod by name answers for the Service
        # A later command on the same (detached) cluster finds each pod's program running, under its own rule only.
        other = PodProgram("kv", "StatefulSet", "kv-0", "server", system_binary=sys.executable, per_pod=True)
        again = Programs(sim_cluster, Supervisor(tmp_path), {"kv": NAMESPACE}, (RULE, other), {}, log=lambda _line: None)
        assert sorted((s.key, s.status) for s in again.states.values()) == [("StatefulSet/kv[kv-0]", "running"),
                                                                            ("StatefulSet/kv[kv-1]", "running")]

        # The pod deleted and recreated by the StatefulSet controller under its name is another pod: played again.
        old = pods["kv-0"]
        sim_cluster.kubectl("delete", "pod", "kv-0", "-n", NAMESPACE, "--wait=false")
        new = _until(lambda: (p := _pods(sim_cluster).get("kv-0")) and p["metadata"]["uid"] != old["metadata"]["uid"] and p,
                     120, "kv-0 recreated", tick=programs.reconcile)
        state = programs.states["kv/StatefulSet/kv/kv-0"]
        _until(lambda: state.status == "running" and state.uid == new["metadata"]["uid"], 60, "kv-0's program restarted",
               tick=programs.reconcile)
        assert state.starts == 2 and programs.states["kv/StatefulSet/kv/kv-1"].starts == 1
        assert _until(lambda: _answer(sim_cluster, new["status"]["podIP"]), 30, "the new kv-0") == "hello from kv-0"
    finally:
        for state in programs.states.values():
            sim_cluster.stop_program(state.program)
        delete_pod_networks(sim_cluster.netns)
        sim_cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
