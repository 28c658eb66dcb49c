"""Traces are wired end to end in what the charts hydrate to (needs ../shared/charts): every service exports OTLP to the
collector's Service with the spec's sampling, the collector receives on the ports its Service and pods expose and
exports to Tempo's distributor, whose OTLP receivers are on, and Grafana links traces, logs and metrics."""

from __future__ import annotations

import re

import pytest
import yaml

from plinth.components import alloy, app_services, tempo
from plinth.components.prometheus_stack import DATASOURCE_UIDS, TRACE_ID_LABEL
from plinth.kube.objects import selector_matches
from plinth.components.registry import ALL_COMPONENTS
from plinth.render import network
from plinth.render.pipeline import render_platform


def _hydrated(hydration, env: str, application: str) -> list[dict]:
    return [h.obj for h in hydration.for_environment(env) if h.application == application]


def _one(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_every_service_exports_otlp_to_the_collector_with_the_spec_sampling(platforms) -> None:
    for env, platform in platforms.items():
        workloads = [r.obj for r in render_platform(platform) if r.obj["kind"] in ("Rollout", "Deployment")
                     and r.obj["metadata"].get("namespace") == app_services.NAMESPACE and r.obj["spec"].get("template")]
        names = {w["metadata"]["name"] for w in workloads}
        assert set(platform.services) <= names, env
        for workload in workloads:
            (container,) = workload["spec"]["template"]["spec"]["containers"]
            variables = _env(container)
            name = workload["metadata"]["name"]
            assert variables["OTEL_SERVICE_NAME"] == name
            assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://alloy.platform-monitoring.svc.cluster.local:{alloy.OTLP_GRPC_PORT}"
            assert variables["OTEL_EXPORTER_OTLP_PROTOCOL"] == platform.observability.tracing.protocol == "grpc"
            assert variables["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
            assert float(variables["OTEL_TRACES_SAMPLER_ARG"]) == platform.observability.tracing.sampling_ratio
            assert f"deployment.environment.name={env}" in variables["OTEL_RESOURCE_ATTRIBUTES"]


def test_services_may_reach_the_collector_and_the_collector_tempo(prod) -> None:
    """The declared flows, rendered into NetworkPolicies: each service's pods out to Alloy's OTLP ports, Alloy out to the
    distributor's gRPC port (the ingress sides are in tests/monitoring/test_monitoring_network.py)."""
    policies = network.network_policies(prod, ALL_COMPONENTS)

    def egress_to(policy: dict, labels: dict[str, str]) -> set[int]:
        return {p["port"] for rule in policy["spec"].get("egress", []) for peer in rule["to"]
                if peer.get("podSelector", {}).get("matchLabels") == labels for p in rule["ports"]}

    for name in prod.services:
        (policy,) = [p for p in policies if p["metadata"]["namespace"] == app_services.NAMESPACE
                     and p["spec"]["podSelector"].get("matchLabels") == app_services.selector_labels(name)]
        assert egress_to(policy, alloy.POD_LABELS) == set(alloy.OTLP_PORTS), name
    (collector,) = [p for p in policies if p["spec"]["podSelector"].get("matchLabels") == alloy.POD_LABELS]
    assert egress_to(collector, tempo.DISTRIBUTOR_POD_LABELS) == {4317}


def test_the_collector_receives_otlp_and_exports_to_tempo_in_the_hydrated_chart(platforms, hydration) -> None:
    for env in platforms:
        objects = _hydrated(hydration, env, "alloy")
        service = _one(objects, "Service", "alloy")
        assert {p["port"] for p in service["spec"]["ports"]} >= set(alloy.OTLP_PORTS), env
        daemonset = _one(objects, "DaemonSet", "alloy")
        assert selector_matches({"matchLabels": service["spec"]["selector"]}, daemonset["spec"]["template"]["metadata"]["labels"])
        ports = {p["containerPort"] for c in daemonset["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
        assert ports >= set(alloy.OTLP_PORTS), env
        config = next(v for o in objects if o["kind"] == "ConfigMap" for k, v in (o.get("data") or {}).items() if k.endswith(".alloy"))
        assert f'endpoint = "0.0.0.0:{alloy.OTLP_GRPC_PORT}"' in config and f'endpoint = "0.0.0.0:{alloy.OTLP_HTTP_PORT}"' in config
        assert re.search(r'otelcol\.exporter\.otlp "tempo" \{\s*client \{\s*endpoint = "' + re.escape(tempo.DISTRIBUTOR_OTLP_GRPC), config)
        assert "traces = [otelcol.processor.batch.traces.input]" in config and "traces = [otelcol.exporter.otlp.tempo.input]" in config


def test_tempo_distributor_serves_the_otlp_receivers_the_collector_exports_to(platforms, hydration) -> None:
    host, port = tempo.DISTRIBUTOR_OTLP_GRPC.split(":")
    for env in platforms:
        objects = _hydrated(hydration, env, tempo.CHART_RELEASE)
        service = _one(objects, "Service", host.split(".")[0])
        assert int(port) in {p["port"] for p in service["spec"]["ports"]}, env
        configs = [yaml.safe_load(v) for o in objects if o["kind"] in ("ConfigMap", "Secret")
                   for k, v in (o.get("data") or o.get("stringData") or {}).items() if k == "tempo.yaml"]
        assert configs, "the chart renders tempo.yaml"
        receivers = configs[0]["distributor"]["receivers"]["otlp"]["protocols"]
        assert receivers["grpc"]["endpoint"].endswith(f":{port}") and "http" in receivers


def test_grafana_links_traces_logs_and_metrics(platforms, hydration) -> None:
    for env in platforms:
        objects = _hydrated(hydration, env, "kube-prometheus-stack-chart")
        sources = [s for o in objects if o["kind"] in ("ConfigMap", "Secret")
                   for k, v in (o.get("data") or {}).items() if k.endswith(".yaml") and "datasources" in v
                   for s in (yaml.safe_load(v) or {}).get("datasources", [])]
        by_uid = {s.get("uid"): s for s in sources}
        prometheus, loki, tempo_source = (by_uid[DATASOURCE_UIDS[k]] for k in ("prometheus", "loki", "tempo"))
        assert [(d["datasourceUid"], d["name"]) for d in prometheus["jsonData"]["exemplarTraceIdDestinations"]] == [
            (DATASOURCE_UIDS["tempo"], TRACE_ID_LABEL)], env
        assert loki["jsonData"]["derivedFields"][0]["datasourceUid"] == DATASOURCE_UIDS["tempo"]
        assert tempo_source["jsonData"]["tracesToLogsV2"]["datasourceUid"] == DATASOURCE_UIDS["loki"]
        assert tempo_source["jsonData"]["tracesToMetrics"]["datasourceUid"] == DATASOURCE_UIDS["prometheus"]
        assert tempo_source["jsonData"]["serviceMap"]["datasourceUid"] == DATASOURCE_UIDS["prometheus"]


def test_prometheus_keeps_exemplars(platforms, hydration) -> None:
    for env in platforms:
        objects = _hydrated(hydration, env, "kube-prometheus-stack-chart")
        (prom,) = [o for o in objects if o["kind"] == "Prometheus"]
        assert "exemplar-storage" in prom["spec"]["enableFeatures"], env
        assert prom["spec"]["enableRemoteWriteReceiver"] is True


@pytest.mark.parametrize("bad", [0, 1.5])
def test_a_sampling_ratio_outside_zero_to_one_is_a_located_error(tmp_path, bad) -> None:
    from plinth.spec.loader import SpecError, load_all
    from tests.conftest import spec_with

    with pytest.raises(SpecError, match="observability.tracing.sampling_ratio"):
        load_all(spec_with(tmp_path, [("observability.tracing.sampling_ratio", bad)]))
