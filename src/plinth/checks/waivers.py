"""Waivers: one file (``check-waivers.yaml``) of accepted findings, keyed by check ID and object, each with a
reason and an expiry date. An expired waiver stops waiving and is itself a finding; a waiver matching no
finding is reported (info) so stale waivers get removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from plinth.checks.engine import Check, CheckContext, Finding, ObjectRef
from plinth.spec.loader import SpecError, SpecProblem, _plain, _problems, read_yaml
from plinth.spec.types import StrictModel

DEFAULT_WAIVERS = "check-waivers.yaml"


class Waiver(StrictModel):
    """One accepted finding."""

    check: str = Field(pattern=r"^PL-[A-Z]+-\d{3}$")
    """Check ID, e.g. PL-IMG-001."""
    object: str | None = Field(default=None, min_length=3)
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped; ``Spec/<dotted parent>`` for spec findings)."""
    application: str | None = Field(default=None, min_length=1)
    """Instead of ``object``: every object the chart Application of that name hydrates to (for a decision about the
    whole pinned chart, e.g. the image tags it ships)."""
    environments: list[str] = []
    """Environments it applies to; empty = all."""
    reason: str = Field(min_length=10)
    """Why the finding is accepted (a sentence, not "ok")."""
    expires: dt.date
    """Date after which the waiver no longer applies (YYYY-MM-DD)."""

    @model_validator(mode="after")
    def _one_target(self) -> "Waiver":
        if (self.object is None) == (self.application is None):
            raise ValueError("give exactly one of object (Kind/namespace/name) or application (a chart Application's name)")
        return self

    @property
    def target(self) -> str:
        """What it waives, in words: the object key, or ``Application <name>``."""
        return self.object if self.object is not None else f"Application {self.application}"

    def covers(self, finding: Finding) -> bool:
        """The finding is of this waiver's check, object (or chart Application) and environment."""
        if self.check != finding.check_id:
            return False
        target = finding.obj.key == self.object if self.object is not None else finding.obj.application == self.application
        return target and (not self.environments or finding.environment in self.environments)


class WaiverFile(StrictModel):
    """The waiver file."""

    waivers: list[Waiver] = []
    """Accepted findings."""


def load_waivers(path: Path) -> list[Waiver]:
    """The waivers of a file; a missing file means none. Bad files raise SpecError with located problems."""
    if not path.exists():
        return []
    doc = read_yaml(path)
    try:
        return list(WaiverFile.model_validate(_plain(doc)).waivers)
    except ValidationError as exc:
        raise SpecError(_problems(str(path), doc, exc, [()])) from None


def _never(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    return iter(())


EXPIRED = Check("PL-WAIVER-001", "error", "tree", "A waiver has expired",
                "Fix the finding it waived, or renew the waiver with a new reason and date.", _never)
UNMATCHED = Check("PL-WAIVER-002", "info", "tree", "A waiver matches no finding",
                  "Remove the waiver: what it accepted is gone (or its check ID/object is misspelt).", _never)
WAIVER_CHECKS = (EXPIRED, UNMATCHED)
"""Findings the waiver file itself produces (listed in the docs next to the checks)."""


def _ref(waiver: Waiver, path: Path) -> ObjectRef:
    return ObjectRef("Waiver", None, f"{waiver.check}:{waiver.target}", str(path))


def apply_waivers(findings: list[Finding], waivers: list[Waiver], path: Path, today: dt.date | None = None) -> list[Finding]:
    """Mark the findings valid waivers cover, and add findings for expired and unmatched waivers."""
    today = today or dt.date.today()
    result: list[Finding] = []
    used: set[int] = set()
    for finding in findings:
        for index, waiver in enumerate(waivers):
            if waiver.covers(finding):
                used.add(index)
                if waiver.expires >= today:
                    finding = replace(finding, waived_by=waiver.reason)
                    break
        result.append(finding)
    environments = sorted({f.environment for f in findings}) or ["all"]
    env = ",".join(environments)
    for index, waiver in enumerate(waivers):
        if waiver.expires < today:
            result.append(Finding(EXPIRED.id, EXPIRED.severity, env, _ref(waiver, path), f"waivers.{index}.expires",
                                  f"waiver of {waiver.check} on {waiver.target} expired on {waiver.expires.isoformat()} ({waiver.reason})"))
        elif index not in used:
            result.append(Finding(UNMATCHED.id, UNMATCHED.severity, env, _ref(waiver, path), f"waivers.{index}",
                                  f"waiver of {waiver.check} on {waiver.target} matches no finding"))
    return result


__all__ = ["Waiver", "load_waivers", "apply_waivers", "WAIVER_CHECKS", "DEFAULT_WAIVERS", "SpecError", "SpecProblem"]
