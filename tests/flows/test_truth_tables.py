"""The flow engine against the upstream NetworkPolicy conformance cases (kubernetes/kubernetes
test/e2e/network/netpol), encoded as data in data/netpol_e2e.yaml: 3 namespaces x 3 pods, every pair probed on
one port and protocol per step, the expected truth table built exactly as the upstream test builds it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from plinth.flows.netpol import AddressSet, Endpoint, Evaluator, parse_policy

CASES = yaml.safe_load((Path(__file__).parent / "data" / "netpol_e2e.yaml").read_text())
NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
POD_STRINGS = [f"{ns}/{pod}" for ns in NAMESPACES for pod in PODS]
ADDRESSES = {f"{ns}/{pod}": f"10.{i + 1}.0.{j + 1}" for i, ns in enumerate(NAMESPACES) for j, pod in enumerate(PODS)}


def _expand(value):
    """Replace ${ns/pod} with the pod's address, everywhere in a policy."""
    if isinstance(value, str):
        for pod, address in ADDRESSES.items():
            value = value.replace("${" + pod + "}", address)
        return value
    if isinstance(value, list):
        return [_expand(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    return value


def _matches(peer: dict, pod: str) -> bool:
    ns, name = pod.split("/")
    return peer.get("namespace", ns) == ns and peer.get("pod", name) == name


def _expected(operations: list[dict]) -> dict[tuple[str, str], bool]:
    table = {(a, b): True for a in POD_STRINGS for b in POD_STRINGS}
    for op in operations:
        (kind, args), = op.items()
        if kind == "expect":
            table[(args[0], args[1])] = args[2]
        elif kind == "peer":
            for a in POD_STRINGS:
                for b in POD_STRINGS:
                    if _matches(args[0], a) and _matches(args[1], b):
                        table[(a, b)] = args[2]
        elif kind == "all_ingress":
            for a in POD_STRINGS:
                table[(a, args[0])] = args[1]
        elif kind == "all_egress":
            for b in POD_STRINGS:
                table[(args[0], b)] = args[1]
        else:
            raise AssertionError(f"unknown operation {kind}")
    return table


def _pods(case: dict, pod_labels: dict[str, dict[str, str]]) -> dict[str, Endpoint]:
    named = tuple((f"serve-{port}-{proto.lower()}", port, proto)
                  for port in case["ports"] for proto in case.get("protocols", ["TCP"]))
    return {p: Endpoint(p, p.split("/")[0], pod_labels.get(p, {"pod": p.split("/")[1]}),
                        AddressSet.of([f"{ADDRESSES[p]}/32"]), named) for p in POD_STRINGS}


def _render(table: dict[tuple[str, str], bool]) -> str:
    lines = ["-\t" + "\t".join(POD_STRINGS)]
    for a in POD_STRINGS:
        lines.append(a + "\t" + "\t".join("X" if not table[(a, b)] else "." for b in POD_STRINGS))
    return "\n".join(lines)


def test_cases_cover_the_upstream_suites():
    """Every It() of the three Netpol suites of network_policy.go is encoded (TCP 42, UDP 3, SCTP 3 minus the
    four that only differ in a second It() title): 48 cases."""
    assert len(CASES) == 48
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_upstream_truth_table(case):
    policies: dict[tuple[str, str], dict] = {}
    namespace_labels: dict[str, dict[str, str]] = {}
    pod_labels: dict[str, dict[str, str]] = {}
    for number, step in enumerate(case["steps"]):
        if step.get("delete_all"):
            policies.clear()
        for ns, items in (step.get("policies") or {}).items():
            for item in items:
                policies[(ns, item["name"])] = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                                "metadata": {"name": item["name"], "namespace": ns},
                                                "spec": _expand(copy.deepcopy(item["spec"]))}
        for ns, labels in (step.get("namespace_labels") or {}).items():
            namespace_labels.setdefault(ns, {}).update(labels)
        pod_labels.update(step.get("pod_labels") or {})
        evaluator = Evaluator([parse_policy(p) for p in policies.values()], namespace_labels)
        pods = _pods(case, pod_labels)
        port, protocol = step["probe"]["port"], step["probe"]["protocol"]
        observed = {(a, b): evaluator.allowed(pods[a], pods[b], port, protocol) for a in POD_STRINGS for b in POD_STRINGS}
        expected = _expected(step["expect"])
        wrong = [(a, b) for a in POD_STRINGS for b in POD_STRINGS if a != b and observed[(a, b)] != expected[(a, b)]]
        assert not wrong, (f"step {number} ({protocol} {port}): {len(wrong)} pairs differ, e.g. {wrong[:5]}\n"
                           f"expected:\n{_render(expected)}\nobserved:\n{_render(observed)}")
