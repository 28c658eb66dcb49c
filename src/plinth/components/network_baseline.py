"""The network baseline of all four namespaces: deny everything, then let pods resolve names and let
Prometheus scrape them. Each namespace's own flows are added by the components that need them
(platform-system: ``system_network``; platform-apps: ``app_services``; platform-data and
platform-monitoring: their own components).
"""

from __future__ import annotations

from plinth.components.base import Component, KubeObject
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.network import allow, allow_dns, default_deny, peer
from plinth.spec.model import Platform

NAME = "network-baseline"
PROMETHEUS_POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": "prometheus"}
"""Labels of the Prometheus pods the Prometheus Operator runs (the scrapers)."""


def scrape_ingress(namespace: str) -> KubeObject:
    """Let Prometheus (platform-monitoring) reach every pod of ``namespace`` on any port it scrapes."""
    return allow("allow-monitoring-scrape", namespace, {}, component=NAME,
                 ingress=[{"from": [peer(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS)]}])


def objects(platform: Platform) -> list[KubeObject]:
    """default-deny, DNS egress and the monitoring scrape, in every namespace of the spec."""
    result: list[KubeObject] = []
    for namespace in sorted(platform.namespaces):
        result += [default_deny(namespace, NAME), allow_dns(namespace, NAME), scrape_ingress(namespace)]
    return result


BASELINE_WAVE = -8
"""After the platform-system flows (wave -9): Argo CD must keep its way to the API server when the deny lands."""

COMPONENT = Component(name=NAME, namespace=None, objects=objects, sync_wave=BASELINE_WAVE)
