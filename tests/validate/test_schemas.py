"""Schema validation against the real Kubernetes OpenAPI schemas and the shared CRD schemas."""

from __future__ import annotations

import copy
import subprocess
import sys


from plinth.render.pipeline import render_all
from plinth.spec.loader import load_all
from plinth.validate.schemas import SchemaStore
from tests.conftest import CRD_DIR, DEFAULT_SPEC, REPO, needs_shared

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "platform-apps"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx@sha256:" + "0" * 64}]}},
    },
}


def test_valid_core_object_passes() -> None:
    assert SchemaStore("1.32", None).check(DEPLOYMENT, "d.yaml") == []


def test_broken_core_object_is_caught_with_field_path() -> None:
    broken = copy.deepcopy(DEPLOYMENT)
    broken["spec"]["replicas"] = "three"
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes"
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"port": 80}, "periodSecs": 5}
    problems = SchemaStore("1.32", None).check(broken, "d.yaml")
    fields = {p.field for p in problems}
    assert "spec.replicas" in fields
    assert "spec.template.spec.containers[0].readinessProbe.periodSecs" in fields  # strict: unknown field
    assert all(p.path == "d.yaml" and p.obj == "Deployment/platform-apps/web" for p in problems)


def test_unknown_top_level_field_is_caught() -> None:
    broken = copy.deepcopy(DEPLOYMENT)
    broken["finalizers"] = ["x"]
    (problem,) = SchemaStore("1.32", None).check(broken, "d.yaml")
    assert problem.field == "finalizers"


def test_kind_without_schema_is_an_error() -> None:
    hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}}
    (problem,) = SchemaStore("1.32", None).check(hpa, "h.yaml")
    assert "no schema for autoscaling/v2beta2 HorizontalPodAutoscaler" in problem.message


@needs_shared
def test_broken_custom_resource_is_caught() -> None:
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "x", "namespace": "platform-system"},
        "spec": {"project": "p", "destination": {"server": "https://kubernetes.default.svc"},
                 "source": {"repoURL": "https://x", "path": "a", "targetRevison": "main"},
                 "syncPolicy": {"automated": {"prune": "yes"}}},
    }
    problems = SchemaStore("1.32", CRD_DIR).check(app, "a.yaml")
    by_field = {p.field: p.message for p in problems}
    assert "targetRevison" in by_field["spec.source.targetRevison"]
    assert "spec.syncPolicy.automated.prune" in by_field


@needs_shared
def test_every_rendered_object_of_every_environment_is_valid(chart_crd_dir) -> None:
    platforms = load_all(DEFAULT_SPEC)
    stores = {v: SchemaStore(v, chart_crd_dir) for v in {p.cluster.kubernetes_version for p in platforms.values()}}
    problems = [str(p) for r in render_all(platforms) for p in stores[platforms[r.environment].cluster.kubernetes_version].check(r.obj, r.path)]
    assert problems == []


@needs_shared
def test_cli_validate_exits_0_and_reports_count() -> None:
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "validate", "--crd-dir", str(CRD_DIR), "--format", "json"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert '"valid": true' in result.stdout


def test_cli_validate_without_crd_folder_is_bad_input(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "validate", "--crd-dir", str(tmp_path / "nope")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
