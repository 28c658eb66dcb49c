"""The component registry: every platform component, registered explicitly.

Adding a component means adding one module with a ``COMPONENT`` and listing it here; a test fails
when a module of this package is not registered.
"""

from __future__ import annotations

from plinth.components import argocd, namespaces
from plinth.components import delivery
from plinth.components.base import Component, HelmRelease, KubeObject

ALL_COMPONENTS: tuple[Component, ...] = (
    namespaces.COMPONENT,
    argocd.COMPONENT,
    # delivery (issue 8): AnalysisTemplates for the services' Rollouts
    delivery.COMPONENT,
)
"""Every component, in render order."""

__all__ = ["ALL_COMPONENTS", "Component", "HelmRelease", "KubeObject"]
