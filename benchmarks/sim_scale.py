"""Scheduling at scale: the environment scaled to N organisations by the planner's growth model (replicas,
volumes and the namespaces' ResourceQuotas, which grow with what the namespaces need), its pools
created with the planner's node counts, the rendered and hydrated tree applied to a throwaway simulated
cluster, and the real kube-scheduler placing every pod. Prints, per organisation count: nodes per pool (plan
min/max against created and used), pods per pool, Pending pods grouped by the scheduler's reason, apply and
scheduling time, and the peak resident memory of each control-plane process and of all of them.

This is the direct path (no Argo CD sync, which takes 30-50 minutes here): objects are server-side applied
CRDs first; what operators would create is made by stand-ins —
- ``plinth.sim.standin_operators`` (Altinity ClickHouse, Strimzi), ``plinth.sim.standin_controllers``
  (Envoy Gateway's proxy), ``plinth.sim.cloud`` (disks, load-balancer addresses), as in the zone-loss test;
- Argo Rollouts: each Rollout's ReplicaSet from its pod template (what the controller creates for the stable
  revision, with the ``rollouts-pod-template-hash`` label);
- CloudNativePG Clusters and Poolers, OT redis-operator Redis*, prometheus-operator Prometheus/Alertmanager:
  bare "model pods" from the project's pod model (``plinth.kube.pods``: labels, requests, pool, tolerations,
  spread, hard anti-affinity of the custom resource), without their volumes. Their operators run only in the
  full sync; here they show where the scheduler puts pods shaped like theirs.
Workloads an HPA or ScaledObject scales start at its minimum (the HPA controller enforces it; KEDA does not run
here), as the planner's "at min" counts them. Hooks, Jobs and CronJobs are left out (the planner reserves no
node for pods that run to completion), and so are webhook configurations and APIServices, whose backends do
not run here (they would refuse the objects they intercept).

Run (root; the sim toolchain built by ``scripts/setup.sh test``; ../shared/charts for the charts):
  .venv/bin/python benchmarks/sim_scale.py [--orgs 10000 100000] [--env prod] [--nodes min|max]
      [--quiet 20] [--timeout 1800] [--json FILE]
Default organisation counts: the spec's own, 10,000 and 100,000. One cluster at a time, stopped by PID after each.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from plinth.charts.argo import is_hook
from plinth.charts.workflow import Hydrator
from plinth.kube.pods import ADAPTERS, PodGroup, api_group, autoscaler_bounds, pod_groups
from plinth.plan.capacity import plan_capacity
from plinth.plan.growth import scale_platform
from plinth.render.pipeline import render_platform
from plinth.sim.apply import apply_objects, pod_states
from plinth.sim.cloud import assign_load_balancers, provision
from plinth.sim.cluster import running_cluster
from plinth.sim.kubeclient import PODS, ApiError, KubeClient, Resource, cluster_client
from plinth.sim.nodes import add_nodes, spec_nodes
from plinth.sim.standin_controllers import gateway_pass
from plinth.sim.standin_operators import clickhouse_pass, strimzi_pass
from plinth.sim.toolchain import default_minor, ensure_binaries, pinned_versions
from plinth.spec.loader import load_platform
from plinth.spec.model import Platform

REPLICASETS = Resource("apps", "v1", "replicasets")
MANAGER = "plinth-sim-scale"
MODEL_POD_LABEL = "plinth.dev/sim-model-pod"
HASH_LABEL = "rollouts-pod-template-hash"
LEFT_OUT_KINDS = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "Job", "CronJob"}
MODEL_KINDS = {("postgresql.cnpg.io", "Cluster"), ("postgresql.cnpg.io", "Pooler"), ("redis.redis.opstreelabs.in", "RedisReplication"),
               ("redis.redis.opstreelabs.in", "RedisSentinel"), ("redis.redis.opstreelabs.in", "Redis"),
               ("monitoring.coreos.com", "Prometheus"), ("monitoring.coreos.com", "Alertmanager")}
"""Custom resources whose operator does not run in the direct path and has no stand-in: model pods instead."""
assert MODEL_KINDS <= set(ADAPTERS)
DIRECT_PATH_ARTIFACTS = {
    "error looking up service account": "a pod created before its ServiceAccount was applied (one apply, no waves); the controller retries",
    'the spec replicas field ".spec.replicas" does not exist': "an HPA on a Rollout: the Argo Rollouts controller defaults spec.replicas "
                                                               "(argoproj/argo-rollouts#119) and does not run here",
}
"""Warnings that come from applying everything at once without the operators, by a piece of their message."""


# --------------------------------------------------------------------------- memory


class PeakMemory:
    """Samples, every ``interval`` seconds, the resident memory of each named process tree and of all of them."""

    def __init__(self, pids: dict[str, int], interval: float = 1.0):
        self.pids = dict(pids)
        self.interval = interval
        self.peak_kib: dict[str, int] = {name: 0 for name in pids}
        self.peak_total_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                rss[int(entry.name)] = int((entry / "statm").read_text().split()[1]) * page_kib
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
        total = 0
        for name, pid in self.pids.items():
            tree, stack = 0, [pid]
            while stack:
                current = stack.pop()
                tree += rss.get(current, 0)
                stack.extend(children.get(current, []))
            self.peak_kib[name] = max(self.peak_kib[name], tree)
            total += tree
        self.peak_total_kib = max(self.peak_total_kib, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# --------------------------------------------------------------------------- objects


def objects_to_apply(platform: Platform, rendered: list[Any], hydrated: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rendered and hydrated objects the direct path applies (autoscaled workloads at their minimum), and what
    was left out or changed, counted by reason."""
    candidates = [r.obj for r in rendered] + [h.obj for h in hydrated if not h.hook_phases]
    bounds = autoscaler_bounds(candidates)
    chosen, notes = [], Counter()
    for obj in candidates:
        kind = obj.get("kind", "")
        if kind in LEFT_OUT_KINDS:
            notes[f"left out: {kind}"] += 1
            continue
            continue
        if is_hook(obj):
            notes["left out: Argo CD hook"] += 1
            continue
        if (api_group(obj), kind) in MODEL_KINDS or kind == "Rollout":
            notes[f"applied, pods from a stand-in: {kind}"] += 1
        meta = obj.get("metadata") or {}
        minimum = bounds.get((meta.get("namespace", ""), kind, meta.get("name", "")))
        if minimum is not None and kind in ("Deployment", "StatefulSet"):
            obj = copy.deepcopy(obj)
            obj["spec"]["replicas"] = minimum[0]
            notes[f"replicas set to the autoscaler's minimum: {kind}"] += 1
        chosen.append(obj)
    return chosen, [f"{count} x {note}" for note, count in sorted(notes.items())]


