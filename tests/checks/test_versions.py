"""The version checks (PL-VER-001..003): each level on a day and cloud that calls for it, the dates and sources
in the message, the injectable day, `plinth check` end to end, and the committed spec judged at the real date."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from plinth.checks import ALL_CHECKS, CheckContext
from plinth.checks.engine import run_checks
from plinth.checks.versions import version_findings
from plinth.spec.model import Platform
from tests.checks import fixtures as fx
from tests.conftest import REPO, spec_with

D = dt.date
VERSION_CHECKS = [c for c in ALL_CHECKS if c.id.startswith("PL-VER-")]


def _notes(platform: Platform, minor: str, provider: str, on: dt.date) -> list[tuple[str, str]]:
    changed = fx.spec_changed(platform, {"cluster.kubernetes_version": minor, "cluster.provider": provider})
    return [(n.level, n.message) for n in version_findings(changed, on)]


def test_past_upstream_end_of_life_and_in_eks_extended_support(prod: Platform) -> None:
    notes = _notes(prod, "1.32", "aws", D(2026, 11, 30))
    assert [level for level, _ in notes] == ["error", "warning"]
    error, warning = (m for _, m in notes)
    assert error.startswith("Kubernetes 1.32 reached upstream end of life on 2026-02-28 "
                            "(https://raw.githubusercontent.com/kubernetes/website/main/data/releases/eol.yaml, read 2026-11-30)")
    assert "newer minors in standard support on EKS, GKE and AKS on 2026-11-30: 1.35 (1.35 until 2027-02-28)" in error
    assert "left EKS standard support on 2026-03-23" in warning and "in EKS extended support until 2027-03-23" in warning
    assert "0.60 USD per hour instead of 0.10" in warning and "upgrade policy EXTENDED" in warning


def test_past_the_end_of_extended_support_on_the_cloud(prod: Platform) -> None:
    notes = _notes(prod, "1.31", "aws", D(2026, 11, 30))
    assert [level for level, _ in notes] == ["error", "error"]
    assert "past the end of EKS extended support on EKS since 2026-11-26" in notes[1][1]


def test_gke_extended_support_is_estimated_and_aks_lts_needs_premium(prod: Platform) -> None:
    gke = _notes(prod, "1.32", "gcp", D(2026, 6, 1))
    assert gke[1][0] == "warning" and "estimated: 24 months after availability in the Regular channel" in gke[1][1]
    assert "amount not read on the cloud’s own page" in gke[1][1]
    aks = _notes(prod, "1.33", "azure", D(2026, 8, 1))
    assert ("warning", ) == tuple(level for level, _ in aks if level == "warning")
    assert any("AKS long-term support (Premium tier)" in m and "2026-07-31 (given as 2026-07" in m for _, m in aks)


def test_leaving_standard_support_within_90_days_is_information(prod: Platform) -> None:
    assert _notes(prod, "1.35", "aws", D(2026, 11, 29)) == []
    (note,) = _notes(prod, "1.35", "aws", D(2026, 11, 30))
    assert note[0] == "info" and note[1].startswith("Kubernetes 1.35 reaches upstream end of life in 90 days, on 2027-02-28")
    assert "no newer minor of the version table is in standard support on EKS, GKE and AKS" in note[1]
    assert [level for level, _ in _notes(prod, "1.35", "aws", D(2027, 3, 1))] == ["error"]


def test_unknown_cloud_dates_and_unknown_versions_are_said(prod: Platform) -> None:
    (warning,) = _notes(prod, "1.36", "aws", D(2026, 11, 30))
    assert warning[0] == "warning" and "the support dates of Kubernetes 1.36 on EKS are not recorded" in warning[1]
    assert _notes(prod, "1.36", "azure", D(2026, 11, 30)) == []
    (error,) = _notes(prod, "1.37", "azure", D(2026, 9, 1))
    assert error == ("error", "Kubernetes 1.37 is not available on AKS before 2026-10-01 (given as 2026-10, "
                              "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions, read 2026-11-30)")
    (unknown,) = _notes(prod, "1.29", "aws", D(2026, 11, 30))
    assert unknown[0] == "error" and "not in the version table (it has 1.30, 1.31" in unknown[1]


def test_the_checks_read_the_day_from_plinth_today(prod: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    old = fx.spec_changed(prod, {"cluster.kubernetes_version": "1.32"})
    ctx = CheckContext.from_objects(old, [])
    monkeypatch.setenv("PLINTH_TODAY", "2025-11-01")
    assert run_checks(ctx, VERSION_CHECKS) == []
    monkeypatch.setenv("PLINTH_TODAY", "2026-03-23")
    found = {(f.check_id, f.severity, f.obj.key, f.field_path) for f in run_checks(ctx, VERSION_CHECKS)}
    assert found == {("PL-VER-001", "error", "Spec/cluster", "cluster.kubernetes_version"),
                     ("PL-VER-002", "warning", "Spec/cluster", "cluster.kubernetes_version")}


def _plinth(*args: str, env_day: str | None) -> subprocess.CompletedProcess[str]:
    import os
    env = {k: v for k, v in os.environ.items() if k != "PLINTH_TODAY"}
    if env_day:
        env["PLINTH_TODAY"] = env_day
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=REPO, env=env)


def test_plinth_check_fails_a_spec_past_end_of_life(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [("cluster.kubernetes_version", "1.32")])
    result = _plinth("check", "--spec", str(spec), "--format", "json", env_day="2026-11-30")
    assert result.returncode == 1, result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["check"].startswith("PL-VER-")]
    assert {(f["check"], f["environment"]) for f in findings} == {(c, e) for c in ("PL-VER-001", "PL-VER-002") for e in ("prod", "staging")}
    assert all(f["file"] == str(spec) and f["field"] == "cluster.kubernetes_version" for f in findings)
    bad = _plinth("check", "--spec", str(spec), env_day="30/11/2026")
    assert bad.returncode == 2 and bad.stderr.strip() == "PLINTH_TODAY='30/11/2026': expected a date YYYY-MM-DD"


def test_plinth_versions_lists_the_table_and_the_spec_status() -> None:
    result = _plinth("versions", "--format", "json", "--on", "2026-11-30", env_day=None)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["spec_version"] == "1.35" and data["supported_everywhere"] == ["1.35"]
    assert data["spec_status"] == {p: {"phase": "standard", "upstream_ended": False} for p in ("aws", "gcp", "azure")}
    assert data["versions"]["1.35"]["aws"]["end_of_standard"] == {
        "date": "2027-03-27", "as_given": "2027-03-27", "source": "https://endoflife.date/amazon-eks", "read": "2026-11-30",
        "estimated": None, "unknown": None}
    table = _plinth("versions", "--on", "2027-03-01", env_day=None)
    assert table.returncode == 0 and "spec (*) 1.35 on 2027-03-01: EKS standard, GKE standard, AKS standard; past upstream end of life" in table.stdout
    assert _plinth("versions", "--on", "March", env_day=None).returncode == 2


def test_the_committed_spec_has_no_version_error_at_the_real_date(platforms: dict[str, Platform]) -> None:
    """Judged at today's real date on purpose (not tests.conftest.TEST_TODAY): when the committed version reaches
    upstream end of life (1.35: 2027-02-28) or leaves its cloud's support, this fails until the spec moves on."""
    for platform in platforms.values():
        errors = [n.message for n in version_findings(platform, dt.date.today()) if n.level == "error"]
        assert errors == [], errors
