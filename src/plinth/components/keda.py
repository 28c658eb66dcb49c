"""KEDA: event-driven autoscaling for the services whose signal an HPA cannot see by itself
(api-gateway's request rate from Prometheus, data-workers' Kafka consumer lag).

The operator reads Prometheus and Kafka, so its pods carry the ``uses-kafka`` label the data side's
NetworkPolicies admit; the metrics API server answers the HPAs KEDA creates.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, ExtraDestination, HelmRelease
from plinth.kube.conventions import uses_label
from plinth.kube.scheduling import pool_placement
from plinth.kube.workloads import requests_and_limits
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Platform
from plinth.kube.conventions import DATASTORE_CLIENT_PODS, MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS, PROMETHEUS_PORT
from plinth.kube.datastores import DATA_NAMESPACE
from plinth.kube.flows import Flow, Pods, flow, scrape, to_api_server, webhook

NAME = "keda"
NAMESPACE = "platform-system"
POD_REQUESTS: dict[str, tuple[int, int]] = {"operator": (100, 256), "metricServer": (100, 256), "webhooks": (50, 128)}
"""CPU millicores and memory MiB per KEDA pod."""
REPLICAS: dict[str, int] = {"operator": 2, "metricServer": 2, "webhooks": 2}
"""Replicas per KEDA part (operator leader-elected; metrics server and webhooks behind PDBs)."""
OPERATOR_POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME}
OPERATOR_EXTRA_LABELS: dict[str, str] = {uses_label("kafka"): "true"}
"""The operator reads consumer lag from Kafka, so the data side's policies must let it in."""
AUTH_READER = ExtraDestination(
    "kube-system", "rbac.authorization.k8s.io", "RoleBinding",
    "KEDA's metrics API server is an aggregated API server: its RoleBinding keda-operator-auth-reader to the Role "
    "extension-apiserver-authentication-reader must be in kube-system, where that Role and the API server's "
    "front-proxy CA (ConfigMap extension-apiserver-authentication) live "
    "(https://kubernetes.io/docs/tasks/extend-kubernetes/configure-aggregation-layer/).")
