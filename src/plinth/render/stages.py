"""Aggregation stages of the render pipeline: what is built from every component's output together.

A component knows its own part of the spec; these stages look at all of them at once: every component's
alert and recording rules become one PrometheusRule per component, every component's dashboard panels are
laid out into the spec's dashboards (sidecar-labelled ConfigMaps), every component's flows become the
NetworkPolicies. Each stage's objects go into their own
folder and Application, like a component's. The app-of-apps is the last stage (``plinth.render.gitops``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from plinth.components.base import Component, KubeObject
from plinth.components import namespaces
from plinth.components.prometheus_stack import DASHBOARD_LABEL
from plinth.kube import admission
from plinth.kube.admission import HostAccess, host_access_policy
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.kube.objects import dns_label, k8s_object, labels
from plinth.monitoring.dashboards import build_dashboards
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import RuleGroup
from plinth.render import network
from plinth.spec.model import Platform

RULES_LABEL = "plinth.dev/prometheus-rules"
"""Label (value "true") on every PrometheusRule the platform renders."""


@dataclass(frozen=True)
class Stage:
    """An aggregation over every component, rendered into its own folder and Application."""

    name: str
    """Folder and Application name."""
    namespace: str | None
    """Namespace of its objects (None: objects in several namespaces, in the cluster folder)."""
    sync_wave: int
    """Argo CD sync wave of its Application (after the components whose CRDs it uses)."""
    objects: Callable[[Platform, Sequence[Component]], list[KubeObject]]
    """Its objects, from the platform and every component."""
    cluster_kinds: tuple[tuple[str, str], ...] = ()
    """(group, kind) of cluster-scoped objects it renders (AppProject whitelist)."""

    @property
    def as_component(self) -> Component:
        """The stage's folder as the app-of-apps sees it (a component with only objects)."""
        return Component(name=self.name, namespace=self.namespace, sync_wave=self.sync_wave, cluster_kinds=self.cluster_kinds)


def rule_groups_by_component(platform: Platform, components: Sequence[Component]) -> dict[str, list[RuleGroup]]:
    """Each component's rule groups (components without rules left out)."""
    result: dict[str, list[RuleGroup]] = {}
    for component in components:
        groups = list(component.alerts(platform))
        if groups:
            result[component.name] = groups
    return result


def prometheus_rule(component: str, groups: list[RuleGroup]) -> KubeObject:
    """One component's rule groups as a PrometheusRule (monitoring.coreos.com/v1)."""
    names = [g.name for g in groups]
    if len(names) != len(set(names)):
        raise ValueError(f"component {component}: rule group names must be unique, got {names}")
    name = dns_label(component, "rules")
    return k8s_object("monitoring.coreos.com/v1", "PrometheusRule", name, MONITORING_NAMESPACE,
                      labels=labels(PROMETHEUS_RULES.name, name, **{RULES_LABEL: "true", "plinth.dev/rules-of": component}),
                      spec={"groups": [g.to_group() for g in groups]})


def _prometheus_rules(platform: Platform, components: Sequence[Component]) -> list[KubeObject]:
    return [prometheus_rule(component, groups) for component, groups in sorted(rule_groups_by_component(platform, components).items())]


def all_panels(platform: Platform, components: Sequence[Component]) -> list[Panel]:
    """Every panel every component contributes, in registry order."""
    return [panel for component in components for panel in component.panels(platform)]


def dashboards(platform: Platform, components: Sequence[Component]) -> dict[str, dict]:
    """The spec's dashboards (Grafana JSON models by UID) laid out from every component's panels."""
    return build_dashboards(platform, all_panels(platform, components))


def _dashboards(platform: Platform, components: Sequence[Component]) -> list[KubeObject]:
    result = []
    for uid, model in sorted(dashboards(platform, components).items()):
        name = f"dashboard-{uid}"
        result.append(k8s_object("v1", "ConfigMap", name, MONITORING_NAMESPACE,
                                 labels=labels(GRAFANA_DASHBOARDS.name, name, **{DASHBOARD_LABEL: "1"}),
                                 data={f"{uid}.json": json.dumps(model, indent=2, sort_keys=True)}))
    return result


PROMETHEUS_RULES = Stage("prometheus-rules", MONITORING_NAMESPACE, 1, _prometheus_rules)
"""Every component's alert and recording rules, one PrometheusRule each (Prometheus selects them all)."""
GRAFANA_DASHBOARDS = Stage("grafana-dashboards", MONITORING_NAMESPACE, 1, _dashboards)
"""The spec's dashboards, one sidecar-labelled ConfigMap each."""

def host_access_agents(components: Sequence[Component]) -> list[HostAccess]:
    """Every node agent the components declare, with the host features it needs."""
    return [agent for component in components for agent in component.host_access]


def _host_access(platform: Platform, components: Sequence[Component]) -> list[KubeObject]:
    agents = host_access_agents(components)
    return [obj for name, ns in sorted(platform.namespaces.items()) if ns.pod_security == "privileged"
            for obj in host_access_policy(name, agents)]


HOST_ACCESS = Stage(admission.COMPONENT_NAME, None, namespaces.COMPONENT.sync_wave, _host_access,
                    cluster_kinds=(("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
                                   ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding")))
"""In each namespace enforcing the privileged Pod Security level, host access for the declared node agents' pods only
(``plinth.kube.admission``); with the namespaces, before any pod."""

NETWORK_POLICIES = Stage(network.NAME, None, network.SYNC_WAVE, network.network_policies)
"""Every NetworkPolicy, rendered from every component's flows (``plinth.render.network``)."""

ALL_STAGES: tuple[Stage, ...] = (PROMETHEUS_RULES, GRAFANA_DASHBOARDS, HOST_ACCESS, NETWORK_POLICIES)
"""Every aggregation stage, rendered after the components."""
