"""The cloud-managed PostgreSQL and Redis of a spec whose store says ``managed_by: cloud``, decided once.

One record per managed store (``ManagedStore``): the service, the size chosen for the spec's limits, how it survives a
zone loss, and how long it keeps backups (``catalog/data/managed-stores.yaml``). The cloud layer builds exactly this,
``plinth check`` judges it against the spec's HA and backup rows, and ``plinth plan`` prices it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from plinth.spec import derived
from plinth.spec.model import Platform
from plinth.spec.types import cpu_millicores, memory_bytes

ManagedStoreName = Literal["postgres", "redis"]


@lru_cache(maxsize=None)
def managed_store_data() -> dict[str, Any]:
    """The whole ``managed-stores.yaml``: per cloud and store, the sizes, standby and backup facts with sources."""
    return yaml.safe_load((resources.files("plinth.catalog") / "data" / "managed-stores.yaml").read_text())


@dataclass(frozen=True)
class ManagedStore:
    """A data store as the cloud runs it."""

    store: ManagedStoreName
    provider: str
    service: str
    """The cloud's service (``RDS for PostgreSQL``, ``Memorystore for Redis``...)."""
    instance_class: str
    """Instance class, tier or SKU the cloud layer creates (``db.m6i.xlarge``, ``db-custom-4-16384``, ``Balanced_B5``)."""
    vcpu: int
    memory_gib: float
    nodes: int
    """Billed nodes: the primary plus its standby or replicas."""
    synchronous_standby: bool
    """A commit is acknowledged only once a standby in another zone has it (RPO 0 through a zone loss)."""
    zone_redundant: bool
    """The standby or replicas run in other zones and take over automatically."""
    failover_seconds: int
    """Documented time a failover to the standby takes."""
    storage_gib: int
    """Provisioned storage per node (PostgreSQL: the spec's data volume; Redis: none, the data is in memory)."""
    backup_retention_days: int
    """Days the service keeps its automated backups: the spec's backup row, capped at what the service allows."""
    backup_retention_max_days: int
    pitr: bool
    """Point-in-time recovery from the service's transaction log (between automated backups)."""
    log_interval_seconds: int
    """How often the transaction log reaches the backup storage (bounds what a point-in-time restore loses)."""
    backup_copy: str | None
    """How the backups get a copy in another region (None: they stay in the cluster's region)."""
    backup_copy_doubles: bool
    """The copy is a second one (billed besides the region's), not the only one (GCP's custom backup location)."""
    sources: tuple[str, ...]
    fits: bool = True
    """The class holds the spec's CPU and memory limits (False: none does; this is the largest, and PL-MGD-001 says so)."""
    wanted: str = ""
    """The spec's limits the class was chosen for, in words."""


def _smallest(classes: list[dict[str, Any]], vcpu: float, memory_gib: float) -> tuple[dict[str, Any], bool]:
    """The smallest class holding ``vcpu`` and ``memory_gib``, or the largest (and False) when none does."""
    for entry in classes:
        if entry["vcpu"] >= vcpu and entry["memory_gib"] >= memory_gib:
            return entry, True
    return classes[-1], False


def _size(provider: str, store: ManagedStoreName, facts: dict[str, Any], vcpu: float, memory_gib: float) -> tuple[str, int, float, bool]:
    if "custom" in facts:  # Cloud SQL custom machine types
        custom = facts["custom"]
        cores = max(custom["min_vcpu"], math.ceil(vcpu))
        cores += cores % 2 if cores > 1 else 0  # custom machine types take 1 or an even number of vCPUs
        step = custom["memory_step_mib"]
        mib = max(custom["min_memory_mib"], math.ceil(memory_gib * 1024 / step) * step)
        return f"db-custom-{cores}-{mib}", cores, mib / 1024, True
    if "capacity_max_gib" in facts:  # Memorystore is sized in whole GiB
        gib = max(1, math.ceil(memory_gib))
        fits = gib <= facts["capacity_max_gib"]
        gib = min(gib, facts["capacity_max_gib"])
        return f"STANDARD_HA-{gib}GB", 0, float(gib), fits
    entry, fits = _smallest(facts["classes"], vcpu, memory_gib)
    return entry["name"], entry["vcpu"], float(entry["memory_gib"]), fits


def managed_store(platform: Platform, store: ManagedStoreName, provider: str | None = None) -> ManagedStore | None:
    """The managed ``store`` the cloud layer builds for ``platform`` (None when the store runs in the cluster), on the
    spec's cloud or on ``provider`` (the planner prices every cloud)."""
    if store not in derived.managed_stores(platform):
        return None
    provider = provider or platform.cluster.provider
    facts = managed_store_data()[provider][store]
    spec = getattr(platform.datastores, store)
    vcpu = cpu_millicores(spec.resources.limits_cpu) / 1000
    memory_gib = memory_bytes(spec.resources.limits_memory) / 2**30
    name, cores, memory, fits = _size(provider, store, facts, vcpu, memory_gib)
    standby, backups = facts["standby"], facts["backups"]
    nodes = spec.nodes if standby["nodes"] == "spec" else int(standby["nodes"])
    if store == "postgres":
        backup = platform.backup_for("postgres")
        kept = derived.backup_retention(backup).at_most(int(backups["retention_max_days"]))
        copy = backups.get("cross_region_copy") if backup.location in ("cross-region", "multi-region") else None
        storage = spec.storage.size_gib
    else:
        kept, copy, storage = 0, None, 0
    return ManagedStore(store, provider, facts["service"], name, cores, memory, nodes, bool(standby["synchronous"]),
                        bool(standby["zone_redundant"]), int(standby["failover_seconds"]), storage, kept,
                        int(backups["retention_max_days"]), bool(backups["pitr"]), int(backups.get("log_interval_seconds", 0)),
                        copy, bool(backups.get("copy_doubles", True)), (standby["source"], backups["source"]), fits, f"{vcpu:g} vCPU and {memory_gib:g} GiB")


def buildable(store: ManagedStore | None) -> ManagedStore | None:
    """``store`` when the cloud has a size for it; a ValueError naming the spec field when none holds its limits."""
    if store is not None and not store.fits:
        raise ValueError(f"datastores.{store.store}.resources: no {store.service} size holds {store.wanted}")
    return store


def managed_store_list(platform: Platform, provider: str | None = None) -> list[ManagedStore]:
    """Every managed store of ``platform`` (on its cloud, or on ``provider``), PostgreSQL first."""
    return [m for m in (managed_store(platform, "postgres", provider), managed_store(platform, "redis", provider)) if m is not None]
