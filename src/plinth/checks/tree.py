"""Tree checks: relations between the objects of the union (targets and selectors that must find something).

Chart pods are objects like any other once the charts are hydrated; only when a chart Application was not
hydrated (no chart directory) is a selector in its namespace left unjudged, since its pods are unknown."""

from __future__ import annotations

from collections.abc import Iterator

from plinth.checks.cluster_made import ACME_SOLVER_LABELS, BUILTIN_SERVICES, acme_solver_namespaces, kubelet_services
from plinth.checks.engine import Check, CheckContext, Finding
from plinth.kube.objects import get, selector_matches
from plinth.kube.pods import scale_target


def _scale_targets(check: Check, ctx: CheckContext, kind: str) -> Iterator[Finding]:
    for item in ctx.of_kind(kind):
        target_kind, name = scale_target(item.obj)
        ns = item.obj["metadata"].get("namespace")
        if ctx.find(target_kind, ns, name) is None:
            yield check.finding(ctx, item, "spec.scaleTargetRef",
                                f"scales {target_kind} {ns}/{name}, which no Application applies")


def hpa_target_exists(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each HorizontalPodAutoscaler's scaleTargetRef names a rendered workload."""
    yield from _scale_targets(check, ctx, "HorizontalPodAutoscaler")


def scaledobject_target_exists(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each KEDA ScaledObject's scaleTargetRef names a rendered workload."""
    yield from _scale_targets(check, ctx, "ScaledObject")


def _unverifiable(ctx: CheckContext, namespace: str) -> bool:
    """A chart Application of the namespace was not hydrated: a selector there may match its unknown pods."""
    return namespace in ctx.unhydrated_namespaces()


def _runtime_pods(ctx: CheckContext, namespace: str, selector: dict | None) -> bool:
    """The selector matches pods an operator starts at run time in the namespace (cert-manager's HTTP-01 solvers)."""
    return namespace in acme_solver_namespaces(ctx.objects) and selector_matches(selector, ACME_SOLVER_LABELS)


def _selector_targets(check: Check, ctx: CheckContext, kind: str, selector_path: str, what: str) -> Iterator[Finding]:
    groups = ctx.pod_groups()
    for item in ctx.of_kind(kind):
        ns = item.obj["metadata"].get("namespace", "")
        selector = get(item.obj, selector_path)
        if kind == "Service":
            if not selector:
                continue  # a Service without selector is backed by hand-made EndpointSlices
            selector = {"matchLabels": selector}
        if not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions"):
            if kind == "PodDisruptionBudget":
                yield check.finding(ctx, item, selector_path, "has an empty selector: it budgets every pod of the namespace at once")
            continue
        if any(g.namespace == ns and g.selected_by(selector) for g in groups) or _runtime_pods(ctx, ns, selector) or _unverifiable(ctx, ns):
            continue
        yield check.finding(ctx, item, selector_path, f"{what} {_describe(selector)} matches no pod in {ns}")


def _describe(selector: dict) -> str:
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    parts += [f"{e.get('key')} {e.get('operator')} {e.get('values', [])}" for e in selector.get("matchExpressions") or []]
    return "{" + ", ".join(parts) + "}"


def pdb_selects_pods(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each PodDisruptionBudget selects rendered pods."""
    yield from _selector_targets(check, ctx, "PodDisruptionBudget", "spec.selector", "selector")


def service_selects_pods(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each Service with a selector selects rendered pods."""
    yield from _selector_targets(check, ctx, "Service", "spec.selector", "selector")


def networkpolicy_selects_pods(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each NetworkPolicy with a non-empty podSelector selects rendered pods."""
    yield from _selector_targets(check, ctx, "NetworkPolicy", "spec.podSelector", "podSelector")


def servicemonitor_selects_service(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each ServiceMonitor selects at least one Service in the namespaces it watches (an applied one, the API server's
    ``default/kubernetes``, or the kubelet Service prometheus-operator keeps)."""
    services = [(s.obj["metadata"].get("namespace"), s.obj["metadata"].get("labels") or {}) for s in ctx.of_kind("Service")]
    services += [(ns, labels) for ns, _, labels, _ in BUILTIN_SERVICES]
    services += [(ns, labels) for ns, _, labels, _ in kubelet_services(ctx.objects)]
    for item in ctx.of_kind("ServiceMonitor"):
        own_ns = item.obj["metadata"].get("namespace", "")
        ns_sel = get(item.obj, "spec.namespaceSelector", {}) or {}
        namespaces = None if ns_sel.get("any") else set(ns_sel.get("matchNames") or [own_ns])
        candidates = [labels for ns, labels in services if namespaces is None or ns in namespaces]
        selector = get(item.obj, "spec.selector", {}) or {}
        if any(selector_matches(selector, labels) for labels in candidates):
            continue
        if namespaces is not None and any(_unverifiable(ctx, ns) for ns in namespaces):
            continue
        where = "any namespace" if namespaces is None else ", ".join(sorted(namespaces))
        yield check.finding(ctx, item, "spec.selector", f"selector {_describe(selector)} matches no Service in {where}: nothing is scraped")


def pdb_allows_drain(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A PDB must let at least one pod be evicted, or node drains (upgrades, scale-down) block forever."""
    groups = ctx.pod_groups()
    for item in ctx.of_kind("PodDisruptionBudget"):
        spec = item.obj.get("spec", {})
        ns = item.obj["metadata"].get("namespace", "")
        if "maxUnavailable" in spec:
            value = spec["maxUnavailable"]
            if value in (0, "0", "0%"):
                yield check.finding(ctx, item, "spec.maxUnavailable", "maxUnavailable is 0: no pod may ever be evicted, so no node can be drained")
            continue
        if "minAvailable" not in spec:
            continue
        matched = [g for g in groups if g.namespace == ns and g.selected_by(spec.get("selector")) and not g.transient]
        replicas = sum(g.replicas_min for g in matched)
        min_available = spec["minAvailable"]
        if isinstance(min_available, str) and min_available.endswith("%"):
            needed = -(-replicas * int(min_available[:-1]) // 100)
        else:
            needed = int(min_available)
        if str(min_available) == "100%" or (matched and needed >= replicas):
            yield check.finding(ctx, item, "spec.minAvailable",
                                f"minAvailable {min_available} >= the {replicas} replica(s) it selects at minimum scale: "
                                "no pod may be evicted, so no node can be drained")


def workloads_have_networkpolicy(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every rendered workload's pods are selected by at least one NetworkPolicy of their namespace."""
    policies = ctx.of_kind("NetworkPolicy")
    for group in ctx.pod_groups():
        covered = any(p.obj["metadata"].get("namespace") == group.namespace
                      and selector_matches(get(p.obj, "spec.podSelector", {}), group.labels) for p in policies)
        if not covered:
            yield check.finding(ctx, ctx.item_of(group), "metadata.labels",
                                f"pods of {group.short_name} in {group.namespace} are selected by no NetworkPolicy: all traffic is allowed")


def application_paths_exist(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each Argo CD Application reading this repository points at a folder of the rendered tree."""
    root = ctx.platform.git.rendered_path
    folders = set()
    for item in ctx.rendered:
        parts = f"{root}/{item.path}".split("/")[:-1]
        folders.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    for item in ctx.of_kind("Application"):
        spec = item.obj.get("spec", {})
        sources = [("spec.source", spec["source"])] if "source" in spec else []
        sources += [(f"spec.sources.{i}", s) for i, s in enumerate(spec.get("sources") or [])]
        for where, source in sources:
            if "chart" in source or source.get("repoURL") != ctx.platform.git.repo_url:
                continue
            path = (source.get("path") or "").strip("/")
            if path not in folders:
                yield check.finding(ctx, item, f"{where}.path", f"path {path!r} is not a folder of the rendered tree: Argo CD would sync nothing")


CHECKS = (
    Check("PL-TREE-001", "error", "tree", "HorizontalPodAutoscaler targets a rendered workload",
          "Fix spec.scaleTargetRef to name a Deployment/StatefulSet/Rollout rendered in the same namespace.", hpa_target_exists),
    Check("PL-TREE-002", "error", "tree", "ScaledObject targets a rendered workload",
          "Fix spec.scaleTargetRef (kind defaults to Deployment) to name a workload rendered in the same namespace.", scaledobject_target_exists),
    Check("PL-TREE-003", "error", "tree", "PodDisruptionBudget selects rendered pods",
          "Make spec.selector match the pod labels of the workload it protects.", pdb_selects_pods),
    Check("PL-TREE-004", "error", "tree", "Service selects rendered pods",
          "Make spec.selector match the pod template labels of its workload.", service_selects_pods),
    Check("PL-TREE-005", "error", "tree", "ServiceMonitor selects a rendered Service",
          "Make spec.selector/namespaceSelector match the labels and namespace of the Service to scrape.", servicemonitor_selects_service),
    Check("PL-TREE-006", "error", "tree", "NetworkPolicy selects rendered pods",
          "Make spec.podSelector match the pods the policy is meant for; a policy matching nothing protects nothing.", networkpolicy_selects_pods),
    Check("PL-TREE-007", "error", "tree", "PodDisruptionBudget allows a node drain",
          "Use maxUnavailable >= 1, or minAvailable below the workload's minimum replicas.", pdb_allows_drain),
    Check("PL-TREE-008", "error", "tree", "Every workload is covered by a NetworkPolicy",
          "Render a default-deny NetworkPolicy in the namespace and allow the workload's flows explicitly.", workloads_have_networkpolicy),
    Check("PL-TREE-009", "error", "tree", "Argo CD Application points at a rendered folder",
          "Fix spec.source.path to a folder under the rendered tree (kubernetes/<env>/...).", application_paths_exist),
)
