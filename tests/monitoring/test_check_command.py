"""``plinth monitoring``: the monitoring checks with the real tools, as a command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plinth.components.base import Component
from plinth.components.registry import ALL_COMPONENTS
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.validate.monitoring import check_platform, missing_tools
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason="promtool/amtool missing: `make test` installs them")


def test_command_passes_on_the_default_spec() -> None:
    proc = subprocess.run([sys.executable, "-m", "plinth.cli", "monitoring", "--env", "prod", "--format", "json"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    names = [c["check"] for c in report["checks"]]
    assert "amtool check-config" in names
    assert "amtool routes: critical pages PagerDuty" in names
    assert "amtool routes: warning does not page PagerDuty" in names
    assert any(n.startswith("promtool test rules: kube-prometheus-stack") for n in names)


def test_an_untested_alert_and_a_wrong_test_are_reported(prod) -> None:
    rule = AlertRule("ExampleDown", 'max by (job) (up{job="example"}) == 0', "critical", "Example is down", "Example is down.")
    untested = Component(name="untested", namespace="platform-data", alerts=lambda p: [RuleGroup("untested", (rule,))])
    wrong = Component(name="wrong", namespace="platform-data", alerts=lambda p: [RuleGroup("wrong", (rule,))],
                      alert_tests=lambda p: [AlertTest("ExampleDown", ({"series": 'up{job="example"}', "values": "1x10"},),
                                                       ({"series": 'up{job="example"}', "values": "1x10"},), "5m", {"job": "example"})])
    results = {r.check: r for r in check_platform(prod, ALL_COMPONENTS + (untested, wrong))}
    assert not results["every alert has a unit test: untested"].ok
    assert not results["promtool test rules: wrong"].ok
    assert results["promtool test rules: kube-prometheus-stack"].ok
