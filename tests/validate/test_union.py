"""Validation of the union: the hydrated charts' objects against CRD schemas converted from the charts' own CRDs
(the shared folder only for CRDs no chart ships); a problem names the Application and the pseudo-path; verdicts of
valid objects are cached."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from plinth.charts.workflow import crd_dir_for
from plinth.render.pipeline import render_all
from plinth.validate.union import validate_objects
from tests.conftest import CHART_DIR, CRD_DIR, DEFAULT_SPEC, REPO, needs_charts, needs_shared

pytestmark = [needs_charts, needs_shared]


def test_every_hydrated_object_is_valid_against_the_charts_crd_schemas(platforms, hydration, tmp_path: Path) -> None:
    rendered = render_all(platforms)
    folder = crd_dir_for(DEFAULT_SPEC, hydration, rendered, CRD_DIR)
    sources = json.loads((folder / "SOURCES.json").read_text())["files"]
    assert sources["monitoring.coreos.com/servicemonitor_v1.json"] == "kube-prometheus-stack-88.2.0", "the chart is the source of its CRDs"
    assert sources["keda.sh/scaledobject_v1alpha1.json"].startswith("keda-")
    assert validate_objects([*rendered, *hydration.objects], platforms, folder, tmp_path) == []
    assert list((tmp_path / "validate").glob("*.json")), "the verdicts are cached"


def test_a_broken_hydrated_object_is_reported_with_its_application_and_pseudo_path(platforms, hydration, tmp_path: Path) -> None:
    rendered = render_all(platforms)
    folder = crd_dir_for(DEFAULT_SPEC, hydration, rendered, CRD_DIR)
    monitor = next(h for h in hydration.for_environment("prod") if h.application == "velero" and h.obj["kind"] == "ServiceMonitor")
    broken_obj = copy.deepcopy(monitor.obj)
    broken_obj["spec"]["endpoints"][0]["interval"] = 30
    broken = replace(monitor, obj=broken_obj)
    for cache in (None, tmp_path, tmp_path):  # the second cached run must still report it: only "valid" is remembered
        (problem,) = validate_objects([broken], platforms, folder, cache)
        assert (problem.application, problem.path, problem.obj) == ("velero", monitor.path, "ServiceMonitor/platform-system/velero")
        assert problem.field == "spec.endpoints[0].interval"
        assert str(problem).startswith(f"{monitor.path}: ServiceMonitor/platform-system/velero (Application velero): spec.endpoints[0].interval:")


def test_cli_validate_counts_the_rendered_and_the_hydrated_objects() -> None:
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "validate", "--format", "json", "--chart-dir", str(CHART_DIR)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["valid"] and data["hydrated"] > 1000 and data["not_hydrated_applications"] == 0
    assert data["objects"] == data["rendered"] + data["hydrated"]
    assert "/crd-schemas/" in data["crd_dir"]
