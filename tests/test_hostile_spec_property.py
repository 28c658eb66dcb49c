"""A property test of hostile specs: platform.yaml mutated (keys deleted, types swapped, huge, negative, zero and unicode
values, keys renamed, subtrees shared through anchors and aliases) and rendered with `plinth render --out`.

Whatever the mutation: the exit code is 0 or 2 (never a traceback), a 2 writes nothing (no folder, no leftover), a 0
writes both folders, and each case stays under a CPU-time bound with bounded memory and no hang. The seed is fixed
(derandomized) and the budget bounded, so `make test` runs the same cases in about a minute.
"""

from __future__ import annotations

import copy
import math
import resource
import signal
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from plinth.cli import app
from tests.conftest import DEFAULT_SPEC

EXAMPLES = int(__import__("os").environ.get("PLINTH_HOSTILE_EXAMPLES", "60"))
"""Cases per run: about a minute on an idle machine (a case that loads takes ~0.3 s, one that renders ~1 s)."""
CPU_SECONDS = 8.0
"""CPU time one case may take (render of both environments plus writing ~1 s; a limit breach fails in milliseconds)."""
HANG_SECONDS = 60
"""Wall-clock time after which a case counts as hung (the machine may be shared; CPU time is the real bound)."""
MEMORY_GROWTH_KIB = 512 * 1024
"""How much the test process's peak memory may grow over all cases."""

BASE: dict[str, Any] = yaml.safe_load(DEFAULT_SPEC.read_text())

HOSTILE_VALUES = [
    None, True, False, 0, -1, 1, -(10**12), 10**9, 10**30, 2**63, 6 * 10**25, 1e308, math.inf, -math.inf, math.nan, 0.5, -0.0,
    "", " ", "0", "-1", "true", "null", "900ms", "500ms", "1e9s", "6e25s", "0 * * * *", "61 * * * *", "@every 0s", "99999999d",
    "ü", "名前", "\u202e-rtl", "a\u0000b", "🙂" * 3, "x" * 10_000, "ß" * 300, "Ab_C", "a" * 64, "../..", "/etc", "*", "&x",
    [], {}, [1, 2, 3], {"a": 1}, ["ü"], [None],
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path of the tree (mapping keys and list indexes), in document order."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, prefix + (index,))
    return found


PATHS = _paths(BASE)


def _value(path: tuple[Any, ...]) -> Any:
    node: Any = BASE
    for part in path:
        node = node[part]
    return node


def _parent(tree: Any, path: tuple[Any, ...]) -> Any:
    node = tree
    for part in path[:-1]:
        node = node[part]
    return node


def _exists(tree: Any, path: tuple[Any, ...]) -> bool:
    node = tree
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    return True


MUTATION = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(PATHS) - 1)),
    st.tuples(st.just("set"), st.integers(0, len(PATHS) - 1), st.sampled_from(range(len(HOSTILE_VALUES)))),
    st.tuples(st.just("rename"), st.integers(0, len(PATHS) - 1), st.sampled_from(["ü", "x" * 300, "9", "", "on", "<<"])),
    st.tuples(st.just("alias"), st.integers(0, len(PATHS) - 1), st.integers(0, len(PATHS) - 1)),
    st.tuples(st.just("int"), st.integers(0, len(PATHS) - 1), st.integers(min_value=-(2**70), max_value=2**70)),
    # plausible edits (small counts; weighted x3), so that a share of the cases is a valid spec that renders and writes
    *[st.tuples(st.just("int"), st.sampled_from([i for i, p in enumerate(PATHS) if isinstance(_value(p), int)
                                                 and not isinstance(_value(p), bool)]), st.integers(1, 12))] * 3,
)


def mutate(mutations: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The base spec with each mutation applied (those whose path a previous one removed are skipped)."""
    tree = copy.deepcopy(BASE)
    for mutation in mutations:
        kind, index = mutation[0], mutation[1]
        path = PATHS[index]
        if not _exists(tree, path):
            continue
        parent, last = _parent(tree, path), path[-1]
        if kind == "delete":
            del parent[last]
        elif kind == "set":
            parent[last] = copy.deepcopy(HOSTILE_VALUES[mutation[2]])
        elif kind == "int":
            parent[last] = mutation[2]
        elif kind == "rename" and isinstance(parent, dict):
            parent[mutation[2]] = parent.pop(last)
        elif kind == "alias":
            source = PATHS[mutation[2]]
            if _exists(tree, source) and not (source[: len(path)] == path):
                node = tree
                for part in source:
                    node = node[part]
                parent[last] = node  # the same object twice: the YAML gets an anchor and an alias
    return tree


def _dump(tree: dict[str, Any]) -> str:
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=4096)


class Hung(Exception):
    """A case ran past HANG_SECONDS."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise Hung(f"a case ran longer than {HANG_SECONDS} s")


def test_the_unmutated_dump_renders(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(_dump(BASE))
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(tmp_path / "out"), "--workflows-out", str(tmp_path / "wf")])
    assert result.exit_code == 0, result.output


STATS: dict[str, Any] = {"cases": 0, "exit": {}, "cpu_max": 0.0, "wall_max": 0.0}


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_hostile_specs_exit_0_or_2_and_write_nothing_on_2(tmp_path_factory: Any, mutations: list[tuple[Any, ...]]) -> None:
    folder = tmp_path_factory.mktemp("case")
    spec = folder / "platform.yaml"
    spec.write_text(_dump(mutate(mutations)), encoding="utf-8")
    out, workflows = folder / "out", folder / "wf"
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out), "--workflows-out", str(workflows)],
                                    catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    STATS["cases"] += 1
    STATS["exit"][result.exit_code] = STATS["exit"].get(result.exit_code, 0) + 1
    STATS["cpu_max"], STATS["wall_max"] = max(STATS["cpu_max"], cpu), max(STATS["wall_max"], wall)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"traceback for {mutations}:\n{trace}")
    assert result.exit_code in (0, 2), (mutations, result.exit_code, result.output[-2000:])
    assert "the renderer could not use this spec" not in result.output, (mutations, result.output[-2000:])
    assert cpu < CPU_SECONDS, f"{mutations}: {cpu:.1f} s of CPU"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before < MEMORY_GROWTH_KIB
    left = sorted(p.name for p in folder.iterdir() if p.name != "platform.yaml")
    if result.exit_code == 2:
        assert left == [], f"{mutations}: exit 2 but wrote {left}"
        assert "Traceback" not in result.output and result.output.strip(), "exit 2 needs a message"
    else:
        assert left == ["out", "wf"], left


def test_report_the_property_budget() -> None:
    """Prints what the property test ran (visible with -s); runs after it in file order."""
    if STATS["cases"]:
        print(f"\nhostile specs: {STATS['cases']} cases, exits {STATS['exit']}, max CPU {STATS['cpu_max']:.2f} s, "
              f"max wall {STATS['wall_max']:.2f} s")
