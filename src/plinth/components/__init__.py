"""The component registry: every platform component, registered explicitly.

Adding a component means adding one module with a ``COMPONENT`` and listing it here; a test fails
when a module of this package is not registered.
"""

from __future__ import annotations

from plinth.components import argocd, namespaces
from plinth.components import delivery
# --- platform-monitoring (issue #5)
from plinth.components import (
    alloy,
    grafana_dashboards,
    loki,
    monitoring_network,
    opencost,
    prometheus_rules,
    prometheus_stack,
    tempo,
)
from plinth.components.base import Component, HelmRelease, KubeObject

ALL_COMPONENTS: tuple[Component, ...] = (
    namespaces.COMPONENT,
    argocd.COMPONENT,
    # delivery (issue 8): AnalysisTemplates for the services' Rollouts
    delivery.COMPONENT,
    # --- platform-monitoring (issue #5)
    prometheus_stack.COMPONENT,
    loki.COMPONENT,
    tempo.COMPONENT,
    alloy.COMPONENT,
    opencost.COMPONENT,
    monitoring_network.COMPONENT,
    prometheus_rules.COMPONENT,
    grafana_dashboards.COMPONENT,
)
"""Every component, in render order."""

__all__ = ["ALL_COMPONENTS", "Component", "HelmRelease", "KubeObject"]
