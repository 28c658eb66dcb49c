"""A plan: capacity and cost on each cloud for one number of organisations, or a curve of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from plinth.catalog.nodes import PROVIDERS
from plinth.components.base import Component
from plinth.components.registry import ALL_COMPONENTS
from plinth.plan.capacity import CapacityPlan, plan_pools, rendered_objects
from plinth.plan.cost import CostPlan, plan_cost
from plinth.plan.growth import growth_notes, scale_platform
from plinth.plan.inventory import inventory
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


def plan_point(platform: Platform, organisations: int | None = None, providers: Sequence[Provider] = PROVIDERS,
               rendered: Iterable[Any] | None = None, components: Iterable[Component] = ALL_COMPONENTS) -> PlanPoint:
    """Plan ``platform`` scaled to ``organisations`` (default: the spec's) on each of ``providers``.

    At the spec's own size the given ``rendered`` objects are planned; any other size is rendered afresh
    from the scaled spec, so replicas and volumes come out of the same components.
    """
    components = tuple(components)
    target = organisations or platform.load.organisations
    sized = platform if target == platform.load.organisations else scale_platform(platform, target)
    objects = rendered_objects(sized, rendered if sized is platform else None)
    workloads = inventory(sized, objects, components)
    clouds = {}
    for provider in providers:
        capacity = plan_pools(sized, workloads, provider)
        clouds[provider] = CloudPlan(capacity, plan_cost(sized, capacity))
    return PlanPoint(target, sized, clouds, tuple(growth_notes(sized)))


def plan_curve(platform: Platform, organisations: Sequence[int], providers: Sequence[Provider] = PROVIDERS,
               rendered: Iterable[Any] | None = None) -> list[PlanPoint]:
    """Plans at several organisation counts, in increasing order."""
    rendered = list(rendered) if rendered is not None else None
    return [plan_point(platform, n, providers, rendered) for n in sorted(set(organisations))]
