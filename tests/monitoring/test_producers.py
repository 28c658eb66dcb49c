"""Every metric an alert, a recording rule or a dashboard panel reads is produced by something the environment runs
and scrapes, judged on the union (rendered + hydrated charts, needs ../shared/charts); PromQL is read by a real parser."""

from __future__ import annotations

import copy
import json

import pytest

from plinth.components import kafka
from plinth.monitoring.producers import catalog, check_producers, production
from plinth.monitoring.promql import MetricSelector, PromQLError, expand_grafana_variables, metric_names, metric_selectors
from plinth.render.pipeline import render_all

WAIVED = {("kps-grafana-overview", "grafana_alerting_result_total")}
"""Unproduced metrics accepted in check-waivers.yaml (an upstream dashboard panel over a metric Grafana 13 no longer writes)."""


@pytest.fixture(scope="module")
def unions(platforms, hydration) -> dict[str, list[dict]]:
    """Each environment's union: its rendered objects and the objects its chart Applications hydrate to."""
    rendered = render_all(platforms)
    return {env: [r.obj for r in rendered if r.environment == env] + [h.obj for h in hydration.for_environment(env)]
            for env in platforms}


def _missing(report) -> set[tuple[str, str]]:
    return {(m.reference.obj["metadata"]["name"], m.selector.describe() if m.selector else f"unparsed: {m.error}") for m in report.missing}


def _variables(platform) -> dict[str, str]:
    return {"service": sorted(platform.services)[0]}


def test_promql_selectors_come_from_the_syntax_tree() -> None:
    expr = ('sum by (job) (rate(foo_total{a="b|c"}[5m])) / on (job) group_left bar + absent({__name__="qq"})'
            ' + label_replace(kube_node_labels, "node", "$1", "node", "(.*)") + max_over_time(up[5m:1m])'
            ' + count({__name__=~"node_.+"}) > bool 3 unless time() - x:y:z offset 5m')
    assert [s.describe() for s in metric_selectors(expr)] == [
        "foo_total", "bar", "qq", "kube_node_labels", "up", '{__name__=~"node_.+"}', "x:y:z"]
    assert metric_names("sum(rate(http_requests_total{code=~\"5..\"}[5m])) by (le)") == {"http_requests_total"}
    assert MetricSelector(None, "node_.+").matches("node_load1") and not MetricSelector(None, "node_.+").matches("xnode_load1")
    with pytest.raises(PromQLError, match="unclosed left parenthesis"):
        metric_selectors("sum(rate(x[5m])")


def test_grafana_variables_become_sample_values() -> None:
    assert (expand_grafana_variables('rate(a{svc=~"$service",ns="${namespace}"}[$__rate_interval]) + b[$interval] + c[${range}:1m]',
                                     {"service": "auth"})
            == 'rate(a{svc=~"auth",ns="x"}[5m]) + b[5m] + c[5m:1m]')


def test_every_producer_names_its_sources_and_version() -> None:
    for producer in catalog():
        assert producer.sources and producer.version and producer.metrics, producer.id


def test_every_metric_has_a_producer_in_both_environments(platforms, unions) -> None:
    for env, objects in unions.items():
        report = check_producers(objects, _variables(platforms[env]))
        assert report.expressions > 500, env  # alerts, recording rules and every panel of the platform's and the charts' dashboards
        assert _missing(report) == WAIVED, env
        assert not report.production.unscraped, env  # every exporter that runs is collected
        assert {"kafka-exporter", "kubelet", "apiserver", "prometheus-synthetic", "app-services", "data-workers",
                "tempo-metrics-generator"} <= set(report.production.producers), env


def test_consumer_lag_comes_from_the_kafka_exporter_the_kafka_cr_enables_and_its_pod_monitor(platforms, unions) -> None:
    objects = unions["prod"]
    found = production(objects)
    assert any(kafka.EXPORTER in how and "PodMonitor" in how for how in found.producers["kafka-exporter"])

    no_monitor = [o for o in objects if not (o["kind"] == "PodMonitor" and o["metadata"]["name"] == kafka.EXPORTER)]
    assert "kafka-exporter" not in production(no_monitor).producers
    assert "kafka-exporter" in production(no_monitor).unscraped

    no_exporter = copy.deepcopy(objects)
    for obj in no_exporter:
        if obj["kind"] == "Kafka":
            del obj["spec"]["kafkaExporter"]
    report = check_producers(no_exporter, _variables(platforms["prod"]))
    assert ("dashboard-pipeline-execution", "kafka_consumergroup_lag") in _missing(report)
    assert ("kafka-rules", "kafka_consumergroup_lag") in _missing(report)  # the lag alerts


def test_a_planted_panel_without_a_producer_is_reported(platforms, unions) -> None:
    planted = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "dashboard-planted", "namespace": "platform-monitoring", "labels": {"grafana_dashboard": "1"}},
               "data": {"planted.json": json.dumps({"panels": [{"title": "Orders", "datasource": {"type": "prometheus", "uid": "prometheus"},
                                                                "targets": [{"expr": "sum(rate(shop_orders_total[$__rate_interval]))"}]}]})}}
    report = check_producers([*unions["staging"], planted], _variables(platforms["staging"]))
    (missing,) = [m for m in report.missing if m.reference.obj is planted]
    assert missing.selector.describe() == "shop_orders_total"
    assert missing.reference.field_path == "data.planted.json:panels.0.targets.0.expr"
    assert missing.reference.what == "panel 'Orders'"


def test_a_monitor_no_prometheus_selects_collects_nothing(unions) -> None:
    objects = copy.deepcopy(unions["prod"])
    for obj in objects:
        if obj["kind"] == "Prometheus":
            obj["spec"]["podMonitorSelector"] = {"matchLabels": {"team": "nobody"}}
    assert "kafka-exporter" not in production(objects).producers
    assert "kube-state-metrics" in production(objects).producers  # a ServiceMonitor: still selected


def test_collector_flags_decide_what_node_exporter_produces(unions) -> None:
    objects = copy.deepcopy(unions["prod"])
    assert "node_systemd_unit_state" not in production(objects).metrics()
    for obj in objects:
        if obj["kind"] == "DaemonSet" and "node-exporter" in obj["metadata"]["name"]:
            obj["spec"]["template"]["spec"]["containers"][0]["args"].append("--collector.systemd")
    assert "node_systemd_unit_state" in production(objects).metrics()


def test_the_redis_exporter_counts_only_when_the_custom_resource_enables_it(unions) -> None:
    objects = copy.deepcopy(unions["prod"])
    assert "redis-exporter" in production(objects).producers
    for obj in objects:
        if obj["kind"] in ("RedisReplication", "RedisSentinel"):
            obj["spec"]["redisExporter"]["enabled"] = False
    assert "redis-exporter" not in production(objects).producers
