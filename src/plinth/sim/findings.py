"""What the real control plane says about the synced platform, read back from the cluster:

- every pod scheduled, or the scheduler's reason (``PodScheduled`` False);
- nodes used per pool (nodes holding at least one pod that is not a DaemonSet's) and the pods' requests,
  next to what ``plinth plan`` says the pool needs;
- admission rejections: the controllers' ``FailedCreate`` events (ResourceQuota, LimitRange, Pod Security and
  every other reason the API server gives for refusing a pod);
- objects the API server refused during Argo CD's sync (each ``SyncFailed`` resource with Argo CD's message);
- selectors that match nothing that exists: Service, PodDisruptionBudget, NetworkPolicy (its pods and its
  peers), ServiceMonitor, PodMonitor, and every pod's own topology spread and (anti-)affinity terms.

Objects are attributed to the Argo CD Application that applied them (its tracking annotation) or to the
controller that created them (owner references).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from plinth.quantities import mebibytes, millicores
from plinth.kube.references import pod_references
from plinth.sim.cluster import SimCluster

TRACKING = "argocd.argoproj.io/tracking-id"
POOL_LABEL = "plinth.dev/pool"
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass
class Finding:
    """One thing the cluster said that the tree should hear about."""

    kind: str
    """scheduling, admission, api-refused, selector, pod-not-running, mount."""
    object: str
    message: str
    source: str = ""
    """The Application that applied the object, or its owner."""


@dataclass
class PoolUse:
    """One node pool as the scheduler filled it."""

    pool: str
    nodes: int
    nodes_used: int
    pods: int
    cpu_requested_millicores: int
    memory_requested_mib: int
    cpu_allocatable_millicores: int
    memory_allocatable_mib: int
    planned_nodes_at_min: int | None = None
    planned_nodes_at_max: int | None = None
    zones: dict[str, int] = field(default_factory=dict)


@dataclass
class ClusterReport:
    """Findings and pool use of one cluster at one moment."""

    pods: int = 0
    running: int = 0
    pending: int = 0
    pools: list[PoolUse] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        return asdict(self)

    def count(self, kind: str) -> int:
        """How many findings of one kind."""
        return sum(1 for f in self.findings if f.kind == kind)


def _items(cluster: SimCluster, resource: str) -> list[dict[str, Any]]:
    result = cluster.kubectl("get", resource, "-A", "-o", "json", check=False, timeout=600)
    if result.returncode != 0:
        return []
    return json.loads(result.stdout).get("items", [])


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{ns}/{meta.get('name')}" if ns else f"{obj.get('kind')}/{meta.get('name')}"


def source_of(obj: dict[str, Any]) -> str:
    """``Application <name>`` from Argo CD's tracking annotation, else ``created by <owner kind>/<name>``."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    tracking = annotations.get(TRACKING)
    if tracking:
        return f"Application {tracking.split(':', 1)[0]}"
    owners = obj.get("metadata", {}).get("ownerReferences") or []
    if owners:
        return f"created by {owners[0]['kind']}/{owners[0]['name']}"
    return ""


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against labels; an empty selector matches all."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _plain_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _requests(pod: dict[str, Any]) -> tuple[int, int]:
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += millicores(requests.get("cpu", 0))
        memory += mebibytes(requests.get("memory", 0))
    init_cpu = init_mem = 0
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        init_cpu = max(init_cpu, millicores(requests.get("cpu", 0)))
        init_mem = max(init_mem, mebibytes(requests.get("memory", 0)))
    return max(cpu, init_cpu), max(memory, init_mem)


def _is_daemonset_pod(pod: dict[str, Any]) -> bool:
    return any(o.get("kind") == "DaemonSet" for o in pod["metadata"].get("ownerReferences") or [])


