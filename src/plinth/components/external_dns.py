"""DNS: external-dns (the maintained kubernetes-sigs chart) keeps the public hosts' records in the
cloud's DNS zone (``edge.domain``), reading host names from the Gateway API HTTPRoutes.

Credentials come from the cloud's workload identity (IRSA / GKE Workload Identity / Azure workload
identity) bound to the chart's ServiceAccount, so no key is ever rendered.
"""

from __future__ import annotations

import json
from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement
from plinth.kube.workloads import requests_and_limits
from plinth.spec import derived
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
AZURE_CONFIG = "external-dns-azure"
"""ConfigMap holding external-dns's Azure configuration file."""


def sources(platform: Platform) -> list[str]:
    """What external-dns publishes: the gateway Service's origin name (the CDN's origin, from its hostname annotation)
    and, without a CDN, the public hosts of the HTTPRoutes (with a CDN the cloud layer points those at the CDN)."""
    return ["service"] if platform.edge.cdn else ["service", "gateway-httproute"]


def values(platform: Platform) -> dict[str, Any]:
    """Helm values: provider and zone from the spec, Gateway API sources, TXT ownership, metrics."""
    placement = pool_placement(platform, NAMESPACE)
    result: dict[str, Any] = {
        "provider": {"name": PROVIDERS[platform.cluster.provider]},
        "sources": sources(platform),
        "domainFilters": [platform.edge.domain],
        "policy": "sync",
        "registry": "txt",
        "txtOwnerId": platform.cluster.name,
        "interval": "1m",
        "resources": requests_and_limits(*POD_REQUESTS),
        "nodeSelector": placement["nodeSelector"],
        "serviceMonitor": {"enabled": True},
    }
    result["serviceAccount"] = {"create": True, "name": derived.workload_identity(platform, NAME).service_account,
                                "annotations": derived.identity_annotations(platform, NAME)}
    if derived.identity_pod_labels(platform):
        result["podLabels"] = derived.identity_pod_labels(platform)
    if platform.cluster.provider == "aws":
        result["env"] = [{"name": "AWS_DEFAULT_REGION", "value": platform.cluster.region}]
    if platform.cluster.provider == "gcp":
        result["extraArgs"] = [f"--google-project={platform.cluster.account}"]
    if platform.cluster.provider == "azure":
        result["extraVolumes"] = [{"name": "azure-config", "configMap": {"name": AZURE_CONFIG}}]
        result["extraVolumeMounts"] = [{"name": "azure-config", "mountPath": "/etc/kubernetes", "readOnly": True}]
    if "tolerations" in placement:
        result["tolerations"] = placement["tolerations"]
    return result


def azure_config(platform: Platform) -> list[KubeObject]:
    """Azure only: external-dns's ``azure.json`` (subscription, the zone's resource group, workload identity on; no secret
    in it: the token comes from the workload identity webhook). https://kubernetes-sigs.github.io/external-dns/latest/docs/tutorials/azure/"""
    if platform.cluster.provider != "azure":
        return []
    config = {"subscriptionId": platform.cluster.account,
              "resourceGroup": derived.azure_resource_group(platform, platform.cluster.region),
              "useWorkloadIdentityExtension": True}
    return [k8s_object("v1", "ConfigMap", AZURE_CONFIG, NAMESPACE, labels=labels(NAME, AZURE_CONFIG),
                       data={"azure.json": json.dumps(config, sort_keys=True)})]


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

AZURE_CONFIG_COMPONENT = Component(
    name=AZURE_CONFIG,
    namespace=NAMESPACE,
    objects=azure_config,
    sync_wave=-5,
)
"""Azure only: the configuration file external-dns mounts, synced before the chart (an Application of its own: the
chart's Application already carries the name ``external-dns``)."""
