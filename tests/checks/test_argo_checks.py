"""The Argo CD checks end to end: a fixture chart (``charts/broken-operator``) packaged and hydrated with the real
helm, checked with the fixture tree. Each broken rule is reported on the hydrated object, naming its Application
and its pseudo-path; the sync order the checks use is Argo CD's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from plinth.charts.chartdir import ChartDir
from plinth.charts.helm import find_helm
from plinth.charts.hydrate import hydrate
from plinth.charts.union import SyncPosition
from plinth.checks import ALL_CHECKS, CheckContext
from plinth.checks.engine import run_checks
from plinth.spec.model import Platform
from tests.checks import fixtures as fx
from tests.conftest import REPO

FIXTURE_CHART = Path(__file__).parent / "charts" / "broken-operator"
APP = "broken-operator"


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture chart as a `helm package` archive, in a chart directory of its own."""
    folder = tmp_path_factory.mktemp("fixture-charts")
    helm = find_helm(REPO)
    subprocess.run([str(helm.path), "package", str(FIXTURE_CHART), "--destination", str(folder)], check=True, capture_output=True)
    return folder


def _broken_tree(prod: Platform) -> list[dict]:
    """The healthy fixture tree plus an Application of the fixture chart, synced before the monitoring CRDs (-6 < -5)."""
    app = fx.application(APP, chart=APP, namespace=fx.MON, wave=-6)
    app["spec"]["source"]["targetRevision"] = "0.1.0"
    return [*fx.healthy_tree(prod), app]


@pytest.fixture(scope="module")
def findings(prod: Platform, chart_dir: Path) -> list:
    objects = _broken_tree(prod)
    rendered = CheckContext.from_objects(prod, objects).rendered
    fixture_app = [r for r in rendered if r.obj["kind"] == "Application" and r.obj["metadata"]["name"] == APP]
    hydration = hydrate({"prod": prod}, fixture_app, ChartDir(chart_dir), find_helm(REPO), None)
    assert [a.application.name for a in hydration.apps] == [APP]
    hydrated = [*fx.healthy_hydrated(prod), *hydration.objects]
    ctx = CheckContext(prod, rendered, hydrated=hydrated, hydrated_applications=["kube-prometheus-stack", "loki", "tempo", "polaris", APP])
    return run_checks(ctx, [c for c in ALL_CHECKS if c.id.startswith("PL-ARGO-")])


@pytest.mark.parametrize("check_id, key, message", [
    ("PL-ARGO-001", "Role/kube-system/broken-operator:leaderelection",
     "Application broken-operator puts it in namespace kube-system, which AppProject platform-monitoring does not allow"),
    ("PL-ARGO-002", "ValidatingAdmissionPolicy/broken-operator-safe-upgrades",
     "syncs admissionregistration.k8s.io/ValidatingAdmissionPolicy, which AppProject platform-monitoring does not allow"),
    ("PL-ARGO-003", "ServiceMonitor/platform-monitoring/broken-operator",
     "is applied at Application wave -6, Sync wave 0, but its CRD servicemonitors.monitoring.coreos.com comes from Application "
     "kube-prometheus-stack at Application wave -5"),
    ("PL-ARGO-004", "Deployment/platform-monitoring/broken-operator",
     "needs Secret platform-monitoring/broken-operator-credentials, which no Application applies and nothing known creates"),
])
def test_each_broken_rule_names_the_hydrated_object_and_its_application(findings, check_id: str, key: str, message: str) -> None:
    matching = [f for f in findings if f.check_id == check_id and f.obj.key == key]
    assert matching, [f"{f.check_id} {f.obj.key}: {f.message}" for f in findings]
    (finding,) = matching
    assert message in finding.message
    assert finding.obj.application == APP
    assert finding.obj.file.startswith(f"prod/hydrated/{APP}/"), finding.obj.file
    assert finding.severity == "error"


def test_only_the_fixture_chart_breaks_a_rule(findings) -> None:
    assert {f.obj.application for f in findings} == {APP}, [f"{f.check_id} {f.obj.key}" for f in findings]
    assert len(findings) == 4


def test_sync_positions_follow_argo_cd(prod: Platform) -> None:
    """Bootstrap first; then the root's waves, each Application after the root's own objects of that wave; inside an
    Application, PreSync hooks, then the sync by wave, then PostSync hooks."""
    assert SyncPosition.bootstrap() < SyncPosition(1, -30, 0, 0) < SyncPosition(1, -5, 0, 0) < SyncPosition(1, -5, 1, -10)
    assert SyncPosition(1, -5, 1, 10) < SyncPosition(1, -5, 2, -10) < SyncPosition(1, -5, 3, -10) < SyncPosition(1, -4, 1, -100)
    ctx = CheckContext.from_objects(prod, fx.healthy_tree(prod), hydrated=fx.healthy_hydrated(prod))
    union = ctx.union
    crd = next(h for h in ctx.hydrated if h.obj["kind"] == "CustomResourceDefinition" and h.application == "kube-prometheus-stack")
    monitor = next(h for h in ctx.hydrated if h.obj["kind"] == "ServiceMonitor")
    argocd_crd = next(h for h in ctx.hydrated if h.application == "argocd")
    assert union.position(monitor).describe() == "Application wave -3, Sync wave 0"
    assert union.available_from(argocd_crd) == SyncPosition.bootstrap(), "the bootstrap helm-installs the argocd release"
    assert union.in_time(crd, monitor, same_wave_across=False)
    assert not union.in_time(monitor, crd, same_wave_across=True)
    app = ctx.find("Application", fx.SYSTEM, "loki")
    assert union.application_of(app) == "platform-root" and union.position(app).describe() == "root wave -3"
