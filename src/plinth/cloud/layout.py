"""What the cloud layer builds, decided once from the spec and shared by the three clouds' programs.

Nothing here imports Pulumi: it turns the spec into plain records (node pools with their instance type,
subnets, public hosts) that each cloud's program then creates with its own resources, and that the tests
compare the created resources against. Buckets (names, regions, copies, retention) and workload identities
are facts the render layer shares: they come from ``plinth.spec.derived``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from plinth.catalog.instances import InstanceType, instance_for
from plinth.kube.scheduling import POOL_LABEL
from plinth.spec import derived
from plinth.spec.derived import BucketTarget
from plinth.spec.model import Platform, Taint

NETWORK_CIDR = derived.NETWORK_CIDR
"""Address space of the cluster's network; node subnets are /20s carved from it, one per zone (``plinth.spec.derived``:
NetworkPolicies name the same addresses)."""



@dataclass(frozen=True)
class PoolPlan:
    """A node pool as the cloud creates it."""

    name: str
    instance: InstanceType
    min_nodes: int
    max_nodes: int
    desired_nodes: int
    disk_gib: int
    labels: dict[str, str]
    taints: tuple[Taint, ...]


def node_pools(platform: Platform) -> list[PoolPlan]:
    """Every spec pool with its instance type (the planner's data) and its label and taints."""
    provider = platform.cluster.provider
    return [
        PoolPlan(
            name=name,
            instance=instance_for(provider, pool),
            min_nodes=pool.min_nodes,
            max_nodes=pool.max_nodes,
            desired_nodes=pool.nodes,
            disk_gib=pool.disk_gib,
            labels={POOL_LABEL: name},
            taints=tuple(pool.taints),
        )
        for name, pool in sorted(platform.node_pools.items())
    ]


def subnets(zones: list[str]) -> dict[str, tuple[str, str]]:
    """Per zone, the (private node subnet, public load-balancer/NAT subnet) CIDRs."""
    return derived.zone_subnets(zones)


def public_hosts(platform: Platform) -> list[str]:
    """Fully qualified public host names the CDN serves (services with a ``public_host``)."""
    return sorted({f"{s.public_host}.{platform.edge.domain}" for s in platform.services.values() if s.public_host})


def origin_host(platform: Platform) -> str:
    """The CDN's origin: the gateway's load balancer name under the platform's domain (``derived.origin_host``)."""
    return derived.origin_host(platform)


@dataclass(frozen=True)
class BucketLifecycle:
    """What a bucket's lifecycle rule deletes, as every cloud's program applies it."""

    noncurrent_days: int | None
    """Days after an object version stops being current before it is deleted (None: kept forever)."""
    current_days: int | None
    """Days after creation before a current object is deleted (None: never; live data such as the Iceberg warehouse)."""


def bucket_lifecycle(plan: BucketTarget) -> BucketLifecycle:
    """The lifecycle of a bucket from its retention: noncurrent versions expire after it, and current objects too for
    backups (``expire == "objects"``); live data loses only its old versions. Forever deletes nothing."""
    days = plan.retention.days
    return BucketLifecycle(noncurrent_days=days, current_days=days if plan.expire == "objects" else None)


def store_secret_value(host: str, port: int | str, username: str, password: str) -> str:
    """The secret manager value of a managed store's client secret: JSON whose properties the ExternalSecrets read
    (``host``, ``port``, ``username``, ``password``; the same on every cloud)."""
    return json.dumps({"host": host, "port": str(port), "username": username, "password": password}, sort_keys=True)