def pool_use(nodes: list[dict[str, Any]], pods: list[dict[str, Any]], plan: dict[str, tuple[int, int]] | None = None) -> list[PoolUse]:
    """Per pool: nodes, nodes holding non-DaemonSet pods, pods, requests against allocatable, pods per zone."""
    by_node = {n["metadata"]["name"]: n for n in nodes}
    pools: dict[str, PoolUse] = {}
    for node in nodes:
        pool = (node["metadata"].get("labels") or {}).get(POOL_LABEL, "")
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        use = pools.setdefault(pool, PoolUse(pool, 0, 0, 0, 0, 0, 0, 0))
        use.nodes += 1
        use.cpu_allocatable_millicores += millicores(allocatable.get("cpu", 0))
        use.memory_allocatable_mib += mebibytes(allocatable.get("memory", 0))
    used: dict[str, set[str]] = {}
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name or node_name not in by_node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        labels = by_node[node_name]["metadata"].get("labels") or {}
        use = pools[labels.get(POOL_LABEL, "")]
        cpu, memory = _requests(pod)
        use.cpu_requested_millicores += cpu
        use.memory_requested_mib += memory
        if not _is_daemonset_pod(pod):
            use.pods += 1
            used.setdefault(use.pool, set()).add(node_name)
            zone = labels.get(ZONE_LABEL, "")
            use.zones[zone] = use.zones.get(zone, 0) + 1
    for name, use in pools.items():
        use.nodes_used = len(used.get(name, set()))
        if plan and name in plan:
            use.planned_nodes_at_min, use.planned_nodes_at_max = plan[name]
        use.zones = dict(sorted(use.zones.items()))
    return sorted(pools.values(), key=lambda p: p.pool)


def scheduling_findings(pods: list[dict[str, Any]]) -> list[Finding]:
    """Pending pods with the scheduler's reason, and pods neither Running nor Succeeded."""
    found = []
    for pod in pods:
        status = pod.get("status") or {}
        phase = status.get("phase", "")
        if phase in ("Running", "Succeeded"):
            continue
        reason = ""
        for condition in status.get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") != "True":
                reason = f"{condition.get('reason', '')}: {condition.get('message', '')}"
        kind = "scheduling" if reason else "pod-not-running"
        found.append(Finding(kind, _key(pod), reason or f"phase {phase or 'unknown'}", source_of(pod)))
    return found


def admission_findings(events: list[dict[str, Any]]) -> list[Finding]:
    """The controllers' FailedCreate (and other Failed*) warnings, one per object and message."""
    seen: set[tuple[str, str]] = set()
    found = []
    for event in events:
        if event.get("type") != "Warning" or not str(event.get("reason", "")).startswith("FailedCreate"):
            continue
        involved = event.get("involvedObject") or {}
        key = f"{involved.get('kind')}/{involved.get('namespace')}/{involved.get('name')}"
        message = str(event.get("message", ""))
        if (key, message) in seen:
            continue
        seen.add((key, message))
        found.append(Finding("admission", key, f"{event.get('reason')}: {message}"))
    return found


def refused_findings(applications: list[dict[str, Any]]) -> list[Finding]:
    """Resources whose last sync failed, with the message Argo CD got (the API server's own words)."""
    found = []
    for app in applications:
        result = ((app.get("status") or {}).get("operationState") or {}).get("syncResult") or {}
        for resource in result.get("resources") or []:
            if resource.get("status") == "SyncFailed" or resource.get("hookPhase") in ("Failed", "Error"):
                ns = resource.get("namespace")
                key = f"{resource.get('kind')}/{ns}/{resource.get('name')}" if ns else f"{resource.get('kind')}/{resource.get('name')}"
                found.append(Finding("api-refused", key, str(resource.get("message", "")), f"Application {app['metadata']['name']}"))
    return found


def _namespaces_for(term: dict[str, Any], own: str, namespaces: list[dict[str, Any]]) -> list[str]:
    if term.get("namespaceSelector") is not None:
        return [n["metadata"]["name"] for n in namespaces if selector_matches(term["namespaceSelector"], n["metadata"].get("labels") or {})]
    return list(term.get("namespaces") or [own])


