"""Loki (logs): the pinned grafana-community chart in simple-scalable mode, chunks in the spec's bucket,
retention from ``observability.loki.retention_days`` enforced by the compactor.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.scheduling import pool_placement
from plinth.monitoring import object_storage
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Platform
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.flows import CLOUD_OBJECT_STORAGE, HTTPS, Flow, Pods, flow, scrape

NAME = "loki"
CHART_RELEASE = f"{NAME}-chart"
"""Application and Helm release of the chart (the component's own objects are synced by the Application ``NAME``)."""

POD_REQUESTS: dict[str, tuple[int, int]] = {
    "write": (500, 2048),
    "read": (500, 1024),
    "backend": (250, 1024),
    "gateway": (100, 128),
}
"""CPU millicores and memory MiB requested by each Loki target's pods."""

VOLUME_GIB: dict[str, int] = {"write": 20, "backend": 10}
"""Persistent volume per pod: the write path's WAL, the backend's compactor working set."""
GATEWAY_REPLICAS = 2
SCHEMA_FROM = "2026-01-01"
"""First day of the TSDB v13 schema (the only schema this platform has ever written)."""

STORAGE_TYPE = {"aws": "s3", "gcp": "gcs", "azure": "azure"}


def retention_hours(platform: Platform) -> int:
    """Log retention in hours (Loki's retention_period must be a multiple of the 24 h index period)."""
    return platform.observability.loki.retention_days * 24


def _storage(platform: Platform) -> dict[str, Any]:
    bucket = object_storage.bucket_of(platform, "loki")
    kind = STORAGE_TYPE[platform.cluster.provider]
    storage: dict[str, Any] = {"type": kind, "bucketNames": {"chunks": bucket, "ruler": bucket, "admin": bucket}}
    if kind == "s3":
        storage["s3"] = {"region": platform.cluster.region}
    return storage


def _resources(part: str) -> dict[str, Any]:
    cpu, mem = POD_REQUESTS[part]
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}}


def _replicas(platform: Platform) -> dict[str, int]:
    n = platform.observability.loki.replicas
    return {"write": n, "read": n, "backend": n, "gateway": GATEWAY_REPLICAS}


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the loki chart, from the spec."""
    placement = pool_placement(platform, MONITORING_NAMESPACE)
    replicas = _replicas(platform)
    kind = STORAGE_TYPE[platform.cluster.provider]

    def target(part: str) -> dict[str, Any]:
        result: dict[str, Any] = {"replicas": replicas[part], "resources": _resources(part), **placement}
        if part in VOLUME_GIB:
            result["persistence"] = {"size": f"{VOLUME_GIB[part]}Gi"}
        return result

    return {
        "deploymentMode": "SimpleScalable",
        "fullnameOverride": NAME,
        "global": {"extraEnvFrom": object_storage.env_from(platform, "loki")},
        "loki": {
            "auth_enabled": False,
            "schemaConfig": {"configs": [{"from": SCHEMA_FROM, "store": "tsdb", "object_store": kind, "schema": "v13",
                                          "index": {"prefix": "loki_index_", "period": "24h"}}]},
            "storage": _storage(platform),
            "limits_config": {"retention_period": f"{retention_hours(platform)}h"},
            "compactor": {"retention_enabled": True, "delete_request_store": kind},
            "commonConfig": {"replication_factor": min(3, replicas["write"])},
        },
        "write": target("write"),
        "read": target("read"),
        "backend": target("backend"),
        "gateway": target("gateway"),
        "singleBinary": {"replicas": 0},
        "minio": {"enabled": False},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False},
        "sidecar": {"rules": {"enabled": False}},  # no Loki ruler rules from ConfigMaps: one container per pod
        "test": {"enabled": False},
        "monitoring": {"serviceMonitor": {"enabled": True}, "selfMonitoring": {"enabled": False}},
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The loki chart in platform-monitoring."""
    return [HelmRelease(name=CHART_RELEASE, chart_key="loki", namespace=MONITORING_NAMESPACE, values=values(platform), sync_wave=-2)]


