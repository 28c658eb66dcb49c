"""The deployment pipeline as GitHub Actions workflows, rendered from the spec into ``.github/workflows/``.

Three workflows, built as plain data and written by the one YAML writer:

* ``service.yaml`` — reusable (``workflow_call``) by every application repository: Build & Scan (Buildx
  with cache, Trivy failing on HIGH/CRITICAL, SBOM, cosign keyless signature and SBOM attestation),
  Test Suite (unit + integration), then Stage Deploy: commit the new digest to this repository's spec
  for staging (``plinth promote`` + ``plinth render``). Argo CD applies it; CI never runs kubectl.
* ``promote.yaml`` — Prod Deploy: when Argo Rollouts reports a staging Rollout fully promoted
  (repository_dispatch ``rollout-completed``) or a person asks (workflow_dispatch), move that digest to
  prod; ``plinth promote`` refuses a digest staging does not run.
* ``ci.yaml`` — this repository's own CI: render --check, validate, check, tests.

Every job's ``timeout-minutes`` is its stage's ``budget_minutes``; promotions share concurrency groups so
two never race; GITHUB_TOKEN permissions are set per job (the workflow default is none); every action
is pinned by full commit SHA with its release tag in a comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from plinth.components.delivery import DISPATCH_EVENT, github_repository
from plinth.kube.yamlio import dump_yaml
from plinth.spec.model import PipelineStage, Platform

WORKFLOWS_DIR = ".github/workflows"
RUNNER = "ubuntu-24.04"
PYTHON_VERSION = "3.11"
TRIVY_VERSION = "v0.69.3"
"""Trivy release the scan uses (the default of trivy-action 0.35.0; v0.69.4 was the compromised build)."""

STAGE_BUILD = "build-and-scan"
STAGE_TEST = "test-suite"
STAGE_STAGING = "stage-deploy"
STAGE_PROD = "prod-deploy"
PROD_ENVIRONMENT = "prod"
"""GitHub environment the prod promotion job runs in: protected by required reviewers and a branch rule."""


class WorkflowError(ValueError):
    """The spec lacks something the workflows need (a stage, a GitHub repository URL)."""


@dataclass(frozen=True)
class PinnedAction:
    """A GitHub Action pinned to the commit of one release."""

    repository: str
    """owner/name on GitHub."""
    sha: str
    """Full commit SHA the release tag pointed at."""
    tag: str
    """The release tag (written as a comment next to the SHA)."""

    @property
    def ref(self) -> str:
        """What ``uses:`` takes."""
        return f"{self.repository}@{self.sha}"


ACTIONS: dict[str, PinnedAction] = {
    "checkout": PinnedAction("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "setup-python": PinnedAction("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "upload-artifact": PinnedAction("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "setup-buildx": PinnedAction("docker/setup-buildx-action", "e468171a9de216ec08956ac3ada2f0791b6bd435", "v3.11.1"),
    "login": PinnedAction("docker/login-action", "184bdaa0721073962dff0199f1fb9940f07167d1", "v3.5.0"),
    "build-push": PinnedAction("docker/build-push-action", "263435318d21b8e681c14492fe198d362a7d2c83", "v6.18.0"),
    # 0.35.0 is the release aquasecurity confirmed untouched by the March 2026 tag rewrite (trivy-action#541).
    "trivy": PinnedAction("aquasecurity/trivy-action", "57a97c7e7821a5776cebc9bb87c984fa69cba8f1", "0.35.0"),
    "cosign-installer": PinnedAction("sigstore/cosign-installer", "d58896d6a1865668819e1d91763c7751a165e159", "v3.9.2"),
}
"""Every action the workflows use."""


def _uses(key: str, **with_: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"uses": ACTIONS[key].ref}
    if with_:
        step["with"] = {k.replace("_", "-"): v for k, v in with_.items()}
    return step


def _stage(platform: Platform, stage: str) -> PipelineStage:
    for item in platform.delivery.stages:
        if item.name == stage:
            return item
    raise WorkflowError(f"delivery.stages: no stage named {stage!r} (the workflows need "
                        f"{[STAGE_BUILD, STAGE_TEST, STAGE_STAGING, STAGE_PROD]})")


def budget_minutes(platform: Platform, stage: str) -> int:
    """The stage's time budget from the spec (CI jobs time out after it)."""
    return _stage(platform, stage).budget_minutes


