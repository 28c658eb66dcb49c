"""The rendered Alertmanager configuration passes the real amtool, and its routes page PagerDuty for
critical alerts only (amtool config routes test)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from plinth.components import prometheus_stack
from plinth.monitoring import alertmanager
from plinth.monitoring.alertmanager import (
    PAGERDUTY_RECEIVER,
    SILENT_RECEIVER,
    WARNING_RECEIVER,
    alertmanager_config,
    amtool_path,
    check_config,
    route_receivers,
    verify_route,
)
from plinth.render.pipeline import render_platform
from plinth.spec.loader import load_all
from tests.conftest import spec_with

pytestmark = pytest.mark.skipif(amtool_path() is None, reason="amtool missing: `make test` installs Debian's prometheus-alertmanager")

ALERT = {"alertname": "PostgresReplicationLagHigh", "namespace": "platform-data", "service": "plinth-pg"}


def _rendered_config(platform) -> dict:
    apps = [r.obj for r in render_platform(platform)
            if r.obj["kind"] == "Application" and r.obj["metadata"]["name"] == prometheus_stack.CHART_RELEASE]
    assert len(apps) == 1
    return apps[0]["spec"]["source"]["helm"]["valuesObject"]["alertmanager"]["config"]


def test_rendered_config_passes_amtool_check_config(platforms) -> None:
    for env, platform in platforms.items():
        result = check_config(_rendered_config(platform))
        assert result.ok, f"{env}: {result.output}"
        assert "SUCCESS" in result.output


def test_a_broken_config_fails_amtool(prod) -> None:
    """The check can fail: a route to a receiver that does not exist is rejected."""
    config = copy.deepcopy(alertmanager_config(prod))
    config["route"]["routes"][0]["receiver"] = "nobody"
    result = check_config(config)
    assert not result.ok
    assert "nobody" in result.output


def test_critical_reaches_pagerduty_and_warning_does_not(prod) -> None:
    config = _rendered_config(prod)
    assert verify_route(config, {**ALERT, "severity": "critical"}, [PAGERDUTY_RECEIVER]).ok
    assert verify_route(config, {**ALERT, "severity": "warning"}, [WARNING_RECEIVER]).ok
    assert not verify_route(config, {**ALERT, "severity": "warning"}, [PAGERDUTY_RECEIVER]).ok
    assert route_receivers(config, {**ALERT, "severity": "warning"}) == [WARNING_RECEIVER]
    assert route_receivers(config, {**ALERT, "severity": "info"}) == [SILENT_RECEIVER]
    assert route_receivers(config, {"alertname": "Watchdog", "severity": "none"}) == [alertmanager.HEARTBEAT_RECEIVER]
    # an alert without a severity is not lost, and pages nobody
    assert route_receivers(config, {"alertname": "Unlabelled"}) == [WARNING_RECEIVER]


def test_paging_severities_come_from_the_spec(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, [("observability.alerting.paging_severities", ["critical", "warning"])])
    prod = load_all(spec)["prod"]
    config = alertmanager_config(prod)
    assert check_config(config).ok
    assert route_receivers(config, {**ALERT, "severity": "warning"}) == [PAGERDUTY_RECEIVER]


def test_warning_is_inhibited_by_critical_of_the_same_alert_namespace_and_service(prod) -> None:
    (rule,) = alertmanager_config(prod)["inhibit_rules"]
    assert rule["source_matchers"] == ['severity="critical"']
    assert rule["target_matchers"] == ['severity="warning"']
    assert sorted(rule["equal"]) == ["alertname", "namespace", "service"]


def test_grouped_by_namespace_and_service(prod) -> None:
    assert alertmanager_config(prod)["route"]["group_by"] == ["namespace", "service"]


def test_pagerduty_key_is_a_mounted_file_from_an_external_secret_never_a_value(prod) -> None:
    config = _rendered_config(prod)
    (pagerduty,) = [r for r in config["receivers"] if r["name"] == PAGERDUTY_RECEIVER]
    (pd_config,) = pagerduty["pagerduty_configs"]
    assert "routing_key" not in pd_config and "service_key" not in pd_config
    assert pd_config["routing_key_file"] == f"/etc/alertmanager/secrets/{alertmanager.PAGERDUTY_SECRET}/{alertmanager.PAGERDUTY_SECRET_KEY}"
    (chat,) = [r for r in config["receivers"] if r["name"] == WARNING_RECEIVER]
    assert "api_url" not in chat["slack_configs"][0]
    rendered = render_platform(prod)
    spec = [r.obj for r in rendered if r.obj["kind"] == "Application" and r.obj["metadata"]["name"] == prometheus_stack.CHART_RELEASE][0]
    mounted = spec["spec"]["source"]["helm"]["valuesObject"]["alertmanager"]["alertmanagerSpec"]["secrets"]
    external = {r.obj["spec"]["target"]["name"]: r.obj for r in rendered if r.obj["kind"] == "ExternalSecret"
                and r.obj["metadata"]["namespace"] == "platform-monitoring"}
    for secret, key in ((alertmanager.PAGERDUTY_SECRET, alertmanager.PAGERDUTY_SECRET_KEY), (alertmanager.CHAT_SECRET, alertmanager.CHAT_SECRET_KEY)):
        assert secret in mounted
        assert key in [d["secretKey"] for d in external[secret]["spec"]["data"]]
    assert not [r for r in rendered if r.obj["kind"] == "Secret"], "no Secret may be rendered"


def test_alertmanager_runs_at_least_two_replicas_from_the_spec(platforms) -> None:
    for platform in platforms.values():
        values = prometheus_stack.values(platform)
        replicas = values["alertmanager"]["alertmanagerSpec"]["replicas"]
        assert replicas == platform.observability.alerting.alertmanager_replicas
        assert replicas >= 2


def test_alert_thresholds_follow_the_spec(tmp_path: Path) -> None:
    """One number feeds expression and text: changing the spec's Alertmanager replicas changes both."""
    spec = spec_with(tmp_path, [("observability.alerting.alertmanager_replicas", 5)])
    platform = load_all(spec)["prod"]
    (rule,) = [r for g in prometheus_stack.alerts(platform) for r in g.rules if r.name == "AlertmanagerClusterDegraded"]
    assert rule.expr.endswith("< 5") and "fewer than 5" in rule.description and "fewer than 5" in rule.summary


