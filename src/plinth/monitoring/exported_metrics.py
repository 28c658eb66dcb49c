"""Which metric names the platform actually exports, by exporter, and the names a PromQL query uses.

Dashboards and alerts may only reference metrics in this list (or series the platform's recording
rules create): a panel over a metric nothing exports shows "No data" forever. The list is explicit,
per exporter, with where each family comes from; a test checks every panel and alert against it.
Histograms list their ``_bucket``/``_sum``/``_count`` series, as Prometheus stores them.
"""

from __future__ import annotations

import re


def _histogram(name: str) -> tuple[str, ...]:
    return (f"{name}_bucket", f"{name}_sum", f"{name}_count")


APP_REQUESTS_TOTAL = "http_requests_total"
"""Counter every application service exports on its metrics port, with a ``code`` label (status code)."""
APP_REQUEST_DURATION = "http_request_duration_seconds"
"""Histogram of request latency every application service exports."""
APP_SERVICE_LABEL = "app_kubernetes_io_name"
"""Series label naming the service: the pod label ``app.kubernetes.io/name`` the scrape config copies
(``podTargetLabels``); the same label the delivery component's canary analysis selects on."""

EXPORTED_METRICS: dict[str, frozenset[str]] = {
    # Application services (platform-apps): the convention above, scraped through their ServiceMonitors.
    "app-services": frozenset({APP_REQUESTS_TOTAL, *_histogram(APP_REQUEST_DURATION)}),
    # Prometheus itself: every target's health and Prometheus' own telemetry.
    "prometheus": frozenset({
        "up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped",
        "prometheus_notifications_dropped_total", "prometheus_notifications_errors_total",
        "prometheus_notifications_sent_total", "prometheus_notifications_queue_length",
        "prometheus_notifications_queue_capacity", "prometheus_notifications_alertmanagers_discovered",
        "prometheus_rule_evaluation_failures_total", "prometheus_rule_evaluations_total",
        "prometheus_rule_group_iterations_missed_total", "prometheus_tsdb_head_series",
        "prometheus_tsdb_compactions_failed_total", "prometheus_tsdb_reloads_failures_total",
        "prometheus_tsdb_storage_blocks_bytes", "prometheus_tsdb_retention_limit_bytes",
        "prometheus_config_last_reload_successful", "prometheus_target_scrape_pool_exceeded_target_limit_total",
    }),
    "alertmanager": frozenset({
        "alertmanager_notifications_total", "alertmanager_notifications_failed_total",
        "alertmanager_config_last_reload_successful", "alertmanager_cluster_members", "alertmanager_alerts",
    }),
    # kube-state-metrics (kube-prometheus-stack subchart): object state.
    "kube-state-metrics": frozenset({
        "kube_pod_status_ready", "kube_pod_status_phase", "kube_pod_container_status_restarts_total",
        "kube_pod_container_resource_requests", "kube_pod_info", "kube_pod_labels",
        "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas",
        "kube_statefulset_status_replicas_ready", "kube_statefulset_replicas",
        "kube_daemonset_status_number_ready", "kube_daemonset_status_desired_number_scheduled",
        "kube_horizontalpodautoscaler_status_current_replicas", "kube_horizontalpodautoscaler_status_desired_replicas",
        "kube_horizontalpodautoscaler_spec_max_replicas", "kube_horizontalpodautoscaler_spec_min_replicas",
        "kube_node_status_condition", "kube_node_info", "kube_node_labels",
        "kube_persistentvolumeclaim_resource_requests_storage_bytes", "kube_namespace_status_phase",
        "kube_cronjob_status_last_successful_time",
    }),
    # node-exporter (DaemonSet, kube-prometheus-stack subchart).
    "node-exporter": frozenset({
        "node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
        "node_filesystem_avail_bytes", "node_filesystem_size_bytes", "node_network_receive_bytes_total",
        "node_network_transmit_bytes_total", "node_load1",
    }),
    # kubelet / cAdvisor (kube-prometheus-stack's kubelet ServiceMonitor).
    "kubelet": frozenset({
        "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
        "container_cpu_cfs_throttled_periods_total", "container_cpu_cfs_periods_total",
        "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
    }),
    # Recording rules kube-prometheus-stack's default rules create (kubernetes-mixin).
    "kube-prometheus-stack-rules": frozenset({
        "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m",
        "node_namespace_pod_container:container_memory_working_set_bytes",
        "namespace_workload_pod:kube_pod_owner:relabel",
    }),
    # Loki (its chart's ServiceMonitor).
    "loki": frozenset({
        "loki_distributor_bytes_received_total", "loki_distributor_lines_received_total",
        "loki_discarded_samples_total", "loki_ingester_memory_streams", "loki_request_duration_seconds_count",
        "loki_request_duration_seconds_bucket", "loki_ingester_chunks_flushed_total",
        "loki_boltdb_shipper_compactor_running", "loki_compactor_apply_retention_last_successful_run_timestamp_seconds",
    }),
    # Tempo (its chart's ServiceMonitor).
    "tempo": frozenset({
        "tempo_distributor_spans_received_total", "tempo_discarded_spans_total",
        "tempo_distributor_bytes_received_total", "tempo_ingester_blocks_flushed_total",
        "tempo_ingester_failed_flushes_total", "tempodb_compaction_errors_total",
        "tempodb_retention_errors_total", "tempo_request_duration_seconds_count",
    }),
    # Grafana Alloy (log collector DaemonSet): its loki.write component.
    "alloy": frozenset({
        "loki_write_sent_entries_total", "loki_write_dropped_entries_total", "loki_write_request_duration_seconds_bucket",
        "alloy_build_info",
    }),
    # OpenCost: cost model metrics (prices from the cloud's public price list).
    "opencost": frozenset({
        "node_total_hourly_cost", "node_cpu_hourly_cost", "node_ram_hourly_cost", "node_gpu_hourly_cost",
        "pv_hourly_cost", "container_cpu_allocation", "container_memory_allocation_bytes",
        "kubecost_cluster_management_cost", "kubecost_load_balancer_cost", "kubecost_node_is_spot",
    }),
    # Argo CD (application controller metrics, ServiceMonitor enabled in its values).
    "argocd": frozenset({"argocd_app_info", "argocd_app_sync_total", "argocd_app_reconcile_bucket"}),
    # KEDA (operator metrics, ServiceMonitor enabled in its values).
    "keda": frozenset({
        "keda_scaler_metrics_value", "keda_scaler_detail_errors_total", "keda_scaler_errors_total",
        "keda_scaled_object_errors_total", "keda_scaler_active",
    }),
    # Kafka consumer lag (Strimzi Kafka Exporter, enabled on the Kafka cluster).
    "kafka-exporter": frozenset({
        "kafka_consumergroup_lag", "kafka_consumergroup_current_offset", "kafka_topic_partition_current_offset",
        "kafka_topic_partition_under_replicated_partition", "kafka_brokers",
    }),
    # Upstream exporters other components enable; listed so their panels can be checked the same way.
    "cert-manager": frozenset({
        "certmanager_certificate_expiration_timestamp_seconds", "certmanager_certificate_ready_status",
        "certmanager_certificate_renewal_timestamp_seconds",
    }),
    "cloudnative-pg": frozenset({
        "cnpg_collector_up", "cnpg_pg_replication_lag", "cnpg_pg_replication_streaming_replicas",
        "cnpg_pg_stat_archiver_failed_count", "cnpg_pg_stat_archiver_archived_count",
        "cnpg_pg_stat_archiver_last_archived_time", "cnpg_pg_stat_archiver_last_failed_time",
        "cnpg_collector_last_available_backup_timestamp", "cnpg_collector_first_recoverability_point",
        "cnpg_backends_total", "cnpg_pg_database_size_bytes",
    }),
    # The Barman Cloud Plugin's sidecar reports backups taken through the plugin (CloudNativePG >= 1.26).
    "barman-cloud-plugin": frozenset({
        "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
        "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp",
        "barman_cloud_cloudnative_pg_io_first_recoverability_point",
    }),
    "redis-exporter": frozenset({
        "redis_up", "redis_instance_info", "redis_connected_slaves", "redis_master_link_up", "redis_connected_clients",
        "redis_memory_used_bytes", "redis_commands_processed_total", "redis_sentinel_masters",
        "redis_sentinel_master_status", "redis_sentinel_master_ok_slaves",
    }),
    "strimzi-kafka": frozenset({
        "kafka_server_replicamanager_underreplicatedpartitions", "kafka_controller_kafkacontroller_offlinepartitionscount",
        "kafka_controller_kafkacontroller_activecontrollercount", "kafka_server_brokertopicmetrics_messagesin_total",
        "kafka_server_brokertopicmetrics_bytesin_total", "kafka_server_brokertopicmetrics_bytesout_total",
    }),
    "clickhouse": frozenset({
        "ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay", "ClickHouseMetrics_ReadonlyReplica",
        "ClickHouseProfileEvents_Query", "ClickHouseProfileEvents_InsertedRows", "ClickHouseMetrics_Query",
        # the Altinity operator's metrics exporter re-exports server metrics with a chi_ prefix
        "chi_clickhouse_metric_ReplicasMaxAbsoluteDelay",
    }),
    "envoy-gateway": frozenset({
        "envoy_http_downstream_rq_total", "envoy_http_downstream_rq_xx", "envoy_cluster_upstream_rq_total",
        "envoy_cluster_upstream_rq_xx", "envoy_http_downstream_rq_time_bucket",
    }),
    # Apache Polaris (the Iceberg REST catalog): Quarkus' Micrometer HTTP server timer, scraped on its management port.
    "polaris": frozenset({"http_server_requests_seconds_count", "http_server_requests_seconds_sum", "http_server_requests_seconds_max"}),
    "velero": frozenset({"velero_backup_last_successful_timestamp", "velero_backup_failure_total", "velero_backup_success_total"}),
    "external-secrets": frozenset({"externalsecret_status_condition", "externalsecret_sync_calls_error", "externalsecret_sync_calls_total"}),
    "argo-rollouts": frozenset({"rollout_info", "analysis_run_info", "rollout_phase"}),
}
"""Metric names by exporter (the platform component or upstream exporter that serves them)."""


def all_exported() -> frozenset[str]:
    """Every metric name the platform exports."""
    return frozenset().union(*EXPORTED_METRICS.values())


_KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless",
    "inf", "nan", "atan2",
})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, keywords, labels and literals left out)."""
    text = _STRING.sub('""', expr)
    text = _BRACES.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub(" ", text)
    names: set[str] = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


GRAFANA_VARIABLES: dict[str, str] = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
"""Grafana's built-in variables, replaced by a sample value before PromQL is parsed."""


def expand_grafana_variables(query: str, variables: dict[str, str]) -> str:
    """A dashboard query with Grafana's variables (``$__rate_interval``, ``$service``) replaced by sample values."""
    for name, value in sorted({**GRAFANA_VARIABLES, **{f"${k}": v for k, v in variables.items()}}.items(),
                              key=lambda kv: -len(kv[0])):
        query = query.replace(name, value)
    return query