def _stage_title(platform: Platform, stage: str) -> str:
    item = _stage(platform, stage)
    return f"{item.title} ({item.does})"


def _promote_script(env: str) -> str:
    """Commit the digest to the spec and the rendered tree; retry on a race with another push."""
    return f"""set -euo pipefail
git config user.name "plinth-promote[bot]"
git config user.email "plinth-promote@users.noreply.github.com"
for attempt in 1 2 3 4 5; do
  git fetch --quiet origin "$TARGET_BRANCH"
  git reset --quiet --hard "origin/$TARGET_BRANCH"
  plinth promote --service "$SERVICE" --digest "$DIGEST" --env {env}
  plinth render
  git add platform.yaml "$RENDERED_PATH"
  if git diff --cached --quiet; then
    echo "{env} already runs $SERVICE@$DIGEST"
    exit 0
  fi
  git commit --quiet -m "promote($SERVICE): $DIGEST to {env}"
  if git push --quiet origin "HEAD:$TARGET_BRANCH"; then
    exit 0
  fi
  echo "push rejected (another promotion landed first); retrying from the new head"
  sleep $((attempt * 5))
done
echo "::error::could not push the promotion after 5 attempts"
exit 1
"""


def _setup_plinth(path: str = ".") -> list[dict[str, Any]]:
    return [
        {"name": "Set up Python", **_uses("setup-python", python_version=PYTHON_VERSION)},
        {"name": "Install plinth (core dependencies only)", "run": f'python -m pip install --quiet -e "{path}"'},
    ]


# --------------------------------------------------------------------------- (1) the reusable service workflow


