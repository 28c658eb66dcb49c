"""``docs/architecture.md``: the design document's tables, regenerated from the spec and the rendered tree.

Every number comes from the typed spec (or is computed from it, like the resource totals), so the
document cannot drift from what is deployed. The design's own mistakes are shown next to the fix.
"""

from __future__ import annotations

from collections.abc import Callable

from plinth.charts.hydrate import HydratedObject
from plinth.docs.markdown import table
from plinth.plan import plan_point
from plinth.render.pipeline import RenderedObject
from plinth.spec.derived import backup_retention
from plinth.spec.model import (
    CpuTrigger,
    ManualTrigger,
    Platform,
    QueueDepthTrigger,
    RequestRateTrigger,
)
from plinth.spec.types import format_duration

SectionHook = Callable[[Platform, list[RenderedObject], "list[HydratedObject] | None"], str]


def _trigger_text(trigger) -> str:
    if isinstance(trigger, CpuTrigger):
        return f"CPU > {trigger.target_utilization_percent}%"
    if isinstance(trigger, RequestRateTrigger):
        return f"RPS > {trigger.requests_per_second_per_replica} per replica (KEDA Prometheus)"
    if isinstance(trigger, QueueDepthTrigger):
        return f"Kafka lag on {trigger.topic} > {trigger.lag_per_replica} per replica"
    if isinstance(trigger, ManualTrigger):
        return f"manual ({trigger.signal})"
    return str(trigger)


def resource_rows(platform: Platform) -> tuple[list[list[object]], dict[str, int]]:
    """Rows of the resource table (control plane + pools) and their computed totals."""
    cp = platform.cluster.control_plane
    rows: list[list[object]] = [["Control Plane" + (" (managed)" if cp.managed else ""), cp.nodes, cp.vcpu, f"{cp.memory_gib} GiB", f"{cp.disk_gib} GiB"]]
    totals = {"nodes": cp.nodes, "vcpu": cp.nodes * cp.vcpu, "memory_gib": cp.nodes * cp.memory_gib, "storage_gib": cp.nodes * cp.disk_gib}
    for name, pool in platform.node_pools.items():
        rows.append([f"Worker Pool ({name})", pool.nodes, pool.vcpu, f"{pool.memory_gib} GiB", f"{pool.disk_gib} GiB"])
        totals["nodes"] += pool.nodes
        totals["vcpu"] += pool.nodes * pool.vcpu
        totals["memory_gib"] += pool.nodes * pool.memory_gib
        totals["storage_gib"] += pool.nodes * pool.disk_gib
    return rows, totals


def _namespaces(platform: Platform) -> str:
    rows = []
    for name, ns in platform.namespaces.items():
        pool, _ = platform.pool_for_namespace(name)
        rows.append([f"`{name}`", ns.purpose, ", ".join(ns.holds), ns.pod_security, pool])
    return "## Kubernetes namespaces\n\n" + table(["Namespace", "Purpose", "Services", "Pod Security", "Node pool"], rows)


def _resources(platform: Platform) -> str:
    rows, totals = resource_rows(platform)
    rows.append(["**Total** (computed)", f"**{totals['nodes']}**", f"**{totals['vcpu']}**", f"**{totals['memory_gib']} GiB**", f"**{totals['storage_gib']:,} GiB**"])
    text = "## Resource requirements\n\n" + f"Sized for {platform.load.organisations} organisations ({platform.environment}). " \
        "Per-node shapes; the Total row multiplies by node count.\n\n" \
        + table(["Component", "Nodes", "vCPU", "Memory", "Storage"], rows, ["l", "r", "r", "r", "r"])
    stated = platform.design_totals
    if (stated.nodes, stated.vcpu, stated.memory_gib, stated.storage_gib) != (totals["nodes"], totals["vcpu"], totals["memory_gib"], totals["storage_gib"]):
        text += (f"\nThe spec's `design_totals` ({stated.nodes} nodes, {stated.vcpu} vCPU, {stated.memory_gib} GiB, "
                 f"{stated.storage_gib:,} GiB) differ from the rows' sum; `plinth check` reports it.\n")
    else:
        text += "\nThe design's own Total row (148 vCPU, 464 GB, 12 TB) did not add up; the rows did. See `platform.yaml`.\n"
    return text