def selector_findings(objects: dict[str, list[dict[str, Any]]]) -> list[Finding]:
    """Every selector of the synced objects that matches none of the pods (or Services) that exist."""
    pods = [p for p in objects["pods"] if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    pods_by_ns: dict[str, list[dict[str, str]]] = {}
    for pod in pods:
        pods_by_ns.setdefault(pod["metadata"]["namespace"], []).append(pod["metadata"].get("labels") or {})
    services_by_ns: dict[str, list[dict[str, str]]] = {}
    for service in objects["services"]:
        services_by_ns.setdefault(service["metadata"]["namespace"], []).append(service["metadata"].get("labels") or {})
    namespaces = objects["namespaces"]
    found: list[Finding] = []

    def none_in(namespace_list: list[str], selector: dict[str, Any], pool: dict[str, list[dict[str, str]]]) -> bool:
        return not any(selector_matches(selector, labels) for ns in namespace_list for labels in pool.get(ns, []))

    for service in objects["services"]:
        selector = (service.get("spec") or {}).get("selector")
        ns = service["metadata"]["namespace"]
        if selector and not any(_plain_matches(selector, labels) for labels in pods_by_ns.get(ns, [])):
            found.append(Finding("selector", _key(service), f"spec.selector {json.dumps(selector, sort_keys=True)} matches no pod",
                                 source_of(service)))
    for pdb in objects["pdbs"]:
        ns = pdb["metadata"]["namespace"]
        selector = (pdb.get("spec") or {}).get("selector")
        if none_in([ns], selector or {}, pods_by_ns):
            found.append(Finding("selector", _key(pdb), f"spec.selector {json.dumps(selector, sort_keys=True)} matches no pod", source_of(pdb)))
    for policy in objects["networkpolicies"]:
        ns = policy["metadata"]["namespace"]
        spec = policy.get("spec") or {}
        selector = spec.get("podSelector") or {}
        if selector and none_in([ns], selector, pods_by_ns):
            found.append(Finding("selector", _key(policy), f"spec.podSelector {json.dumps(selector, sort_keys=True)} matches no pod",
                                 source_of(policy)))
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for index, rule in enumerate(spec.get(direction) or []):
                for peer_index, peer in enumerate(rule.get(peers_key) or []):
                    if "podSelector" not in peer:
                        continue
                    target = _namespaces_for(peer, ns, namespaces)
                    if peer["podSelector"] and none_in(target, peer["podSelector"], pods_by_ns):
                        found.append(Finding("selector", _key(policy),
                                             f"spec.{direction}[{index}].{peers_key}[{peer_index}].podSelector "
                                             f"{json.dumps(peer['podSelector'], sort_keys=True)} matches no pod in {', '.join(target) or 'no namespace'}",
                                             source_of(policy)))
    for monitor_key, pool, what in (("servicemonitors", services_by_ns, "Service"), ("podmonitors", pods_by_ns, "pod")):
        for monitor in objects.get(monitor_key, []):
            ns = monitor["metadata"]["namespace"]
            spec = monitor.get("spec") or {}
            ns_selector = spec.get("namespaceSelector") or {}
            if ns_selector.get("any"):
                target = [n["metadata"]["name"] for n in namespaces]
            else:
                target = ns_selector.get("matchNames") or [ns]
            if none_in(target, spec.get("selector") or {}, pool):
                found.append(Finding("selector", _key(monitor), f"spec.selector {json.dumps(spec.get('selector'), sort_keys=True)} "
                                     f"matches no {what} in {', '.join(target)}", source_of(monitor)))
    seen: set[tuple[str, str]] = set()
    for pod in pods:
        ns = pod["metadata"]["namespace"]
        spec = pod.get("spec") or {}
        owner = source_of(pod) or _key(pod)
        for index, constraint in enumerate(spec.get("topologySpreadConstraints") or []):
            selector = constraint.get("labelSelector")
            if selector is not None and not selector_matches(selector, pod["metadata"].get("labels") or {}):
                message = (f"topologySpreadConstraints[{index}] ({constraint.get('topologyKey')}) labelSelector "
                           f"{json.dumps(selector, sort_keys=True)} does not match the pod itself: its replicas are not spread")
                if (owner, message) not in seen:
                    seen.add((owner, message))
                    found.append(Finding("selector", owner.removeprefix("created by "), message, owner))
        affinity = spec.get("affinity") or {}
        for kind in ("podAntiAffinity", "podAffinity"):
            section = affinity.get(kind) or {}
            terms = list(section.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
            terms += [t.get("podAffinityTerm") or {} for t in section.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
            for term in terms:
                selector = term.get("labelSelector")
                if selector is None:
                    continue
                matches_self = selector_matches(selector, pod["metadata"].get("labels") or {})
                if kind == "podAntiAffinity" and not matches_self:
                    message = (f"{kind} ({term.get('topologyKey')}) labelSelector {json.dumps(selector, sort_keys=True)} "
                               "does not match the pod itself: its replicas may share a node or zone")
                elif kind == "podAffinity" and none_in(_namespaces_for(term, ns, namespaces), selector, pods_by_ns):
                    message = f"{kind} ({term.get('topologyKey')}) labelSelector {json.dumps(selector, sort_keys=True)} matches no pod"
                else:
                    continue
                if (owner, message) not in seen:
                    seen.add((owner, message))
                    found.append(Finding("selector", owner.removeprefix("created by "), message, owner))
    return found


def mount_findings(objects: dict[str, list[dict[str, Any]]]) -> list[Finding]:
    """Pods that name a ConfigMap or Secret (or a key of one) that does not exist: a kubelet never starts them
    (FailedMount, CreateContainerConfigError) while kwok runs every pod; one finding per owner and missing object."""
    keys: dict[tuple[str, str, str], set[str]] = {}
    for kind, resource in (("ConfigMap", "configmaps"), ("Secret", "secrets")):
        for obj in objects.get(resource) or []:
            meta = obj["metadata"]
            keys[(kind, meta.get("namespace", ""), meta["name"])] = set(obj.get("data") or {}) | set(obj.get("binaryData") or {})
    seen: set[tuple[str, str]] = set()
    found = []
    for pod in objects["pods"]:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        namespace = pod["metadata"]["namespace"]
        owner = source_of(pod)
        for ref in pod_references(pod.get("spec") or {}, "spec"):
            if ref.kind not in ("ConfigMap", "Secret") or ref.optional or ".imagePullSecrets." in ref.field_path:
                continue
            have = keys.get((ref.kind, namespace, ref.name))
            if have is not None and (ref.key is None or ref.key in have):
                continue
            where, what = ref.field_path, f"{ref.kind} {namespace}/{ref.name}"
            message = (f"{where} needs {what}, which does not exist" if have is None
                       else f"{where} needs key {ref.key!r} of {what}, which has only {', '.join(sorted(have)) or 'no keys'}")
            if (owner, message) in seen:
                continue
            seen.add((owner, message))
            found.append(Finding("mount", _key(pod), f"{message}: the kubelet would never start the pod", owner))
    return found


def collect(cluster: SimCluster) -> dict[str, list[dict[str, Any]]]:
    """The objects the findings read, in one pass."""
    return {
        "pods": _items(cluster, "pods"), "nodes": _items(cluster, "nodes"), "services": _items(cluster, "services"),
        "pdbs": _items(cluster, "poddisruptionbudgets"), "networkpolicies": _items(cluster, "networkpolicies"),
        "namespaces": _items(cluster, "namespaces"), "events": _items(cluster, "events"),
        "servicemonitors": _items(cluster, "servicemonitors.monitoring.coreos.com"),
        "podmonitors": _items(cluster, "podmonitors.monitoring.coreos.com"),
        "applications": _items(cluster, "applications.argoproj.io"),
        "configmaps": _items(cluster, "configmaps"), "secrets": _items(cluster, "secrets"),
    }


def cluster_report(cluster: SimCluster, plan: dict[str, tuple[int, int]] | None = None,
                   objects: dict[str, list[dict[str, Any]]] | None = None) -> ClusterReport:
    """Every finding and the pools' use (``plan``: pool -> planned nodes at minimum and maximum replicas)."""
    objects = objects or collect(cluster)
    pods = objects["pods"]
    phases = Counter((p.get("status") or {}).get("phase", "") for p in pods)
    report = ClusterReport(pods=len(pods), running=phases.get("Running", 0), pending=phases.get("Pending", 0))
    report.pools = pool_use(objects["nodes"], pods, plan)
    report.findings = (scheduling_findings(pods) + admission_findings(objects["events"]) + refused_findings(objects["applications"])
                       + selector_findings(objects) + mount_findings(objects))
    return report
