"""``plinth flows``: the platform's intended network flows against what its NetworkPolicies allow over the real pods
(rendered tree + hydrated charts), as a table, JSON or a Graphviz graph.

Registered on the main ``plinth`` app by ``register``. Exit codes: 0 every intended flow is allowed and every
allowed one is intended (or waived with a reason in check-waivers.yaml), 1 findings, 2 bad input (spec, no chart
directory, no helm).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from plinth.charts.hydrate import Hydration
from plinth.charts.workflow import ChartsSetupError, hydrate_spec
from plinth.checks import CheckContext, Finding, load_waivers
from plinth.checks.engine import run_checks
from plinth.checks.network import CHECKS as NETWORK_CHECKS
from plinth.checks.network import flow_report
from plinth.checks.waivers import DEFAULT_WAIVERS, apply_waivers
from plinth.commands.common import EnvOption, SpecOption, err_console, fail_bad_input, load_platforms, out_console, render_platforms
from plinth.flows.analysis import FlowReport
from plinth.flows.graph import GraphError, dot_text, environment_graph, namespace_graph, namespaces, svg
from plinth.flows.netpol import NO_PORTS
from plinth.render.pipeline import RenderedObject
from plinth.spec.loader import DEFAULT_SPEC, SpecError
from plinth.spec.model import Platform

ChartDirOption = Annotated[Optional[Path], typer.Option(
    "--chart-dir", help="Folder of `helm package` archives; default $PLINTH_CHART_DIR or ../shared/charts.")]
FlowsFormatOption = Annotated[str, typer.Option("--format", help="Output format: table, json or dot (Graphviz source).")]


def hydrate_or_exit(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject], chart_dir: Optional[Path]) -> Hydration:
    """Hydrate the chart Applications; bad input (a pin the chart directory lacks, no helm) exits 2."""
    try:
        return hydrate_spec(spec, platforms, rendered, chart_dir)
    except SpecError as exc:
        fail_bad_input([str(p) for p in exc.problems])
    except ChartsSetupError as exc:
        fail_bad_input([str(exc)])
    raise AssertionError  # unreachable


def analyse_environments(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject], hydration: Hydration,
                         waivers: Path | None = None) -> tuple[dict[str, FlowReport], list[Finding]]:
    """Each environment's flow report and the PL-NET findings with the waivers of PL-NET checks applied."""
    reports: dict[str, FlowReport] = {}
    findings: list[Finding] = []
    for env in sorted(platforms):
        ctx = CheckContext.for_hydration(platforms[env], rendered, hydration, str(spec))
        findings.extend(run_checks(ctx, NETWORK_CHECKS))
        report = flow_report(ctx)
        if report is None:
            fail_bad_input([f"{env}: some chart Applications were not hydrated "
                            f"({', '.join(sorted(a.name for a in ctx.union.unhydrated))}): the flows cannot be verified"])
        reports[env] = report
    path = waivers or _waivers_next_to(spec)
    try:
        loaded = [w for w in load_waivers(path) if w.check.startswith("PL-NET-")]
    except SpecError as exc:
        fail_bad_input([str(p) for p in exc.problems])
    return reports, apply_waivers(findings, loaded, path)


def _waivers_next_to(spec: Path) -> Path:
    for folder in (Path.cwd(), spec.resolve().parent):
        if (folder / DEFAULT_WAIVERS).exists():
            return folder / DEFAULT_WAIVERS
    return Path(DEFAULT_WAIVERS)


def flow_rows(report: FlowReport) -> list[dict[str, Any]]:
    """One row per (source, destination) an intended flow connects: ports, refused ports, reasons."""
    inv = report.inventory
    refused: dict[tuple[str, str], Any] = {}
    for item in report.missing:
        refused[(item.source, item.destination)] = refused.get((item.source, item.destination), NO_PORTS) | item.ports
    rows = []
    for (src, dst), (ports, flows) in sorted(report.intended.items(), key=lambda kv: (inv.label(kv[0][0]), inv.label(kv[0][1]))):
        rows.append({"source": src, "destination": dst, "source_label": inv.label(src), "destination_label": inv.label(dst),
                     "source_namespace": inv.namespace_of(src), "destination_namespace": inv.namespace_of(dst),
                     "ports": ports.describe(), "refused": refused.get((src, dst), NO_PORTS).describe() if (src, dst) in refused else "",
                     "why": sorted({f"{f.why} ({f.owner or 'implied'})" for f in flows})})
    return rows


def report_json(report: FlowReport, findings: list[Finding]) -> dict[str, Any]:
    """One environment's analysis as plain data."""
    inv = report.inventory
    return {
        "environment": report.environment,
        "pod_groups": len(inv.pods), "external_regions": {k: e.label for k, e in inv.externals.items()},
        "policies": len(inv.policies), "flows": len(report.flows), "pairs": report.pairs, "seconds": round(report.seconds, 3),
        "intended": flow_rows(report),
        "missing": [{"source": m.source, "destination": m.destination, "ports": m.ports.describe(), "why": m.flow.why,
                     "owner": m.flow.owner, "refused_by": [{"side": s, "policies": list(p)} for s, p in m.refused_by]} for m in report.missing],
        "unintended": [{"source": u.source, "destination": u.destination, "ports": u.ports.describe(),
                        "rules": sorted({f"{c.ref.policy_key} {c.ref.field_path}" for c in u.rules}), "open_sides": list(u.open_sides)}
                       for u in report.unintended],
        "unmatched": [{"side": u.side, "why": u.flow.why, "owner": u.flow.owner, "source": str(u.flow.source),
                       "destination": str(u.flow.destination)} for u in report.unmatched],
        "late": [{"source": l.source, "destination": l.destination, "side": l.side, "needed_wave": l.needed_wave,
                  "cut_wave": l.cut_wave, "allowed_wave": l.allowed_wave, "policies": list(l.policies)} for l in report.late],
        "findings": [f.as_dict() for f in findings if f.environment == report.environment],
    }


