"""The spec's five dashboards, provisioned to Grafana as sidecar-labelled ConfigMaps.

Panels come from every registered component (``panels()``); this component adds the ones no single
component owns: per-service performance from the services' request metrics, pipeline execution from
Kafka consumer lag and the data workers' scaling, user activity from the public services' traffic.
"""

from __future__ import annotations

import json

from plinth.components.base import Component, KubeObject
from plinth.components.prometheus_stack import DASHBOARD_LABEL
from plinth.monitoring.dashboards import SERVICE_VARIABLE, build_dashboards
from plinth.monitoring.exported_metrics import APP_REQUEST_DURATION, APP_REQUESTS_TOTAL, APP_SERVICE_LABEL
from plinth.monitoring.panels import Panel
from plinth.render.conventions import MONITORING_NAMESPACE
from plinth.render.objects import k8s_object, labels
from plinth.spec.model import Platform, QueueDepthTrigger

NAME = "grafana-dashboards"
APPS_NAMESPACE = "platform-apps"
RATE = "$__rate_interval"
SVC = APP_SERVICE_LABEL
LEGEND = "{{" + SVC + "}}"


POD_NAME_LABEL = "label_app_kubernetes_io_name"
"""kube-state-metrics' copy of the pod label ``app.kubernetes.io/name`` on ``kube_pod_labels`` (allow-listed in its values)."""


def _selected_service() -> str:
    return f'namespace="{APPS_NAMESPACE}",{SVC}=~"${SERVICE_VARIABLE}"'


def _by_service_name(expr: str, service_regex: str) -> str:
    """``expr`` (per namespace/pod) joined to the pods' ``app.kubernetes.io/name``: works for Deployments and Rollouts alike."""
    return (f"sum by ({POD_NAME_LABEL}) ({expr} * on (namespace, pod) group_left ({POD_NAME_LABEL}) "
            f'max by (namespace, pod, {POD_NAME_LABEL}) (kube_pod_labels{{namespace="{APPS_NAMESPACE}",{POD_NAME_LABEL}=~"{service_regex}"}}))')


def ready_pods(service_regex: str) -> str:
    """Ready pods per service."""
    return _by_service_name(f'max by (namespace, pod) (kube_pod_status_ready{{namespace="{APPS_NAMESPACE}",condition="true"}})', service_regex)


def service_performance_panels(platform: Platform) -> list[Panel]:
    """Per-service request rate, errors, latency against the SLO, replicas against their maximum, CPU."""
    sel = _selected_service()
    slo_seconds = platform.observability.slo.latency_p95_ms / 1000
    return [
        Panel("service-performance", "Requests per second",
              (f"sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="reqps", legend=(LEGEND,)),
        Panel("service-performance", "Error ratio (5xx)",
              (f'sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel},code=~"5.."}}[{RATE}])) / '
               f"sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="percentunit", legend=(LEGEND,)),
        Panel("service-performance", f"p95 latency (objective {platform.observability.slo.latency_p95_ms} ms)",
              (f"histogram_quantile(0.95, sum by ({SVC}, le) (rate({APP_REQUEST_DURATION}_bucket{{{sel}}}[{RATE}])))",
               f"vector({slo_seconds})"),
              unit="s", legend=(LEGEND + " p95", "objective")),
        Panel("service-performance", "Ready replicas",
              (ready_pods(f"${SERVICE_VARIABLE}"),), legend=("{{" + POD_NAME_LABEL + "}}",)),
        Panel("service-performance", "CPU used (cores)",
              (_by_service_name(f'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{namespace="{APPS_NAMESPACE}",container!=""}}[{RATE}]))',
                                f"${SERVICE_VARIABLE}"),),
              legend=("{{" + POD_NAME_LABEL + "}}",)),
    ]


def pipeline_panels(platform: Platform) -> list[Panel]:
    """Kafka consumer lag per topic and group, produce/consume rates, the queue-driven workers' replicas."""
    topics = "|".join(sorted(t.name for t in platform.datastores.kafka.topics))
    panels = [
        Panel("pipeline-execution", "Consumer lag by group and topic",
              (f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{topic=~"{topics}"}})',),
              legend=("{{consumergroup}} / {{topic}}",)),
        Panel("pipeline-execution", "Messages produced per second by topic",
              (f'sum by (topic) (rate(kafka_topic_partition_current_offset{{topic=~"{topics}"}}[{RATE}]))',),
              legend=("{{topic}}",)),
        Panel("pipeline-execution", "Messages consumed per second by group",
              (f'sum by (consumergroup, topic) (rate(kafka_consumergroup_current_offset{{topic=~"{topics}"}}[{RATE}]))',),
              legend=("{{consumergroup}} / {{topic}}",)),
    ]
    for name, service in sorted(platform.services.items()):
        trigger = service.scaling.trigger
        if isinstance(trigger, QueueDepthTrigger):
            panels.append(Panel(
                "pipeline-execution", f"{name}: replicas (max {service.scaling.max_replicas}) vs. lag / {trigger.lag_per_replica}",
                (f"sum({ready_pods(name)})",
                 f'sum(kafka_consumergroup_lag{{consumergroup="{trigger.consumer_group}",topic="{trigger.topic}"}}) / {trigger.lag_per_replica}'),
                legend=("replicas", "replicas the lag asks for")))
    return panels


def user_activity_panels(platform: Platform) -> list[Panel]:
    """Traffic of the public services (what users do), sign-in failures at auth, user-facing errors."""
    public = "|".join(sorted(n for n, s in platform.services.items() if s.public_host))
    sel = f'namespace="{APPS_NAMESPACE}",{SVC}=~"{public}"'
    panels = [
        Panel("user-activity", "User requests per second by entry service",
              (f"sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="reqps", legend=(LEGEND,)),
        Panel("user-activity", "User requests (24h)",
              (f"sum(increase({APP_REQUESTS_TOTAL}{{{sel}}}[1d]))",), kind="stat"),
        Panel("user-activity", "User-facing errors per second (5xx)",
              (f'sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel},code=~"5.."}}[{RATE}]))',), unit="reqps", legend=(LEGEND,)),
        Panel("user-activity", "User requests per second by status code",
              (f"sum by (code) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="reqps", legend=("{{code}}",)),
    ]
    if "auth" in platform.services:
        panels.append(Panel("user-activity", "Rejected sign-ins per second (auth 401/403)",
                            (f'sum(rate({APP_REQUESTS_TOTAL}{{namespace="{APPS_NAMESPACE}",{SVC}="auth",code=~"401|403"}}[{RATE}]))',),
                            unit="reqps"))
    return panels


def panels(platform: Platform) -> list[Panel]:
    """The panels this component owns (the rest come from the other components)."""
    return service_performance_panels(platform) + pipeline_panels(platform) + user_activity_panels(platform)


def objects(platform: Platform) -> list[KubeObject]:
    """One ConfigMap per spec dashboard, labelled for the Grafana sidecar."""
    result = []
    for uid, model in sorted(build_dashboards(platform).items()):
        name = f"dashboard-{uid}"
        result.append(k8s_object("v1", "ConfigMap", name, MONITORING_NAMESPACE,
                                 labels=labels(NAME, name, **{DASHBOARD_LABEL: "1"}),
                                 data={f"{uid}.json": json.dumps(model, indent=2, sort_keys=True)}))
    return result


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    objects=objects,
    panels=panels,
    sync_wave=1,
)
