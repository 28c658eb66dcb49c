"""A plan: capacity and cost on each cloud for one number of organisations, or a curve of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from plinth.catalog.nodes import PROVIDERS
from plinth.charts.hydrate import HydratedObject
from plinth.charts.workflow import Hydrator
from plinth.plan.capacity import CapacityPlan, plan_pools, rendered_objects, unhydrated_applications
from plinth.plan.cost import CostPlan, plan_cost
from plinth.plan.growth import growth_notes, scale_platform
from plinth.plan.inventory import inventory
from plinth.render.pipeline import RenderedObject, render_platform
from plinth.spec.model import Platform, Provider


@dataclass(frozen=True)
class CloudPlan:
    """Capacity and cost on one cloud."""

    capacity: CapacityPlan
    cost: CostPlan


@dataclass(frozen=True)
class PlanPoint:
    """The plan for one number of organisations."""

    organisations: int
    platform: Platform
    """The platform sized for ``organisations`` (the spec itself at its own sizing point)."""
    clouds: dict[str, CloudPlan]
    notes: tuple[str, ...]
    """Limits the growth model ran into."""
    unhydrated: tuple[str, ...] = ()
    """Chart Applications planned without their objects (no chart directory): "planned without charts"."""


def _hydrated_for(platform: Platform, rendered: list[RenderedObject], hydrator: Hydrator | None) -> list[HydratedObject] | None:
    if hydrator is None:
        return None
    return hydrator.hydrate({platform.environment: platform}, rendered).for_environment(platform.environment)


def plan_point(platform: Platform, organisations: int | None = None, providers: Sequence[Provider] = PROVIDERS,
               rendered: Iterable[Any] | None = None, hydrated: Iterable[HydratedObject] | None = None,
               hydrator: Hydrator | None = None) -> PlanPoint:
    """Plan ``platform`` scaled to ``organisations`` (default: the spec's) on each of ``providers``.

    At the spec's own size the given ``rendered`` objects and ``hydrated`` chart objects are planned (when
    ``hydrated`` is not given, ``hydrator`` hydrates the charts); any other size is rendered afresh from the
    scaled spec and hydrated by ``hydrator``, so replicas and volumes come out of the same components and charts.
    Without a ``hydrator`` (and no ``hydrated`` objects) the chart Applications' pods are missing: the point lists
    them in ``unhydrated``.
    """
    target = organisations or platform.load.organisations
    sized = platform if target == platform.load.organisations else scale_platform(platform, target, hydrator)
    if sized is platform and rendered is not None:
        items = [r for r in rendered if not hasattr(r, "environment") or r.environment == sized.environment]
    else:
        items = render_platform(sized)
        hydrated = None
    if hydrated is None and all(isinstance(r, RenderedObject) for r in items):
        hydrated = _hydrated_for(sized, items, hydrator)  # type: ignore[arg-type]
    hydrated = None if hydrated is None else [h for h in hydrated if h.environment == sized.environment]
    objects = rendered_objects(sized, items)
    missing = unhydrated_applications(sized, objects, hydrated)
    workloads = inventory(sized, objects + [h.obj for h in hydrated or ()])
    clouds = {}
    for provider in providers:
        capacity = replace(plan_pools(sized, workloads, provider), unhydrated=missing)
        clouds[provider] = CloudPlan(capacity, plan_cost(sized, capacity))
    return PlanPoint(target, sized, clouds, tuple(growth_notes(sized)), missing)


def plan_curve(platform: Platform, organisations: Sequence[int], providers: Sequence[Provider] = PROVIDERS,
               rendered: Iterable[Any] | None = None, hydrated: Iterable[HydratedObject] | None = None,
               hydrator: Hydrator | None = None) -> list[PlanPoint]:
    """Plans at several organisation counts, in increasing order (each size hydrated by ``hydrator``)."""
    rendered = list(rendered) if rendered is not None else None
    hydrated = list(hydrated) if hydrated is not None else None
    return [plan_point(platform, n, providers, rendered, hydrated, hydrator) for n in sorted(set(organisations))]
