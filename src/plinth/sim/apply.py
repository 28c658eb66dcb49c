"""A plain server-side apply of objects into a simulated cluster, and what the control plane made of them.

The client is the cluster's own kubectl (same release as the API server, built with it): it runs in the
cluster's network namespace, is the reference client of server-side apply, and prints the API server's
errors verbatim. Order: CustomResourceDefinitions first, waited for until Established; Namespaces; then
everything else. An object whose kind the API server does not serve (its CRD is not in the list and not
installed) is reported ``no-crd`` and not sent. Webhook configurations, APIServices and CRD conversion
webhooks are reported: their backends do not run in the simulated cluster.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from plinth.sim.cluster import SimCluster

FIELD_MANAGER = "plinth-sim"
APPLIED, REJECTED, NO_CRD = "applied", "rejected", "no-crd"
BATCH = 50
"""Objects per kubectl call; a failing batch is retried one object at a time for exact per-object errors."""


@dataclass
class ObjectResult:
    """What the API server said about one object."""

    key: str
    status: str
    message: str = ""


@dataclass
class BackendNotRunning:
    """A webhook, APIService or conversion webhook whose backend is not running in the simulated cluster."""

    key: str
    what: str
    failure_policy: str
    consequence: str


@dataclass
class ApplyReport:
    """Every object's outcome, plus what the cluster cannot serve."""

    results: list[ObjectResult] = field(default_factory=list)
    backends: list[BackendNotRunning] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many objects ended with this status."""
        return sum(1 for r in self.results if r.status == status)


def object_key(obj: dict[str, Any]) -> str:
    """``Kind/namespace/name`` or ``Kind/name``."""
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    return f"{obj['kind']}/{namespace}/{meta.get('name')}" if namespace else f"{obj['kind']}/{meta.get('name')}"


def _group_version(api_version: str) -> tuple[str, str]:
    return (api_version.split("/", 1)[0], api_version.split("/", 1)[1]) if "/" in api_version else ("", api_version)


_DISCOVERY_SCRIPT = """
import json, ssl, sys, urllib.request
server, ca, cert, key = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
def get(path):
    with urllib.request.urlopen(server + path, context=ctx, timeout=30) as response:
        return json.load(response)
kinds = [["", "v1", r["kind"]] for r in get("/api/v1")["resources"] if "/" not in r["name"]]
for group in get("/apis")["groups"]:
    for version in group["versions"]:
        try:
            resources = get("/apis/" + version["groupVersion"])["resources"]
        except Exception:
            continue  # an APIService whose backend is down: its kinds are not served
        kinds += [[group["name"], version["version"], r["kind"]] for r in resources if "/" not in r["name"]]
