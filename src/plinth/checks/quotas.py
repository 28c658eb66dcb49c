"""Quota checks: each namespace's ResourceQuota and LimitRange against what its pods need at their worst moment.

A ResourceQuota that is too small does not fail a render: the API server refuses the pods past it, at the moment
they are needed (a scale-up at peak load, a rollout). PL-QUOTA-001 adds up every pod of a namespace at maximum
replicas plus what a rollout adds on top (the surge), DaemonSets on every node their pools may grow to, and
compares pods, CPU and memory requests and limits, volume claims and storage with the quota. PL-QUOTA-002 checks
that no container asks for more than the LimitRange lets one container have (the pod would be refused outright).

What the pods need is ``plinth.plan.demand``'s (rollout surge, limits read from pod templates or the
LimitRange defaults); the growth model sizes a grown platform's quotas from the same computation.
"""

from __future__ import annotations

from collections.abc import Iterator

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.kube.objects import get
from plinth.plan.demand import POD_SPECS, NamespaceDemand, namespace_demand
from plinth.quantities import QuantityError, gibibytes, mebibytes, millicores
from plinth.spec.types import cpu_millicores, memory_bytes


def namespace_usage(ctx: CheckContext) -> tuple[dict[str, NamespaceDemand], dict[str, list[str]]]:
    """What every namespace's pods need at maximum replicas plus rollout surge (``plinth.plan.demand``, the one
    computation the growth model sizes quotas with), and the largest contributors per namespace."""
    return namespace_demand(ctx.platform, ctx.capacity())


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
