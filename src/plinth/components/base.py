"""What a component is: a small unit that knows its part of the spec and returns its objects.

Shaped like a monitoring mixin (kube-prometheus): given the platform, a component returns its
Kubernetes objects, the Helm charts it installs, its alert and recording rules, its dashboard panels
and its backup jobs. It never knows which environment it renders for: environment differences live
in the spec's overlays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plinth.spec.model import Platform

KubeObject = dict[str, Any]


@dataclass(frozen=True)
class HelmRelease:
    """An upstream Helm chart installed by an Argo CD Application (values rendered as data)."""

    name: str
    """Release (and Application) name."""
    chart_key: str
    """Key of the pinned chart in ``platform.charts``."""
    namespace: str
    """Namespace the release installs into."""
    values: dict[str, Any]
    """Helm values, as plain data."""
    sync_wave: int = -5
    """Argo CD sync wave of the Application (operators and CRDs before what uses them)."""
    skip_crds: bool = False
    """Leave the chart's CRDs out (when another release owns them)."""


def _none(platform: Platform) -> list[Any]:
    return []


@dataclass(frozen=True)
class Component:
    """A registered platform component."""

    name: str
    """Component name: folder and Argo CD Application name."""
    namespace: str | None
    """Namespace its objects live in; None for cluster-scoped groups (namespaces, CRDs)."""
    objects: Callable[[Platform], list[KubeObject]] = _none
    """Plain Kubernetes objects, synced from the rendered folder."""
    charts: Callable[[Platform], list[HelmRelease]] = _none
    """Upstream Helm charts, each synced by its own Application."""
    alerts: Callable[[Platform], list[dict[str, Any]]] = _none
    """Prometheus rule groups (``{name, rules}``) the component contributes."""
    dashboards: Callable[[Platform], list[dict[str, Any]]] = _none
    """Grafana dashboard panels or dashboards the component contributes."""
    backups: Callable[[Platform], list[KubeObject]] = _none
    """Backup objects (schedules, CronJobs) the component contributes, if kept apart from ``objects``."""
    sync_wave: int = 0
    """Argo CD sync wave of the component's folder Application."""
    cluster_kinds: tuple[tuple[str, str], ...] = field(default=())
    """(group, kind) of cluster-scoped objects its Applications may create (AppProject whitelist)."""
