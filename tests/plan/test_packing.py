"""First-fit decreasing and its lower bound: hand-checked cases and properties over random pods."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plinth.plan.packing import Capacity, Pod, dominant_share, first_fit_decreasing, lower_bound

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
    pods = _consistent(pods)
    result = first_fit_decreasing(pods, Capacity(1000, 1000, max_pods), record=True)
    assert len(result.placements) == result.nodes
    for node in result.placements:
        assert node, "a node was opened and left empty"
        assert sum(p.cpu_millicores for p in node) <= 1000
        assert sum(p.memory_mib for p in node) <= 1000
        assert len(node) <= max_pods
        exclusive = [p.group for p in node if p.one_per_node]
        assert len(exclusive) == len(set(exclusive))
    assert sum(len(n) for n in result.placements) + result.unplaced_count == len(pods)


@settings(max_examples=200, deadline=None)
@given(pods_strategy, st.integers(1, 12))
def test_runs_place_pods_exactly_as_one_by_one_first_fit_would(pods: list[Pod], max_pods: int) -> None:
    capacity = Capacity(1000, 1000, max_pods)
    pods = _consistent(pods)
    ordered = sorted(pods, key=lambda p: (-dominant_share(p, capacity), p.group, p.cpu_millicores, p.memory_mib))
    free: list[list[object]] = []  # [cpu, memory, pods, groups]
    for pod in ordered:
        if pod.cpu_millicores > 1000 or pod.memory_mib > 1000:
            continue
        for node in free:
            if (pod.cpu_millicores <= node[0] and pod.memory_mib <= node[1] and node[2] >= 1  # type: ignore[operator]
                    and not (pod.one_per_node and pod.group in node[3])):  # type: ignore[operator]
                break
        else:
            node = [1000, 1000, max_pods, set()]
            free.append(node)
        node[0] -= pod.cpu_millicores  # type: ignore[operator]
        node[1] -= pod.memory_mib  # type: ignore[operator]
        node[2] -= 1  # type: ignore[operator]
        node[3].add(pod.group)  # type: ignore[attr-defined]
    assert first_fit_decreasing(pods, capacity).nodes == len(free)
