"""Check a platform's monitoring artifacts with the real tools (``plinth monitoring``).

promtool: every component's rules parse, every alert has a unit test and the tests pass, every
dashboard query parses. amtool: the Alertmanager configuration is valid, a critical alert reaches
PagerDuty and a warning does not, the Watchdog reaches the heartbeat receiver alone. Plus: dashboards exist
with panels. Whether each metric they read is produced needs the hydrated charts: ``plinth check`` (PL-OBS-001).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plinth.components.base import Component
from plinth.components.registry import ALL_COMPONENTS
from plinth.monitoring import alertmanager
from plinth.monitoring.dashboards import dashboard_queries
from plinth.monitoring.promql import expand_grafana_variables
from plinth.monitoring.promtool import check_expressions, check_rules, promtool_path, run_rule_tests
from plinth.monitoring.rules import AlertRule
from plinth.render import stages
from plinth.spec.model import Platform


class MissingTool(Exception):
    """promtool or amtool is not installed."""


@dataclass(frozen=True)
class CheckResult:
    """One check of one environment."""

    environment: str
    check: str
    ok: bool
    detail: str = ""


def missing_tools() -> list[str]:
    """The real tools this check needs that are not on PATH."""
    return [name for name, path in (("promtool", promtool_path()), ("amtool", alertmanager.amtool_path())) if path is None]


def check_platform(platform: Platform, components: Sequence[Component] = ALL_COMPONENTS) -> list[CheckResult]:
    """Every monitoring check of one environment."""
    if missing_tools():
        raise MissingTool(", ".join(missing_tools()))
    env = platform.environment
    results: list[CheckResult] = []
    for component in components:
        groups = component.alerts(platform)
        if not groups:
            continue
        checked = check_rules(groups)
        results.append(CheckResult(env, f"promtool check rules: {component.name}", checked.ok, "" if checked.ok else checked.output))
        alerts = {r.name for g in groups for r in g.rules if isinstance(r, AlertRule)}
        tests = component.alert_tests(platform)
        untested = sorted(alerts - {t.alert for t in tests})
        results.append(CheckResult(env, f"every alert has a unit test: {component.name}", not untested,
                                   f"alerts without a promtool test: {untested}" if untested else ""))
        if checked.ok and tests and not untested:
            ran = run_rule_tests(groups, tests)
            results.append(CheckResult(env, f"promtool test rules: {component.name}", ran.ok, "" if ran.ok else ran.output))
    dashboards = stages.dashboards(platform, components)
    empty = sorted(uid for uid, model in dashboards.items() if not dashboard_queries(model))
    results.append(CheckResult(env, "every dashboard has panels", not empty, f"dashboards without panels: {empty}" if empty else ""))
    sample = {"service": sorted(platform.services)[0]}
    queries = [expand_grafana_variables(q, sample) for model in dashboards.values() for kind, q in dashboard_queries(model) if kind == "prometheus"]
    parsed = check_expressions(queries)
    results.append(CheckResult(env, f"promtool parses {len(queries)} dashboard queries", parsed.ok, "" if parsed.ok else parsed.output))
    config = alertmanager.alertmanager_config(platform)
    valid = alertmanager.check_config(config)
    results.append(CheckResult(env, "amtool check-config", valid.ok, "" if valid.ok else valid.output))
    if valid.ok:
        probe = {"alertname": "PlinthRouteProbe", "namespace": "platform-data", "service": "probe"}
        for severity in ("critical", "warning"):
            pages = severity in platform.observability.alerting.paging_severities
            reached = alertmanager.route_receivers(config, {**probe, "severity": severity})
            ok = (alertmanager.PAGERDUTY_RECEIVER in reached) == pages
            results.append(CheckResult(env, f"amtool routes: {severity} {'pages' if pages else 'does not page'} PagerDuty", ok,
                                       "" if ok else f"reached {reached}"))
        watchdog = {"alertname": alertmanager.WATCHDOG_ALERT, "severity": "none", "namespace": "platform-monitoring"}
        proven = alertmanager.verify_route(config, watchdog, [alertmanager.HEARTBEAT_RECEIVER])
        results.append(CheckResult(env, f"amtool routes: {alertmanager.WATCHDOG_ALERT} reaches the heartbeat receiver alone "
                                        f"({platform.observability.alerting.heartbeat.url})", proven.ok,
                                   "" if proven.ok else proven.output))
    return results
