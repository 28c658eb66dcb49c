"""Tempo (traces): the pinned grafana-community tempo-distributed chart, blocks in the spec's bucket,
retention from ``observability.tempo.retention_days`` (the compactor's ``block_retention``).

Services send OTLP (gRPC 4317, HTTP 4318) to the distributor; the metrics-generator writes span
metrics and the service graph to Prometheus (remote write) for Grafana's service map.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.conventions import MONITORING_NAMESPACE, PROMETHEUS_URL
from plinth.kube.datastores import APPS_NAMESPACE
from plinth.kube.scheduling import pool_placement
from plinth.monitoring import object_storage
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Platform
from plinth.kube.flows import CLOUD_OBJECT_STORAGE, HTTPS, Flow, Pods, flow, scrape

NAME = "tempo"
CHART_RELEASE = f"{NAME}-chart"
"""Application and Helm release of the chart (the component's own objects are synced by the Application ``NAME``)."""

POD_REQUESTS: dict[str, tuple[int, int]] = {
    "distributor": (250, 512),
    "ingester": (500, 2048),
    "querier": (250, 1024),
    "queryFrontend": (100, 256),
    "compactor": (250, 1024),
    "metricsGenerator": (250, 1024),
}
"""CPU millicores and memory MiB requested by each Tempo part's pods."""

INGESTER_VOLUME_GIB = 20
"""Ingester WAL volume (traces not yet flushed to the bucket)."""
OTLP_PORTS = (4317, 4318)
"""OTLP gRPC and HTTP ports of the distributor."""

BACKEND = {"aws": "s3", "gcp": "gcs", "azure": "azure"}


def retention_hours(platform: Platform) -> int:
    """Trace retention in hours."""
    return platform.observability.tempo.retention_days * 24


def _replicas(platform: Platform) -> dict[str, int]:
    n = platform.observability.tempo.replicas
    return {"distributor": 2, "ingester": n, "querier": 2, "queryFrontend": 2, "compactor": 1, "metricsGenerator": 1}


def _resources(part: str) -> dict[str, Any]:
    cpu, mem = POD_REQUESTS[part]
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}}


def _trace_storage(platform: Platform) -> dict[str, Any]:
    bucket = object_storage.bucket_of(platform, "tempo")
    backend = BACKEND[platform.cluster.provider]
    if backend == "s3":
        return {"backend": "s3", "s3": {"bucket": bucket, "endpoint": f"s3.{platform.cluster.region}.amazonaws.com",
                                        "region": platform.cluster.region}}
    if backend == "gcs":
        return {"backend": "gcs", "gcs": {"bucket_name": bucket}}
    return {"backend": "azure", "azure": {"container_name": bucket}}


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of tempo-distributed, from the spec."""
    placement = pool_placement(platform, MONITORING_NAMESPACE)
    replicas = _replicas(platform)
    parts: dict[str, Any] = {part: {"replicas": count, "resources": _resources(part), **placement}
                             for part, count in replicas.items()}
    parts["ingester"]["persistence"] = {"enabled": True, "size": f"{INGESTER_VOLUME_GIB}Gi"}
    parts["metricsGenerator"]["enabled"] = True
    parts["metricsGenerator"]["config"] = {"storage": {"remote_write": [{"url": f"{PROMETHEUS_URL}/api/v1/write", "send_exemplars": True}]}}
    return {
        "fullnameOverride": NAME,
        "reportingEnabled": False,
        "global": {"extraEnvFrom": object_storage.env_from(platform, "tempo")},
        "storage": {"trace": _trace_storage(platform)},
        "tempo": {"structuredConfig": {"compactor": {"compaction": {"block_retention": f"{retention_hours(platform)}h"}}}},
        "traces": {"otlp": {"grpc": {"enabled": True}, "http": {"enabled": True}}},
        "overrides": {"defaults": {"metrics_generator": {"processors": ["service-graphs", "span-metrics"]}}},
        "memcached": {"enabled": False},
        "gateway": {"enabled": False},
        "minio": {"enabled": False},
        "metaMonitoring": {"serviceMonitor": {"enabled": True}},
        **parts,
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The tempo-distributed chart in platform-monitoring."""
    return [HelmRelease(name=CHART_RELEASE, chart_key="tempo", namespace=MONITORING_NAMESPACE, values=values(platform), sync_wave=-2)]


