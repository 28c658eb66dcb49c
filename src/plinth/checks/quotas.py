"""Quota checks: each namespace's ResourceQuota and LimitRange against what its pods need at their worst moment.

A ResourceQuota that is too small does not fail a render: the API server refuses the pods past it, at the moment
they are needed (a scale-up at peak load, a rollout). PL-QUOTA-001 adds up every pod of a namespace at maximum
replicas plus what a rollout adds on top (the surge), DaemonSets on every node their pools may grow to, and
compares pods, CPU and memory requests and limits, volume claims and storage with the quota. PL-QUOTA-002 checks
that no container asks for more than the LimitRange lets one container have (the pod would be refused outright).

The pods are the pod model's (``plinth.kube.pods`` via the planner's inventory: rendered objects, chart footprints,
spec workloads not rendered yet). Rollout surge: a Deployment adds ``maxSurge`` (25 % by default, rounded up); an
Argo Rollout with traffic routing keeps every stable pod while its canary grows to the full replica count (no
``dynamicStableScale``), so it may run twice its replicas; without traffic routing it adds ``maxSurge``; a blue-green
Rollout runs a full preview. StatefulSets and operators' pods are replaced one at a time (no surge); chart pods are
counted without surge (their strategy is the chart's). Limits are read from pod templates (a container without
limits gets the LimitRange default) and from ``spec.resources`` of operators' resources; where neither says, the
requests stand in for the limits (a lower bound: a finding then still holds).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.kube.objects import get
from plinth.kube.pods import PodGroup
from plinth.quantities import QuantityError, gibibytes, mebibytes, millicores
from plinth.spec.model import LimitRangeSpec, Platform
from plinth.spec.types import cpu_millicores, memory_bytes

POD_SPECS = {"Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec",
             "Rollout": "spec.template.spec"}


def _scaled(value: Any, replicas: int) -> int:
    """A maxSurge value (an integer or a percentage, rounded up) for ``replicas``."""
    text = str(value).strip()
    if text.endswith("%"):
        return math.ceil(replicas * float(text[:-1]) / 100)
    return int(text)


def surge(group: PodGroup, replicas: int) -> tuple[int, str]:
    """Pods a rollout of the group adds on top of ``replicas``, and why."""
    obj = group.obj
    if obj is None or group.per_node:
        return 0, "no rollout surge known"
    if group.kind == "Deployment":
        strategy = get(obj, "spec.strategy", {}) or {}
        if strategy.get("type") == "Recreate":
            return 0, "Recreate"
        value = get(strategy, "rollingUpdate.maxSurge", "25%")
        return _scaled(value, replicas), f"maxSurge {value}"
    if group.kind == "Rollout":
        strategy = get(obj, "spec.strategy", {}) or {}
        if "blueGreen" in strategy:
            return replicas, "blue-green preview"
        canary = strategy.get("canary") or {}
        if canary.get("trafficRouting") and not canary.get("dynamicStableScale"):
            return replicas, "canary with traffic routing: the stable pods stay while the canary reaches 100 %"
        value = canary.get("maxSurge", "25%")
        return _scaled(value, replicas), f"canary maxSurge {value}"
    return 0, "pods replaced one at a time"


def _container_limits(containers: list[dict[str, Any]], limits: LimitRangeSpec) -> tuple[int, int]:
    cpu = mem = 0
    for container in containers:
        res = container.get("resources") or {}
        lim = res.get("limits") or {}
        cpu += millicores(lim["cpu"]) if "cpu" in lim else cpu_millicores(limits.default_limit_cpu)
        mem += mebibytes(lim["memory"]) if "memory" in lim else memory_bytes(limits.default_limit_memory) // 2**20
    return cpu, mem


def pod_limits(group: PodGroup, limits: LimitRangeSpec | None) -> tuple[int, int]:
    """CPU (m) and memory (MiB) limits of one pod of the group (its requests when the limits cannot be read)."""
    obj = group.obj
    if obj is not None and limits is not None:
        path = POD_SPECS.get(group.kind)
        if path:
            pod = get(obj, path, {}) or {}
            containers = [c for key in ("containers",) for c in pod.get(key) or []]
            containers += [c for c in pod.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
            cpu, mem = _container_limits(containers, limits)
            return max(cpu, group.cpu_millicores), max(mem, group.memory_mib)
        lim = get(obj, "spec.resources.limits", None)
        if isinstance(lim, dict) and "cpu" in lim and "memory" in lim:
            return max(millicores(lim["cpu"]), group.cpu_millicores), max(mebibytes(lim["memory"]), group.memory_mib)
    return group.cpu_millicores, group.memory_mib


def claims_per_pod(group: PodGroup) -> int:
    """PersistentVolumeClaims each pod makes (at least one when it has a volume)."""
    if group.volume_gib <= 0:
        return 0
    obj = group.obj or {}
    if group.kind == "StatefulSet":
        return max(1, len(get(obj, "spec.volumeClaimTemplates", []) or []))
    if group.kind == "Cluster":
        return 1 + (1 if get(obj, "spec.walStorage") else 0)
    return 1


@dataclass
class _Usage:
    pods: int = 0
    cpu: int = 0
    memory_mib: int = 0
    limits_cpu: int = 0
    limits_memory_mib: int = 0
    claims: int = 0
    storage_gib: int = 0


def namespace_usage(ctx: CheckContext) -> tuple[dict[str, _Usage], dict[str, list[str]]]:
    """What every namespace's pods need at maximum replicas plus rollout surge (DaemonSets on every node their pools may
    grow to), and the largest contributors per namespace."""
    platform: Platform = ctx.platform
    usage: dict[str, _Usage] = {}
    notes: dict[str, list[tuple[int, str]]] = {}
    for pool in ctx.capacity().pools:
        for group in pool.workloads:
            ns_spec = platform.namespaces.get(group.namespace)  # type: ignore[call-overload]
            limits = ns_spec.limits if ns_spec is not None else None
            if group.per_node:
                count, why = pool.spec.max_nodes, f"one per node of pool {pool.name} (max_nodes {pool.spec.max_nodes})"
            else:
                extra, reason = surge(group, group.replicas_max)
                count, why = group.replicas_max + extra, f"{group.replicas_max} at max replicas + {extra} ({reason})"
            lim_cpu, lim_mem = pod_limits(group, limits)
            u = usage.setdefault(group.namespace, _Usage())
            u.pods += count
            u.cpu += count * group.cpu_millicores
            u.memory_mib += count * group.memory_mib
            u.limits_cpu += count * lim_cpu
            u.limits_memory_mib += count * lim_mem
            u.claims += count * claims_per_pod(group) if not group.per_node else 0
            u.storage_gib += count * group.volume_gib if not group.per_node else 0
            notes.setdefault(group.namespace, []).append((count, f"{group.short_name} {count} pods: {why}"))
    top = {ns: [text for _, text in sorted(items, key=lambda i: -i[0])[:3]] for ns, items in notes.items()}
    return usage, top


def quota_admits_peak(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each namespace's ResourceQuota admits its pods at maximum replicas plus rollout surge."""
    try:
        usage, top = namespace_usage(ctx)
    except QuantityError as exc:
        yield check.finding(ctx, ctx.spec_ref("namespaces"), "namespaces", f"a pod's resources cannot be read: {exc}")
        return
    for name, ns in sorted(ctx.platform.namespaces.items()):
        u = usage.get(name)
        if u is None:
            continue
        q = ns.quota
        rows = [
            ("pods", u.pods, q.pods, str(u.pods), str(q.pods)),
            ("requests_cpu", u.cpu, cpu_millicores(q.requests_cpu), f"{u.cpu / 1000:g} CPU", q.requests_cpu),
            ("requests_memory", u.memory_mib, memory_bytes(q.requests_memory) // 2**20, f"{u.memory_mib / 1024:.1f}Gi", q.requests_memory),
            ("limits_cpu", u.limits_cpu, cpu_millicores(q.limits_cpu), f"{u.limits_cpu / 1000:g} CPU", q.limits_cpu),
            ("limits_memory", u.limits_memory_mib, memory_bytes(q.limits_memory) // 2**20, f"{u.limits_memory_mib / 1024:.1f}Gi", q.limits_memory),
            ("persistent_volume_claims", u.claims, q.persistent_volume_claims, str(u.claims), str(q.persistent_volume_claims)),
            ("requests_storage", u.storage_gib, gibibytes(q.requests_storage), f"{u.storage_gib}Gi", q.requests_storage),
        ]
        for field_name, needed, allowed, needed_text, allowed_text in rows:
            if needed > allowed:
                yield check.finding(
                    ctx, ctx.spec_ref(f"namespaces.{name}.quota.{field_name}"), f"namespaces.{name}.quota.{field_name}",
                    f"{name} needs {needed_text} of {field_name} at maximum replicas plus rollout surge, the quota allows "
                    f"{allowed_text}: the API server refuses the pods past it (largest: {'; '.join(top.get(name, []))})")


def limit_range_admits_containers(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """No container's limits exceed what its namespace's LimitRange lets one container have (rendered and hydrated
    objects alike: a chart's pod is admitted by the same LimitRange)."""
    for item in ctx.objects:
        obj = item.obj
        path = POD_SPECS.get(obj.get("kind", "")) or ("spec.jobTemplate.spec.template.spec" if obj.get("kind") == "CronJob" else None)
        namespace = (obj.get("metadata") or {}).get("namespace")
        ns = ctx.platform.namespaces.get(namespace) if namespace else None  # type: ignore[call-overload]
        if not path or ns is None:
            continue
        for list_name in ("initContainers", "containers"):
            for index, container in enumerate(get(obj, f"{path}.{list_name}", []) or []):
                lim = (container.get("resources") or {}).get("limits") or {}
                try:
                    over = [(key, value, limit) for key, value, limit, parse in (
                        ("cpu", lim.get("cpu"), ns.limits.max_cpu, lambda v: millicores(v) > cpu_millicores(ns.limits.max_cpu)),
                        ("memory", lim.get("memory"), ns.limits.max_memory,
                         lambda v: mebibytes(v) > memory_bytes(ns.limits.max_memory) // 2**20)) if value is not None and parse(value)]
                except QuantityError:
                    continue
                for key, value, limit in over:
                    yield check.finding(ctx, item, f"{path}.{list_name}.{index}.resources.limits.{key}",
                                        f"container {container.get('name')} has a {key} limit of {value}, above the {limit} the "
                                        f"{namespace} LimitRange allows one container (namespaces.{namespace}.limits.max_{key}): "
                                        "the API server refuses the pod")


CHECKS = (
    Check("PL-QUOTA-001", "error", "promise", "Each namespace's ResourceQuota admits its pods at maximum replicas plus rollout surge",
          "Raise namespaces.<ns>.quota (pods, requests, limits, claims, storage) to what the namespace runs at peak, or lower "
          "max_replicas.", quota_admits_peak),
    Check("PL-QUOTA-002", "error", "object", "No container's limits exceed its namespace's LimitRange maximum",
          "Lower the container's limits or raise namespaces.<ns>.limits.max_cpu / max_memory.", limit_range_admits_containers),
)
