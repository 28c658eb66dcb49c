"""What a component is: a small unit that knows its part of the spec and returns its objects.

Shaped like a monitoring mixin (kube-prometheus): given the platform, a component returns its
Kubernetes objects, the Helm charts it installs, its alert and recording rules, its dashboard panels
and its backup jobs. It never knows which environment it renders for: environment differences live
in the spec's overlays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal

from plinth.kube.admission import HostAccess
from plinth.kube.flows import Flow
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertTest, RuleGroup
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
    ignore_differences: tuple[dict[str, Any], ...] = ()
    """Argo CD ``ignoreDifferences`` of its Application: fields the chart writes that the API server does not keep
    (an empty list, an empty object), which server-side apply's diff would report OutOfSync forever."""


@dataclass(frozen=True)
class ExtraDestination:
    """A namespace outside its own that a component's Applications must write to, for one kind only.

    Argo CD can allow a namespace for a whole AppProject, not for some kinds: the project gets the namespace as a
    destination and an annotation naming the kinds, and ``plinth check`` (PL-ARGO-001) refuses any other kind there.
    """

    namespace: str
    group: str
    kind: str
    reason: str
    """Why the object cannot live in the component's own namespace."""


def _none(platform: Platform) -> list[Any]:
    return []


def in_cluster_only(store: Literal["postgres", "redis"], part: Callable[[Platform], list[Any]]) -> Callable[[Platform], list[Any]]:
    """``part`` of a store's component (objects, charts, alerts, panels, flows), or nothing when the spec hands the store
    to the cloud (``managed_by: cloud``): the cloud layer builds the managed database, and no operator, custom
    resource, alert or flow of the in-cluster store is rendered."""

    @wraps(part)  # keeps the component module's name: the registry test finds its module through it
    def rendered(platform: Platform) -> list[Any]:
        return part(platform) if getattr(platform.datastores, store).managed_by == "in-cluster" else []

    return rendered


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
    alerts: Callable[[Platform], list[RuleGroup]] = _none
    """Alert and recording rule groups the component contributes (gathered into PrometheusRules)."""
    alert_tests: Callable[[Platform], list[AlertTest]] = _none
    """promtool unit tests, one per alert: fires on a broken series, silent on a healthy one."""
    panels: Callable[[Platform], list[Panel]] = _none
    """Dashboard panels the component contributes to the spec's dashboards."""
    flows: Callable[[Platform], list[Flow]] = _none
    """Network connections its pods open or accept (``plinth.kube.flows``): the NetworkPolicies are rendered from
    them, and ``plinth flows`` checks them against what the policies allow over the real pods."""
    sync_wave: int = 0
    """Argo CD sync wave of the component's folder Application."""
    cluster_kinds: tuple[tuple[str, str], ...] = field(default=())
    """(group, kind) of cluster-scoped objects its Applications may create (AppProject whitelist)."""
    extra_destinations: tuple[ExtraDestination, ...] = field(default=())
    """Namespaces besides its own its Applications write to, each for one kind (AppProject destinations)."""
    ignore_differences: tuple[dict[str, Any], ...] = field(default=())
    """Argo CD ``ignoreDifferences`` entries of its folder Application: fields another controller owns
    in the cluster (e.g. HTTPRoute weights during a canary), which sync and self-heal must leave alone."""
    host_access: tuple[HostAccess, ...] = field(default=())
    """Node agents among its pods and the host features each needs (``plinth.kube.admission``): in a namespace that
    must enforce the privileged Pod Security level, only these get host access."""