print(json.dumps(kinds))
"""


def served_kinds(cluster: SimCluster) -> set[tuple[str, str, str]]:
    """(group, version, kind) of every resource the API server serves now (discovery, in one process)."""
    pki = cluster.folder / "pki"
    out = cluster.in_netns([sys.executable, "-c", _DISCOVERY_SCRIPT, cluster.server, str(pki / "ca.crt"),
                            str(pki / "admin.crt"), str(pki / "admin.key")])
    return {tuple(kind) for kind in json.loads(out.stdout)}


def _crd_kinds(crds: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    kinds = set()
    for crd in crds:
        spec = crd.get("spec", {})
        for version in spec.get("versions", []):
            if version.get("served", True):
                kinds.add((spec.get("group", ""), version.get("name", ""), spec.get("names", {}).get("kind", "")))
    return kinds


def backends_not_running(objects: Iterable[dict[str, Any]]) -> list[BackendNotRunning]:
    """Webhooks, APIServices and conversion webhooks among the objects: none of their backends runs here."""
    found: list[BackendNotRunning] = []
    for obj in objects:
        kind = obj.get("kind")
        if kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            for hook in obj.get("webhooks", []):
                policy = hook.get("failurePolicy", "Fail")
                consequence = ("requests it matches are rejected while its backend is down" if policy == "Fail"
                               else "it is skipped: the requests it matches are admitted unchecked")
                found.append(BackendNotRunning(object_key(obj), f"{kind} webhook {hook.get('name')}", policy, consequence))
        elif kind == "APIService" and obj.get("spec", {}).get("service"):
            found.append(BackendNotRunning(object_key(obj), f"APIService {obj['metadata']['name']}", "-",
                                           "its group/version is not served (discovery reports it unavailable)"))
        elif kind == "CustomResourceDefinition" and obj.get("spec", {}).get("conversion", {}).get("strategy") == "Webhook":
            found.append(BackendNotRunning(object_key(obj), f"conversion webhook of {obj['metadata']['name']}", "-",
                                           "objects stored in a version other than the one asked for cannot be converted"))
    return found


def _apply_batch(cluster: SimCluster, objects: list[dict[str, Any]]) -> tuple[bool, str]:
    documents = {"apiVersion": "v1", "kind": "List", "items": objects}
    result = cluster.kubectl("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}",
                             "-f", "-", input_text=json.dumps(documents), check=False)
    return result.returncode == 0, (result.stderr or result.stdout).strip()


def _apply_each(cluster: SimCluster, objects: list[dict[str, Any]], report: ApplyReport) -> None:
    for start in range(0, len(objects), BATCH):
        batch = objects[start:start + BATCH]
        ok, _ = _apply_batch(cluster, batch)
        if ok:
            report.results.extend(ObjectResult(object_key(o), APPLIED) for o in batch)
            continue
        for obj in batch:
            ok, message = _apply_batch(cluster, [obj])
            report.results.append(ObjectResult(object_key(obj), APPLIED if ok else REJECTED, "" if ok else message))


def wait_established(cluster: SimCluster, names: list[str], timeout_seconds: int = 60) -> dict[str, str]:
    """Wait for CRDs to be Established; return the ones that were not, with kubectl's message."""
    if not names:
        return {}
    result = cluster.kubectl("wait", "--for=condition=Established", *(f"crd/{n}" for n in names),
                             f"--timeout={timeout_seconds}s", check=False)
    if result.returncode == 0:
        return {}
    failed: dict[str, str] = {}
    for name in names:  # which ones: ask each (rare: only when some did not become Established)
        one = cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=1s", check=False)
        if one.returncode != 0:
            failed[name] = (one.stderr or one.stdout).strip()
    return failed


def apply_objects(cluster: SimCluster, objects: list[dict[str, Any]]) -> ApplyReport:
    """Server-side apply: CRDs (waited until Established), Namespaces, then the rest; report each object."""
    report = ApplyReport(backends=backends_not_running(objects))
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    namespaces = [o for o in objects if o["kind"] == "Namespace" and o.get("apiVersion") == "v1"]
    rest = [o for o in objects if o not in crds and o not in namespaces]
    _apply_each(cluster, crds, report)
    applied_crds = {r.key for r in report.results if r.status == APPLIED}
    not_established = wait_established(cluster, [o["metadata"]["name"] for o in crds if object_key(o) in applied_crds])
    for result in report.results:
        name = result.key.split("/", 1)[1]
        if name in not_established:
            result.status, result.message = REJECTED, f"not Established: {not_established[name]}"
    _apply_each(cluster, namespaces, report)
    served = served_kinds(cluster)
    sendable: list[dict[str, Any]] = []
    for obj in rest:
        group, version = _group_version(obj.get("apiVersion", ""))
        if (group, version, obj["kind"]) in served:
            sendable.append(obj)
        else:
            report.results.append(ObjectResult(object_key(obj), NO_CRD, f"the API server serves no {obj['kind']} in {obj.get('apiVersion')}"))
    _apply_each(cluster, sendable, report)
    return report


# --- what the control plane did with the workloads -----------------------------------------------------


@dataclass
class PodState:
    """One pod: where it runs, or why not."""

    namespace: str
    name: str
    owner: str
    phase: str
    node: str = ""
    pool: str = ""
    zone: str = ""
    reason: str = ""


@dataclass
class WorkloadState:
    """A Deployment/StatefulSet/DaemonSet/ReplicaSet: replicas asked and ready, and controller complaints."""

    key: str
    desired: int
    ready: int
    problems: list[str] = field(default_factory=list)


