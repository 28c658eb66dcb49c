"""No hidden context, and quotas that admit the workload: waivers come from the spec's folder (or --waivers) and the
summary names the file; `covers` is honoured by every zone-loss check; quotas are compared with what runs at peak."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from plinth.checks import ALL_CHECKS, CheckContext
from plinth.checks.engine import run_checks
from plinth.cli import app
from plinth.render.pipeline import render_all
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC, REPO, spec_with

CHECKS = {c.id: c for c in ALL_CHECKS}


def _check_json(spec: Path, *extra: str) -> dict:
    result = CliRunner().invoke(app, ["check", "--spec", str(spec), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_the_current_folders_waiver_file_is_never_applied_to_another_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_with(tmp_path, [])
    monkeypatch.chdir(REPO)  # the repository's check-waivers.yaml is in the current folder
    data = _check_json(spec)
    assert data["waivers_file"] is None
    assert not any(f["waived"] for f in data["findings"])
    assert data["summary"]["error"] > 0  # the findings the repository's waivers would have hidden are reported


def test_the_spec_folders_waiver_file_is_used_and_named(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [])
    shutil.copy(REPO / "check-waivers.yaml", tmp_path / "check-waivers.yaml")
    data = _check_json(spec)
    assert data["waivers_file"] == str(tmp_path / "check-waivers.yaml")
    result = CliRunner().invoke(app, ["check", "--spec", str(spec)])
    assert f"waivers from {tmp_path / 'check-waivers.yaml'}" in result.output.replace("\n", "")


def test_an_explicit_waiver_file_wins_and_a_missing_one_is_bad_input(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [])
    waivers = tmp_path / "mine.yaml"
    shutil.copy(REPO / "check-waivers.yaml", waivers)
    assert _check_json(spec, "--waivers", str(waivers))["waivers_file"] == str(waivers)
    result = CliRunner().invoke(app, ["check", "--spec", str(spec), "--waivers", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2


def test_service_zone_loss_checks_honour_covers(tmp_path: Path) -> None:
    """api_services.ha.covers without 'zone' promises nothing for a zone loss: PL-HA-001 and PL-HA-007 stay quiet."""
    spec = spec_with(tmp_path, [("api_services.ha.covers", ["pod", "node"]), ("api_services.ha.rto_seconds", 30),
                                ("services.auth.scaling.min_replicas", 1)])
    platforms = load_all(spec)
    rendered = render_all(platforms)
    ctx = CheckContext(platforms["prod"], rendered)
    assert run_checks(ctx, [CHECKS["PL-HA-001"], CHECKS["PL-HA-007"]]) == []


@pytest.fixture(scope="module")
def sixty_services(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default spec with 54 more services like `auth` (60 in all) against the 200-pod quota."""
    folder = tmp_path_factory.mktemp("sixty")
    yaml = YAML(typ="rt")
    doc = yaml.load(DEFAULT_SPEC.read_text())
    template = doc["services"]["auth"]
    for index in range(54):
        doc["services"][f"svc-{index:02d}"] = json.loads(json.dumps(template))
    for pool in ("apps",):
        doc["node_pools"][pool]["max_nodes"] = 200
    with (folder / "platform.yaml").open("w") as handle:
        yaml.dump(doc, handle)
    return folder / "platform.yaml"


def test_sixty_services_overflow_a_200_pod_quota(sixty_services: Path) -> None:
    data = _check_json(sixty_services)
    quota = [f for f in data["findings"] if f["check"] == "PL-QUOTA-001" and f["environment"] == "prod"]
    pods = [f for f in quota if f["field"] == "namespaces.platform-apps.quota.pods"]
    assert pods, [f["message"] for f in quota]
    assert "the quota allows 200" in pods[0]["message"]


def test_a_one_cpu_five_pod_quota_is_a_finding_per_resource(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [("namespaces.platform-data.quota.requests_cpu", "1"), ("namespaces.platform-data.quota.pods", 5)])
    data = _check_json(spec)
    fields = {f["field"] for f in data["findings"] if f["check"] == "PL-QUOTA-001" and f["environment"] == "prod"}
    assert {"namespaces.platform-data.quota.pods", "namespaces.platform-data.quota.requests_cpu"} <= fields


def test_the_default_spec_quotas_admit_peak_load() -> None:
    data = _check_json(DEFAULT_SPEC)
    assert not [f for f in data["findings"] if f["check"].startswith("PL-QUOTA")]
