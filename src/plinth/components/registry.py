"""The component registry: every platform component, registered explicitly, in render order.

Adding a component means adding one module with a ``COMPONENT`` and listing it here; a test fails when a
module of this package is not registered. What aggregates over all components (alert rules, dashboards, the
app-of-apps) is not a component: it is a stage of the render pipeline (``plinth.render.stages``).
"""

from __future__ import annotations

from plinth.components import (
    alloy,
    app_services,
    argo_rollouts,
    argocd,
    cert_manager,
    clickhouse,
    cluster_autoscaler,
    delivery,
    envoy_gateway,
    external_dns,
    external_secrets,
    iceberg_catalog,
    internal_pki,
    kafka,
    keda,
    loki,
    namespaces,
    network_baseline,
    opencost,
    postgres,
    prometheus_stack,
    redis,
    storage_classes,
    tempo,
    velero,
)
from plinth.components.base import Component

ALL_COMPONENTS: tuple[Component, ...] = (
    namespaces.COMPONENT,
    storage_classes.COMPONENT,
    cluster_autoscaler.COMPONENT,
    argocd.COMPONENT,
    delivery.COMPONENT,
    # platform-data: the data stores and their operators, Velero
    postgres.COMPONENT,
    clickhouse.COMPONENT,
    redis.COMPONENT,
    kafka.COMPONENT,
    iceberg_catalog.COMPONENT,
    velero.COMPONENT,
    # platform-system and platform-apps: the DNS flows every pod shares, controllers, the application services
    network_baseline.COMPONENT,
    envoy_gateway.COMPONENT,
    cert_manager.COMPONENT,
    internal_pki.COMPONENT,
    external_dns.AZURE_CONFIG_COMPONENT,
    external_dns.COMPONENT,
    external_secrets.COMPONENT,
    keda.COMPONENT,
    argo_rollouts.COMPONENT,
    app_services.COMPONENT,
    # platform-monitoring: the observability stack
    prometheus_stack.COMPONENT,
    loki.COMPONENT,
    tempo.COMPONENT,
    alloy.COMPONENT,
    opencost.COMPONENT,
)
"""Every component, in render order."""