def service_workflow(platform: Platform) -> dict[str, Any]:
    """The reusable workflow application repositories call with ``uses: <this repo>/.github/workflows/service.yaml@<sha>``."""
    repositories = {name: s.image.repository for name, s in sorted(platform.services.items())}
    platform_repo = github_repository(platform)
    image_ref = "${{ steps.image.outputs.repository }}"
    scan_tag = "plinth-scan/${{ inputs.service }}:${{ github.sha }}"
    cache_scope = "scope=${{ inputs.service }}"

    build_and_scan = {
        "name": _stage_title(platform, STAGE_BUILD),
        "runs-on": RUNNER,
        "timeout-minutes": budget_minutes(platform, STAGE_BUILD),
        # packages: push the image; id-token: cosign keyless signing through Sigstore's OIDC flow.
        "permissions": {"contents": "read", "packages": "write", "id-token": "write"},
        "outputs": {"digest": "${{ steps.push.outputs.digest }}", "repository": image_ref,
                    "registry": "${{ steps.image.outputs.registry }}"},
        "steps": [
            {
                "name": "Resolve the image repository from the platform spec",
                "id": "image",
                "env": {"REPOSITORIES": json.dumps(repositories, sort_keys=True)},
                "run": (
                    'repository="$(jq -r --arg service "$SERVICE" \'.[$service] // empty\' <<< "$REPOSITORIES")"\n'
                    'if [ -z "$repository" ]; then\n'
                    f'  echo "::error::service $SERVICE is not in platform.yaml (expected one of: {", ".join(repositories)})"\n'
                    "  exit 1\n"
                    "fi\n"
                    'echo "repository=$repository" >> "$GITHUB_OUTPUT"\n'
                    'echo "registry=${repository%%/*}" >> "$GITHUB_OUTPUT"\n'
                ),
            },
            {"name": "Check out the service", **_uses("checkout", persist_credentials=False)},
            {"name": "Set up Buildx", **_uses("setup-buildx")},
            {"name": "Log in to the registry", **_uses("login", registry="${{ steps.image.outputs.registry }}",
                                                       username="${{ github.actor }}", password="${{ secrets.GITHUB_TOKEN }}")},
            {"name": "Build the image (cached) for the scan", **_uses(
                "build-push", context="${{ inputs.context }}", file="${{ inputs.dockerfile }}", load=True, push=False,
                tags=scan_tag, cache_from=f"type=gha,{cache_scope}", cache_to=f"type=gha,mode=max,{cache_scope}")},
            {"name": "Scan the image: fail on HIGH or CRITICAL vulnerabilities", **_uses(
                "trivy", scan_type="image", image_ref=scan_tag, severity="HIGH,CRITICAL", exit_code="1",
                ignore_unfixed=True, vuln_type="os,library", version=TRIVY_VERSION)},
            {"name": "Push the scanned image", "id": "push", **_uses(
                "build-push", context="${{ inputs.context }}", file="${{ inputs.dockerfile }}", push=True,
                tags=f"{image_ref}:sha-${{{{ github.sha }}}}", cache_from=f"type=gha,{cache_scope}")},
            {"name": "Produce the SBOM (CycloneDX)", **_uses(
                "trivy", scan_type="image", image_ref=f"{image_ref}@${{{{ steps.push.outputs.digest }}}}",
                format="cyclonedx", output="sbom.cdx.json", version=TRIVY_VERSION)},
            {"name": "Install cosign", **_uses("cosign-installer")},
            {
                "name": "Sign the image and attest its SBOM (keyless)",
                "env": {"IMAGE": f"{image_ref}@${{{{ steps.push.outputs.digest }}}}"},
                "run": 'cosign sign --yes "$IMAGE"\ncosign attest --yes --type cyclonedx --predicate sbom.cdx.json "$IMAGE"\n',
            },
            {"name": "Keep the SBOM", **_uses("upload-artifact", name="sbom-${{ inputs.service }}", path="sbom.cdx.json")},
        ],
    }
    image_env = {"IMAGE": "${{ needs.build-and-scan.outputs.repository }}@${{ needs.build-and-scan.outputs.digest }}"}
    test_suite = {
        "name": _stage_title(platform, STAGE_TEST),
        "needs": "build-and-scan",
        "runs-on": RUNNER,
        "timeout-minutes": budget_minutes(platform, STAGE_TEST),
        "permissions": {"contents": "read", "packages": "read"},
        "steps": [
            {"name": "Check out the service", **_uses("checkout", persist_credentials=False)},
            {"name": "Log in to the registry (integration tests pull the image)", **_uses(
                "login", registry="${{ needs.build-and-scan.outputs.registry }}", username="${{ github.actor }}",
                password="${{ secrets.GITHUB_TOKEN }}")},
            {"name": "Unit tests", "env": {"TEST_COMMAND": "${{ inputs.unit-test-command }}"}, "run": 'bash -c "$TEST_COMMAND"\n'},
            {"name": "Integration tests (against the scanned image, by digest)",
             "env": {"TEST_COMMAND": "${{ inputs.integration-test-command }}", **image_env}, "run": 'bash -c "$TEST_COMMAND"\n'},
        ],
    }
    promote_staging = {
        "name": _stage_title(platform, STAGE_STAGING),
        "needs": ["build-and-scan", "test-suite"],
        "if": "github.event_name == 'push' && github.ref == format('refs/heads/{0}', github.event.repository.default_branch)",
        "runs-on": RUNNER,
        "timeout-minutes": budget_minutes(platform, STAGE_STAGING),
        # Writes go to the platform repository with platform-token; this repository's token needs nothing.
        "permissions": {},
        "concurrency": {"group": "plinth-promote-staging-${{ inputs.service }}", "cancel-in-progress": False},
        "env": {
            "DIGEST": "${{ needs.build-and-scan.outputs.digest }}",
            "TARGET_BRANCH": platform.git.target_revision,
            "RENDERED_PATH": platform.git.rendered_path,
        },
        "steps": [
            {"name": "Check out the platform repository", **_uses(
                "checkout", repository=platform_repo, ref=platform.git.target_revision,
                token="${{ secrets.platform-token }}", path="platform")},
            *_setup_plinth("platform"),
            {"name": "Commit the digest to staging (Argo CD and Argo Rollouts take it from there)",
             "working-directory": "platform", "run": _promote_script("staging")},
        ],
    }
    return {
        "name": "plinth service pipeline",
        "on": {
            "workflow_call": {
                "inputs": {
                    "service": {"description": f"Service name in platform.yaml ({', '.join(repositories)})", "required": True, "type": "string"},
                    "context": {"description": "Docker build context", "required": False, "type": "string", "default": "."},
                    "dockerfile": {"description": "Dockerfile path", "required": False, "type": "string", "default": "Dockerfile"},
                    "unit-test-command": {"description": "Runs the unit tests", "required": False, "type": "string", "default": "make test-unit"},
                    "integration-test-command": {"description": "Runs the integration tests against $IMAGE", "required": False,
                                                 "type": "string", "default": "make test-integration"},
                },
                "secrets": {
                    "platform-token": {
                        "description": f"Token allowed to push to {platform_repo} (contents: write on that repository only)",
                        "required": True,
                    },
                },
                "outputs": {"digest": {"description": "Digest of the pushed, scanned, signed image",
                                       "value": "${{ jobs.build-and-scan.outputs.digest }}"}},
            },
        },
        "permissions": {},
        "env": {"SERVICE": "${{ inputs.service }}"},
        "jobs": {"build-and-scan": build_and_scan, "test-suite": test_suite, "promote-staging": promote_staging},
    }


