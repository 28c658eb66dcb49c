"""Argo Rollouts: the progressive-delivery controller. Its chart values are the controller's own
(replicas, requests, placement, PDB, metrics) deep-merged with what the delivery pipeline needs
(``delivery.rollouts_chart_values``: the Gateway API traffic-router plugin, and the notification that
tells this repository a Rollout completed). The notification's GitHub token is an ExternalSecret
rendered next to the chart (folder ``platform-system/argo-rollouts-config``).
"""

from __future__ import annotations

import copy
from typing import Any

from plinth.components import delivery
from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.scheduling import pool_placement, spread_constraints
from plinth.kube.workloads import requests_and_limits
from plinth.spec.model import Platform
from plinth.kube.conventions import MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS, PROMETHEUS_PORT
from plinth.kube.flows import GIT, HTTPS, Flow, Pods, flow, scrape, to_api_server

NAME = "argo-rollouts"
"""Helm release (and its Application)."""
COMPONENT_NAME = "argo-rollouts-config"
"""Folder and Application of the objects rendered next to the chart (the notification secret)."""
NAMESPACE = "platform-system"
POD_REQUESTS = (100, 256)
METRICS_PORT = 8090
"""CPU millicores and memory MiB of each controller pod."""
REPLICAS = 2
"""Controller replicas (leader-elected)."""
POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME}


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: nested dicts merge key by key, anything else in ``extra`` wins.
    Neither input is changed."""
    result = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def controller_values(platform: Platform) -> dict[str, Any]:
    """The controller's own values: replicas, requests, placement, PDB, metrics."""
    placement = pool_placement(platform, NAMESPACE)
    controller: dict[str, Any] = {
        "replicas": REPLICAS,
        "resources": requests_and_limits(*POD_REQUESTS),
        "nodeSelector": placement["nodeSelector"],
        "topologySpreadConstraints": spread_constraints(POD_LABELS, hard_zone=False),
        "pdb": {"enabled": True, "minAvailable": 1},
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
    }
    if "tolerations" in placement:
        controller["tolerations"] = placement["tolerations"]
    return {"installCRDs": True, "keepCRDs": True, "controller": controller, "dashboard": {"enabled": False}}


def argo_rollouts_values(platform: Platform) -> dict[str, Any]:
    """Helm values of the argo-rollouts chart: the controller's values deep-merged with the delivery
    pipeline's (Gateway API traffic-router plugin, rollout-completed notification)."""
    return deep_merge(controller_values(platform), delivery.rollouts_chart_values(platform))


def charts(platform: Platform) -> list[HelmRelease]:
    """The argo-rollouts chart with its CRDs."""
    return [HelmRelease(name=NAME, chart_key="argo-rollouts", namespace=NAMESPACE, values=argo_rollouts_values(platform), sync_wave=-5)]


def objects(platform: Platform) -> list[KubeObject]:
    """The notification secret (an ExternalSecret) the chart's notification engine reads."""
    return [delivery.notification_secret(platform, NAMESPACE)]


def flows(platform: Platform) -> list[Flow]:
    """Argo Rollouts: the API server, Prometheus (canary analysis), the GitHub API (the rollout-completed webhook)."""
    pods = Pods.of(NAMESPACE, {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME})
    return [to_api_server(pods, "Argo Rollouts drives Rollouts, ReplicaSets and HTTPRoute weights"),
            flow(pods, Pods.of(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS), PROMETHEUS_PORT, "canary analysis queries Prometheus"),
            flow(pods, GIT, HTTPS, "notifications: repository_dispatch to the GitHub API"),
            scrape(pods, METRICS_PORT)]


COMPONENT = Component(
    name=COMPONENT_NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    sync_wave=2,  # after the ClusterSecretStore (secret-store, wave 1) the ExternalSecret reads from
    flows=flows,
)