def _cost(platform: Platform, rendered: list[RenderedObject], hydrated: list[HydratedObject] | None) -> str:
    """The design's cost table, computed by the planner on every cloud (and the design's estimate beside it)."""
    point = plan_point(platform, None, rendered=rendered, hydrated=hydrated)
    rows = []
    for provider, cloud in point.clouds.items():
        c = cloud.cost
        pools = ", ".join(f"{p.name} {p.at_max.nodes} × {p.shape.instance.name}" for p in cloud.capacity.pools)
        design = f"~${c.design_usd_per_month:,}" if c.design_usd_per_month is not None else "-"
        rows.append([f"{provider.upper()}", c.region, pools, f"${c.total('min_replicas'):,.0f}", f"${c.total('max_replicas'):,.0f}", design])
    without = (f" **Planned without charts: {len(point.unhydrated)} Applications not hydrated** (no chart directory); their pods "
               "are missing." if point.unhydrated else "")
    return ("### Cost estimate (monthly)\n\nComputed by `plinth plan` from the pods of the rendered tree and of the hydrated charts, "
            f"bin-packed per pool, at on-demand list prices ({next(iter(point.clouds.values())).cost.taken}); nodes at maximum "
            f"replicas.{without}\n\n"
            + table(["Provider", "Region", "Nodes at max replicas", "Min replicas", "Max replicas", "Design estimate"], rows,
                    ["l", "l", "l", "r", "r", "r"]))


def _scaling(platform: Platform) -> str:
    rows = [[name, s.scaling.type.upper() if s.scaling.type != "manual" else "Manual", _trigger_text(s.scaling.trigger),
             s.scaling.min_replicas, s.scaling.max_replicas, format_duration(s.scaling.scale_down_stabilization_seconds)]
            for name, s in platform.services.items()]
    for title, store in (("PostgreSQL", platform.datastores.postgres), ("ClickHouse", platform.datastores.clickhouse)):
        rows.append([title, "Manual", _trigger_text(store.scaling.trigger), store.scaling.min_replicas, store.scaling.max_replicas, "-"])
    return "## Scaling strategy\n\n" + table(["Component", "Type", "Trigger", "Min", "Max", "Scale-down window"], rows, ["l", "l", "l", "r", "r", "r"])


def _observability(platform: Platform) -> str:
    o = platform.observability
    rows = [["Prometheus", "Metrics", f"{o.prometheus.retention_days} days", f"{o.prometheus.storage_gib} GiB", o.prometheus.replicas],
            ["Grafana", "Dashboards", "-", "-", o.grafana_replicas],
            ["Loki", "Logs", f"{o.loki.retention_days} days", f"{o.loki.storage_gib} GiB", o.loki.replicas],
            ["Tempo", "Traces", f"{o.tempo.retention_days} days", f"{o.tempo.storage_gib} GiB", o.tempo.replicas],
            ["Alertmanager → PagerDuty", f"Alerting (pages: {', '.join(o.alerting.paging_severities)})", "-", "-", o.alerting.alertmanager_replicas]]
    dashboards = "\n".join(f"- {d.title} (`{d.uid}`{', per service' if d.per_service else ''})" for d in o.dashboards)
    return ("## Observability stack\n\n" + table(["Tool", "Purpose", "Retention", "Storage", "Replicas"], rows, ["l", "l", "r", "r", "r"])
            + f"\nSLO: {o.slo.availability_percent}% availability over {o.slo.window_days} days, p95 latency {o.slo.latency_p95_ms} ms.\n\n"
            + "### Key dashboards\n\n" + dashboards + "\n")


def _ha_note() -> str:
    return ("\nWhat each promise covers, failure by failure (pod, node, zone, region), and the RTO/RPO the configuration "
            "really gives after a region loss: [datastores.md](datastores.md). Measured on real servers by `plinth drill`.\n")


def _ha(platform: Platform) -> str:
    d = platform.datastores
    rows = []
    for title, promise in (("API Services", platform.api_services.ha), ("PostgreSQL", d.postgres.ha), ("ClickHouse", d.clickhouse.ha),
                           ("Redis", d.redis.ha), ("Kafka", d.kafka.ha)):
        rows.append([title, promise.strategy, format_duration(promise.rto_seconds), format_duration(promise.rpo_seconds),
                     ", ".join(promise.covers), promise.note])
    return "## High availability\n\n" + table(["Component", "Strategy", "RTO", "RPO", "Covers", "How / why"], rows) + _ha_note()