def test_the_watchdog_reaches_the_heartbeat_receiver_alone_every_interval(platforms) -> None:
    for env, platform in platforms.items():
        config = _rendered_config(platform)
        watchdog = {"alertname": alertmanager.WATCHDOG_ALERT, "severity": "none", "namespace": "platform-monitoring"}
        proven = verify_route(config, watchdog, [alertmanager.HEARTBEAT_RECEIVER])
        assert proven.ok, proven.output
        assert route_receivers(config, {**ALERT, "severity": "critical"}) == [PAGERDUTY_RECEIVER]
        heartbeat = platform.observability.alerting.heartbeat
        (route,) = [r for r in config["route"]["routes"] if r["receiver"] == alertmanager.HEARTBEAT_RECEIVER]
        assert route["repeat_interval"] == route["group_interval"] == f"{heartbeat.interval_minutes}m" and route["group_wait"] == "0s"
        (receiver,) = [r for r in config["receivers"] if r["name"] == alertmanager.HEARTBEAT_RECEIVER]
        (hook,) = receiver["webhook_configs"]
        assert hook["url"] == heartbeat.url and hook["send_resolved"] is False
        assert hook["http_config"]["authorization"]["credentials_file"] == alertmanager.secret_file(
            alertmanager.HEARTBEAT_SECRET, alertmanager.HEARTBEAT_SECRET_KEY)


def test_a_watchdog_routed_elsewhere_fails_the_route_test(prod) -> None:
    config = copy.deepcopy(alertmanager_config(prod))
    config["route"]["routes"] = [r for r in config["route"]["routes"] if r["receiver"] != alertmanager.HEARTBEAT_RECEIVER]
    assert not verify_route(config, {"alertname": alertmanager.WATCHDOG_ALERT, "severity": "none"}, [alertmanager.HEARTBEAT_RECEIVER]).ok


def test_the_heartbeat_token_comes_from_an_external_secret(prod) -> None:
    secrets = {o["metadata"]["name"]: o for o in prometheus_stack.objects(prod)}
    secret = secrets[alertmanager.HEARTBEAT_SECRET]
    # Through platform-monitoring's own store, whose AWS prefix is plinth/prod/platform-monitoring/.
    assert secret["spec"]["secretStoreRef"]["name"] == "secrets-platform-monitoring"
    assert secret["spec"]["data"][0]["remoteRef"]["key"] == "monitoring/heartbeat"
    assert alertmanager.HEARTBEAT_SECRET in alertmanager.mounted_secrets()


def test_the_tree_fires_an_always_firing_watchdog(platforms, hydration) -> None:
    """kube-prometheus-stack's general rules hold the Watchdog: ``vector(1)``, so it fires as long as Prometheus evaluates."""
    for env in platforms:
        rules = [r for h in hydration.for_environment(env) if h.obj["kind"] == "PrometheusRule"
                 for g in h.obj["spec"]["groups"] for r in g["rules"] if r.get("alert") == alertmanager.WATCHDOG_ALERT]
        assert [r["expr"].strip() for r in rules] == ["vector(1)"], env


def test_a_heartbeat_that_pages_on_one_late_ping_is_a_located_error(tmp_path: Path) -> None:
    from plinth.spec.loader import SpecError

    with pytest.raises(SpecError, match="observability.alerting.heartbeat"):
        load_all(spec_with(tmp_path, [("observability.alerting.heartbeat.missing_after_minutes", 1)]))
