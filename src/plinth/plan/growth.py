"""Growth: the platform for N organisations, scaled from the spec's calibration point by the load model.

``scale_platform`` returns a new, fully validated ``Platform`` whose replica ranges and volumes are those
N organisations need (rules in ``LoadModel``'s docstring): the environment's own numbers hold at its
``load.organisations`` (prod: the design's 1000), and grow or shrink from there. Rendering it and planning the result gives
the nodes and cost at N, through exactly the same path as the spec's own size.

Namespace quotas grow with what they must admit: for each dimension of a namespace's ResourceQuota, what its pods
need at the grown size (``plinth.plan.demand``, the computation the quota check PL-QUOTA-001 judges with) times the
spec's own headroom at its calibration point (quota / need there, at least 1), rounded up to whole cores, GiB, pods
or claims, and never below the spec's value. A smaller platform keeps the spec's quotas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from plinth.charts.workflow import Hydrator
from plinth.plan.capacity import plan_capacity
from plinth.plan.demand import NamespaceDemand, namespace_demand
from plinth.quantities import QuantityError, gibibytes
from plinth.render.pipeline import render_platform
from plinth.spec.model import Platform
from plinth.spec.types import cpu_millicores, memory_bytes


class GrowthError(ValueError):
    """The platform grown to a number of organisations breaks a bound of the spec (replicas, volume sizes)."""


def load_factor(platform: Platform, organisations: int) -> float:
    """f = organisations / the organisations the environment's numbers are sized for."""
    return organisations / platform.load.organisations


def _up(value: float) -> int:
    """Round up, ignoring float noise (3 x 1.0000000001 is 3)."""
    return math.ceil(value - 1e-9)


def scaled_replicas(min_replicas: int, max_replicas: int, factor: float, exponent: float) -> tuple[int, int]:
    """Replica range at load factor ``factor``: x factor^exponent, never below the spec's minimum."""
    growth = factor ** exponent
    low = max(min_replicas, _up(min_replicas * growth))
    return low, max(low, _up(max_replicas * growth))


def scaled_volume(size_gib: int, factor: float, exponent: float) -> int:
    """A volume at load factor ``factor`` (at least 1 GiB)."""
    return max(1, _up(size_gib * factor ** exponent))


def split_volume(total_gib: int, units: int, max_volume_gib: int) -> tuple[int, int]:
    """(units, GiB per unit) holding ``total_gib`` with no unit above ``max_volume_gib`` and never fewer units than now."""
    count = max(units, _up(total_gib / max_volume_gib))
    return count, max(1, _up(total_gib / count))


def _mib(quantity: str) -> int:
    return memory_bytes(quantity) // 2**20


QUOTA_DIMENSIONS: dict[str, tuple[str, Callable[[Any], int], Callable[[int], Any]]] = {
    "pods": ("pods", int, int),
    "requests_cpu": ("cpu", cpu_millicores, lambda m: str(_up(m / 1000))),
    "requests_memory": ("memory_mib", _mib, lambda mib: f"{_up(mib / 1024)}Gi"),
    "limits_cpu": ("limits_cpu", cpu_millicores, lambda m: str(_up(m / 1000))),
    "limits_memory": ("limits_memory_mib", _mib, lambda mib: f"{_up(mib / 1024)}Gi"),
    "persistent_volume_claims": ("claims", int, int),
    "requests_storage": ("storage_gib", gibibytes, lambda gib: f"{gib}Gi"),
}
"""Quota field -> (its ``NamespaceDemand`` figure, the quota read in that figure's unit, a readable quota of a figure)."""


def namespace_needs(platform: Platform, hydrator: Hydrator | None = None) -> dict[str, NamespaceDemand]:
    """What each namespace of ``platform`` needs at maximum replicas plus rollout surge, as the quota check counts it:
    its rendered tree with the chart Applications' pods when ``hydrator`` is given (without it the charts' pods are
    not counted, at the calibration point and the grown size alike)."""
    rendered = render_platform(platform)
    hydrated = None
    if hydrator is not None:
        hydrated = hydrator.hydrate({platform.environment: platform}, rendered).for_environment(platform.environment)
    return namespace_demand(platform, plan_capacity(platform, rendered, hydrated=hydrated))[0]


