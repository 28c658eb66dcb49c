"""The component registry: every platform component, registered explicitly.

Adding a component means adding one module with a ``COMPONENT`` and listing it here; a test fails
when a module of this package is not registered.
"""

from __future__ import annotations

from plinth.components import argocd, namespaces
from plinth.components import delivery
# --- platform-data (issue 4)
from plinth.components import clickhouse, kafka, postgres, redis, velero
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

# sys-apps: platform-system controllers, the network baseline and the application services
from plinth.components import (  # noqa: E402
    app_services,
    argo_rollouts,
    cert_manager,
    envoy_gateway,
    external_dns,
    external_secrets,
    keda,
    network_baseline,
    system_network,
)

ALL_COMPONENTS: tuple[Component, ...] = (
    namespaces.COMPONENT,
    argocd.COMPONENT,
    # delivery (issue 8): AnalysisTemplates for the services' Rollouts
    delivery.COMPONENT,
    # --- platform-data (issue 4)
    postgres.COMPONENT,
    clickhouse.COMPONENT,
    redis.COMPONENT,
    kafka.COMPONENT,
    velero.COMPONENT,
    # sys-apps
    network_baseline.COMPONENT,
    system_network.COMPONENT,
    envoy_gateway.COMPONENT,
    cert_manager.COMPONENT,
    external_dns.COMPONENT,
    external_secrets.COMPONENT,
    keda.COMPONENT,
    argo_rollouts.COMPONENT,
    app_services.COMPONENT,
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
