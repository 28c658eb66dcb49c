"""`plinth plan` and the plan summary of `plinth run`, through the real command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import CHART_DIR, CRD_DIR, DEFAULT_SPEC, REPO, needs_charts, needs_shared

WARM_CACHE = {"PLINTH_CACHE_DIR": str(REPO / ".cache")}
"""A spec copied elsewhere still reuses the repository's hydration cache (the renders do not depend on the spec's folder)."""


def plinth(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


def test_plan_json_has_every_cloud_and_pool() -> None:
    result = plinth("plan", "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["environment"] == "prod" and plan["organisations"] == 1000
    assert set(plan["clouds"]) == {"aws", "gcp", "azure"}
    aws = plan["clouds"]["aws"]
    assert [p["name"] for p in aws["pools"]] == ["apps", "data"]
    for pool in aws["pools"]:
        assert pool["at_max_replicas"]["lower_bound"] <= pool["at_max_replicas"]["nodes"]
    assert aws["cost"]["design_usd_per_month"] == 12000
    lines = aws["cost"]["max_replicas"]["lines"]
    assert abs(aws["cost"]["max_replicas"]["total_usd_per_month"] - sum(line["usd_per_month"] for line in lines)) < 0.1
    assert {line["group"] for line in lines} == {"nodes", "disks", "control plane", "object storage", "network"}


def test_plan_for_5000_organisations_scales_nodes() -> None:
    base = json.loads(plinth("plan", "--format", "json", "--cloud", "aws").stdout)
    big = json.loads(plinth("plan", "--format", "json", "--cloud", "aws", "--orgs", "5000").stdout)
    assert big["organisations"] == 5000 and set(big["clouds"]) == {"aws"}
    apps = lambda plan: plan["clouds"]["aws"]["pools"][0]["at_max_replicas"]["nodes"]  # noqa: E731
    assert apps(big) > apps(base)


def test_plan_curve_table_and_html(tmp_path: Path) -> None:
    page = tmp_path / "curve.html"
    result = plinth("plan", "--orgs", "100,1000,10000,100000", "--html", str(page))
    assert result.returncode == 0, result.stderr
    assert "100,000" in result.stdout and "Growth" in result.stdout
    svgs = re.findall(r"<svg.*?</svg>", page.read_text(), flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        root = ET.fromstring(svg)
        assert len(root.findall("{http://www.w3.org/2000/svg}polyline")) == 6  # 3 clouds x min/max


def test_bad_flags_exit_2_with_a_message() -> None:
    for args, message in ((["--orgs", "many"], "--orgs"), (["--orgs", "0"], "--orgs"), (["--cloud", "ibm"], "--cloud"),
                          (["--format", "yaml"], "--format"), (["--env", "qa"], "no environment qa")):
        result = plinth("plan", *args)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr


@needs_shared
@needs_charts
def test_run_prints_a_plan_line_and_writes_the_chart(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    shutil.copy(DEFAULT_SPEC, spec)
    shutil.copy(DEFAULT_SPEC.parent / "check-waivers.yaml", tmp_path / "check-waivers.yaml")
    result = plinth("run", "--spec", str(spec), "--crd-dir", str(CRD_DIR), "--chart-dir", str(CHART_DIR), cwd=tmp_path, env=WARM_CACHE)
    assert result.returncode == 0, result.stderr
    assert re.search(r"hydrate: 40 chart Applications, \d+ objects", result.stdout)
    assert re.search(r"validate: all \d+ objects valid \(\d+ rendered \+ \d+ hydrated", result.stdout)
    assert "planned without charts" not in result.stdout
    assert re.search(r"plan: prod, 1,000 orgs on aws us-east-1: apps \d+-\d+ nodes \(spec 10\)", result.stdout)
    assert "(design ~$12,000)" in result.stdout
    assert (tmp_path / "reports" / "plan.html").read_text().startswith("<!DOCTYPE html>")
    # `make run` ends by writing the one-page report and printing its path
    assert "report: " in result.stdout and "platform.html" in result.stdout
    page = (tmp_path / "reports" / "platform.html").read_text()
    assert 'id="plan"' in page and "~$12,000" in page and 'id="findings"' in page


@needs_shared
def test_run_without_a_chart_directory_says_so_and_fails_the_check(tmp_path: Path) -> None:
    """A clone without the chart archives: everything runs on the rendered tree, and every step says what is missing."""
    spec = tmp_path / "platform.yaml"
    shutil.copy(DEFAULT_SPEC, spec)
    shutil.copy(DEFAULT_SPEC.parent / "check-waivers.yaml", tmp_path / "check-waivers.yaml")
    result = plinth("run", "--spec", str(spec), "--crd-dir", str(CRD_DIR), cwd=tmp_path, env={"PLINTH_CHART_DIR": ""})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "charts: NOT HYDRATED: no chart directory" in result.stderr and "the objects of 40 chart Applications" in result.stderr
    assert "hydrate: not hydrated" in result.stdout
    assert "PL-ARGO-007 prod Application/platform-system/velero" in result.stderr
    assert "planned without charts: 20 Applications not hydrated" in result.stdout


@needs_charts
def test_plan_reads_chart_pods_from_the_hydrated_charts() -> None:
    plan = json.loads(plinth("plan", "--format", "json", "--cloud", "aws", env=WARM_CACHE).stdout)
    assert plan["unhydrated"] == []
    names = {w["name"] for pool in plan["clouds"]["aws"]["pools"] for w in pool["workloads"]}
    assert "Deployment/platform-system/cert-manager-webhook" in names
    assert "Prometheus/platform-monitoring/kps-prometheus" in names
    assert not any(name.startswith("Chart/") for name in names), "no declared chart footprints"
    missing = plinth("plan", "--format", "json", "--cloud", "aws", env={"PLINTH_CHART_DIR": "/nonexistent-charts"})
    assert missing.returncode == 2 and "/nonexistent-charts" in missing.stderr, "a chart directory that is named but absent is bad input"