def _print_table(report: FlowReport, findings: list[Finding]) -> None:
    inv = report.inventory
    table = Table(title=f"network flows: {report.environment}", expand=True)
    for column in ("from", "to", "ports", "why"):
        table.add_column(column, overflow="fold", ratio=3 if column == "why" else 2)
    for row in flow_rows(report):
        ports = row["ports"] + (f" [red](refused: {row['refused']})[/red]" if row["refused"] else "")
        table.add_row(f"{row['source_namespace'] or 'outside'}/{row['source_label']}",
                      f"{row['destination_namespace'] or 'outside'}/{row['destination_label']}", ports, "; ".join(row["why"]))
    out_console.print(table)
    for finding in findings:
        if finding.environment != report.environment:
            continue
        status = "[dim]waived[/dim]" if finding.waived_by else f"[red]{finding.severity}[/red]"
        out_console.print(f"{status} {finding.check_id} {finding.obj.key} {finding.field_path}: {finding.message}"
                          + (f" [dim](waived: {finding.waived_by})[/dim]" if finding.waived_by else ""), highlight=False)
    out_console.print(f"{report.environment}: {len(inv.pods)} pod groups, {len(inv.externals)} address regions outside the pod network, "
                      f"{len(inv.policies)} NetworkPolicies; {len(report.flows)} flows over {len(report.intended)} connections, "
                      f"{report.pairs} pairs evaluated in {report.seconds:.2f} s; {len(report.missing)} refused, "
                      f"{len(report.unintended)} unintended, {len(report.unmatched)} unmatched, {len(report.late)} late", highlight=False)


def flows_command(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    chart_dir: ChartDirOption = None,
    fmt: FlowsFormatOption = "table",
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="With --format dot: only this namespace's pods and their peers.")] = None,
    waivers: Annotated[Optional[Path], typer.Option("--waivers", help="Waiver file (its PL-NET waivers apply); default check-waivers.yaml.")] = None,
) -> None:
    """Check every intended network flow (declared by the components, implied by monitors, routes, webhooks and hooks)
    against what the NetworkPolicies allow over the real pods of the rendered tree and the hydrated charts, both ways."""
    if fmt not in ("table", "json", "dot"):
        fail_bad_input([f"--format: expected 'table', 'json' or 'dot', got {fmt!r}"])
    if waivers is not None and not waivers.exists():
        fail_bad_input([f"--waivers: no such file {waivers}"])
    started = time.perf_counter()
    platforms = load_platforms(spec, env)
    rendered = render_platforms(platforms)
    hydration = hydrate_or_exit(spec, platforms, rendered, chart_dir)
    reports, findings = analyse_environments(spec, platforms, rendered, hydration, waivers)
    if namespace is not None and any(namespace not in r.inventory.platform.namespaces for r in reports.values()):
        fail_bad_input([f"--namespace: {namespace!r} is not a namespace of the spec"])
    failing = [f for f in findings if f.waived_by is None and f.severity == "error"]
    if fmt == "json":
        out_console.print_json(json.dumps({"environments": {e: report_json(r, findings) for e, r in reports.items()},
                                           "failing": len(failing), "seconds": round(time.perf_counter() - started, 2)}))
    elif fmt == "dot":
        graphs = [namespace_graph(r, namespace) if namespace else environment_graph(r) for r in reports.values()]
        typer.echo(dot_text(graphs))
    else:
        for report in reports.values():
            _print_table(report, findings)
        verdict = "[red]FAILED[/red]" if failing else "[green]passed[/green]"
        out_console.print(f"{verdict} {len(failing)} unwaived flow finding(s); {sum(1 for f in findings if f.waived_by)} waived; "
                          f"{time.perf_counter() - started:.1f} s with hydration ({hydration.cache_hits} of "
                          f"{hydration.cache_hits + hydration.renders} renders cached)")
    raise typer.Exit(1 if failing else 0)


def namespace_svgs(report: FlowReport) -> dict[str, str]:
    """Each platform namespace's flow graph as SVG (empty when Graphviz is missing)."""
    try:
        return {ns: svg(namespace_graph(report, ns)) for ns in namespaces(report)}
    except GraphError as exc:
        err_console.print(f"flow graphs not drawn: {exc}", markup=False, highlight=False)
        return {}


def register(app: typer.Typer) -> None:
    """Add ``flows`` to the main command."""
    app.command("flows")(flows_command)


def report_flows(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject],
                 hydration: Hydration | None) -> dict[str, Any] | None:
    """What the HTML report shows of the flows (prod, or the first environment): per namespace the graph as SVG, the
    counts and the open and waived findings. None when the charts were not hydrated (the page says so)."""
    if hydration is None:
        err_console.print("report: network flows not analysed (the charts were not hydrated)", markup=False, highlight=False)
        return None
    env = "prod" if "prod" in platforms else sorted(platforms)[0]
    reports, findings = analyse_environments(spec, {env: platforms[env]}, rendered, hydration)
    report = reports[env]
    return {
        "environment": env,
        "graphs": namespace_svgs(report),
        "pod_groups": len(report.inventory.pods), "policies": len(report.inventory.policies), "flows": len(report.flows),
        "connections": len(report.intended), "missing": len(report.missing), "unintended": len(report.unintended),
        "unmatched": len(report.unmatched), "late": len(report.late), "seconds": round(report.seconds, 2),
        "findings": [f.as_dict() for f in findings],
    }
