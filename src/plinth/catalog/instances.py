"""Which instance type runs a node pool, per cloud: one data set for the planner, the checks, the cloud
layer and the simulated cluster (``catalog/data/<cloud>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from plinth.spec.model import NodePool, Provider


@dataclass(frozen=True)
class InstanceType:
    """A cloud instance type."""

    provider: str
    name: str
    vcpu: int
    memory_gib: int
    max_pods: int
    """Pods one node of this type may run (the cloud's CNI and kubelet default)."""


@lru_cache(maxsize=None)
def catalog_data(provider: Provider) -> dict[str, Any]:
    """The whole catalog file of one cloud (instances, allocatable formula, the cloud's node DaemonSets)."""
    text = (resources.files("plinth.catalog") / "data" / f"{provider}.yaml").read_text()
    return yaml.safe_load(text)


@lru_cache(maxsize=None)
def catalog(provider: Provider) -> tuple[InstanceType, ...]:
    """Every instance type Plinth may choose on ``provider``."""
    return tuple(InstanceType(provider, i["name"], i["vcpu"], i["memory_gib"], i["max_pods"])
                 for i in catalog_data(provider)["instances"])


def instance_for(provider: Provider, pool: NodePool) -> InstanceType:
    """The instance type of a pool: the exact vCPU/memory shape the spec asks for, else the smallest larger one."""
    fitting = [i for i in catalog(provider) if i.vcpu >= pool.vcpu and i.memory_gib >= pool.memory_gib]
    if not fitting:
        raise ValueError(f"no {provider} instance type has {pool.vcpu} vCPU and {pool.memory_gib} GiB")
    return min(fitting, key=lambda i: (i.vcpu - pool.vcpu, i.memory_gib - pool.memory_gib, i.name))