# --------------------------------------------------------------------------- (2) staging → prod


def promotion_workflow(platform: Platform) -> dict[str, Any]:
    """Moves a digest to prod once its staging Rollout completed (or on a person's request)."""
    resolve = (
        'if [ "$GITHUB_EVENT_NAME" = "repository_dispatch" ]; then\n'
        '  service="$PAYLOAD_ROLLOUT"\n'
        '  digest="${PAYLOAD_IMAGE##*@}"\n'
        "else\n"
        '  service="$INPUT_SERVICE"\n'
        '  digest="$INPUT_DIGEST"\n'
        "fi\n"
        'if ! [[ "$service" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then\n'
        '  echo "::error::not a service and digest: ${service@Q} ${digest@Q}"\n'
        "  exit 1\n"
        "fi\n"
        '{ echo "SERVICE=$service"; echo "DIGEST=$digest"; } >> "$GITHUB_ENV"\n'
    )
    job = {
        "name": _stage_title(platform, STAGE_PROD),
        "if": "github.event_name == 'workflow_dispatch' || github.event.client_payload.environment == 'staging'",
        # The protected GitHub environment: its required reviewers approve before the digest moves to prod, and
        # only the target branch may deploy to it (repository settings, README "Delivery").
        "environment": PROD_ENVIRONMENT,
        "runs-on": RUNNER,
        "timeout-minutes": budget_minutes(platform, STAGE_PROD),
        "permissions": {"contents": "write"},
        "env": {"TARGET_BRANCH": platform.git.target_revision, "RENDERED_PATH": platform.git.rendered_path},
        "steps": [
            {"name": "Check out", **_uses("checkout", ref=platform.git.target_revision)},
            *_setup_plinth(),
            {"name": "Read the service and digest (from the staging Rollout's notification or the form)",
             "env": {"PAYLOAD_ROLLOUT": "${{ github.event.client_payload.rollout }}",
                     "PAYLOAD_IMAGE": "${{ github.event.client_payload.image }}",
                     "INPUT_SERVICE": "${{ inputs.service }}", "INPUT_DIGEST": "${{ inputs.digest }}"},
             "run": resolve},
            {"name": "Commit the digest to prod (refused unless staging runs it)", "run": _promote_script("prod")},
        ],
    }
    return {
        "name": "plinth promote to prod",
        "on": {
            "repository_dispatch": {"types": [DISPATCH_EVENT]},
            "workflow_dispatch": {
                "inputs": {
                    "service": {"description": "Service to promote", "required": True, "type": "choice",
                                "options": sorted(platform.services)},
                    "digest": {"description": "Digest staging runs (sha256:...)", "required": True, "type": "string"},
                },
            },
        },
        "permissions": {},
        # One promotion to prod at a time; a queued one waits instead of cancelling the running one.
        "concurrency": {"group": "plinth-promote-prod", "cancel-in-progress": False},
        "jobs": {"promote-prod": job},
    }


