"""Argo CD: installed from its pinned Helm chart into the spec's namespace, then managing itself.

Bootstrap installs the same chart and values once by hand (README); from then on the ``argocd``
Application below owns the release, so upgrading Argo CD is a change to ``platform.yaml``.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, HelmRelease
from plinth.render.scheduling import pool_placement
from plinth.spec.model import Platform

NAME = "argocd"

# Argo CD dropped the health assessment of Application objects in 1.8; without it an app-of-apps
# does not wait for a child Application to be healthy before the next sync wave. This is the check
# the Argo CD docs ("Sync Waves and Hooks" / app-of-apps) give to restore it.
APPLICATION_HEALTH_LUA = """hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"""

OPERATOR_CLUSTER_KINDS: tuple[tuple[str, str], ...] = (
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
)
"""Cluster-scoped kinds an operator's chart creates (CRDs, RBAC, webhooks)."""


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the argo-cd chart, from the spec."""
    cd = platform.argocd
    placement = pool_placement(platform, cd.namespace)
    ha = cd.server_replicas > 1
    return {
        "global": {"domain": f"argocd.{platform.edge.domain}", **placement},
        "crds": {"keep": True},
        "configs": {
            "cm": {
                "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
                "application.resourceTrackingMethod": "annotation",
                "timeout.reconciliation": "180s",
            },
            "params": {"application.namespaces": cd.namespace},
        },
        "controller": {"replicas": cd.controller_replicas, "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}},
        "server": {
            "replicas": cd.server_replicas,
            "pdb": {"enabled": ha, "minAvailable": 1},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        },
        "repoServer": {
            "replicas": cd.repo_server_replicas,
            "pdb": {"enabled": cd.repo_server_replicas > 1, "minAvailable": 1},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        },
        "applicationSet": {"replicas": 2 if ha else 1},
        "redis-ha": {"enabled": ha},
        "dex": {"enabled": False},
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The argo-cd chart, installed into Argo CD's own namespace."""
    return [HelmRelease(name=NAME, chart_key="argocd", namespace=platform.argocd.namespace, values=values(platform), sync_wave=-20)]


COMPONENT = Component(
    name=NAME,
    namespace="platform-system",
    charts=charts,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
)
