"""Run the checks over environments, apply waivers, and present the result: rich table, JSON, SARIF 2.1.0."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table
from ruamel.yaml import YAML

from plinth.checks.engine import SPEC_KIND, Check, CheckContext, Finding, run_checks, sort_findings
from plinth.checks.registry import ALL_CHECKS
from plinth.charts.hydrate import Hydration
from plinth.checks.waivers import WAIVER_CHECKS, Waiver, apply_waivers
from plinth.kube.yamlio import dump_yaml
from plinth.render.pipeline import RenderedObject
from plinth.spec.loader import _locate
from plinth.spec.model import Platform


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("plinth")
    except Exception:  # noqa: BLE001 - not installed (source checkout)
        return "0"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


@dataclass
class CheckReport:
    """All findings of a run (waived ones included, marked)."""

    findings: list[Finding]
    environments: list[str]
    waivers_file: str | None = None
    """The waiver file applied (None: there was none)."""

    @property
    def failing(self) -> list[Finding]:
        """Unwaived error findings: any of them makes the run exit 1."""
        return [f for f in self.findings if f.severity == "error" and f.waived_by is None]

    def counts(self) -> dict[str, int]:
        """Unwaived findings per severity, plus the number waived."""
        open_ = Counter(f.severity for f in self.findings if f.waived_by is None)
        return {"error": open_["error"], "warning": open_["warning"], "info": open_["info"],
                "waived": sum(1 for f in self.findings if f.waived_by is not None)}

    def summary_line(self) -> str:
        """One line for `plinth run`."""
        c = self.counts()
        waivers = f"waivers from {self.waivers_file}" if self.waivers_file else "no waiver file"
        return (f"{len(ALL_CHECKS)} checks on {', '.join(self.environments)}: {c['error']} error(s), {c['warning']} warning(s), "
                f"{c['info']} info, {c['waived']} waived ({waivers})")


def check_platforms(platforms: dict[str, Platform], rendered: list[RenderedObject], waivers: list[Waiver],
                    waivers_path: Path, spec_file: str, today: dt.date | None = None, hydration: Hydration | None = None) -> CheckReport:
    """Run every registered check on every environment's union (rendered + ``hydration``; None: not hydrated) and
    apply the waivers."""
    findings: list[Finding] = []
    for env in sorted(platforms):
        findings.extend(run_checks(CheckContext.for_hydration(platforms[env], rendered, hydration, spec_file), ALL_CHECKS))
    used = str(waivers_path) if Path(waivers_path).is_file() else None
    return CheckReport(sort_findings(apply_waivers(findings, waivers, waivers_path, today)), sorted(platforms), used)


# --------------------------------------------------------------------------- table and JSON


def table(report: CheckReport, show_waived: bool = False) -> Table:
    """A rich table for people: open findings (waived ones too, dimmed, when asked)."""
    result = Table(title="plinth check", show_lines=False, expand=True)
    result.add_column("severity", no_wrap=True)
    result.add_column("check", no_wrap=True)
    result.add_column("env", no_wrap=True)
    result.add_column("object · field", overflow="fold", ratio=2)
    result.add_column("message", overflow="fold", ratio=3)
    style = {"error": "red", "warning": "yellow", "info": "cyan"}
    shown = [f for f in report.findings if f.waived_by is None]
    if show_waived:
        shown += [f for f in report.findings if f.waived_by is not None]
    for f in shown:
        sev = f"[{style[f.severity]}]{f.severity}[/]" if f.waived_by is None else f"[dim]{f.severity} (waived)[/]"
        message = f.message if f.waived_by is None else f"{f.message} — waived: {f.waived_by}"
        where = f"{f.obj.key} (Application {f.obj.application})" if f.obj.application else f.obj.key
        result.add_row(sev, f.check_id, f.environment, f"{where} · {f.field_path}" if f.field_path else where, message,
                       style="dim" if f.waived_by is not None else None)
    return result


def check_metadata(check: Check) -> dict[str, Any]:
    """Plain data describing a check."""
    return {"id": check.id, "severity": check.severity, "scope": check.scope, "title": check.title,
            "remediation": check.remediation, "params": check.params}


def as_json(report: CheckReport) -> dict[str, Any]:
    """The report as plain data."""
    return {
        "environments": report.environments,
        "summary": report.counts(),
        "passed": not report.failing,
        "waivers_file": report.waivers_file,
        "findings": [f.as_dict() for f in report.findings],
        "checks": [check_metadata(c) for c in (*ALL_CHECKS, *WAIVER_CHECKS)],
    }


# --------------------------------------------------------------------------- SARIF


def _line_in(text: str, dotted: str) -> int:
    """1-based line of the deepest part of a dotted field path found in a YAML text."""
    try:
        doc = YAML(typ="rt").load(io.StringIO(text))
    except Exception:  # noqa: BLE001 - a location is a nicety; never fail the report on it
        return 1
    parts = tuple(int(p) if p.isdigit() else p for p in dotted.split(".") if p)
    line, _, _ = _locate(doc, parts)
    return line


def _locations(report: CheckReport, rendered: list[RenderedObject], spec_text: str) -> dict[int, int]:
    by_file = {}
    for item in rendered:
        by_file.setdefault(item.path.split("/", 1)[0], {})[item.path] = item
    lines: dict[int, int] = {}
    for index, f in enumerate(report.findings):
        if f.obj.kind == SPEC_KIND:
            lines[index] = _line_in(spec_text, f.field_path)
            continue
        rel = f.obj.file.split("/", 1)[1] if "/" in f.obj.file else f.obj.file
        item = by_file.get(f.environment, {}).get(rel)
        lines[index] = _line_in(dump_yaml(item.obj), f.field_path) if item is not None else 1
    return lines


def _uri(file: str) -> str:
    """A repository-relative URI when the file lies under the current folder (what code scanning expects)."""
    path = Path(file)
    if path.is_absolute():
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_uri()
    return path.as_posix()


def as_sarif(report: CheckReport, rendered: list[RenderedObject], spec_text: str = "", rendered_root: str = "") -> dict[str, Any]:
    """SARIF 2.1.0 for GitHub code scanning: one rule per check, one result per finding (waived = suppressed). A finding
    on a hydrated object is located at its Application's file (``rendered_root``/<env>/apps/...), which renders it."""
    checks = (*ALL_CHECKS, *WAIVER_CHECKS)
    index = {c.id: i for i, c in enumerate(checks)}
    rules = [{
        "id": c.id,
        "name": "".join(w.capitalize() for w in c.title.replace("'", "").split() if w.isalnum())[:80] or c.id,
        "shortDescription": {"text": c.title},
        "fullDescription": {"text": f"{c.title} (scope: {c.scope})."},
        "help": {"text": c.remediation},
        "defaultConfiguration": {"level": SARIF_LEVEL[c.severity]},
        "properties": {"scope": c.scope, "params": c.params},
    } for c in checks]
    lines = _locations(report, rendered, spec_text)
    app_files = {(r.environment, r.obj["metadata"].get("name")): r.path for r in rendered
                 if r.obj.get("kind") == "Application" and str(r.obj.get("apiVersion", "")).startswith("argoproj.io/")}
    results = []
    for i, f in enumerate(report.findings):
        file, line, hydrated = f.obj.file, lines.get(i, 1), ""
        if f.obj.application is not None and (f.environment, f.obj.application) in app_files:
            # A hydrated object has no file in the repository: point at the Application whose chart renders it.
            file = "/".join(p for p in (rendered_root, app_files[(f.environment, f.obj.application)]) if p)
            line, hydrated = 1, f" [hydrated from Application {f.obj.application}: {f.obj.file}]"
        result: dict[str, Any] = {
            "ruleId": f.check_id,
            "ruleIndex": index[f.check_id],
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.obj.key} ({f.environment}) {f.field_path}: {f.message}{hydrated}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": _uri(file)}, "region": {"startLine": line}},
                "logicalLocations": [{"fullyQualifiedName": f"{f.environment}/{f.obj.key}", "kind": "object"}],
            }],
            "partialFingerprints": {"plinthFinding/v1": f"{f.check_id}|{f.environment}|{f.obj.key}|{f.field_path}"},
        }
        if f.waived_by is not None:
            result["suppressions"] = [{"kind": "external", "justification": f.waived_by}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "plinth", "version": _version(), "informationUri": "https://github.com/org/platform-infra",
                                "rules": rules}},
            "results": results,
        }],
    }
