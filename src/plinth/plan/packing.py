"""Bin packing of pods onto identical nodes: first-fit decreasing on the dominant resource, and a lower bound.

Pods are packed per zone (the caller spreads each workload's replicas over the zones round-robin, as a
``maxSkew: 1`` zone spread does). Within a zone, pods are sorted by their dominant share (the larger of
CPU and memory request relative to what a node offers) and each goes to the first node it fits,
honouring one-pod-per-node anti-affinity. The lower bound is what no packing can beat, so the gap
between the two is the most a better algorithm could save.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Capacity:
    """What one node offers pods (after reservations and per-node DaemonSets)."""

    cpu_millicores: int
    memory_mib: int
    pods: int


@dataclass(frozen=True)
class Pod:
    """One pod to place."""

    group: str
    """Workload the pod belongs to (anti-affinity is per workload)."""
    cpu_millicores: int
    memory_mib: int
    one_per_node: bool = False
    """No two pods of ``group`` on one node."""


@dataclass
class Node:
    """A node being filled."""

    cpu_free: int
    memory_free: int
    pods_free: int
    groups: set[str] = field(default_factory=set)

    def fits(self, pod: Pod) -> bool:
        """Whether ``pod`` still fits here."""
        return (pod.cpu_millicores <= self.cpu_free and pod.memory_mib <= self.memory_free and self.pods_free >= 1
                and not (pod.one_per_node and pod.group in self.groups))

    def place(self, pod: Pod) -> None:
        """Put ``pod`` on this node."""
        self.cpu_free -= pod.cpu_millicores
        self.memory_free -= pod.memory_mib
        self.pods_free -= 1
        self.groups.add(pod.group)


@dataclass(frozen=True)
class Packing:
    """Result of packing one zone or pool."""

    nodes: int
    """Nodes opened."""
    cpu_used_millicores: int
    memory_used_mib: int
    unplaced: tuple[Pod, ...] = ()
    """Pods larger than an empty node: no node count schedules them."""


def dominant_share(pod: Pod, capacity: Capacity) -> float:
    """The larger of the pod's CPU and memory request as a share of a node."""
    return max(pod.cpu_millicores / capacity.cpu_millicores, pod.memory_mib / capacity.memory_mib, 1 / capacity.pods)


def first_fit_decreasing(pods: Iterable[Pod], capacity: Capacity) -> Packing:
    """Pack pods onto as few nodes of ``capacity`` as first-fit decreasing (dominant resource) finds.

    Pods of one ``group`` must be identical (they are: one workload's replicas).

    Pods of one workload are identical and contiguous after sorting, so the search for the next one starts
    at the node its predecessor went to (nodes only fill up): linear in pods plus nodes per workload.
    """
    empty = Node(capacity.cpu_millicores, capacity.memory_mib, capacity.pods)
    ordered = sorted(pods, key=lambda p: (-dominant_share(p, capacity), p.group, p.cpu_millicores, p.memory_mib))
    nodes: list[Node] = []
    unplaced: list[Pod] = []
    last_group, start = None, 0
    for pod in ordered:
        if not empty.fits(pod):
            unplaced.append(pod)
            continue
        if pod.group != last_group:
            last_group, start = pod.group, 0
        index = start
        while index < len(nodes) and not nodes[index].fits(pod):
            index += 1
        if index == len(nodes):
            nodes.append(Node(capacity.cpu_millicores, capacity.memory_mib, capacity.pods))
        nodes[index].place(pod)
        start = index + 1 if pod.one_per_node else index
    used_cpu = sum(p.cpu_millicores for p in ordered) - sum(p.cpu_millicores for p in unplaced)
    used_mem = sum(p.memory_mib for p in ordered) - sum(p.memory_mib for p in unplaced)
    return Packing(len(nodes), used_cpu, used_mem, tuple(unplaced))


def lower_bound(zones: Sequence[Sequence[Pod]], capacity: Capacity) -> int:
    """Fewest nodes any placement needs: total requests / node capacity per resource, anti-affinity, zones.

    Per zone it is the largest of ceil(CPU / node CPU), ceil(memory / node memory), ceil(pods / max pods)
    and the replicas of the largest one-per-node workload in that zone; pods that fit no node are left out.
    """
    total = 0
    for pods in zones:
        placeable = [p for p in pods if p.cpu_millicores <= capacity.cpu_millicores and p.memory_mib <= capacity.memory_mib]
        if not placeable:
            continue
        per_group: dict[str, int] = {}
        for pod in placeable:
            if pod.one_per_node:
                per_group[pod.group] = per_group.get(pod.group, 0) + 1
        total += max(
            math.ceil(sum(p.cpu_millicores for p in placeable) / capacity.cpu_millicores),
            math.ceil(sum(p.memory_mib for p in placeable) / capacity.memory_mib),
            math.ceil(len(placeable) / capacity.pods),
            max(per_group.values(), default=0),
            1,
        )
    return total
