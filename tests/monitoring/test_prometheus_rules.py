"""The mixins aggregation: one PrometheusRule per component with rules, gathered from the registry,
selected by Prometheus, and every rule in the rendered tree passes promtool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plinth.components import prometheus_stack
from plinth.components.base import Component
from plinth.components.registry import ALL_COMPONENTS
from plinth.render.pipeline import render_components
from plinth.render.stages import PROMETHEUS_RULES
from plinth.monitoring.promtool import PromtoolResult, promtool_path
from plinth.monitoring.rules import AlertRule, RuleGroup
from tests.conftest import REPO

needs_promtool = pytest.mark.skipif(promtool_path() is None, reason="promtool missing: `make test` installs Debian's prometheus package")


def _rule_files() -> list[Path]:
    files = []
    for path in sorted((REPO / "kubernetes").rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc.get("kind") == "PrometheusRule":
            files.append(path)
    return files


def _rules(platform, components=ALL_COMPONENTS) -> list[dict]:
    return PROMETHEUS_RULES.objects(platform, components)


def test_one_prometheus_rule_per_component_with_rules(prod) -> None:
    objects = {o["metadata"]["labels"]["plinth.dev/rules-of"]: o for o in _rules(prod)}
    with_rules = {c.name for c in ALL_COMPONENTS if c.alerts(prod)}
    assert set(objects) == with_rules
    for component in ALL_COMPONENTS:
        if component.name in objects:
            groups = objects[component.name]["spec"]["groups"]
            assert groups == [g.to_group() for g in component.alerts(prod)]


def test_a_new_component_with_alerts_gets_its_own_rule_without_editing_the_aggregation(prod) -> None:
    extra = Component(name="example-store", namespace="platform-data", alerts=lambda p: [RuleGroup("example", (
        AlertRule("ExampleDown", "up{job=\"example\"} == 0", "critical", "Example is down", "Example has been down for 5 minutes."),))])
    outputs = render_components(prod, ALL_COMPONENTS + (extra,))
    (stage,) = [o for o in outputs if o.component.name == PROMETHEUS_RULES.name]
    assert "example-store-rules" in [o["metadata"]["name"] for o in stage.objects]


def test_prometheus_selects_every_rule_and_monitor_in_every_namespace(prod) -> None:
    spec = prometheus_stack.prometheus_spec(prod)
    rule_labels = _rules(prod)[0]["metadata"]["labels"]
    for kind in ("rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
        assert spec[f"{kind}NamespaceSelector"] == {}
        selector = spec[f"{kind}Selector"]
        assert set(selector.get("matchLabels", {}).items()) <= set(rule_labels.items())
        assert "matchExpressions" not in selector


def test_the_committed_tree_has_the_rules(prod) -> None:
    assert len(_rule_files()) >= len([c for c in ALL_COMPONENTS if c.alerts(prod)])


@needs_promtool
def test_promtool_check_rules_passes_on_every_rule_in_the_tree(tmp_path: Path) -> None:
    import subprocess

    files = _rule_files()
    assert files, "no PrometheusRule in the rendered tree"
    plain = []
    for index, path in enumerate(files):
        out = tmp_path / f"{index}-{path.name}"
        out.write_text(yaml.safe_dump(yaml.safe_load(path.read_text())["spec"]))
        plain.append(str(out))
    proc = subprocess.run([promtool_path(), "check", "rules", *plain], capture_output=True, text=True)
    result = PromtoolResult(proc.returncode, proc.stdout + proc.stderr)
    assert result.ok, result.output
    assert result.output.count("SUCCESS") == len(files)


@needs_promtool
def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check can fail: an unparsable expression in a rendered rule is reported."""
    from plinth.monitoring.promtool import check_rules

    broken = RuleGroup("broken", (AlertRule("Broken", "sum by (x (up)", "warning", "s", "d"),))
    assert not check_rules([broken]).ok


def test_every_monitoring_component_alert_is_routed_by_severity(prod) -> None:
    """Every alert's severity is one Alertmanager routes (critical/warning/info)."""
    from plinth.monitoring.alertmanager import alertmanager_config

    routed = " ".join(m for r in alertmanager_config(prod)["route"]["routes"] for m in r["matchers"])
    for component in ALL_COMPONENTS:
        for group in component.alerts(prod):
            for rule in group.rules:
                if isinstance(rule, AlertRule):
                    assert rule.severity in routed, f"{component.name}/{rule.name}"
