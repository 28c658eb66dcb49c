"""Alert and recording rules as typed objects, and their promtool unit tests.

Every alert has a severity from a fixed set (matching Alertmanager routing), a summary, a
description and a runbook link added by one transform. Thresholds are passed in from the spec and
formatted into both the expression and the text, so the two cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Union

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")
RUNBOOK_BASE = "https://github.com/org/platform-infra/blob/main/docs/runbooks/alerts.md"
"""Where alert runbooks live; each alert links to ``#<alert-name-lowercase>``."""


@dataclass(frozen=True)
class AlertRule:
    """A Prometheus alerting rule."""

    name: str
    """Alert name, CamelCase (e.g. PostgresReplicationLagHigh)."""
    expr: str
    """PromQL expression; fires when it returns series."""
    severity: Severity
    """critical pages (PagerDuty); warning and info do not."""
    summary: str
    """One line for the page title."""
    description: str
    """What is wrong and what it threatens; may use {{ $labels.x }} and {{ $value }}."""
    for_: str = "5m"
    """How long the condition must hold before firing."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels (e.g. service, datastore)."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert {self.name}: severity {self.severity!r} not in {SEVERITIES}")
        if not self.summary or not self.description:
            raise ValueError(f"alert {self.name}: summary and description are required")

    @property
    def runbook_url(self) -> str:
        """The alert's runbook anchor."""
        return f"{RUNBOOK_BASE}#{self.name.lower()}"

    def to_rule(self) -> dict[str, Any]:
        """The rule as Prometheus (and PrometheusRule) data."""
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, **self.labels},
            "annotations": {"summary": self.summary, "description": self.description, "runbook_url": self.runbook_url},
        }


@dataclass(frozen=True)
class RecordingRule:
    """A Prometheus recording rule."""

    record: str
    """Name of the recorded series (level:metric:operations)."""
    expr: str
    """PromQL expression."""
    labels: dict[str, str] = field(default_factory=dict)

    def to_rule(self) -> dict[str, Any]:
        """The rule as Prometheus data."""
        rule: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


Rule = Union[AlertRule, RecordingRule]


@dataclass(frozen=True)
class RuleGroup:
    """A named group of rules evaluated together."""

    name: str
    rules: tuple[Rule, ...]
    interval: str | None = None

    def to_group(self) -> dict[str, Any]:
        """The group as Prometheus data (``{name, rules}``)."""
        group: dict[str, Any] = {"name": self.name, "rules": [r.to_rule() for r in self.rules]}
        if self.interval:
            group["interval"] = self.interval
        return group


@dataclass(frozen=True)
class AlertTest:
    """A promtool unit test of one alert: it fires on ``firing_series`` and stays silent on ``healthy_series``.

    Series use promtool's syntax: ``{"series": 'metric{label="x"}', "values": "0+1x20"}``.
    """

    alert: str
    """Name of the alert under test."""
    firing_series: tuple[dict[str, str], ...]
    """Input series that break the condition."""
    healthy_series: tuple[dict[str, str], ...]
    """Input series of a healthy system."""
    eval_time: str
    """When to evaluate (after ``for`` has elapsed), e.g. "15m"."""
    expected_labels: dict[str, str]
    """Labels the firing alert must carry (besides severity, which is checked from the rule)."""
    interval: str = "1m"
    """Sampling interval of the input series."""
    expected_annotations: dict[str, str] | None = None
    """Annotations after templating; needed only when they use ``$value`` (``$labels`` are filled in)."""

    @classmethod
    def one_series(cls, alert: str, series: str, broken: str, healthy: str, eval_time: str,
                   expected_labels: dict[str, str]) -> "AlertTest":
        """The common case: one input series, with ``broken`` values that fire and ``healthy`` ones that do not."""
        return cls(alert, ({"series": series, "values": broken},), ({"series": series, "values": healthy},), eval_time, expected_labels)


_LABEL_TEMPLATE = re.compile(r"\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


def expand_annotations(rule: AlertRule, labels: dict[str, str]) -> dict[str, str]:
    """The rule's annotations with ``{{ $labels.x }}`` filled in (what Prometheus would send)."""
    result = {}
    for key, text in (("summary", rule.summary), ("description", rule.description), ("runbook_url", rule.runbook_url)):
        expanded = _LABEL_TEMPLATE.sub(lambda m: labels.get(m.group(1), ""), text)
        if "{{" in expanded:
            raise ValueError(f"alert {rule.name}: annotation {key} uses templates beyond $labels; give expected_annotations")
        result[key] = expanded
    return result


def promtool_test_file(rule_file: str, tests: list[AlertTest], rules: dict[str, AlertRule]) -> dict[str, Any]:
    """A promtool ``test rules`` document: one firing and one silent case per AlertTest."""
    cases = []
    for test in tests:
        rule = rules[test.alert]
        labels = {"severity": rule.severity, **rule.labels, **test.expected_labels}
        annotations = test.expected_annotations or expand_annotations(rule, labels)
        cases.append({
            "interval": test.interval,
            "input_series": [dict(s) for s in test.firing_series],
            "alert_rule_test": [{"eval_time": test.eval_time, "alertname": test.alert,
                                 "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]}],
        })
        cases.append({
            "interval": test.interval,
            "input_series": [dict(s) for s in test.healthy_series],
            "alert_rule_test": [{"eval_time": test.eval_time, "alertname": test.alert, "exp_alerts": []}],
        })
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": cases}
