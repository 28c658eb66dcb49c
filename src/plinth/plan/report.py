"""Plan output: rich tables shaped like the design's resource and cost tables, JSON, and an HTML/SVG chart."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from plinth.plan.cost import NODE_SCENARIOS
from plinth.plan.planner import PlanPoint
from plinth.plan.pricing import pricing
from plinth.spec.derived import NODE_AUTOSCALERS

GIB_PER_TB = 1000 * 1000**3 / 2**30


def _usd(value: float) -> str:
    return f"${value:,.0f}"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


# --------------------------------------------------------------------------- JSON


def point_to_dict(point: PlanPoint) -> dict[str, Any]:
    """One plan as plain data (``--format json``)."""
    clouds = {}
    for provider, cloud in point.clouds.items():
        cap, cost = cloud.capacity, cloud.cost
        clouds[provider] = {
            "pools": [{
                "name": p.name, "instance": p.shape.instance.name, "vcpu": p.shape.instance.vcpu, "memory_gib": p.shape.instance.memory_gib,
                "allocatable_cpu_millicores": p.shape.allocatable_cpu_millicores, "allocatable_memory_mib": p.shape.allocatable_memory_mib,
                "max_pods": p.shape.max_pods, "daemonset_cpu_millicores": p.daemonset_cpu_millicores, "daemonset_memory_mib": p.daemonset_memory_mib,
                "spec_nodes": p.spec.nodes, "spec_min_nodes": p.spec.min_nodes, "spec_max_nodes": p.spec.max_nodes, "holds": p.holds,
                "volume_gib": p.volume_gib,
                **{f"at_{label}": {
                    "nodes": s.nodes, "lower_bound": s.lower_bound, "pods": s.pods,
                    "cpu_requested_millicores": s.cpu_requested_millicores, "memory_requested_mib": s.memory_requested_mib,
                    "cpu_utilisation": round(s.cpu_utilisation, 4), "memory_utilisation": round(s.memory_utilisation, 4),
                } for label, s in (("min_replicas", p.at_min), ("max_replicas", p.at_max))},
                "workloads": [{"name": w.name, "source": w.source, "cpu_millicores": w.cpu_millicores, "memory_mib": w.memory_mib,
                               "replicas_min": w.replicas_min, "replicas_max": w.replicas_max, "per_node": w.per_node,
                               "volume_gib": w.volume_gib, "one_per_node": w.one_per_node} for w in p.workloads],
            } for p in cap.pools],
            "problems": list(cap.problems),
            "node_autoscaler": NODE_AUTOSCALERS[provider],
            "cost": {
                "region": cost.region, "priced_region": cost.priced_region, "prices_taken": cost.taken, "basis": cost.basis,
                "design_usd_per_month": cost.design_usd_per_month,
                **{scenario: {
                    "total_usd_per_month": round(cost.total(scenario), 2),
                    "lines": [{"group": l.group, "item": l.item, "quantity": l.quantity, "usd_per_month": round(l.usd_per_month, 2)}
                              for l in cost.lines_by_scenario[scenario]],
                } for scenario in NODE_SCENARIOS},
            },
        }
    return {
        "environment": point.platform.environment, "organisations": point.organisations,
        "default_cloud": point.platform.cluster.provider,
        "unrendered": sorted({w for c in point.clouds.values() for w in c.capacity.unrendered}),
        "unhydrated": list(point.unhydrated),
        "notes": list(point.notes), "clouds": clouds,
    }


def curve_to_dict(points: Sequence[PlanPoint]) -> dict[str, Any]:
    """A curve as plain data: per organisation count, nodes and cost per cloud."""
    return {"curve": [{
        "organisations": p.organisations,
        "clouds": {provider: {
            "nodes_min_replicas": sum(pool.at_min.nodes for pool in c.capacity.pools),
            "nodes_max_replicas": sum(pool.at_max.nodes for pool in c.capacity.pools),
            "lower_bound_max_replicas": sum(pool.at_max.lower_bound for pool in c.capacity.pools),
            "pools": {pool.name: {"min_replicas": pool.at_min.nodes, "max_replicas": pool.at_max.nodes} for pool in c.capacity.pools},
            "usd_per_month_min_replicas": round(c.cost.total("min_replicas"), 2),
            "usd_per_month_max_replicas": round(c.cost.total("max_replicas"), 2),
        } for provider, c in p.clouds.items()},
        "unhydrated": list(p.unhydrated),
        "notes": list(p.notes),
    } for p in points]}


# --------------------------------------------------------------------------- tables


def print_point(point: PlanPoint, console: Console) -> None:
    """The design's resource table and cost table, computed, with the planner's detail next to them."""
    platform = point.platform
    default = platform.cluster.provider if platform.cluster.provider in point.clouds else next(iter(point.clouds))
    cap = point.clouds[default].capacity
    cp = platform.cluster.control_plane
    table = Table(title=f"Resource requirements: {platform.environment}, {point.organisations:,} organisations ({default}, computed)")
    for col, justify in (("Component", "left"), ("Nodes spec", "right"), ("Nodes needed\nmin / max replicas", "right"),
                         ("Lower bound\nmin / max", "right"), ("vCPU", "right"), ("Memory", "right"), ("Storage", "right"),
                         ("Instance", "left"), ("Spec holds", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_row("Control Plane" + (" (managed)" if cp.managed else ""), str(cp.nodes), "-", "-", str(cp.vcpu), f"{cp.memory_gib}GB",
                  f"{cp.disk_gib}GB", "cloud fee", "-")
    for p in cap.pools:
        storage = f"{p.spec.disk_gib}GB node" + (f" + {p.volume_gib:,}GiB PVC" if p.volume_gib else "")
        table.add_row(f"Worker Pool ({p.name})", str(p.spec.nodes), f"{p.at_min.nodes} / {p.at_max.nodes}",
                      f"{p.at_min.lower_bound} / {p.at_max.lower_bound}", str(p.spec.vcpu), f"{p.spec.memory_gib}GB", storage,
                      p.shape.instance.name, "[green]yes[/green]" if p.holds else f"[red]no[/red] (max {p.spec.max_nodes})")
    spec_nodes = sum(p.spec.nodes for p in cap.pools) + (cp.nodes if not cp.managed else 0)
    needed = (sum(p.at_min.nodes for p in cap.pools), sum(p.at_max.nodes for p in cap.pools))
    bounds = (sum(p.at_min.lower_bound for p in cap.pools), sum(p.at_max.lower_bound for p in cap.pools))
    vcpu = sum(p.at_max.nodes * p.shape.instance.vcpu for p in cap.pools)
    mem = sum(p.at_max.nodes * p.shape.instance.memory_gib for p in cap.pools)
    disk = sum(p.at_max.nodes * p.spec.disk_gib + p.volume_gib for p in cap.pools)
    table.add_row("[bold]Total (workers, max replicas)[/bold]", str(spec_nodes), f"{needed[0]} / {needed[1]}", f"{bounds[0]} / {bounds[1]}",
                  str(vcpu), f"{mem}GB", f"{disk / GIB_PER_TB:.1f}TB", "", "")
    console.print(table)
    console.print(f"Pools scale between min_nodes and max_nodes by: {NODE_AUTOSCALERS[default]}")

    detail = Table(title="Pools per cloud: allocatable per node, requests, utilisation (max replicas)")
    for col in ("Cloud", "Pool", "Instance", "Allocatable/node", "DaemonSets/node", "Pods min/max", "Requests at max",
                "Nodes min/max (bound)", "Util CPU/mem", "Spec nodes (min..max)"):
        detail.add_column(col)
    for provider, cloud in point.clouds.items():
        for p in cloud.capacity.pools:
            s = p.at_max
            detail.add_row(provider, p.name, p.shape.instance.name,
                           f"{p.shape.allocatable_cpu_millicores}m / {p.shape.allocatable_memory_mib / 1024:.1f}Gi / {p.shape.max_pods} pods",
                           f"{p.daemonset_cpu_millicores}m / {p.daemonset_memory_mib}Mi", f"{p.at_min.pods} / {s.pods}",
                           f"{s.cpu_requested_millicores / 1000:.1f} CPU / {s.memory_requested_mib / 1024:.0f}Gi",
                           f"{p.at_min.nodes} / {s.nodes} ({p.at_min.lower_bound} / {s.lower_bound})",
                           f"{_pct(s.cpu_utilisation)} / {_pct(s.memory_utilisation)}", f"{p.spec.nodes} ({p.spec.min_nodes}..{p.spec.max_nodes})")
    console.print(detail)

    costs = Table(title=f"Cost estimate (monthly, {point.organisations:,} organisations; on-demand list prices)")
    groups: tuple[str, ...] = ("nodes", "disks", "control plane", "object storage", "network")
    if any("managed stores" in c.cost.by_group() for c in point.clouds.values()):
        groups += ("managed stores",)  # PostgreSQL / Redis the cloud runs (managed_by: cloud)
    for col in ("Provider", "Configuration", *groups, "Total", "min replicas", "spec pools", "Design"):
        costs.add_column(col, justify="left" if col in ("Provider", "Configuration") else "right")
    for provider, cloud in point.clouds.items():
        c = cloud.cost
        by = c.by_group("max_replicas")
        region = c.region if c.region == c.priced_region else f"{c.region} (priced as {c.priced_region})"
        costs.add_row(f"{provider.upper()} ({pricing(provider).data['managed_kubernetes']})", region,
                      *[_usd(by.get(g, 0.0)) for g in groups], f"[bold]{_usd(c.total('max_replicas'))}[/bold]",
                      _usd(c.total("min_replicas")), _usd(c.total("spec_pools")),
                      f"~{_usd(c.design_usd_per_month)}" if c.design_usd_per_month is not None else "-")
    console.print(costs)
    console.print("Total = nodes needed at max replicas; 'min replicas' and 'spec pools' price the nodes minimum replicas need "
                  "and the spec's pool sizes instead. Prices: " + ", ".join(
                      f"{p} {c.cost.taken}" for p, c in point.clouds.items()) + " (plan/data/<cloud>.yaml, each with its source).")
    breakdown = Table(title=f"Breakdown: {default} ({point.clouds[default].cost.region}), max replicas")
    for col in ("Group", "Item", "Quantity", "USD/month"):
        breakdown.add_column(col, justify="right" if col == "USD/month" else "left")
    for line in point.clouds[default].cost.lines_by_scenario["max_replicas"]:
        breakdown.add_row(line.group, line.item, line.quantity, _usd(line.usd_per_month))
    console.print(breakdown)
    if point.unhydrated:
        console.print(f"[yellow]Planned without charts: {len(point.unhydrated)} Applications not hydrated[/yellow] (no chart "
                      f"directory; their pods are missing, except what the spec declares): {', '.join(point.unhydrated)}", soft_wrap=True)
    unrendered = sorted({w for c in point.clouds.values() for w in c.capacity.unrendered})
    if unrendered:
        console.print("[yellow]Planned from the spec (no object runs them):[/yellow] "
                      + ", ".join(w.split("/", 2)[-1] for w in unrendered), soft_wrap=True)
    for provider, cloud in point.clouds.items():
        for problem in cloud.capacity.problems:
            console.print(f"[red]{provider}: {problem}[/red]", soft_wrap=True)
    for note in point.notes:
        console.print(f"[yellow]note:[/yellow] {note}", soft_wrap=True)


def print_curve(points: Sequence[PlanPoint], console: Console) -> None:
    """Nodes and monthly cost against organisations, per cloud."""
    providers = list(points[0].clouds)
    table = Table(title="Growth: nodes (min / max replicas) and monthly cost (max replicas) against organisations")
    table.add_column("Organisations", justify="right")
    for provider in providers:
        table.add_column(f"{provider} nodes", justify="right")
        table.add_column(f"{provider} cost", justify="right")
    for point in points:
        row = [f"{point.organisations:,}"]
        for provider in providers:
            cap = point.clouds[provider].capacity
            row.append(f"{sum(p.at_min.nodes for p in cap.pools)} / {sum(p.at_max.nodes for p in cap.pools)}")
            row.append(_usd(point.clouds[provider].cost.total("max_replicas")))
        table.add_row(*row)
    console.print(table)
    if points and points[0].unhydrated:
        console.print(f"[yellow]Planned without charts: {len(points[0].unhydrated)} Applications not hydrated[/yellow] (no chart directory)",
                      soft_wrap=True)
    for point in points:
        for note in point.notes:
            console.print(f"[yellow]{point.organisations:,} orgs:[/yellow] {note}", soft_wrap=True)


# --------------------------------------------------------------------------- HTML / SVG

_COLOURS = {"aws": "#d97706", "gcp": "#2563eb", "azure": "#059669"}


def _chart(title: str, points: Sequence[PlanPoint], series: dict[str, list[float]], y_label: str, fmt: Any) -> str:
    width, height, left, right, top, bottom = 640, 360, 80, 20, 40, 50
    xs = [math.log10(p.organisations) for p in points]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_hi = max(max(v) for v in series.values()) or 1
    y_hi *= 1.1

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * (width - left - right)

    def py(y: float) -> float:
        return top + (1 - y / y_hi) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#333"/>',
             f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle" font-size="12">organisations (log scale)</text>',
             f'<text x="15" y="{height / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 15 {height / 2})">{html.escape(y_label)}</text>']
    for i in range(5):
        y = y_hi * i / 4
        parts.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{width - right}" y2="{py(y):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end" font-size="11">{html.escape(fmt(y))}</text>')
    for p, x in zip(points, xs):
        parts.append(f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{p.organisations:,}</text>')
    for i, (name, values) in enumerate(series.items()):
        colour = _COLOURS.get(name.split()[0], "#555")
        dash = ' stroke-dasharray="5,4"' if "min" in name else ""
        coords = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(xs, values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{coords}"/>')
        parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}"><title>{html.escape(name)}: '
                     f'{html.escape(fmt(v))} at {p.organisations:,} orgs</title></circle>' for p, x, v in zip(points, xs, values))
        parts.append(f'<line x1="{left + 10}" y1="{top + 12 + i * 16}" x2="{left + 34}" y2="{top + 12 + i * 16}" stroke="{colour}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{left + 40}" y="{top + 16 + i * 16}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def curve_fragment(points: Sequence[PlanPoint]) -> str:
    """The growth charts and their numbers as an HTML fragment (for the plan page and ``plinth report``)."""
    providers = list(points[0].clouds)
    nodes: dict[str, list[float]] = {}
    cost: dict[str, list[float]] = {}
    for provider in providers:
        nodes[f"{provider} max replicas"] = [sum(p.at_max.nodes for p in pt.clouds[provider].capacity.pools) for pt in points]
        nodes[f"{provider} min replicas"] = [sum(p.at_min.nodes for p in pt.clouds[provider].capacity.pools) for pt in points]
        cost[f"{provider} max replicas"] = [pt.clouds[provider].cost.total("max_replicas") for pt in points]
        cost[f"{provider} min replicas"] = [pt.clouds[provider].cost.total("min_replicas") for pt in points]
    rows = "\n".join(
        "<tr><td>{:,}</td>{}</tr>".format(pt.organisations, "".join(
            f"<td>{sum(p.at_min.nodes for p in pt.clouds[c].capacity.pools)} / {sum(p.at_max.nodes for p in pt.clouds[c].capacity.pools)}</td>"
            f"<td>{_usd(pt.clouds[c].cost.total('min_replicas'))} / {_usd(pt.clouds[c].cost.total('max_replicas'))}</td>" for c in providers))
        for pt in points)
    head = "".join(f"<th>{c} nodes (min / max)</th><th>{c} USD/month (min / max)</th>" for c in providers)
    return (f'<div class="charts">{_chart("Worker nodes", points, nodes, "nodes", lambda v: f"{v:,.0f}")}\n'
            f'{_chart("Monthly cost (USD)", points, cost, "USD per month", lambda v: f"${v:,.0f}")}</div>\n'
            f'<table class="curve"><tr><th>organisations</th>{head}</tr>\n{rows}\n</table>')


def curve_html(points: Sequence[PlanPoint]) -> str:
    """A self-contained HTML page: nodes and monthly cost against organisations, per cloud, and the numbers."""
    providers = list(points[0].clouds)
    platform = points[0].platform
    design = ", ".join(f"{d.provider} ~{_usd(d.usd_per_month)} ({d.region})" for d in platform.design_costs)
    taken = ", ".join(sorted({f"{c}: {points[0].clouds[c].cost.taken}" for c in providers}))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="plinth"><title>Plinth plan: {html.escape(platform.name)} ({html.escape(platform.environment)})</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style>
</head><body>
<h1>Plinth plan: {html.escape(platform.name)} ({html.escape(platform.environment)})</h1>
<p>Worker nodes and monthly cost against organisations, computed by <code>plinth plan</code> from the rendered workloads and the
spec's load model (calibrated at {platform.load.calibration_organisations:,} organisations). Solid: maximum replicas; dashed: minimum
replicas. On-demand list prices ({html.escape(taken)}). The design's estimate at 1,000 organisations: {html.escape(design) or "none"}.</p>
{curve_fragment(points)}
</body></html>
"""
