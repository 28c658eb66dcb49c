"""Network flow checks: the declared and implied flows against what the NetworkPolicies allow over the real pods of
the environment's union (rendered tree + hydrated charts), computed by ``plinth.flows``.

Without the hydrated charts half the pods are unknown, so the checks then report that they could not verify
(PL-NET-005) instead of passing.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from plinth.checks.engine import Check, CheckContext, Finding, ObjectRef
from plinth.components.registry import ALL_COMPONENTS
from plinth.flows.analysis import FlowReport, Missing, analyse
from plinth.flows.inventory import Sourced, sourced_objects
from plinth.render.network import declared_flows

MAX_LISTED = 6
"""Connections listed in one finding's message (the rest are counted)."""

_REPORTS: weakref.WeakKeyDictionary[CheckContext, FlowReport | None] = weakref.WeakKeyDictionary()


def flow_report(ctx: CheckContext) -> FlowReport | None:
    """The flow analysis of the context's environment (None when some chart Application was not hydrated); computed once."""
    if ctx not in _REPORTS:
        if not ctx.charts_hydrated:
            _REPORTS[ctx] = None
        else:
            objects = sourced_objects(ctx.platform, ctx.rendered, ctx.hydrated)
            declared = ctx.flows if ctx.flows is not None else declared_flows(ctx.platform, ALL_COMPONENTS)
            _REPORTS[ctx] = analyse(ctx.platform, objects, declared)
    return _REPORTS[ctx]


def _ref(ctx: CheckContext, source: Sourced | None, kind: str, namespace: str | None, name: str) -> ObjectRef:
    if source is None:
        return ctx.expected_ref(kind, namespace, name)
    for item in ctx.objects:
        if item.obj is source.obj:
            return ctx.ref(item)
    return ObjectRef(kind, namespace, name, source.path)


