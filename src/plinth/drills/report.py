"""A drill's report: measured figures, the spec's targets, pass/fail per promise; written as JSON and Markdown."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plinth.files import UnsafeWrite, check_file_replaceable, write_file

DEFAULT_REPORT_DIR = Path("reports/drills")
"""Where drill reports go (gitignored)."""


@dataclass
class Promise:
    """One promise checked by a drill: a measured value against the spec's target."""

    name: str
    """What is promised, in words."""
    source: str
    """Dotted spec path the target comes from."""
    target: float
    """The spec's bound (seconds or a count)."""
    measured: float | None
    """What the drill measured (None when the step that measures it failed)."""
    unit: str
    """Unit of target and measured ("s", "rows", "writes")."""
    passed: bool
    """Whether the measured value keeps the promise."""
    counts: bool = True
    """False for figures shown for comparison only (a promise this drill's mechanism does not carry)."""
    note: str = ""
    """Why it passed/failed, or what it means."""
    check_id: str = ""
    """ID of the ``plinth check`` check whose promise this drill demonstrates on real servers (e.g. PL-RPO-001)."""


def at_most(name: str, source: str, target: float, measured: float | None, unit: str, note: str = "",
            counts: bool = True, check_id: str = "") -> Promise:
    """A promise "measured <= target"; failed when nothing was measured."""
    passed = measured is not None and measured <= target
    return Promise(name, source, target, measured, unit, passed, counts, note, check_id)


def distribution(values: list[float]) -> dict[str, float] | None:
    """min / median / max of several runs (None when there are none)."""
    if not values:
        return None
    return {"runs": len(values), "min": min(values), "median": statistics.median(values), "max": max(values)}


@dataclass
class DrillReport:
    """Everything a drill found."""

    drill: str
    """Drill name (the CLI subcommand)."""
    environment: str
    """Spec environment the settings came from."""
    settings: dict[str, Any]
    """Settings used, as read from the spec (and sabotage, if any)."""
    measured: dict[str, Any] = field(default_factory=dict)
    """Measured figures."""
    promises: list[Promise] = field(default_factory=list)
    """Promises checked."""
    errors: list[str] = field(default_factory=list)
    """Steps that failed (a failed step fails the promises it should have measured)."""
    notes: list[str] = field(default_factory=list)
    """What the drill stands in for, and limits of what it shows."""

    @property
    def passed(self) -> bool:
        """True when every counted promise held and no step failed."""
        return not self.errors and all(p.passed for p in self.promises if p.counts)

    def to_json(self) -> str:
        """The report as deterministic JSON."""
        data = asdict(self)
        data["passed"] = self.passed
        return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"

    def to_markdown(self) -> str:
        """The report as Markdown: verdict, promises table, measured figures, settings, notes."""
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"# Drill `{self.drill}` ({self.environment}): {verdict}", "", "## Promises", "",
                 "| promise | check | spec | target | measured | result |", "|---|---|---|---|---|---|"]
        for p in self.promises:
            measured = "not measured" if p.measured is None else f"{_fmt(p.measured)} {p.unit}"
            result = ("pass" if p.passed else "**FAIL**") if p.counts else ("met" if p.passed else "not met (reference)")
            check = f"`{p.check_id}`" if p.check_id else "-"
            lines.append(f"| {p.name} | {check} | `{p.source}` | {_fmt(p.target)} {p.unit} | {measured} | {result} |")
        notes = [p for p in self.promises if p.note]
        if notes:
            lines += [""] + [f"- {p.name}: {p.note}" for p in notes]
        if self.errors:
            lines += ["", "## Failed steps", ""] + [f"- {e}" for e in self.errors]
        lines += ["", "## Measured", "", "```json", json.dumps(self.measured, indent=2, sort_keys=True, default=str), "```",
                  "", "## Settings (from the spec)", "", "```json", json.dumps(self.settings, indent=2, sort_keys=True), "```"]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        """Write ``<drill>.json`` and ``<drill>.md`` into ``out_dir``, each atomically and only over a report of a drill
        (UnsafeWrite otherwise, before either is written); return both paths."""
        json_path, md_path = check_report_paths(out_dir, self.drill)
        write_file(json_path, self.to_json(), REPORT_SIGNATURES["json"])
        write_file(md_path, self.to_markdown(), REPORT_SIGNATURES["md"])
        return json_path, md_path


REPORT_SIGNATURES = {"json": ('"drill": "',), "md": ("# Drill `",)}
"""What a drill report Plinth wrote holds: only such a file is overwritten by the next run."""


def check_report_paths(out_dir: Path, drill: str) -> tuple[Path, Path]:
    """The two report files of ``drill`` in ``out_dir``; UnsafeWrite unless both may be written (absent, or reports of
    a drill): checked before a drill starts, so a wrong ``--out`` fails in a second, not after the drill."""
    json_path, md_path = Path(out_dir) / f"{drill}.json", Path(out_dir) / f"{drill}.md"
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise UnsafeWrite(Path(out_dir), "is a file; --out takes a folder for the drill's reports")
    check_file_replaceable(json_path, REPORT_SIGNATURES["json"])
    check_file_replaceable(md_path, REPORT_SIGNATURES["md"])
    return json_path, md_path


def _fmt(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"