def _owner_chain(pod: dict[str, Any], replicasets: dict[tuple[str, str], dict[str, Any]]) -> str:
    refs = pod["metadata"].get("ownerReferences") or []
    if not refs:
        return ""
    ref = refs[0]
    if ref["kind"] == "ReplicaSet":
        rs = replicasets.get((pod["metadata"]["namespace"], ref["name"]))
        rs_refs = (rs or {}).get("metadata", {}).get("ownerReferences") or []
        if rs_refs:
            return f"{rs_refs[0]['kind']}/{rs_refs[0]['name']}"
    return f"{ref['kind']}/{ref['name']}"


def pod_states(cluster: SimCluster) -> list[PodState]:
    """Every pod outside kube-system: node, pool and zone, or the scheduler's reason for Pending."""
    nodes = {n["metadata"]["name"]: n["metadata"].get("labels", {}) for n in cluster.get_json("nodes")["items"]}
    replicasets = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in cluster.get_json("replicasets", "-A")["items"]}
    states: list[PodState] = []
    for pod in cluster.get_json("pods", "-A")["items"]:
        meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
        node = spec.get("nodeName", "")
        labels = nodes.get(node, {})
        reason = ""
        for condition in status.get("conditions", []):
            if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
                reason = f"{condition.get('reason', '')}: {condition.get('message', '')}".strip(": ")
        states.append(PodState(meta["namespace"], meta["name"], _owner_chain(pod, replicasets), status.get("phase", ""),
                               node, labels.get("plinth.dev/pool", ""), labels.get("topology.kubernetes.io/zone", ""), reason))
    return sorted(states, key=lambda p: (p.namespace, p.name))


def workload_states(cluster: SimCluster) -> list[WorkloadState]:
    """Replicas desired and ready per workload, with controller failures (FailedCreate events, conditions)."""
    warnings: dict[tuple[str, str, str], list[str]] = {}
    for event in cluster.get_json("events", "-A", "--field-selector=type=Warning")["items"]:
        involved = event.get("involvedObject", {})
        key = (involved.get("kind", ""), involved.get("namespace", ""), involved.get("name", ""))
        message = f"{event.get('reason')}: {event.get('message')}"
        if message not in warnings.setdefault(key, []):
            warnings[key].append(message)
    states: list[WorkloadState] = []
    for kind, resource in (("Deployment", "deployments"), ("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets")):
        for item in cluster.get_json(resource, "-A")["items"]:
            meta, spec, status = item["metadata"], item.get("spec", {}), item.get("status", {})
            desired = status.get("desiredNumberScheduled", 0) if kind == "DaemonSet" else spec.get("replicas", 1)
            ready = status.get("numberReady", 0) if kind == "DaemonSet" else status.get("readyReplicas", 0)
            problems = list(warnings.get((kind, meta["namespace"], meta["name"]), []))
            for condition in status.get("conditions", []):
                if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
                    problems.append(f"ReplicaFailure: {condition.get('message')}")
            if kind == "Deployment":
                for (rs_kind, ns, name), messages in warnings.items():
                    if rs_kind == "ReplicaSet" and ns == meta["namespace"] and name.startswith(meta["name"] + "-"):
                        problems.extend(m for m in messages if m not in problems)
            states.append(WorkloadState(f"{kind}/{meta['namespace']}/{meta['name']}", desired, ready, problems))
    return sorted(states, key=lambda w: w.key)


def settle(cluster: SimCluster, *, quiet_seconds: float = 5.0, timeout_seconds: float = 120.0) -> float:
    """Wait until the pods stop changing (same names, phases and nodes for ``quiet_seconds``); return the wait."""
    started = time.monotonic()
    last: object = None
    last_change = started
    while time.monotonic() - started < timeout_seconds:
        snapshot = [(p.namespace, p.name, p.phase, p.node) for p in pod_states(cluster)]
        if snapshot != last:
            last, last_change = snapshot, time.monotonic()
        elif time.monotonic() - last_change >= quiet_seconds:
            break
        time.sleep(1.0)
    return time.monotonic() - started
