"""The component registry: every platform component, registered explicitly.

Adding a component means adding one module with a ``COMPONENT`` and listing it here; a test fails
when a module of this package is not registered.
"""

from __future__ import annotations

from plinth.components import argocd, namespaces
from plinth.components import delivery
# --- platform-data (issue 4)
from plinth.components import clickhouse, kafka, postgres, redis, velero
from plinth.components.base import Component, HelmRelease, KubeObject

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
)
"""Every component, in render order."""

__all__ = ["ALL_COMPONENTS", "Component", "HelmRelease", "KubeObject"]
