"""Which instance type runs a node pool, per cloud: one data set for the planner and the Pulumi programs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from plinth.spec.model import NodePool, Provider


@dataclass(frozen=True)
class InstanceType:
    """A cloud instance type."""

    provider: str
    name: str
    vcpu: int
    memory_gib: int


@lru_cache(maxsize=None)
def catalog(provider: Provider) -> tuple[InstanceType, ...]:
    """Every instance type Plinth may choose on ``provider``."""
    text = (resources.files("plinth.cloud") / "catalog" / f"{provider}.yaml").read_text()
    data = yaml.safe_load(text)
    return tuple(InstanceType(provider, i["name"], i["vcpu"], i["memory_gib"]) for i in data["instances"])


def instance_for(provider: Provider, pool: NodePool) -> InstanceType:
    """The instance type of a pool: the exact vCPU/memory shape the spec asks for, else the smallest larger one."""
    fitting = [i for i in catalog(provider) if i.vcpu >= pool.vcpu and i.memory_gib >= pool.memory_gib]
    if not fitting:
        raise ValueError(f"no {provider} instance type has {pool.vcpu} vCPU and {pool.memory_gib} GiB")
    return min(fitting, key=lambda i: (i.vcpu - pool.vcpu, i.memory_gib - pool.memory_gib, i.name))
