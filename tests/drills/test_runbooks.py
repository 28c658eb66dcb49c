"""The runbooks are generated from the spec and the alert registry, committed, and never stale."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plinth.cli import app
from plinth.components.registry import ALL_COMPONENTS
from plinth.drills.runbooks import render_runbooks
from plinth.monitoring.rules import AlertRule
from tests.conftest import spec_with


def test_one_runbook_per_recovery_failure_with_the_spec_rto(prod) -> None:
    files = render_runbooks(prod)
    for procedure in prod.recovery:
        text = files[f"{procedure.failure}.md"]
        assert procedure.response in text
        assert "## Drills that exercise it" in text
    region = files["region.md"]
    for words in ("Procedure RTO: 4 h", prod.cluster.dr_region, "bootstrap.recovery", "ClickHouse", "Repoint DNS",
                  prod.backup_for("postgres").bucket, "Data loss"):
        assert words in region, words


def test_every_registered_alert_has_its_anchor(prod) -> None:
    text = render_runbooks(prod)["alerts.md"]
    names = [rule.name for c in ALL_COMPONENTS for g in c.alerts(prod) for rule in g.rules if isinstance(rule, AlertRule)]
    assert names, "the registry has alerts"
    for name in names:
        # GitHub makes "## Name" the anchor "#name": the runbook_url of every alert lands here.
        assert f"\n## {name}\n" in text
        assert rule_anchor(name) == name.lower()


def rule_anchor(name: str) -> str:
    """The anchor AlertRule.runbook_url points at."""
    return AlertRule(name, "vector(1)", "info", "s", "d").runbook_url.rsplit("#", 1)[1]


def test_spec_changes_reach_the_runbooks(tmp_path: Path) -> None:
    changed = spec_with(tmp_path, [("datastores.postgres.archive_timeout_seconds", 300)])
    result = CliRunner().invoke(app, ["generate", "runbooks", "--spec", str(changed)])
    assert result.exit_code == 0, result.output
    assert "WAL archived at least every 5m (archive_timeout)" in (changed.parent / "docs" / "runbooks" / "region.md").read_text()
