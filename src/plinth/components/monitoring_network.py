"""NetworkPolicies of platform-monitoring: the flows the observability stack needs, on top of the
namespace's default-deny and DNS baseline (rendered by the network baseline component, not here).

Prometheus scrapes every namespace and the nodes; every monitoring pod accepts its scrapes.
Grafana is reached from the public gateway's proxies and queries Prometheus, Alertmanager, Loki and
Tempo. Alertmanager gossips with its peers and sends to PagerDuty/chat/the heartbeat service over HTTPS. Alloy pushes
to the Loki gateway and receives the services' OTLP traces, which it forwards to Tempo's distributor; Loki and Tempo write their
buckets over HTTPS. NetworkPolicy cannot name external hosts, so internet HTTPS (object storage,
PagerDuty, the API server's address) is allowed by port to any address, only for the pods that need it.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, KubeObject
from plinth.components.alloy import OTLP_PORTS as ALLOY_OTLP_PORTS
from plinth.components.prometheus_stack import POD_LABELS
from plinth.components.tempo import OTLP_PORTS
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.network import allow, peer, ports
from plinth.spec.model import Platform

NAME = "monitoring-network"
GATEWAY_NAMESPACE = "platform-system"
APPS_NAMESPACE = "platform-apps"
GATEWAY_PROXY_LABELS = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/managed-by": "envoy-gateway"}
"""Labels Envoy Gateway puts on its proxy pods (the public gateway)."""

LOKI = {"app.kubernetes.io/name": "loki"}
LOKI_GATEWAY = {"app.kubernetes.io/name": "loki", "app.kubernetes.io/component": "gateway"}
TEMPO = {"app.kubernetes.io/name": "tempo"}
TEMPO_DISTRIBUTOR = {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "distributor"}
TEMPO_QUERY_FRONTEND = {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "query-frontend"}
ALLOY = {"app.kubernetes.io/name": "alloy"}
OPENCOST = {"app.kubernetes.io/name": "opencost"}

PORTS = {"prometheus": 9090, "alertmanager": 9093, "alertmanager-mesh": 9094, "grafana": 3000,
         "loki-gateway": 8080, "tempo-http": 3200, "kubelet": 10250, "node-exporter": 9100,
         "operator-webhook": 10250}
"""Container ports the flows use."""
HTTPS = (443,)
API_SERVER_PORTS = (443, 6443)
"""The Kubernetes API server (managed control plane: outside the pod network)."""


def _anywhere() -> list[dict[str, Any]]:
    return [{"ipBlock": {"cidr": "0.0.0.0/0"}}]


def _to_anywhere(port_numbers: tuple[int, ...]) -> dict[str, Any]:
    return {"to": _anywhere(), "ports": ports(port_numbers)}


def _from(peers: list[dict[str, Any]], port_numbers: tuple[int, ...] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": peers}
    if port_numbers:
        rule["ports"] = ports(port_numbers)
    return rule


def _to(peers: list[dict[str, Any]], port_numbers: tuple[int, ...] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"to": peers}
    if port_numbers:
        rule["ports"] = ports(port_numbers)
    return rule


def policies(platform: Platform) -> list[KubeObject]:
    """Every NetworkPolicy of platform-monitoring's own flows."""
    ns = MONITORING_NAMESPACE
    prometheus, alertmanager, grafana = POD_LABELS["prometheus"], POD_LABELS["alertmanager"], POD_LABELS["grafana"]
    all_pods_everywhere = {"namespaceSelector": {}, "podSelector": {}}
    return [
        allow("prometheus-scrape-egress", ns, prometheus, component=NAME, egress=[
            _to([all_pods_everywhere]),  # every pod of every namespace (ServiceMonitors / PodMonitors)
            _to_anywhere((PORTS["kubelet"], PORTS["node-exporter"]) + API_SERVER_PORTS),  # nodes (hostNetwork) and the API server
        ]),
        allow("accept-scrapes-from-prometheus", ns, {}, component=NAME, ingress=[_from([peer(ns, prometheus)])]),
        allow("prometheus-query-ingress", ns, prometheus, component=NAME, ingress=[
            _from([peer(ns, None)], (PORTS["prometheus"],)),  # Grafana, OpenCost, Tempo's metrics-generator (remote write)
            _from([peer(GATEWAY_NAMESPACE, None)], (PORTS["prometheus"],)),  # KEDA triggers, Argo Rollouts analysis
        ]),
        allow("alertmanager", ns, alertmanager, component=NAME,
              ingress=[
                  _from([peer(ns, prometheus), peer(ns, grafana)], (PORTS["alertmanager"],)),
                  {"from": [peer(ns, alertmanager)], "ports": ports((PORTS["alertmanager-mesh"],)) + ports((PORTS["alertmanager-mesh"],), "UDP")},
              ],
              egress=[
                  {"to": [peer(ns, alertmanager)], "ports": ports((PORTS["alertmanager-mesh"],)) + ports((PORTS["alertmanager-mesh"],), "UDP")},
                  _to_anywhere(HTTPS),  # PagerDuty Events API, chat webhook
              ]),
        allow("prometheus-to-alertmanager", ns, prometheus, component=NAME,
              egress=[_to([peer(ns, alertmanager)], (PORTS["alertmanager"],))]),
        allow("grafana", ns, grafana, component=NAME,
              ingress=[_from([peer(GATEWAY_NAMESPACE, GATEWAY_PROXY_LABELS)], (PORTS["grafana"],))],
              egress=[
                  _to([peer(ns, prometheus)], (PORTS["prometheus"],)),
                  _to([peer(ns, alertmanager)], (PORTS["alertmanager"],)),
                  _to([peer(ns, LOKI_GATEWAY)], (PORTS["loki-gateway"],)),
                  _to([peer(ns, TEMPO_QUERY_FRONTEND)], (PORTS["tempo-http"],)),
                  _to_anywhere(API_SERVER_PORTS),  # the dashboard/datasource sidecars watch ConfigMaps
              ]),
        allow("loki", ns, LOKI, component=NAME,
              ingress=[_from([peer(ns, LOKI)])],  # memberlist, gRPC and HTTP between Loki's own pods
              egress=[_to([peer(ns, LOKI)]), _to_anywhere(HTTPS)]),  # its peers; the log bucket
        allow("loki-gateway-ingress", ns, LOKI_GATEWAY, component=NAME,
              ingress=[_from([peer(ns, ALLOY), peer(ns, grafana)], (PORTS["loki-gateway"],))]),
        allow("tempo", ns, TEMPO, component=NAME,
              ingress=[_from([peer(ns, TEMPO)])],
              egress=[_to([peer(ns, TEMPO)]), _to([peer(ns, prometheus)], (PORTS["prometheus"],)), _to_anywhere(HTTPS)]),
        allow("tempo-otlp-ingress", ns, TEMPO_DISTRIBUTOR, component=NAME,
              ingress=[_from([peer(ns, ALLOY)], OTLP_PORTS[:1])]),  # the collector forwards OTLP gRPC
        allow("tempo-query-ingress", ns, TEMPO_QUERY_FRONTEND, component=NAME,
              ingress=[_from([peer(ns, grafana)], (PORTS["tempo-http"],))]),
        allow("alloy", ns, ALLOY, component=NAME,
              ingress=[_from([peer(APPS_NAMESPACE, None)], ALLOY_OTLP_PORTS)],  # the services' OTLP traces
              egress=[_to([peer(ns, LOKI_GATEWAY)], (PORTS["loki-gateway"],)), _to([peer(ns, TEMPO_DISTRIBUTOR)], OTLP_PORTS[:1]),
                      _to_anywhere(API_SERVER_PORTS)]),
        allow("opencost", ns, OPENCOST, component=NAME,
              egress=[_to([peer(ns, prometheus)], (PORTS["prometheus"],)), _to_anywhere(HTTPS + API_SERVER_PORTS[1:])]),
        allow("kube-state-metrics", ns, POD_LABELS["kube-state-metrics"], component=NAME, egress=[_to_anywhere(API_SERVER_PORTS)]),
        *[allow(f"webhook-{job}-job", ns, {"app": f"kube-prometheus-stack-admission-{job}"}, component=NAME,
                egress=[_to_anywhere(API_SERVER_PORTS)])  # the chart's jobs that create and patch the webhook certificate
          for job in ("create", "patch")],
        allow("prometheus-operator", ns, POD_LABELS["operator"], component=NAME,
              ingress=[_from(_anywhere(), (PORTS["operator-webhook"],))],  # admission webhook calls from the API server
              egress=[_to_anywhere(API_SERVER_PORTS)]),
    ]


def objects(platform: Platform) -> list[KubeObject]:
    """The monitoring namespace's NetworkPolicies."""
    return policies(platform)


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    objects=objects,
    sync_wave=-4,
)