def _backups(platform: Platform) -> str:
    rows = []
    for b in platform.backups:
        where = b.location if b.location == "git" else f"{b.location}: `{b.bucket}`" + (f" → {platform.cluster.dr_region}" if b.location != "same-region" else "")
        retention = str(backup_retention(b))
        rows.append([b.data, b.frequency, f"`{b.schedule}`" if b.schedule else "-", retention, where])
    return "## Disaster recovery\n\n### Backup schedule\n\n" + table(["Data", "Frequency", "Schedule", "Retention", "Location"], rows)


def _recovery(platform: Platform) -> str:
    lines = []
    for i, r in enumerate(platform.recovery, 1):
        rto = f" (RTO {format_duration(r.rto_seconds)})" if r.rto_seconds is not None else ""
        how = "automatic" if r.automated else "manual"
        lines.append(f"{i}. **{r.failure.capitalize()} failure** → {r.response}{rto}: {how}; {r.mechanism}. "
                     f"Runbook: [runbooks/{r.failure}.md](runbooks/{r.failure}.md)")
    return "### Recovery procedures\n\n" + "\n".join(lines) + "\n"


def _pipeline(platform: Platform) -> str:
    rows = [[i, s.title, s.does, f"{s.budget_minutes} min"] for i, s in enumerate(platform.delivery.stages, 1)]
    steps = " → ".join(f"{s.weight_percent}%" + (f" (pause {format_duration(s.pause_seconds)})" if s.pause_seconds else "") for s in platform.delivery.canary_steps)
    a = platform.delivery.analysis
    return ("## Deployment pipeline\n\n" + table(["#", "Stage", "What", "Budget"], rows, ["r", "l", "l", "r"])
            + f"\nRollout steps ({platform.environment}): {steps}. Analysis every {format_duration(a.interval_seconds)}: success rate ≥ "
            f"{a.success_rate_min_percent}%, p95 ≤ {a.latency_p95_max_ms} ms, abort after {a.failure_limit} failed measurement(s).\n")


def _versions(platform: Platform) -> str:
    rows = [[key, f"`{c.chart}`", c.version, c.app_version, c.repo_url] for key, c in sorted(platform.charts.items())]
    return "## Pinned components\n\n" + table(["Component", "Chart", "Chart version", "App version", "Repository"], rows)


def _overview(platform: Platform, rendered: list[RenderedObject]) -> str:
    c = platform.cluster
    return (f"# {platform.name}: architecture ({platform.environment})\n\n"
            "> Generated by `plinth generate` from `platform.yaml` and the rendered tree. Do not edit by hand.\n\n"
            f"Cloud **{c.provider.upper()}** in **{c.region}** over zones {', '.join(c.zones)}; disaster-recovery region "
            f"**{c.dr_region}**. Kubernetes {c.kubernetes_version}, cluster `{c.name}`. Argo CD syncs "
            f"`{platform.git.rendered_path}/{platform.environment}/` from `{platform.git.repo_url}` ({platform.git.target_revision}); "
            f"{len(rendered)} objects rendered.\n\n![architecture](architecture.svg)\n")


SECTIONS: list[SectionHook] = [
    lambda p, r, h: _overview(p, r),
    lambda p, r, h: _namespaces(p),
    lambda p, r, h: _resources(p),
    lambda p, r, h: _cost(p, r, h),
    lambda p, r, h: _scaling(p),
    lambda p, r, h: _observability(p),
    lambda p, r, h: _ha(p),
    lambda p, r, h: _backups(p),
    lambda p, r, h: _recovery(p),
    lambda p, r, h: _pipeline(p),
    lambda p, r, h: _versions(p),
]
"""Sections in order; later features (cost, real RTO/RPO) add theirs here."""


def architecture_markdown(platform: Platform, rendered: list[RenderedObject], hydrated: list[HydratedObject] | None = None) -> str:
    """The whole architecture document (``hydrated``: the chart Applications' objects the cost table plans)."""
    return "\n".join(section(platform, rendered, hydrated) for section in SECTIONS)
