"""First-fit decreasing and its lower bound: hand-checked cases and properties over random pods."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plinth.plan.packing import Capacity, Pod, first_fit_decreasing, lower_bound

NODE = Capacity(cpu_millicores=1000, memory_mib=1000, pods=10)


def test_decreasing_order_packs_what_arrival_order_would_not() -> None:
    # In arrival order first-fit needs 3 nodes (300+600 | 700 | 400); sorted it pairs 700+300 and 600+400.
    pods = [Pod("a", 300, 10), Pod("b", 600, 10), Pod("c", 700, 10), Pod("d", 400, 10)]
    assert first_fit_decreasing(pods, NODE).nodes == 2
    assert lower_bound([pods], NODE) == 2


def test_the_dominant_resource_decides() -> None:
    memory_heavy = [Pod("m", 100, 600)] * 3
    assert first_fit_decreasing(memory_heavy, NODE).nodes == 3
    assert lower_bound([memory_heavy], NODE) == 2  # 1800 MiB / 1000 -> 2; FFD cannot pair 600 + 600


def test_one_pod_per_node_opens_a_node_per_replica() -> None:
    pods = [Pod("db", 100, 100, one_per_node=True)] * 4 + [Pod("web", 100, 100)] * 4
    result = first_fit_decreasing(pods, NODE)
    assert result.nodes == 4
    assert lower_bound([pods], NODE) == 4


def test_pod_count_limit() -> None:
    assert first_fit_decreasing([Pod("tiny", 1, 1)] * 25, NODE).nodes == 3


def test_a_pod_larger_than_a_node_is_unplaced_not_counted() -> None:
    result = first_fit_decreasing([Pod("huge", 2000, 10), Pod("ok", 500, 10)], NODE)
    assert result.nodes == 1 and [p.group for p in result.unplaced] == ["huge"]


pods_strategy = st.lists(
    st.builds(Pod, st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 1000), st.integers(0, 1000), st.booleans()),
    max_size=60,
)


def _consistent(pods: list[Pod]) -> list[Pod]:
    # A workload's pods are identical: take each group's first pod as its shape.
    shape = {}
    for pod in pods:
        shape.setdefault(pod.group, pod)
    return [shape[p.group] for p in pods]


@settings(max_examples=300, deadline=None)
@given(st.lists(pods_strategy, min_size=1, max_size=3), st.integers(1, 12))
def test_the_lower_bound_is_never_above_the_packing(zones: list[list[Pod]], max_pods: int) -> None:
    capacity = Capacity(1000, 1000, max_pods)
    zones = [_consistent(z) for z in zones]
    packed = sum(first_fit_decreasing(z, capacity).nodes for z in zones)
    assert lower_bound(zones, capacity) <= packed


@settings(max_examples=200, deadline=None)
@given(pods_strategy, st.integers(1, 12))
def test_every_node_respects_its_capacity_and_anti_affinity(pods: list[Pod], max_pods: int) -> None:
    from plinth.plan import packing

    capacity = Capacity(1000, 1000, max_pods)
    opened: list[packing.Node] = []
    original = packing.Node

    class Spy(original):  # type: ignore[misc,valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            opened.append(self)
            self.placed: list[Pod] = []

        def place(self, pod: Pod) -> None:
            super().place(pod)
            self.placed.append(pod)

    packing.Node = Spy  # type: ignore[misc]
    try:
        result = first_fit_decreasing(_consistent(pods), capacity)
    finally:
        packing.Node = original  # type: ignore[misc]
    nodes = [n for n in opened if n.placed]
    assert len(nodes) == result.nodes
    for node in nodes:
        assert sum(p.cpu_millicores for p in node.placed) <= 1000
        assert sum(p.memory_mib for p in node.placed) <= 1000
        assert len(node.placed) <= max_pods
        exclusive = [p.group for p in node.placed if p.one_per_node]
        assert len(exclusive) == len(set(exclusive))
    assert sum(len(n.placed) for n in nodes) + len(result.unplaced) == len(pods)
