"""The metric conventions the platform's own services implement (their producers are declared in
``data/producers.yaml`` like every upstream exporter's)."""

from __future__ import annotations

APP_REQUESTS_TOTAL = "http_requests_total"
"""Counter every application service exports on its metrics port, with a ``code`` label (status code)."""
APP_REQUEST_DURATION = "http_request_duration_seconds"
"""Histogram of request latency every application service exports."""
APP_SERVICE_LABEL = "app_kubernetes_io_name"
"""Series label naming the service: the pod label ``app.kubernetes.io/name`` the scrape config copies
(``podTargetLabels``); the same label the delivery component's canary analysis selects on."""

PIPELINE_PROCESSED_TOTAL = "pipeline_records_processed_total"
"""Counter every queue-driven worker exports: records it consumed and handled (labels ``topic``, ``consumergroup``)."""
PIPELINE_FAILED_TOTAL = "pipeline_records_failed_total"
"""Counter every queue-driven worker exports: records it consumed but could not handle (same labels)."""
PIPELINE_WORKER_LABEL = "plinth.dev/pipeline-worker"
"""Pod label (value "true") of the services scaled on a Kafka consumer group: the producers of the pipeline counters."""
