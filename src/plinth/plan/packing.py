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
from dataclasses import dataclass


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

    def room_for(self, pod: Pod) -> int:
        """How many more pods like ``pod`` fit here (by resources and pod count)."""
        room = self.pods_free
        if pod.cpu_millicores:
            room = min(room, self.cpu_free // pod.cpu_millicores)
        if pod.memory_mib:
            room = min(room, self.memory_free // pod.memory_mib)
        return max(room, 0)

    def place(self, pod: Pod, count: int = 1) -> None:
        """Put ``count`` pods like ``pod`` on this node."""
        self.cpu_free -= pod.cpu_millicores * count
        self.memory_free -= pod.memory_mib * count
        self.pods_free -= count


@dataclass(frozen=True)
class Packing:
    """Result of packing one zone or pool."""

    nodes: int
    """Nodes opened."""
    cpu_used_millicores: int
    memory_used_mib: int
    unplaced: tuple[Pod, ...] = ()
    """Pods larger than an empty node (one entry per workload): no node count schedules them."""
    unplaced_count: int = 0
    """How many pods that is."""
    placements: tuple[tuple[Pod, ...], ...] = ()
    """Per node, the pods placed there (only when asked to ``record``: for checking the packing)."""


def dominant_share(pod: Pod, capacity: Capacity) -> float:
    """The larger of the pod's CPU and memory request as a share of a node."""
    return max(pod.cpu_millicores / capacity.cpu_millicores, pod.memory_mib / capacity.memory_mib, 1 / capacity.pods)


def group_pods(pods: Iterable[Pod]) -> list[tuple[Pod, int]]:
    """Identical pods of a workload as (pod, count), in first-seen order."""
    counts: dict[Pod, int] = {}
    for pod in pods:
        counts[pod] = counts.get(pod, 0) + 1
    return list(counts.items())


def first_fit_decreasing(pods: Iterable[Pod] | Sequence[tuple[Pod, int]], capacity: Capacity, record: bool = False) -> Packing:
    """Pack pods onto as few nodes of ``capacity`` as first-fit decreasing (dominant resource) finds.

    ``pods`` are single pods or (pod, count) pairs. Workloads go in decreasing order of dominant share;
    each pod goes to the first node it fits. A workload's pods are identical, so they are placed as a run:
    on each node from the first that fits, as many as fit (one if the workload is one-per-node), which is
    exactly what placing them one by one would do, in time linear in nodes per workload instead of per pod.
    """
    items = list(pods)
    grouped = group_pods(items) if items and isinstance(items[0], Pod) else [(p, c) for p, c in items if c > 0]  # type: ignore[misc]
    ordered = sorted(grouped, key=lambda pc: (-dominant_share(pc[0], capacity), pc[0].group, pc[0].cpu_millicores, pc[0].memory_mib))
    empty = Node(capacity.cpu_millicores, capacity.memory_mib, capacity.pods)
    nodes: list[Node] = []
    placed: list[list[Pod]] = []
    unplaced: list[Pod] = []
    unplaced_count = used_cpu = used_mem = 0
    for pod, count in ordered:
        if empty.room_for(pod) < 1:
            unplaced.append(pod)
            unplaced_count += count
            continue
        used_cpu += pod.cpu_millicores * count
        used_mem += pod.memory_mib * count
        left, at = count, 0
        while left:
            if at == len(nodes):
                nodes.append(Node(capacity.cpu_millicores, capacity.memory_mib, capacity.pods))
                placed.append([])
            room = nodes[at].room_for(pod)
            take = min(left, room, 1 if pod.one_per_node else left)
            if take:
                nodes[at].place(pod, take)
                left -= take
                if record:
                    placed[at].extend([pod] * take)
            at += 1
    return Packing(len(nodes), used_cpu, used_mem, tuple(unplaced), unplaced_count,
                   tuple(tuple(p) for p in placed) if record else ())


def lower_bound(zones: Sequence[Iterable[Pod] | Sequence[tuple[Pod, int]]], capacity: Capacity) -> int:
    """Fewest nodes any placement needs: total requests / node capacity per resource, anti-affinity, zones.

    Per zone it is the largest of ceil(CPU / node CPU), ceil(memory / node memory), ceil(pods / max pods)
    and the replicas of the largest one-per-node workload in that zone; pods that fit no node are left out.
    """
    total = 0
    for zone in zones:
        items = list(zone)
        grouped = group_pods(items) if items and isinstance(items[0], Pod) else list(items)  # type: ignore[arg-type]
        placeable = [(p, c) for p, c in grouped if c > 0 and p.cpu_millicores <= capacity.cpu_millicores
                     and p.memory_mib <= capacity.memory_mib]
        if not placeable:
            continue
        total += max(
            math.ceil(sum(p.cpu_millicores * c for p, c in placeable) / capacity.cpu_millicores),
            math.ceil(sum(p.memory_mib * c for p, c in placeable) / capacity.memory_mib),
            math.ceil(sum(c for _, c in placeable) / capacity.pods),
            max((c for p, c in placeable if p.one_per_node), default=0),
            1,
        )
    return total
