"""Run the real promtool on rule groups and their unit tests (used by tests and by ``plinth``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from plinth.kube.yamlio import dump_yaml
from plinth.monitoring.rules import AlertRule, AlertTest, RecordingRule, RuleGroup, promtool_test_file


@dataclass(frozen=True)
class PromtoolResult:
    """Exit code and output of one promtool run."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def promtool_path() -> str | None:
    """The promtool binary (Debian package ``prometheus``), or None."""
    return shutil.which("promtool")


def _rules_doc(groups: list[RuleGroup]) -> str:
    return dump_yaml({"groups": [g.to_group() for g in groups]}, canonical_order=False)


def check_rules(groups: list[RuleGroup]) -> PromtoolResult:
    """``promtool check rules`` on the groups."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(_rules_doc(groups))
        proc = subprocess.run([promtool_path() or "promtool", "check", "rules", str(rules)], capture_output=True, text=True)
        return PromtoolResult(proc.returncode, proc.stdout + proc.stderr)


def run_rule_tests(groups: list[RuleGroup], tests: list[AlertTest]) -> PromtoolResult:
    """``promtool test rules``: each AlertTest's firing and healthy cases against the groups."""
    alerts = {r.name: r for g in groups for r in g.rules if isinstance(r, AlertRule)}
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(_rules_doc(groups))
        test_file = Path(tmp) / "tests.yaml"
        test_file.write_text(dump_yaml(promtool_test_file("rules.yaml", tests, alerts), canonical_order=False))
        proc = subprocess.run([promtool_path() or "promtool", "test", "rules", str(test_file)], capture_output=True, text=True, cwd=tmp)
        return PromtoolResult(proc.returncode, proc.stdout + proc.stderr)


def check_expressions(exprs: list[str]) -> PromtoolResult:
    """Parse arbitrary PromQL (dashboard queries, analysis queries) by wrapping each in a recording rule."""
    group = RuleGroup("expressions", tuple(RecordingRule(f"plinth:expr_{i}", e) for i, e in enumerate(exprs)))
    return check_rules([group])
