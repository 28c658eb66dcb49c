"""``plinth report``: one self-contained HTML page (no network requests) a person reads.

It shows the architecture diagram, the plan (nodes, cost, growth), the check findings grouped by
severity with their remediation, the network flow graph of each namespace (``plinth flows``), the latest drill results against their targets, and the spec's
environments side by side. Inputs are the same data the other commands print as JSON, so the page
shows exactly what they report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from plinth.plan.report import curve_fragment
from plinth.spec.model import Platform
from plinth.spec.types import format_duration

CSS = """
:root { --fg:#1d2433; --muted:#5b6475; --line:#d9dee7; --bg:#f6f8fb; --ok:#1a7f37; --warn:#9a6700; --err:#cf222e; --info:#0969da; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0; background: white; }
header { background: var(--fg); color: white; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d1e0; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 32px 48px; }
nav { margin: 12px 0 0; font-size: 14px; }
nav a { color: #c9d1e0; margin-right: 14px; }
section { margin-top: 28px; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin-top: 20px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--bg); }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 2px; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .err { color: var(--err); } .info { color: var(--info); }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.diagram { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
.diagram svg { max-width: 100%; height: auto; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } .charts svg { max-width: 100%; height: auto; }
table.curve td, table.curve th { text-align: right; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: white; }
.badge.error, .badge.fail { background: var(--err); } .badge.warning { background: var(--warn); } .badge.info { background: var(--info); } .badge.pass { background: var(--ok); }
code { font-size: 13px; background: var(--bg); padding: 0 3px; border-radius: 3px; }
@media print { header { background: white; color: black; border-bottom: 2px solid black; } header p, nav { display: none; }
  main { max-width: none; padding: 0 12px; } section { break-inside: avoid-page; } .diagram { border: none; } a { color: inherit; text-decoration: none; } }
"""


@dataclass
class ReportInputs:
    """Everything the page shows; absent parts are shown as "not run", never invented."""

    platforms: dict[str, Platform]
    objects_by_env: dict[str, int]
    validation_problems: int | None
    diagram_svg: str | None = None
    findings: list[dict[str, Any]] | None = None
    """``plinth check --format json`` findings."""
    check_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Check ID → its metadata (title, remediation), from the same JSON."""
    plan_point: Any = None
    """The plan at the spec's organisations (``plinth.plan.PlanPoint``)."""
    plan_curve: list[Any] = field(default_factory=list)
    """The growth curve (``PlanPoint`` per organisation count)."""
    drills: list[dict[str, Any]] = field(default_factory=list)
    """Drill reports as written to reports/drills/*.json."""
    flows: dict[str, Any] | None = None
    """``plinth flows`` of one environment: counts, findings and each namespace's flow graph (SVG); None: not run."""


def esc(value: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(value), quote=True)


def html_table(headers: list[str], rows: list[list[object]], numeric: set[int] | None = None, raw: set[int] | None = None) -> str:
    """An HTML table; columns in ``numeric`` are right-aligned, in ``raw`` are inserted unescaped (already HTML)."""
    numeric, raw = numeric or set(), raw or set()
    head = "".join(f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{c if i in raw else esc(c)}</td>" for i, c in enumerate(row)
        ) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(label: str, value: str, css: str = "") -> str:
    return f'<div class="card"><div class="label">{esc(label)}</div><div class="value {css}">{value}</div></div>'


def _summary(inputs: ReportInputs) -> str:
    cards = [_card("Objects rendered", esc(" / ".join(f"{n} {e}" for e, n in sorted(inputs.objects_by_env.items()))))]
    if inputs.validation_problems is None:
        cards.append(_card("Schema validation", "not run", "muted"))
    else:
        ok = inputs.validation_problems == 0
        cards.append(_card("Schema validation", "all valid" if ok else f"{inputs.validation_problems} problems", "ok" if ok else "err"))
    if inputs.findings is None:
        cards.append(_card("Check findings", "not run", "muted"))
    else:
        errors = sum(1 for f in inputs.findings if f.get("severity") == "error" and not f.get("waived"))
        warnings = sum(1 for f in inputs.findings if f.get("severity") == "warning" and not f.get("waived"))
        cards.append(_card("Unwaived errors / warnings", f"{errors} / {warnings}", "err" if errors else ("warn" if warnings else "ok")))
    if inputs.plan_point is not None:
        default = inputs.plan_point.platform.cluster.provider
        cloud = inputs.plan_point.clouds.get(default)
        if cloud is not None:
            nodes = sum(p.at_max.nodes for p in cloud.capacity.pools)
            cards.append(_card(f"{default.upper()} per month (max replicas)", f"${cloud.cost.total('max_replicas'):,.0f}"))
            cards.append(_card("Worker nodes needed (max)", f"{nodes}"))
    if inputs.drills:
        passed = sum(1 for d in inputs.drills if d.get("passed"))
        cards.append(_card("Drills passed", f"{passed} / {len(inputs.drills)}", "ok" if passed == len(inputs.drills) else "err"))
    else:
        cards.append(_card("Drills", "not run", "muted"))
    return f'<section id="summary"><div class="cards">{"".join(cards)}</div></section>'


def _diagram(inputs: ReportInputs) -> str:
    if not inputs.diagram_svg:
        return '<section id="architecture"><h2>Architecture</h2><p class="muted">No diagram (Graphviz not installed and docs/architecture.svg missing).</p></section>'
    svg = inputs.diagram_svg
    start = svg.find("<svg")
    return f'<section id="architecture"><h2>Architecture</h2><div class="diagram">{svg[start:]}</div></section>'


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return {prefix: ", ".join(" ".join(f"{k}={v}" for k, v in item.items()) for item in value)}
    return {prefix: ", ".join(map(str, value)) if isinstance(value, list) else str(value)}


def _environments(inputs: ReportInputs) -> str:
    envs = sorted(inputs.platforms)
    flat = {e: _flatten(inputs.platforms[e].model_dump(mode="json", exclude={"environment"})) for e in envs}
    keys = sorted({k for f in flat.values() for k in f})
    differing = [k for k in keys if len({flat[e].get(k) for e in envs}) > 1]
    rows = [[k, *[flat[e].get(k, "-") for e in envs]] for k in differing]
    return (f'<section id="environments"><h2>Environments side by side</h2><p class="muted">{len(differing)} of {len(keys)} '
            f"spec values differ between {', '.join(envs)}; the rest are shared from the base.</p>"
            + html_table(["spec field", *envs], rows) + "</section>")


def _findings(inputs: ReportInputs) -> str:
    if inputs.findings is None:
        return '<section id="findings"><h2>Check findings</h2><p class="muted">Not run: run <code>plinth check</code>.</p></section>'
    parts = ['<section id="findings"><h2>Check findings</h2><p class="muted">From <code>plinth check</code>: '
             'policies and the design\'s promises, verified on the rendered tree.</p>']
    for severity in ("error", "warning", "info"):
        group = [f for f in inputs.findings if f.get("severity") == severity]
        waived = sum(1 for f in group if f.get("waived"))
        parts.append(f'<h3><span class="badge {severity}">{severity}</span> {len(group) - waived} open'
                     + (f", {waived} waived" if waived else "") + "</h3>")
        if group:
            rows = []
            for f in sorted(group, key=lambda f: (bool(f.get("waived")), f.get("check", ""), f.get("object", ""))):
                meta = inputs.check_meta.get(f.get("check", ""), {})
                rows.append([esc(f.get("check", "")), esc(f.get("environment", "")), esc(f.get("object", "")), esc(f.get("message", "")),
                             esc(meta.get("remediation", "")), "waived: " + esc(f.get("waiver_reason") or "") if f.get("waived") else ""])
            parts.append(html_table(["check", "env", "object", "finding", "remediation", "waiver"], rows, raw={0, 1, 2, 3, 4, 5}))
    parts.append("</section>")
    return "".join(parts)


def _drills(inputs: ReportInputs) -> str:
    if not inputs.drills:
        return ('<section id="drills"><h2>Drills</h2><p class="muted">No drill results yet: run <code>plinth drill postgres-restore</code>, '
                '<code>plinth drill redis-failover</code>, <code>plinth drill postgres-failover</code> or <code>plinth drill kafka-failover</code> '
                '(they write reports/drills/).</p></section>')
    rows = []
    for d in inputs.drills:
        for p in d.get("promises", []):
            unit = p.get("unit", "")
            measured = "not measured" if p.get("measured") is None else f"{p['measured']:g} {unit}"
            if p.get("counts", True):
                badge = f'<span class="badge {"pass" if p.get("passed") else "fail"}">{"pass" if p.get("passed") else "fail"}</span>'
            else:
                badge = '<span class="muted">reference</span>'
            promise = esc(p.get("name", "")) + (f' <span class="muted">{esc(p["check_id"])}</span>' if p.get("check_id") else "")
            sabotage = (d.get("settings") or {}).get("sabotage")
            drill = esc(f"{d.get('drill', '')} ({d.get('environment', '')})") + (
                f' <span class="badge fail">sabotaged: {esc(sabotage)}</span>' if sabotage else "")
            rows.append([drill, promise, esc(f"{p.get('target', 0):g} {unit}"), esc(measured), badge])
    return ('<section id="drills"><h2>Drills: measured against the spec</h2><p class="muted">Real servers on this machine '
            '(reports/drills/*.json); "reference" rows are figures the drilled mechanism does not carry.</p>'
            + html_table(["drill", "promise", "target", "measured", "result"], rows, raw={0, 1, 2, 3, 4}) + "</section>")


def _plan(inputs: ReportInputs) -> str:
    point = inputs.plan_point
    if point is None:
        return '<section id="plan"><h2>Capacity and cost</h2><p class="muted">Not run: run <code>plinth plan</code>.</p></section>'
    rows = []
    for provider, cloud in point.clouds.items():
        pools = ", ".join(f"{p.name} {p.at_min.nodes}–{p.at_max.nodes} (spec {p.spec.nodes})" for p in cloud.capacity.pools)
        holds = all(p.holds for p in cloud.capacity.pools)
        design = cloud.cost.design_usd_per_month
        rows.append([provider.upper(), cloud.cost.region, pools, '<span class="ok">yes</span>' if holds else '<span class="err">no</span>',
                     f"${cloud.cost.total('min_replicas'):,.0f}", f"${cloud.cost.total('max_replicas'):,.0f}",
                     f"~${design:,}" if design is not None else "-"])
    table = html_table(["cloud", "region", "nodes needed min–max replicas per pool", "spec pools hold", "USD/month (min)",
                        "USD/month (max)", "design estimate"], [[esc(c) if i not in (3,) else c for i, c in enumerate(r)] for r in rows],
                       numeric={4, 5, 6}, raw={3})
    text = (f'<section id="plan"><h2>Capacity and cost ({point.organisations:,} organisations, {esc(point.platform.environment)})</h2>'
            '<p class="muted">From <code>plinth plan</code>: every rendered pod bin-packed onto its pool (first-fit decreasing), '
            'priced with on-demand list prices.</p>' + table)
    if inputs.plan_curve:
        text += "<h3>Growth with the number of organisations</h3>" + curve_fragment(inputs.plan_curve)
    return text + "</section>"


def _ha(platform: Platform) -> str:
    d = platform.datastores
    rows = [[title, p.strategy, format_duration(p.rto_seconds), format_duration(p.rpo_seconds), p.note]
            for title, p in (("API services", platform.api_services.ha), ("PostgreSQL", d.postgres.ha), ("ClickHouse", d.clickhouse.ha),
                             ("Redis", d.redis.ha), ("Kafka", d.kafka.ha))]
    return '<section id="promises"><h2>Promises (prod)</h2>' + html_table(["component", "strategy", "RTO", "RPO", "how"], rows) + "</section>"


def _flows(inputs: ReportInputs) -> str:
    flows = inputs.flows
    if flows is None:
        return ('<section id="flows"><h2>Network flows</h2><p class="muted">Not run: the charts could not be hydrated here '
                '(give the chart directory and run <code>plinth flows</code>).</p></section>')
    problems = flows["missing"] + flows["unmatched"] + flows["late"]
    open_findings = [f for f in flows["findings"] if not f["waived"] and f["severity"] == "error"]
    parts = [f'<section id="flows"><h2>Network flows ({esc(flows["environment"])})</h2><p class="muted">From '
             f'<code>plinth flows</code>: {flows["flows"]} flows over {flows["connections"]} connections between '
             f'{flows["pod_groups"]} pod groups and the endpoints outside the pod network, checked against '
             f'{flows["policies"]} NetworkPolicies in {flows["seconds"]} s. Green: intended and allowed; red, dashed: intended '
             'but refused; orange, dotted: allowed but not intended.</p>']
    verdict = "ok" if not problems and not open_findings else "err"
    parts.append(f'<p class="{verdict}">{flows["missing"]} refused, {flows["unintended"]} allowed but not intended '
                 f'({len(flows["findings"]) - len(open_findings)} finding(s) waived), {flows["unmatched"]} unmatched, '
                 f'{flows["late"]} arriving late.</p>')
    rows = [[f["check"], f["object"], f["field"], f["message"] + (f" — waived: {f['waiver_reason']}" if f["waived"] else "")]
            for f in flows["findings"]]
    if rows:
        parts.append(html_table(["check", "policy", "rule", "what"], rows))
    for namespace, svg in sorted(flows["graphs"].items()):
        start = svg.find("<svg")
        parts.append(f'<h3>{esc(namespace)}</h3><div class="diagram">{svg[start:] if start >= 0 else ""}</div>')
    if not flows["graphs"]:
        parts.append('<p class="muted">No graphs: Graphviz is not installed.</p>')
    return "".join(parts) + "</section>"


def report_html(inputs: ReportInputs) -> str:
    """The whole page."""
    prod = inputs.platforms.get("prod") or next(iter(inputs.platforms.values()))
    c = prod.cluster
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t in (("architecture", "Architecture"), ("plan", "Plan"), ("findings", "Findings"),
                                                         ("flows", "Flows"), ("drills", "Drills"), ("promises", "Promises"), ("environments", "Environments")))
    body = "".join([_summary(inputs), _diagram(inputs), _plan(inputs), _findings(inputs), _flows(inputs), _drills(inputs), _ha(prod), _environments(inputs)])
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"generator\" content=\"plinth\">"
            f"<title>{esc(prod.name)}: platform report</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(prod.name)}: platform report</h1><p>{esc(c.provider.upper())} {esc(c.region)} · DR {esc(c.dr_region)} · "
            f"Kubernetes {esc(c.kubernetes_version)} · environments {esc(', '.join(sorted(inputs.platforms)))}</p><nav>{nav}</nav></header>"
            f"<main>{body}</main></body></html>\n")
