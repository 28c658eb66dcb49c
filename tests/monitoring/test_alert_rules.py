"""Every component's alert rules pass promtool, and every alert has a promtool unit test that fires on a
broken series and stays silent on a healthy one (real promtool, installed by `make test`)."""

from __future__ import annotations

import pytest

from plinth.components.registry import ALL_COMPONENTS
from plinth.monitoring.promtool import check_rules, promtool_path, run_rule_tests
from plinth.monitoring.rules import SEVERITIES, AlertRule

pytestmark = pytest.mark.skipif(promtool_path() is None, reason="promtool missing: `make test` installs Debian's prometheus package")


@pytest.mark.parametrize("component", [c for c in ALL_COMPONENTS], ids=[c.name for c in ALL_COMPONENTS])
def test_component_rules_check_and_unit_tests_pass(component, prod) -> None:
    groups = component.alerts(prod)
    if not groups:
        pytest.skip(f"{component.name} contributes no rules")
    checked = check_rules(groups)
    assert checked.ok, checked.output
    alerts = {r.name for g in groups for r in g.rules if isinstance(r, AlertRule)}
    tests = component.alert_tests(prod)
    untested = alerts - {t.alert for t in tests}
    assert not untested, f"alerts without a promtool test: {sorted(untested)}"
    result = run_rule_tests(groups, tests)
    assert result.ok, result.output


def test_every_alert_has_severity_summary_description_runbook(prod) -> None:
    for component in ALL_COMPONENTS:
        for group in component.alerts(prod):
            for rule in group.rules:
                if isinstance(rule, AlertRule):
                    data = rule.to_rule()
                    assert data["labels"]["severity"] in SEVERITIES
                    assert data["annotations"]["summary"] and data["annotations"]["description"]
                    assert data["annotations"]["runbook_url"].endswith("#" + rule.name.lower())


def test_a_broken_alert_test_fails(prod) -> None:
    """The harness itself can fail: a test expecting the wrong labels is reported by promtool."""
    from plinth.components import argocd
    from plinth.monitoring.rules import AlertTest

    groups = argocd.alerts(prod)
    good = argocd.alert_tests(prod)[0]
    wrong = AlertTest(good.alert, good.firing_series, good.healthy_series, good.eval_time, {"name": "other"})
    assert not run_rule_tests(groups, [wrong]).ok