# --------------------------------------------------------------------------- (3) this repository's CI


def ci_workflow(platform: Platform, cli_commands: set[str]) -> dict[str, Any]:
    """This repository's CI: the rendered tree is fresh and valid, the promises hold, the tests pass."""
    checkout = [
        {"name": "Check out", **_uses("checkout", persist_credentials=False, path="plinth")},
        {"name": "Check out the shared CRD schemas and pinned charts (../shared, if the repository variable names them)",
         "if": "vars.PLINTH_SHARED_REPOSITORY != ''",
         **_uses("checkout", repository="${{ vars.PLINTH_SHARED_REPOSITORY }}", persist_credentials=False, path="shared")},
    ]
    verify_steps = [
        *checkout,
        {"name": "Set up plinth", "working-directory": "plinth", "run": "make setup-core\n"},
    ]
    if "charts" in cli_commands:
        # validate, check and plan read the hydrated charts: without ../shared/charts, pull the pinned archives.
        verify_steps.append({"name": "Pull the pinned charts (when no ../shared holds them)", "working-directory": "plinth",
                             "if": "vars.PLINTH_SHARED_REPOSITORY == ''",
                             "run": '.venv/bin/plinth charts pull\necho "PLINTH_CHART_DIR=$PWD/.cache/charts" >> "$GITHUB_ENV"\n'})
    verify_steps += [
        {"name": "Rendered tree and workflows are fresh", "working-directory": "plinth", "run": ".venv/bin/plinth render --check\n"},
        {"name": "Every object is valid against the Kubernetes and CRD schemas", "working-directory": "plinth",
         "run": ".venv/bin/plinth validate\n"},
    ]
    if "check" in cli_commands:
        verify_steps.append({"name": "The design's promises hold", "working-directory": "plinth", "run": ".venv/bin/plinth check\n"})
    return {
        "name": "plinth ci",
        "on": {"push": {"branches": [platform.git.target_revision]}, "pull_request": {}},
        "permissions": {},
        "concurrency": {"group": "ci-${{ github.ref }}", "cancel-in-progress": True},
        "jobs": {
            "verify": {
                "name": "Render, validate, check",
                "runs-on": RUNNER,
                "timeout-minutes": budget_minutes(platform, STAGE_BUILD),
                "permissions": {"contents": "read"},
                "steps": verify_steps,
            },
            "tests": {
                "name": "Test suite",
                "runs-on": RUNNER,
                "timeout-minutes": budget_minutes(platform, STAGE_TEST),
                "permissions": {"contents": "read"},
                "steps": [*checkout, {"name": "make test", "working-directory": "plinth", "run": "make test\n"}],
            },
        },
    }


# --------------------------------------------------------------------------- files


HEADER = ("Rendered by `plinth render` from platform.yaml (delivery.stages, services, git); do not edit.\n"
          "Actions are pinned by commit SHA; the comment after each names its release tag.")


def workflow_objects(platform: Platform, cli_commands: set[str]) -> dict[str, dict[str, Any]]:
    """Every workflow as data, by file name."""
    return {
        "service.yaml": service_workflow(platform),
        "promote.yaml": promotion_workflow(platform),
        "ci.yaml": ci_workflow(platform, cli_commands),
    }


def render_workflows(platform: Platform, cli_commands: set[str]) -> dict[str, str]:
    """Workflow file texts by file name (relative to ``.github/workflows``), byte-stable."""
    comments = {action.ref: action.tag for action in ACTIONS.values()}
    return {name: dump_yaml(obj, canonical_order=False, header=HEADER, value_comments=comments)
            for name, obj in workflow_objects(platform, cli_commands).items()}
