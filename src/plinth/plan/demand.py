"""What each namespace's pods need at their worst moment: every pod at maximum replicas plus what a rollout adds on
top (the surge), DaemonSets on every node their pools may grow to. The quota check (PL-QUOTA-001) compares it with
each namespace's ResourceQuota; the growth model sizes the quotas of a grown platform from it.

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
from dataclasses import dataclass
from typing import Any

from plinth.kube.objects import get
from plinth.kube.pods import PodGroup
from plinth.plan.capacity import CapacityPlan
from plinth.quantities import mebibytes, millicores
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
class NamespaceDemand:
    """What one namespace's pods need at maximum replicas plus rollout surge (CPU in millicores, memory in MiB,
    storage in GiB)."""

    pods: int = 0
    cpu: int = 0
    memory_mib: int = 0
    limits_cpu: int = 0
    limits_memory_mib: int = 0
    claims: int = 0
    storage_gib: int = 0


def namespace_demand(platform: Platform, capacity: CapacityPlan) -> tuple[dict[str, NamespaceDemand], dict[str, list[str]]]:
    """What every namespace's pods need at maximum replicas plus rollout surge (DaemonSets on every node their pools may
    grow to), read from the planner's ``capacity`` plan of ``platform``, and the largest contributors per namespace."""
    usage: dict[str, NamespaceDemand] = {}
    notes: dict[str, list[tuple[int, str]]] = {}
    for pool in capacity.pools:
        for group in pool.workloads:
            ns_spec = platform.namespaces.get(group.namespace)  # type: ignore[call-overload]
            limits = ns_spec.limits if ns_spec is not None else None
            if group.per_node:
                count, why = pool.spec.max_nodes, f"one per node of pool {pool.name} (max_nodes {pool.spec.max_nodes})"
            else:
                extra, reason = surge(group, group.replicas_max)
                count, why = group.replicas_max + extra, f"{group.replicas_max} at max replicas + {extra} ({reason})"
            lim_cpu, lim_mem = pod_limits(group, limits)
            u = usage.setdefault(group.namespace, NamespaceDemand())
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