def scaled_quotas(platform: Platform, calibration: dict[str, NamespaceDemand],
                  grown: dict[str, NamespaceDemand]) -> dict[str, dict[str, Any]]:
    """Per namespace, the quota fields that must grow: need at the grown size x the spec's quota/need at its
    calibration point (at least 1), rounded up readably; fields whose quota already holds that are left out."""
    changes: dict[str, dict[str, Any]] = {}
    for name, ns in sorted(platform.namespaces.items()):
        need = grown.get(name)
        if need is None:
            continue
        before = calibration.get(name, NamespaceDemand())
        for field_name, (figure, read, write) in QUOTA_DIMENSIONS.items():
            quota = read(getattr(ns.quota, field_name))
            needed, needed_before = getattr(need, figure), getattr(before, figure)
            headroom = max(1.0, quota / needed_before) if needed_before > 0 else 1.0
            wanted = _up(needed * headroom)
            if wanted > quota:
                changes.setdefault(name, {})[field_name] = write(wanted)
    return changes


def _validated(data: dict[str, Any], organisations: int) -> Platform:
    try:
        return Platform.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" + (f" (got {e['input']!r})" if not isinstance(e.get("input"), (dict, list)) else "")
                             for e in exc.errors(include_url=False)[:3])
        raise GrowthError(f"at {organisations:,} organisations the grown platform breaks the spec's bounds: {problems}") from None


def scale_platform(platform: Platform, organisations: int, hydrator: Hydrator | None = None) -> Platform:
    """The platform sized for ``organisations`` by the spec's load model, its namespace quotas grown with what the
    namespaces then need (counting the chart Applications' pods when ``hydrator`` is given; see the module docstring)."""
    load = platform.load
    factor = load_factor(platform, organisations)
    data: dict[str, Any] = platform.model_dump(mode="python", round_trip=True)
    data["load"]["organisations"] = organisations
    for service in data["services"].values():
        scaling = service["scaling"]
        scaling["min_replicas"], scaling["max_replicas"] = scaled_replicas(
            scaling["min_replicas"], scaling["max_replicas"], factor, load.replica_exponent)

    def grow(size: int) -> int:
        return scaled_volume(size, factor, load.storage_exponent)

    stores = data["datastores"]
    pg = stores["postgres"]
    pg["storage"]["size_gib"] = grow(pg["storage"]["size_gib"])
    pg["wal_storage"]["size_gib"] = grow(pg["wal_storage"]["size_gib"])
    ch = stores["clickhouse"]
    total = grow(ch["storage"]["size_gib"]) * ch["shards"]
    ch["shards"], ch["storage"]["size_gib"] = split_volume(total, ch["shards"], load.max_volume_gib)
    kafka = stores["kafka"]
    total = grow(kafka["storage"]["size_gib"]) * kafka["brokers"]
    kafka["brokers"], kafka["storage"]["size_gib"] = split_volume(total, kafka["brokers"], load.max_volume_gib)
    for store in ("prometheus", "loki", "tempo"):
        data["observability"][store]["storage_gib"] = grow(data["observability"][store]["storage_gib"])
    grown = _validated(data, organisations)
    if organisations <= load.organisations:
        return grown
    try:
        changes = scaled_quotas(platform, namespace_needs(platform, hydrator), namespace_needs(grown, hydrator))
    except QuantityError as exc:
        raise GrowthError(f"at {organisations:,} organisations a pod's resources cannot be read to size the quotas: {exc}") from None
    if not changes:
        return grown
    for name, fields in changes.items():
        data["namespaces"][name]["quota"].update(fields)
    return _validated(data, organisations)


def growth_notes(platform: Platform) -> list[str]:
    """What the scaled platform asks that the design's shapes cannot give (e.g. a PostgreSQL volume past the limit)."""
    notes = []
    pg = platform.datastores.postgres
    if pg.storage.size_gib > platform.load.max_volume_gib:
        notes.append(f"PostgreSQL needs {pg.storage.size_gib} GiB per instance, above the {platform.load.max_volume_gib} GiB volume "
                     "limit: one CloudNativePG cluster cannot hold it (shard by tenant or move to a managed database)")
    return notes
