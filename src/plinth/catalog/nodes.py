"""What one node offers pods, per cloud: the one node model of the planner, the capacity checks and the
simulated cluster.

Allocatable capacity follows each cloud's documented kubelet reservations (the formula and its source
are in ``catalog/data/<cloud>.yaml``); the cloud's own DaemonSets (CNI, kube-proxy, CSI node plugins)
take their requests from every node on top of that.
"""

from __future__ import annotations

from dataclasses import dataclass

from plinth.catalog.instances import InstanceType, catalog_data, instance_for
from plinth.spec.model import NodePool, Provider

PROVIDERS: tuple[Provider, ...] = ("aws", "gcp", "azure")
EVICTION_HARD_MIB = 100
"""memory.available hard-eviction threshold kubelet keeps free on EKS, GKE and AKS (1.29+)."""


@dataclass(frozen=True)
class NodeShape:
    """What one node of a pool offers pods."""

    instance: InstanceType
    """The cloud instance type."""
    capacity_cpu_millicores: int
    """vCPUs of the machine, millicores."""
    capacity_memory_mib: int
    """Memory of the machine, MiB."""
    allocatable_cpu_millicores: int
    """CPU pods may request after kubelet/system reservations, millicores."""
    allocatable_memory_mib: int
    """Memory pods may request after reservations and the eviction threshold, MiB."""
    max_pods: int
    """Pods per node."""


def _tiered(amount: float, tiers: list[tuple[float, float]]) -> float:
    """Sum of rate x slice over consecutive tiers [(size, rate), ...]; the last size may be infinite."""
    reserved, left = 0.0, amount
    for size, rate in tiers:
        part = min(left, size)
        reserved += part * rate
        left -= part
        if left <= 0:
            break
    return reserved


def _cpu_reserved_eks_gke(vcpu: int) -> int:
    return int(round(_tiered(vcpu * 1000, [(1000, 0.06), (1000, 0.01), (2000, 0.005), (float("inf"), 0.0025)])))


_AKS_CPU = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))


def reserved(formula: str, vcpu: int, memory_mib: int, max_pods: int) -> tuple[int, int]:
    """CPU (m) and memory (MiB, eviction threshold included) a cloud keeps off a node from pods."""
    if formula == "eks":
        return _cpu_reserved_eks_gke(vcpu), 255 + 11 * max_pods + EVICTION_HARD_MIB
    if formula == "gke":
        gib = 1024
        mem = _tiered(memory_mib, [(4 * gib, 0.25), (4 * gib, 0.20), (8 * gib, 0.10), (112 * gib, 0.06), (float("inf"), 0.02)])
        return _cpu_reserved_eks_gke(vcpu), int(-(-mem // 1)) + EVICTION_HARD_MIB
    if formula == "aks":
        cpu = next((m for cores, m in _AKS_CPU if vcpu <= cores), _AKS_CPU[-1][1])
        by_pods_mib = (20 * max_pods + 50) * 1_000_000 / 2**20
        mem = min(by_pods_mib, 0.25 * memory_mib)
        return cpu, int(-(-mem // 1)) + EVICTION_HARD_MIB
    raise ValueError(f"unknown allocatable formula {formula!r} (expected eks, gke or aks)")


def node_shape(provider: Provider, pool: NodePool) -> NodeShape:
    """The instance type of a pool on a cloud and what one node of it offers pods."""
    instance = instance_for(provider, pool)
    cpu, mem = instance.vcpu * 1000, instance.memory_gib * 1024
    formula = catalog_data(provider)["allocatable"]["formula"]
    cpu_reserved, mem_reserved = reserved(formula, instance.vcpu, mem, instance.max_pods)
    return NodeShape(instance, cpu, mem, cpu - cpu_reserved, mem - mem_reserved, instance.max_pods)


def cloud_daemonset_requests(provider: Provider) -> tuple[int, int, int]:
    """CPU (m), memory (MiB) and pods the cloud's own DaemonSets take on every node."""
    pods = catalog_data(provider)["node_daemonsets"]["pods"]
    return sum(p["cpu_millicores"] for p in pods), sum(p["memory_mib"] for p in pods), len(pods)
