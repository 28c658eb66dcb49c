"""Growth: the platform for N organisations, scaled from the spec's calibration point by the load model.

``scale_platform`` returns a new, fully validated ``Platform`` whose replica ranges and volumes are those
N organisations need (rules in ``LoadModel``'s docstring): the environment's own numbers hold at its
``load.organisations`` (prod: the design's 1000), and grow or shrink from there. Rendering it and planning the result gives
the nodes and cost at N, through exactly the same path as the spec's own size.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from plinth.spec.model import Platform


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


def scale_platform(platform: Platform, organisations: int) -> Platform:
    """The platform sized for ``organisations`` by the spec's load model."""
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
    try:
        return Platform.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" + (f" (got {e['input']!r})" if not isinstance(e.get("input"), (dict, list)) else "")
                             for e in exc.errors(include_url=False)[:3])
        raise GrowthError(f"at {organisations:,} organisations the grown platform breaks the spec's bounds: {problems}") from None


def growth_notes(platform: Platform) -> list[str]:
    """What the scaled platform asks that the design's shapes cannot give (e.g. a PostgreSQL volume past the limit)."""
    notes = []
    pg = platform.datastores.postgres
    if pg.storage.size_gib > platform.load.max_volume_gib:
        notes.append(f"PostgreSQL needs {pg.storage.size_gib} GiB per instance, above the {platform.load.max_volume_gib} GiB volume "
                     "limit: one CloudNativePG cluster cannot hold it (shard by tenant or move to a managed database)")
    return notes
