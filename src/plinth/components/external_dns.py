"""DNS: external-dns (the maintained kubernetes-sigs chart) keeps the public hosts' records in the
cloud's DNS zone (``edge.domain``), reading host names from the Gateway API HTTPRoutes.

Credentials come from the cloud's workload identity (IRSA / GKE Workload Identity / Azure workload
identity) bound to the chart's ServiceAccount, so no key is ever rendered.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease
from plinth.kube.scheduling import pool_placement
from plinth.kube.workloads import requests_and_limits
from plinth.spec.model import Platform
from plinth.kube.flows import CLOUD_DNS_API, CLOUD_IDENTITY, HTTPS, Flow, Pods, flow, scrape, to_api_server

NAME = "external-dns"
NAMESPACE = "platform-system"
POD_REQUESTS = (50, 128)
"""CPU millicores and memory MiB of the one external-dns pod."""
REPLICAS = 1
METRICS_PORT = 7979
"""external-dns has no leader election: exactly one pod writes the zone."""
PROVIDERS: dict[str, str] = {"aws": "aws", "gcp": "google", "azure": "azure"}
"""external-dns provider name of each cloud's DNS service (Route 53, Cloud DNS, Azure DNS)."""
POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME}


def values(platform: Platform) -> dict[str, Any]:
    """Helm values: provider and zone from the spec, Gateway API sources, TXT ownership, metrics."""
    placement = pool_placement(platform, NAMESPACE)
    result: dict[str, Any] = {
        "provider": {"name": PROVIDERS[platform.cluster.provider]},
        "sources": ["gateway-httproute"],
        "domainFilters": [platform.edge.domain],
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": platform.cluster.name,
        "interval": "1m",
        "resources": requests_and_limits(*POD_REQUESTS),
        "nodeSelector": placement["nodeSelector"],
        "serviceMonitor": {"enabled": True},
    }
    if platform.cluster.provider == "aws":
        result["env"] = [{"name": "AWS_DEFAULT_REGION", "value": platform.cluster.region}]
    if "tolerations" in placement:
        result["tolerations"] = placement["tolerations"]
    return result


def charts(platform: Platform) -> list[HelmRelease]:
    """The external-dns chart."""
    return [HelmRelease(name=NAME, chart_key="external-dns", namespace=NAMESPACE, values=values(platform), sync_wave=-4)]


def flows(platform: Platform) -> list[Flow]:
    """external-dns: the API server (Gateways, HTTPRoutes, Services), the cloud's DNS API and token service."""
    pods = Pods.of(NAMESPACE, {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME})
    return [to_api_server(pods, "external-dns watches the gateway's routes"),
            flow(pods, CLOUD_DNS_API, HTTPS, "external-dns writes the zone's records"),
            flow(pods, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the DNS API"),
            scrape(pods, METRICS_PORT)]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    charts=charts,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=flows,
)
