"""OpenCost: the Cost Tracking dashboard's data source.

OpenCost reads the cluster's pods and nodes from the Kubernetes API and their usage from
Prometheus, prices nodes and volumes from the cloud's public price list, and exports the result as
Prometheus metrics (``node_total_hourly_cost``, ``container_cpu_allocation``...), which Prometheus
scrapes through the chart's ServiceMonitor and Grafana charts.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, HelmRelease
from plinth.components.prometheus_stack import RELEASE
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.scheduling import pool_placement
from plinth.monitoring.panels import Panel
from plinth.spec.model import Platform
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.flows import HTTPS, PRICE_API, Flow, Pods, flow, scrape, to_api_server

NAME = "opencost"
POD_REQUESTS: tuple[int, int] = (100, 512)
"""CPU millicores and memory MiB requested by the OpenCost exporter pod."""
HOURS_PER_MONTH = 730
"""Hours in an average month (365 × 24 / 12), to turn hourly prices into the design's monthly figures."""


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the opencost chart: in-cluster Prometheus, ServiceMonitor on, UI off."""
    cpu, mem = POD_REQUESTS
    return {
        "fullnameOverride": NAME,
        "opencost": {
            "exporter": {
                "defaultClusterId": platform.cluster.name,
                "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}},
            },
            "prometheus": {"internal": {"enabled": True, "serviceName": f"{RELEASE}-prometheus",
                                        "namespaceName": MONITORING_NAMESPACE, "port": 9090},
                           "thanos": {"enabled": False}},  # the chart defaults to querying a Thanos this platform does not run
            "metrics": {"serviceMonitor": {"enabled": True}},
            "ui": {"enabled": False},
            **pool_placement(platform, MONITORING_NAMESPACE),
        },
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The opencost chart in platform-monitoring."""
    return [HelmRelease(name=NAME, chart_key="opencost", namespace=MONITORING_NAMESPACE, values=values(platform), sync_wave=-2)]


NAMESPACE_HOURLY_COST = (
    "sum by (namespace) ("
    "container_cpu_allocation * on (node) group_left () avg by (node) (node_cpu_hourly_cost)"
    " + container_memory_allocation_bytes / 1024 / 1024 / 1024 * on (node) group_left () avg by (node) (node_ram_hourly_cost))"
)
"""Hourly cost of each namespace: allocated CPU and memory priced at their node's rates."""


def panels(platform: Platform) -> list[Panel]:
    """The Cost Tracking dashboard: cluster, per-pool and per-namespace cost from OpenCost's metrics."""
    return [
        Panel("cost-tracking", "Cluster cost per month (nodes + volumes)",
              (f"(sum(node_total_hourly_cost) + sum(pv_hourly_cost)) * {HOURS_PER_MONTH}",), unit="currencyUSD", kind="stat"),
        Panel("cost-tracking", "Node cost per hour by pool",
              ("sum by (label_plinth_dev_pool) (node_total_hourly_cost * on (node) group_left (label_plinth_dev_pool) "
               "max by (node, label_plinth_dev_pool) (kube_node_labels))",),
              unit="currencyUSD", legend=("{{label_plinth_dev_pool}}",)),
        Panel("cost-tracking", "Cost per hour by namespace", (NAMESPACE_HOURLY_COST,), unit="currencyUSD", legend=("{{namespace}}",)),
        Panel("cost-tracking", "Volume cost per hour", ("sum(pv_hourly_cost)",), unit="currencyUSD"),
        Panel("cost-tracking", "Spot nodes", ("sum(kubecost_node_is_spot)",), kind="stat"),
    ]


PROMETHEUS_PORT = 9090
METRICS_PORT = 9003


def flows(platform: Platform) -> list[Flow]:
    """OpenCost reads allocations from Prometheus, nodes and volumes from the API server, prices from the cloud."""
    pods = Pods.of(MONITORING_NAMESPACE, {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME})
    return [flow(pods, Pods.of(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "prometheus"}), PROMETHEUS_PORT, "cost allocation queries"),
            to_api_server(pods, "nodes, volumes and pods to price"),
            flow(pods, PRICE_API, HTTPS, "the cloud's public price list"),
            scrape(pods, METRICS_PORT)]


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    charts=charts,
    panels=panels,
    flows=flows,
)