def objects(platform: Platform) -> list[KubeObject]:
    """The object-storage credentials (ExternalSecret; none where workload identity serves them)."""
    return object_storage.credentials(platform, "tempo", NAME, MONITORING_NAMESPACE)


def alerts(platform: Platform) -> list[RuleGroup]:
    """Trace ingestion and retention."""
    return [RuleGroup("tempo", (
        AlertRule(
            name="TempoDiscardingSpans",
            expr="sum by (namespace, reason) (rate(tempo_discarded_spans_total[5m])) > 0",
            for_="15m",
            severity="warning",
            summary="Tempo discards spans ({{ $labels.reason }})",
            description="Tempo has rejected spans for 15 minutes with reason {{ $labels.reason }}: those traces are incomplete.",
        ),
        AlertRule(
            name="TempoIngesterFlushFailing",
            expr="sum by (namespace) (rate(tempo_ingester_failed_flushes_total[5m])) > 0",
            for_="15m",
            severity="critical",
            summary="Tempo ingesters cannot flush traces to object storage",
            description="Ingesters have failed to write blocks to the trace bucket for 15 minutes: their WAL fills up and traces will be lost.",
        ),
        AlertRule(
            name="TempoRetentionFailing",
            expr="sum by (namespace) (increase(tempodb_retention_errors_total[1h])) > 0",
            for_="1h",
            severity="warning",
            summary="Tempo's compactor fails to apply retention",
            description=f"Retention ({platform.observability.tempo.retention_days} days) is failing: the trace bucket grows past its budget of {platform.observability.tempo.storage_gib} GiB.",
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the Tempo alerts."""
    ns = 'namespace="platform-monitoring"'
    return [
        AlertTest.one_series("TempoDiscardingSpans", f'tempo_discarded_spans_total{{{ns},reason="rate_limited",pod="d-0"}}',
                  "0+10x30", "0x30", "25m", {"namespace": "platform-monitoring", "reason": "rate_limited"}),
        AlertTest.one_series("TempoIngesterFlushFailing", f'tempo_ingester_failed_flushes_total{{{ns},pod="i-0"}}',
                  "0+1x30", "0x30", "25m", {"namespace": "platform-monitoring"}),
        AlertTest.one_series("TempoRetentionFailing", f'tempodb_retention_errors_total{{{ns},pod="c-0"}}',
                  "0+1x180", "0x180", "150m", {"namespace": "platform-monitoring"}),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Trace ingestion on the platform-health dashboard."""
    return [
        Panel("platform-health", "Spans received per second",
              ("sum(rate(tempo_distributor_spans_received_total[$__rate_interval]))",)),
    ]


TEMPO_PORTS = (3200, 7946, 9095)
"""HTTP, memberlist and gRPC between Tempo's parts."""
REMOTE_WRITE_PORT = 9090


def flows(platform: Platform) -> list[Flow]:
    """Tempo: the application services send OTLP to the distributor; Tempo's parts talk HTTP, memberlist and gRPC,
    keep blocks in the bucket, and the metrics generator remote-writes span metrics to Prometheus."""
    ns = MONITORING_NAMESPACE
    tempo = Pods.of(ns, {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/instance": CHART_RELEASE})
    distributor = Pods.of(ns, {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "distributor"})
    generator = Pods.of(ns, {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "metrics-generator"})
    return [flow(tempo, tempo, TEMPO_PORTS, "distributor, ingesters, queriers, compactor, metrics generator"),
            flow(tempo, CLOUD_OBJECT_STORAGE, HTTPS, "trace blocks in the trace bucket"),
            flow(generator, Pods.of(ns, {"app.kubernetes.io/name": "prometheus"}), REMOTE_WRITE_PORT, "span metrics (remote write)"),
            flow(Pods.of(APPS_NAMESPACE), distributor, OTLP_PORTS, "the services' traces (OTLP gRPC and HTTP)"),
            scrape(tempo, TEMPO_PORTS[0])]


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=-3,
    flows=flows,
)
