"""The simulated cluster's results as JSON (``reports/sim/<what>-<env>.json``, like the drills' reports) and as
text for the terminal. ``plinth report`` reads the JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPORT_DIR = Path("reports/sim")


def write_report(data: dict[str, Any], path: Path) -> Path:
    """Write one report (sorted keys, indented) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_reports(folder: Path = REPORT_DIR) -> list[dict[str, Any]]:
    """Every report in the folder (unreadable files skipped), sorted by kind and environment."""
    reports = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("report") in ("sim-sync", "sim-zone-loss", "sim-scale"):
            reports.append(data)
    return sorted(reports, key=lambda r: (str(r.get("report")), str(r.get("environment")), str(r.get("organisations", ""))))


def sync_lines(result: dict[str, Any]) -> list[str]:
    """Terminal lines for a sync result (each Application, then programs and interventions)."""
    lines = [f"Sync: {result['reason']} after {result['seconds']:.0f} s"]
    for app in result["applications"]:
        line = f"  wave {app['wave']:>4}  {app['name']:30} {app['sync'] or '-':10} {app['health'] or '-':12}"
        if app["health"] != "Healthy" or app["sync"] != "Synced":
            detail = app["operation_message"] or app["health_message"] or "; ".join(app["conditions"])
            if detail:
                line += f" {detail}"
        lines.append(line)
        for resource in app["unhealthy"][:8]:
            lines.append(f"      {resource}")
    for program in result["programs"]:
        lines.append(f"  program {program['workload']:45} {program['program'] or '':22} {program['status']}"
                     + (f": {program['message']}" if program["message"] else ""))
    for name, why in sorted(result["not_runnable"].items()):
        lines.append(f"  not runnable here: {name}: {why}")
    for item in result["interventions"]:
        lines.append(f"  by hand: {item}")
    return lines


def cluster_lines(report: dict[str, Any]) -> list[str]:
    """Terminal lines for the cluster findings."""
    lines = [f"Pods: {report['pods']} ({report['running']} Running, {report['pending']} Pending)"]
    for pool in report["pools"]:
        planned = ""
        if pool.get("planned_nodes_at_min") is not None:
            planned = f", plan {pool['planned_nodes_at_min']}-{pool['planned_nodes_at_max']}"
        lines.append(f"  pool {pool['pool']:12} {pool['pods']:4} pods on {pool['nodes_used']}/{pool['nodes']} nodes{planned}; "
                     f"CPU {pool['cpu_requested_millicores'] / 1000:.1f}/{pool['cpu_allocatable_millicores'] / 1000:.1f}, "
                     f"memory {pool['memory_requested_mib'] / 1024:.1f}/{pool['memory_allocatable_mib'] / 1024:.1f} GiB; zones {pool['zones']}")
    for finding in report["findings"]:
        lines.append(f"  {finding['kind'].upper():15} {finding['object']}: {finding['message']}" + (f" [{finding['source']}]" if finding["source"] else ""))
    return lines


def zone_lines(report: dict[str, Any]) -> list[str]:
    """Terminal lines for a zone loss."""
    lines = [f"Zone loss {report['zone']}: {len(report['nodes_lost'])} nodes lost, {report['evicted']} pods evicted in "
             f"{report['drain_seconds']:.0f} s, {report['pods_lost_with_nodes']} went down with their nodes; "
             f"promises {'held' if report['held'] else 'NOT held'}"]
    for refusal in report["eviction_refusals"]:
        lines.append(f"  eviction refused: {refusal}")
    for target in report["targets"]:
        lines.append(f"  {target['name']:20} needs {target['needed']} ({target['promise']}): before {target['before']}, "
                     f"right after {target['right_after']}, after recovery {target['recovered']} {target['zones_after']} "
                     f"{'held' if target['held'] else 'NOT HELD'}")
    for pod in report["pending"]:
        lines.append(f"  pending {pod['pod']}: {pod['reason']}")
    return lines