"""The one object KEDA's chart must put outside platform-system."""
METRICS_SERVER_PORT = 6443
WEBHOOK_PORT = 9443
METRICS_PORT = 8080


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the keda chart: replicas, requests per part, placement, PDBs, Prometheus metrics."""
    placement = pool_placement(platform, NAMESPACE)
    result: dict[str, Any] = {
        "operator": {"replicaCount": REPLICAS["operator"]},
        "metricsServer": {"replicaCount": REPLICAS["metricServer"]},
        "webhooks": {"replicaCount": REPLICAS["webhooks"]},
        "resources": {part: requests_and_limits(*POD_REQUESTS[part]) for part in sorted(POD_REQUESTS)},
        "podLabels": {"keda": dict(OPERATOR_EXTRA_LABELS)},
        "nodeSelector": placement["nodeSelector"],
        "podDisruptionBudget": {"operator": {"minAvailable": 1}, "metricServer": {"minAvailable": 1}, "webhooks": {"minAvailable": 1}},
        "prometheus": {
            "operator": {"enabled": True, "serviceMonitor": {"enabled": True}},
            "metricServer": {"enabled": True, "serviceMonitor": {"enabled": True}},
            "webhooks": {"enabled": True, "serviceMonitor": {"enabled": True}},
        },
    }
    if "tolerations" in placement:
        result["tolerations"] = placement["tolerations"]
    return result


def charts(platform: Platform) -> list[HelmRelease]:
    """The keda chart with its CRDs."""
    return [HelmRelease(name=NAME, chart_key="keda", namespace=NAMESPACE, values=values(platform), sync_wave=-5)]


def alerts(platform: Platform) -> list[RuleGroup]:
    """A KEDA scaler keeps failing: its HPA is blind and holds the last size."""
    minutes = platform.platform_alerts.keda_scaler_error_minutes
    return [RuleGroup("keda", (
        AlertRule(
            name="KedaScalerErrors",
            expr="sum by (namespace, scaledObject, scaler) (rate(keda_scaler_detail_errors_total[5m])) > 0",
            for_=f"{minutes}m",
            severity="warning",
            summary="KEDA scaler {{ $labels.scaler }} of {{ $labels.namespace }}/{{ $labels.scaledObject }} is failing",
            description=(f"The {{{{ $labels.scaler }}}} scaler of ScaledObject {{{{ $labels.namespace }}}}/{{{{ $labels.scaledObject }}}} "
                         f"has reported errors for {minutes} minutes: the autoscaler cannot read its metric and will not scale."),
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """Fires on a steadily growing error counter; silent on a flat one."""
    minutes = platform.platform_alerts.keda_scaler_error_minutes
    base = 'keda_scaler_detail_errors_total{namespace="platform-apps",scaledObject="data-workers",scaler="kafkaScaler",triggerIndex="0"}'
    labels = {"namespace": "platform-apps", "scaledObject": "data-workers", "scaler": "kafkaScaler"}
    return [AlertTest("KedaScalerErrors", ({"series": base, "values": "0+2x60"},), ({"series": base, "values": "3x60"},),
                      f"{minutes + 15}m", labels)]


def panels(platform: Platform) -> list[Panel]:
    """KEDA scaler errors and each scaler's current metric, on the platform-health dashboard."""
    return [
        Panel("platform-health", "KEDA scaler errors",
              ("sum by (namespace, scaledObject, scaler) (rate(keda_scaler_detail_errors_total[5m]))",),
              unit="short", legend=("{{namespace}}/{{scaledObject}} {{scaler}}",)),
        Panel("platform-health", "KEDA scaler metric value",
              ("max by (namespace, scaledObject, metric) (keda_scaler_metrics_value)",),
              legend=("{{namespace}}/{{scaledObject}} {{metric}}",)),
    ]


OPERATOR_GRPC_PORT = 9666
"""The operator's metrics service the metrics API server reads scaler values from."""


def flows(platform: Platform) -> list[Flow]:
    """KEDA: the API server; the operator reads its scalers' signals (Prometheus request rates, Kafka consumer lag)
    and serves them to the metrics API server."""
    def pods(app: str) -> Pods:
        return Pods.of(NAMESPACE, {"app": app, "app.kubernetes.io/instance": NAME})

    operator, metrics = pods("keda-operator"), pods("keda-operator-metrics-apiserver")
    result = [to_api_server(operator, "KEDA scales workloads (HPAs, ScaledObjects)"),
              to_api_server(metrics, "the metrics API server serves external metrics"),
              to_api_server(pods("keda-admission-webhooks"), "the webhooks validate ScaledObjects"),
              flow(metrics, operator, OPERATOR_GRPC_PORT, "the metrics API server reads scaler values from the operator"),
              flow(operator, Pods.of(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS), PROMETHEUS_PORT, "request-rate triggers query Prometheus")]
    result += [webhook(pods("keda-admission-webhooks"), WEBHOOK_PORT, "admission webhook for ScaledObjects"),
               webhook(metrics, METRICS_SERVER_PORT, "the external metrics API (APIService) the HPAs read")]
    result += [scrape(pods(app), METRICS_PORT) for app in ("keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks")]
    for labels, ports in DATASTORE_CLIENT_PODS["kafka"]:
        result.append(flow(operator, Pods.of(DATA_NAMESPACE, labels), ports[:1], "Kafka consumer-lag triggers read the brokers (the TLS listener, as the lag reader's SCRAM user)"))
    return result


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    cluster_kinds=OPERATOR_CLUSTER_KINDS + (("apiregistration.k8s.io", "APIService"),),
    extra_destinations=(AUTH_READER,),
    flows=flows,
)
