"""Argo Rollouts: the progressive-delivery controller (canary steps and analysis come later, from
the delivery spec). Its chart values are built by ``argo_rollouts_values`` alone, so enabling the
Gateway API traffic-router plugin is a change in one function.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, PodFootprint
from plinth.render.scheduling import pool_placement, spread_constraints
from plinth.render.workloads import requests_and_limits
from plinth.spec.model import Platform

NAME = "argo-rollouts"
NAMESPACE = "platform-system"
POD_REQUESTS = (100, 256)
"""CPU millicores and memory MiB of each controller pod."""
REPLICAS = 2
"""Controller replicas (leader-elected)."""
POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME}


def argo_rollouts_values(platform: Platform) -> dict[str, Any]:
    """Helm values of the argo-rollouts chart: controller replicas, requests, placement, PDB, metrics.

    Traffic-router plugins (e.g. the Gateway API plugin) go under ``controller.trafficRouterPlugins``.
    """
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


def charts(platform: Platform) -> list[HelmRelease]:
    """The argo-rollouts chart with its CRDs."""
    return [HelmRelease(name=NAME, chart_key="argo-rollouts", namespace=NAMESPACE, values=argo_rollouts_values(platform), sync_wave=-5)]


def footprints(platform: Platform) -> list[PodFootprint]:
    """The controller pods."""
    return [PodFootprint("argo-rollouts-controller", NAMESPACE, REPLICAS, *POD_REQUESTS)]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    charts=charts,
    footprints=footprints,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
)
