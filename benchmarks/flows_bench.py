"""Time the network flow analysis of both environments: the engine alone (every source x destination pair over
every policy) and its parts, and the scaling of the engine with the number of pod groups.

Usage: .venv/bin/python benchmarks/flows_bench.py [--repeat N] [--chart-dir DIR] [--scale N,N,...]
Hydration comes from the cache (.cache/hydrate; run `plinth hydrate` first for a warm start) and is timed apart.
Figures are the median of N runs: wall and CPU seconds (the build machines are shared). --scale copies the real
pod groups and their policies into extra namespaces to show how the engine grows (pairs grow with the square).
"""

from __future__ import annotations

import argparse
import copy
import resource
import statistics
import time
from pathlib import Path

from plinth.charts.workflow import hydrate_spec
from plinth.components.registry import ALL_COMPONENTS
from plinth.flows.analysis import analyse
from plinth.flows.inventory import Sourced, build_inventory, sourced_objects
from plinth.render.network import declared_flows
from plinth.render.pipeline import render_all
from plinth.spec.loader import load_all

REPO = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _median(fn, repeat: int) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def _scaled(objects: list[Sourced], copies: int) -> list[Sourced]:
    """The objects plus ``copies`` copies of every namespaced pod-running object and policy in new namespaces."""
    extra: list[Sourced] = []
    for n in range(copies):
        for item in objects:
            namespace = (item.obj.get("metadata") or {}).get("namespace")
            if not namespace or not namespace.startswith("platform-"):
                continue
            obj = copy.deepcopy(item.obj)
            obj["metadata"]["namespace"] = f"{namespace}-copy{n}"
            extra.append(Sourced(obj, item.path.replace(namespace, obj["metadata"]["namespace"]), item.application, item.wave, item.hook))
    return objects + extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chart-dir", type=Path, default=None)
    parser.add_argument("--scale", default="0,1,3", help="Extra copies of the platform's namespaces to time the engine with.")
    args = parser.parse_args()
    spec = REPO / "platform.yaml"
    platforms = load_all(spec)
    rendered = render_all(platforms)
    wall, cpu, hydration = _median(lambda: hydrate_spec(spec, platforms, rendered, args.chart_dir), 1)
    print(f"hydration (cache {'warm' if hydration.renders == 0 else 'partly cold'}): {wall:.2f} s wall, {cpu:.2f} s CPU in this process")
    for env, platform in sorted(platforms.items()):
        objects = sourced_objects(platform, rendered, hydration.for_environment(env))
        declared = declared_flows(platform, ALL_COMPONENTS)
        w_inv, c_inv, inventory = _median(lambda: build_inventory(platform, objects), args.repeat)
        w_all, c_all, report = _median(lambda: analyse(platform, objects, declared), args.repeat)
        print(f"{env}: {len(objects)} objects, {len(inventory.pods)} pod groups + {len(inventory.externals)} address regions, "
              f"{len(inventory.policies)} policies, {len(report.flows)} flows, {report.pairs} pairs")
        print(f"  inventory {w_inv * 1000:.0f} ms wall / {c_inv * 1000:.0f} ms CPU; whole analysis {w_all:.2f} s wall / {c_all:.2f} s CPU "
              f"(median of {args.repeat})")
    prod = platforms.get("prod") or next(iter(platforms.values()))
    base = sourced_objects(prod, rendered, hydration.for_environment(prod.environment))
    declared = declared_flows(prod, ALL_COMPONENTS)
    for copies in (int(c) for c in args.scale.split(",") if c.strip()):
        objects = _scaled(base, copies)
        wall, cpu, report = _median(lambda: analyse(prod, objects, declared), args.repeat)
        print(f"scale x{copies + 1}: {len(report.inventory.pods)} pod groups, {len(report.inventory.policies)} policies, "
              f"{report.pairs} pairs: {wall:.2f} s wall / {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