def objects(platform: Platform) -> list[KubeObject]:
    """The object-storage credentials (ExternalSecret; none where workload identity serves them)."""
    return object_storage.credentials(platform, "loki", NAME, MONITORING_NAMESPACE)


def alerts(platform: Platform) -> list[RuleGroup]:
    """Log ingestion: lines Loki rejects, the log collector unable to deliver."""
    return [RuleGroup("loki", (
        AlertRule(
            name="LokiDiscardingLogs",
            expr="sum by (namespace, reason) (rate(loki_discarded_samples_total[5m])) > 0",
            for_="15m",
            severity="warning",
            summary="Loki discards log lines ({{ $labels.reason }})",
            description="Loki has rejected log lines for 15 minutes with reason {{ $labels.reason }}: those logs are lost.",
        ),
        AlertRule(
            name="LogCollectorDroppingLogs",
            expr="sum by (namespace) (rate(loki_write_dropped_entries_total[5m])) > 0",
            for_="15m",
            severity="warning",
            summary="Alloy drops log lines it cannot send to Loki",
            description="The log collector has dropped log lines for 15 minutes: Loki is unreachable or rejects writes.",
        ),
        AlertRule(
            name="LokiRetentionNotApplied",
            expr="time() - max by (namespace) (loki_compactor_apply_retention_last_successful_run_timestamp_seconds) > 2 * 86400",
            for_="1h",
            severity="warning",
            summary="Loki's compactor has not applied retention for 2 days",
            description=f"Retention ({platform.observability.loki.retention_days} days) has not been applied for more than 2 days: the log bucket grows past its budget of {platform.observability.loki.storage_gib} GiB.",
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the Loki alerts."""
    ns = 'namespace="platform-monitoring"'
    return [
        AlertTest.one_series("LokiDiscardingLogs", f'loki_discarded_samples_total{{{ns},reason="rate_limited",pod="w-0"}}',
                  "0+10x30", "0x30", "25m", {"namespace": "platform-monitoring", "reason": "rate_limited"}),
        AlertTest.one_series("LogCollectorDroppingLogs", f'loki_write_dropped_entries_total{{{ns},pod="alloy-x"}}',
                  "0+5x30", "0x30", "25m", {"namespace": "platform-monitoring"}),
        # 3 days old at t=0 (broken) vs. updated every minute (healthy).
        AlertTest.one_series("LokiRetentionNotApplied", f'loki_compactor_apply_retention_last_successful_run_timestamp_seconds{{{ns},pod="b-0"}}',
                  "-259200x90", "0+60x90", "80m", {"namespace": "platform-monitoring"}),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Log ingestion on the platform-health dashboard."""
    return [
        Panel("platform-health", "Log lines received per second",
              ("sum(rate(loki_distributor_lines_received_total[$__rate_interval]))",), unit="short"),
        Panel("platform-health", "Log lines discarded per second",
              ("sum by (reason) (rate(loki_discarded_samples_total[$__rate_interval]))",), legend=("{{reason}}",)),
    ]


LOKI_PORTS = (3100, 7946, 9095)
"""HTTP, memberlist and gRPC between Loki's read, write and backend pods and from its gateway."""


def flows(platform: Platform) -> list[Flow]:
    """Loki: its parts talk HTTP, memberlist and gRPC to each other and keep chunks and indexes in the bucket."""
    loki = Pods.of(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": CHART_RELEASE})
    return [flow(loki, loki, LOKI_PORTS, "the gateway, read, write and backend pods (HTTP, memberlist ring, gRPC)"),
            flow(loki, CLOUD_OBJECT_STORAGE, HTTPS, "chunks and indexes in the log bucket"),
            scrape(loki, LOKI_PORTS[0])]


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
