"""Waivers: keyed by check ID and object, with a reason and an expiry; expired and unmatched waivers are findings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from plinth.checks.engine import Finding, ObjectRef
from plinth.checks.waivers import WAIVER_CHECKS, Waiver, apply_waivers, load_waivers
from plinth.spec.loader import SpecError

TODAY = dt.date(2026, 11, 27)
COVERED = {"PL-WAIVER-001": "test_an_expired_waiver_waives_nothing_and_is_itself_an_error",
           "PL-WAIVER-002": "test_a_waiver_matching_nothing_is_reported_as_info"}
"""The waiver file's own findings and the test that fails and passes each (the meta-test below keeps this complete)."""
PATH = Path("check-waivers.yaml")


def _finding(env: str = "prod") -> Finding:
    return Finding("PL-IMG-001", "error", env, ObjectRef("Deployment", "platform-apps", "frontend", "kubernetes/prod/x.yaml"),
                   "spec.template.spec.containers.0.image", "image ghcr.io/org/frontend:1.0.0 has no digest")


def _waiver(**changes) -> Waiver:
    data = {"check": "PL-IMG-001", "object": "Deployment/platform-apps/frontend", "reason": "CI promotes digests once the pipeline runs",
            "expires": "2026-12-31"}
    data.update(changes)
    return Waiver.model_validate(data)


def test_a_valid_waiver_marks_the_finding_waived() -> None:
    (result,) = apply_waivers([_finding()], [_waiver()], PATH, TODAY)
    assert result.waived_by == "CI promotes digests once the pipeline runs"


def test_an_expired_waiver_waives_nothing_and_is_itself_an_error() -> None:
    results = apply_waivers([_finding()], [_waiver(expires="2026-11-26")], PATH, TODAY)
    original = next(f for f in results if f.check_id == "PL-IMG-001")
    expired = next(f for f in results if f.check_id == "PL-WAIVER-001")
    assert original.waived_by is None
    assert expired.severity == "error"
    assert expired.obj.key == "Waiver/PL-IMG-001:Deployment/platform-apps/frontend"
    assert expired.field_path == "waivers.0.expires"
    assert "expired on 2026-11-26" in expired.message


def test_a_waiver_matching_nothing_is_reported_as_info() -> None:
    results = apply_waivers([_finding()], [_waiver(), _waiver(object="Deployment/platform-apps/gone")], PATH, TODAY)
    unmatched = [f for f in results if f.check_id == "PL-WAIVER-002"]
    assert [(f.severity, f.obj.key, f.field_path) for f in unmatched] == [("info", "Waiver/PL-IMG-001:Deployment/platform-apps/gone", "waivers.1")]
    assert "matches no finding" in unmatched[0].message


def test_a_waiver_limited_to_an_environment_leaves_the_others() -> None:
    results = apply_waivers([_finding("prod"), _finding("staging")], [_waiver(environments=["staging"])], PATH, TODAY)
    assert {f.environment: f.waived_by is not None for f in results} == {"prod": False, "staging": True}


def test_a_bad_waiver_file_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "check-waivers.yaml"
    path.write_text("waivers:\n  - check: PL-IMG-001\n    object: Deployment/platform-apps/frontend\n    reason: because\n    expires: soon\n")
    with pytest.raises(SpecError) as error:
        load_waivers(path)
    lines = [str(p) for p in error.value.problems]
    assert any(line.startswith(f"{path}:4:5: waivers.0.reason:") for line in lines), lines
    assert any(line.startswith(f"{path}:5:5: waivers.0.expires:") for line in lines), lines


def test_a_missing_waiver_file_means_no_waivers(tmp_path: Path) -> None:
    assert load_waivers(tmp_path / "none.yaml") == []


def test_every_waiver_finding_has_its_failing_and_passing_test() -> None:
    assert set(COVERED) == {c.id for c in WAIVER_CHECKS}
    assert all(callable(globals()[name]) for name in COVERED.values())
    # The passing side: a valid, used waiver produces neither.
    assert [f.check_id for f in apply_waivers([_finding()], [_waiver()], PATH, TODAY)] == ["PL-IMG-001"]


def _hydrated_finding(application: str = "velero") -> Finding:
    return Finding("PL-IMG-001", "error", "prod", ObjectRef("Deployment", "platform-system", "velero",
                                                             "prod/hydrated/velero/deployment-velero.yaml", application),
                   "spec.template.spec.containers.0.image", "image velero/velero:v1.18.1 has no digest")


def test_a_waiver_of_a_chart_application_covers_every_object_it_hydrates_to() -> None:
    waiver = _waiver(object=None, application="velero")
    results = apply_waivers([_hydrated_finding(), _hydrated_finding("keda"), _finding()], [waiver], PATH, TODAY)
    assert [(f.obj.application, f.waived_by is not None) for f in results] == [("velero", True), ("keda", False), (None, False)]
    unused = apply_waivers([_finding()], [waiver], PATH, TODAY)
    assert [f.obj.key for f in unused if f.check_id == "PL-WAIVER-002"] == ["Waiver/PL-IMG-001:Application velero"]


def test_a_waiver_names_an_object_or_an_application_not_both(tmp_path: Path) -> None:
    path = tmp_path / "check-waivers.yaml"
    path.write_text("waivers:\n  - check: PL-IMG-001\n    object: Deployment/platform-system/velero\n    application: velero\n"
                    "    reason: the chart ships tags\n    expires: 2027-01-01\n")
    with pytest.raises(SpecError) as error:
        load_waivers(path)
    assert "exactly one of object" in str(error.value.problems[0])