def rollout_replicasets(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Argo Rollouts' stable ReplicaSet for each Rollout (autoscaler minimum, else ``spec.replicas``, else 1)."""
    bounds = autoscaler_bounds(objects)
    result = []
    for obj in objects:
        if obj.get("kind") != "Rollout" or api_group(obj) != "argoproj.io":
            continue
        meta, spec = obj["metadata"], obj.get("spec") or {}
        replicas = (bounds.get((meta["namespace"], "Rollout", meta["name"])) or (spec.get("replicas", 1),))[0]
        template = copy.deepcopy(spec["template"])
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = "sim"
        selector = copy.deepcopy(spec["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = "sim"
        result.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": f"{meta['name']}-sim", "namespace": meta["namespace"],
                                    "labels": {**template["metadata"]["labels"]}},
                       "spec": {"replicas": replicas, "selector": selector, "template": template}})
    return result


def _scheduling_fields(group: PodGroup) -> dict[str, Any]:
    """nodeSelector, tolerations, affinity and spread of a custom resource's pods, from the resource."""
    obj = group.obj or {}
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    fields: dict[str, Any] = {}
    if kind == "Pooler":
        pod = (spec.get("template") or {}).get("spec") or {}
        fields = {k: copy.deepcopy(pod[k]) for k in ("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints") if pod.get(k)}
    elif kind == "Cluster":
        affinity = spec.get("affinity") or {}
        fields = {k: copy.deepcopy(affinity[k]) for k in ("nodeSelector", "tolerations") if affinity.get(k)}
        if affinity.get("nodeAffinity"):
            fields["affinity"] = {"nodeAffinity": copy.deepcopy(affinity["nodeAffinity"])}
        if spec.get("topologySpreadConstraints"):
            fields["topologySpreadConstraints"] = copy.deepcopy(spec["topologySpreadConstraints"])
    else:
        fields = {k: copy.deepcopy(spec[k]) for k in ("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints") if spec.get(k)}
    if group.anti_affinity and not (fields.get("affinity") or {}).get("podAntiAffinity"):
        fields.setdefault("affinity", {})["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            copy.deepcopy(term) for term in group.anti_affinity]}
    return fields


def model_pods(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bare pods shaped like those the operators without a stand-in would create (see the module docstring)."""
    pods = []
    for group in pod_groups(objects):
        if group.transient or group.obj is None or (api_group(group.obj), group.obj.get("kind")) not in MODEL_KINDS:
            continue
        requests = {"cpu": f"{group.cpu_millicores}m", "memory": f"{group.memory_mib}Mi"}
        container = {"name": "model", "image": "registry.invalid/model:0",
                     "resources": {"requests": requests, "limits": dict(requests)},
                     "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "runAsUser": 65532,
                                         "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}}
        base = group.object_name + (f"-{group.role}" if group.role else "")
        for index in range(group.replicas_min):
            pods.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"{base}-{index + 1}"[:63].rstrip("-"), "namespace": group.namespace,
                                      "labels": {**group.labels, MODEL_POD_LABEL: group.kind}},
                         "spec": {"containers": [container], "automountServiceAccountToken": False, **_scheduling_fields(group)}})
    return pods


# --------------------------------------------------------------------------- one run


def _tick(client: KubeClient, errors: Counter) -> None:
    for step in (provision, assign_load_balancers, clickhouse_pass, strimzi_pass, gateway_pass):
        try:
            step(client)
        except (ApiError, OSError, KeyError) as exc:
            errors[f"{step.__name__}: {str(exc)[:160]}"] += 1


def _create(client: KubeClient, resource: Resource, objects: list[dict[str, Any]], errors: Counter) -> int:
    made = 0
    for obj in objects:
        try:
            client.apply(resource, obj, MANAGER, obj["metadata"]["namespace"])
            made += 1
        except ApiError as exc:
            errors[f"{obj['kind']} refused: {exc}"[:300]] += 1
    return made


def run_one(spec: Path, environment: str, organisations: int | None, node_count: str, quiet: float, timeout: float) -> dict[str, Any]:
    """Scale (quotas included), plan, start a cluster, create the nodes, apply, wait for the scheduler; return the figures."""
    base = load_platform(spec, environment)
    hydrator = Hydrator(spec)
    started = time.monotonic()
    platform = scale_platform(base, organisations, hydrator) if organisations and organisations != base.load.organisations else base
    orgs = platform.load.organisations
    rendered = render_platform(platform)
    hydration = hydrator.hydrate({environment: platform}, rendered)
    hydrated = [h for h in hydration.objects if h.environment == environment]
    plan = plan_capacity(platform, rendered, hydrated=hydrated)
    planned = {p.name: {"min": p.at_min.nodes, "max": p.at_max.nodes, "pods_at_min": p.at_min.pods, "pods_at_max": p.at_max.pods}
               for p in plan.pools}
    counts = {name: figures[node_count] for name, figures in planned.items()}
    objects, notes = objects_to_apply(platform, rendered, hydrated)
    figures: dict[str, Any] = {"organisations": orgs, "prepare_seconds": round(time.monotonic() - started, 1), "plan": planned,
                               "nodes_created": counts, "applied_objects": len(objects), "notes": notes}
    print(f"\n== {orgs:,} organisations: plan {planned}; creating nodes at plan {node_count}: {counts}", flush=True)
    versions = pinned_versions(default_minor(platform.cluster.kubernetes_version))
    ensure_binaries(versions, log=lambda _line: None)
    errors: Counter = Counter()
    up = time.monotonic()
    with running_cluster(f"scale{os.getpid()}", versions) as cluster:
        figures["cluster_start_seconds"] = round(time.monotonic() - up, 1)
        with PeakMemory(cluster.pids) as memory:
            t = time.monotonic()
            nodes = spec_nodes(platform, counts=counts)
            add_nodes(cluster, nodes)
            figures["nodes_seconds"] = round(time.monotonic() - t, 1)
            t = time.monotonic()
            report = apply_objects(cluster, objects)
            client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
            replicasets = rollout_replicasets(objects)
            figures["rollout_replicasets"] = _create(client, REPLICASETS, replicasets, errors)
            models = model_pods(objects)
            figures["model_pods"] = _create(client, PODS, models, errors)
            applied_at = time.monotonic()
            figures["apply_seconds"] = round(applied_at - t, 1)
            figures["objects"] = {status: report.count(status) for status in ("applied", "rejected", "no-crd")}
            figures["rejected"] = [f"{r.key}: {r.message[:200]}" for r in report.results if r.status == "rejected"]
            print(f"applied {figures['objects']} in {figures['apply_seconds']} s "
                  f"(+{figures['rollout_replicasets']} Rollout ReplicaSets, {figures['model_pods']} model pods)", flush=True)
            last_snapshot: Any = None
            last_change = last_scheduled = time.monotonic()
            scheduled = 0
            while time.monotonic() - applied_at < timeout:
                _tick(client, errors)
                pods = client.list(PODS)
                snapshot = sorted((p["metadata"]["namespace"], p["metadata"]["name"], p["spec"].get("nodeName", "")) for p in pods)
                now_scheduled = sum(1 for _, _, node in snapshot if node)
                if now_scheduled != scheduled:
                    scheduled, last_scheduled = now_scheduled, time.monotonic()
                if snapshot != last_snapshot:
                    last_snapshot, last_change = snapshot, time.monotonic()
                elif time.monotonic() - last_change >= quiet:
                    break
                time.sleep(2.0)
            figures["schedule_seconds"] = round(last_scheduled - applied_at, 1)
            figures["settle_seconds"] = round(time.monotonic() - applied_at, 1)
            states = pod_states(cluster)
            warnings: Counter = Counter()
            artifacts: Counter = Counter()
            for event in cluster.get_json("events", "-A", "--field-selector=type=Warning")["items"]:
                involved, message = event.get("involvedObject") or {}, str(event.get("message"))
                if event.get("reason") == "FailedScheduling":
                    continue
                artifact = next((why for needle, why in DIRECT_PATH_ARTIFACTS.items() if needle in message), None)
                if artifact:
                    artifacts[artifact] += 1
                    continue
                warnings[f"{involved.get('kind')}/{involved.get('name')}: {event.get('reason')}: {message[:220]}"] += int(event.get("count") or 1)
        figures["peak_rss_mib"] = {name: round(kib / 1024, 1) for name, kib in memory.peak_kib.items()}
        figures["peak_rss_mib"]["all"] = round(memory.peak_total_kib / 1024, 1)
        node_pool = {n["metadata"]["name"]: n["metadata"]["labels"]["plinth.dev/pool"] for n in nodes}
        daemon = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in client.list(PODS)
                  if any(o.get("kind") == "DaemonSet" for o in p["metadata"].get("ownerReferences") or [])}
    used: dict[str, set[str]] = {pool: set() for pool in counts}
    pods_per_pool: Counter = Counter()
    pending_reasons: Counter = Counter()
    pending_owners: Counter = Counter()
    for pod in states:
        if pod.node:
            pods_per_pool[pod.pool] += 1
            if (pod.namespace, pod.name) not in daemon:
                used[pod.pool].add(pod.node)
        else:
            pending_reasons[pod.reason or pod.phase or "no PodScheduled condition yet"] += 1
            pending_owners[f"{pod.namespace}/{pod.owner or pod.name}"] += 1
    figures["pods"] = {"total": len(states), "scheduled": sum(1 for p in states if p.node), "pending": sum(1 for p in states if not p.node),
                       "daemonset": len(daemon)}
    figures["pools"] = {pool: {"plan_min": planned[pool]["min"], "plan_max": planned[pool]["max"], "created": counts[pool],
                               "used": len(used[pool]), "empty": sum(1 for n, p in node_pool.items() if p == pool and n not in used[pool]),
                               "pods": pods_per_pool[pool]} for pool in counts}
    figures["pending_reasons"] = dict(pending_reasons.most_common())
    figures["pending_by_owner"] = dict(pending_owners.most_common())
    figures["standin_errors"] = dict(errors.most_common(20))
    figures["controller_warnings"] = dict(warnings.most_common(30))
    figures["direct_path_artifacts"] = dict(artifacts.most_common())
    figures["total_seconds"] = round(time.monotonic() - started, 1)
    return figures


def _print(figures: dict[str, Any]) -> None:
    print(f"-- {figures['organisations']:,} organisations")
    for pool, p in figures["pools"].items():
        print(f"  pool {pool}: plan {p['plan_min']}-{p['plan_max']} nodes, created {p['created']}, used {p['used']} "
              f"(non-DaemonSet pods), empty {p['empty']}, pods {p['pods']}")
    pods = figures["pods"]
    print(f"  pods: {pods['total']} total, {pods['scheduled']} scheduled, {pods['pending']} Pending, {pods['daemonset']} of DaemonSets; "
          f"{figures['rollout_replicasets']} Rollout ReplicaSets and {figures['model_pods']} model pods by stand-ins")
    for reason, count in figures["pending_reasons"].items():
        print(f"  Pending x{count}: {reason}")
    for owner, count in list(figures["pending_by_owner"].items())[:15]:
        print(f"    {count} x {owner}")
    print(f"  objects: {figures['objects']} of {figures['applied_objects']}; rejected: {len(figures['rejected'])}")
    for line in figures["rejected"][:10]:
        print(f"    {line}")
    print(f"  time: prepare {figures['prepare_seconds']} s, cluster start {figures['cluster_start_seconds']} s, nodes {figures['nodes_seconds']} s, "
          f"apply {figures['apply_seconds']} s, schedule {figures['schedule_seconds']} s (settled after {figures['settle_seconds']} s), "
          f"total {figures['total_seconds']} s")
    print("  peak RSS MiB: " + ", ".join(f"{k} {v}" for k, v in figures["peak_rss_mib"].items()))
    for warning, count in figures["controller_warnings"].items():
        print(f"  warning x{count}: {warning}")
    for artifact, count in figures["direct_path_artifacts"].items():
        print(f"  {count} warning(s) of the direct path, not the tree: {artifact}")
    for error, count in figures["standin_errors"].items():
        print(f"  stand-in error x{count}: {error}")
    for note in figures["notes"]:
        print(f"  {note}")


def main() -> None:
    """Run each organisation count in turn and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=Path("platform.yaml"))
    parser.add_argument("--env", default="prod")
    parser.add_argument("--orgs", type=int, nargs="*", default=None, help="organisation counts (default: the spec's, 10000, 100000)")
    parser.add_argument("--nodes", choices=("min", "max"), default="min", help="create the plan's nodes at minimum or maximum replicas")
    parser.add_argument("--quiet", type=float, default=20.0, help="seconds without pod changes that count as settled")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", type=Path, default=None, help="also write every run's figures to this file")
    args = parser.parse_args()
    counts = args.orgs or [load_platform(args.spec, args.env).load.organisations, 10_000, 100_000]
    results = []
    for orgs in counts:
        figures = run_one(args.spec, args.env, orgs, args.nodes, args.quiet, args.timeout)
        _print(figures)
        results.append(figures)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
