"""The mixins aggregation: every registered component's alert and recording rules, one PrometheusRule each.

Iterates the registry (``plinth.components.ALL_COMPONENTS``, imported inside the function: the
registry imports this module), so a component that adds ``alerts()`` is monitored without touching
this file. Prometheus selects every PrometheusRule in every namespace (kube-prometheus-stack
component); the ``RULES_LABEL`` label marks the platform's own rules.
"""

from __future__ import annotations

from plinth.components.base import Component, KubeObject
from plinth.monitoring.rules import RuleGroup
from plinth.render.conventions import MONITORING_NAMESPACE
from plinth.render.objects import dns_label, k8s_object, labels
from plinth.spec.model import Platform

NAME = "prometheus-rules"
RULES_LABEL = "plinth.dev/prometheus-rules"
"""Label (value "true") on every PrometheusRule the platform renders."""


def rule_groups_by_component(platform: Platform) -> dict[str, list[RuleGroup]]:
    """Each registered component's rule groups (components without rules left out)."""
    from plinth.components import ALL_COMPONENTS

    result: dict[str, list[RuleGroup]] = {}
    for component in ALL_COMPONENTS:
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
                      labels=labels(NAME, name, **{RULES_LABEL: "true", "plinth.dev/rules-of": component}),
                      spec={"groups": [g.to_group() for g in groups]})


def objects(platform: Platform) -> list[KubeObject]:
    """A PrometheusRule per component that has rules."""
    return [prometheus_rule(component, groups) for component, groups in sorted(rule_groups_by_component(platform).items())]


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    objects=objects,
    sync_wave=1,
)