def _policy_ref(ctx: CheckContext, report: FlowReport, key: str) -> ObjectRef:
    _, namespace, name = key.split("/", 2)
    return _ref(ctx, report.inventory.policy_source.get(key), "NetworkPolicy", namespace, name)


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    return shown + (f"; and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _blamed(report: FlowReport, missing: Missing) -> tuple[str, str]:
    """The policy to fix and the side: of the policies isolating the refusing side, the one that selects the pods most
    narrowly (where their own rules are), else the namespace-wide ones."""
    side, policies = missing.refused_by[0]
    selectors = {p.key: p.pod_selector for p in report.inventory.policies}

    def narrowness(key: str) -> tuple[int, str]:
        selector = selectors.get(key) or {}
        return (-(len(selector.get("matchLabels") or {}) + len(selector.get("matchExpressions") or [])), key)

    return sorted(policies, key=narrowness)[0], side


def missing_flows(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every port of every intended flow is allowed by the source's egress and the destination's ingress."""
    report = flow_report(ctx)
    if report is None:
        return
    inv = report.inventory
    for missing in report.missing:
        policy, side = _blamed(report, missing)
        refusals = "; ".join(f"{s} isolated by {', '.join(p.split('/', 1)[1] for p in policies)}" for s, policies in missing.refused_by)
        why = missing.flow.why if missing.flow.owner in missing.flow.why else f"{missing.flow.why} ({missing.flow.owner or 'implied'})"
        yield check.finding(ctx, _policy_ref(ctx, report, policy), f"spec.{side}",
                            f"{why}: {inv.label(missing.source)} -> "
                            f"{inv.label(missing.destination)} {missing.ports.describe()} is refused ({refusals}); no rule allows it")


def unintended_flows(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every connection the policies allow is one a flow intends; the rules that allow more are named."""
    report = flow_report(ctx)
    if report is None:
        return
    inv = report.inventory
    by_rule: dict[tuple[str, str], list[str]] = {}
    open_only: list[str] = []
    for extra in report.unintended:
        text = f"{inv.label(extra.source)} -> {inv.label(extra.destination)} {extra.ports.describe()}"
        if not extra.rules:
            open_only.append(text)
        for contribution in extra.rules:
            by_rule.setdefault((contribution.ref.policy_key, contribution.ref.field_path), []).append(text)
    for (policy, path), items in sorted(by_rule.items()):
        yield check.finding(ctx, _policy_ref(ctx, report, policy), path,
                            f"allows {len(items)} connection(s) no flow intends: {_listed(sorted(items))}")
    if open_only:
        yield check.finding(ctx, ctx.expected_ref("Namespace", None, "(not isolated)"), "",
                            f"{len(open_only)} connection(s) no policy restricts on either side: {_listed(sorted(open_only))}")


def unmatched_flows(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every declared flow's source and destination are pods (or endpoints) the environment runs."""
    report = flow_report(ctx)
    if report is None:
        return
    keys = {s.key: s for s in report.inventory.objects}
    for item in report.unmatched:
        flow = item.flow
        end = flow.source if item.side == "source" else flow.destination
        implying = keys.get(flow.owner)
        where = _ref(ctx, implying, implying.kind, (implying.obj.get("metadata") or {}).get("namespace"),
                     (implying.obj.get("metadata") or {}).get("name", "?")) if implying else ctx.expected_ref("Flow", None, flow.owner or "implied")
        yield check.finding(ctx, where, item.side,
                            f"{flow.why}: its {item.side} {end} matches no pod of the environment (wrong labels or namespace, "
                            "or the workload is gone)")


def late_policies(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """No intended flow is cut while Argo CD syncs: its allow arrives no later than the isolation or the workloads."""
    report = flow_report(ctx)
    if report is None:
        return
    inv = report.inventory
    seen: set[tuple[str, str, str, str]] = set()
    for late in report.late:
        key = (late.policies[0] if late.policies else "", late.source, late.destination, late.side)
        if key in seen:
            continue
        seen.add(key)
        yield check.finding(ctx, _policy_ref(ctx, report, late.policies[0]), f"spec.{late.side}",
                            f"{late.flow.why}: {inv.label(late.source)} -> {inv.label(late.destination)} is needed from sync wave "
                            f"{late.needed_wave} and isolated from wave {late.cut_wave}, but allowed only at wave {late.allowed_wave}: "
                            "Argo CD waits on the earlier wave forever")


def flows_verified(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """The flows were verified against the hydrated charts' pods (not only the rendered tree's)."""
    if flow_report(ctx) is None:
        missing = sorted(a.name for a in ctx.union.unhydrated)
        which = f" ({', '.join(missing)})" if missing else ""
        yield check.finding(ctx, ctx.expected_ref("Flow", None, "all"), "",
                            f"the chart Applications were not hydrated{which}: network flows are not verified (give the chart "
                            "directory, ../shared/charts or --chart-dir, and run `plinth flows`)")


CHECKS = (
    Check("PL-NET-001", "error", "tree", "Every intended network flow is allowed",
          "Declare the flow in the owning component's flows() (the policies are rendered from them), or fix the pod labels "
          "the flow names; the message says which side (egress of the source, ingress of the destination) refuses it.",
          missing_flows),
    Check("PL-NET-002", "error", "tree", "Every allowed network flow is intended",
          "Narrow the rule named by the finding (its peer or ports) to what the declared flows need, or declare the flow; "
          "waive only a breadth NetworkPolicy cannot avoid, with the reason.", unintended_flows),
    Check("PL-NET-003", "error", "tree", "Every declared flow names running pods",
          "Fix the labels or namespace of the flow's source or destination to the pods' real labels (plinth hydrate shows "
          "the charts' pods), or remove a flow whose workload is gone.", unmatched_flows),
    Check("PL-NET-004", "error", "tree", "Allow policies arrive no later than the isolation and the workloads",
          "Sync the allowing NetworkPolicy in the same wave as the namespace's default-deny, before the workloads "
          "(plinth.render.network renders every policy at one early wave).", late_policies),
    Check("PL-NET-005", "warning", "tree", "Network flows are verified against the hydrated charts",
          "Run with the pinned charts (../shared/charts, $PLINTH_CHART_DIR or --chart-dir) so the charts' pods are known.",
          flows_verified),
)
