"""Time hydration of every chart Application of both environments: cold (empty cache) and warm (cached).

Usage: .venv/bin/python benchmarks/hydrate_bench.py [--repeat N] [--chart-dir DIR] [--workers N]
Cold runs once into a fresh temporary cache; warm is the median of N runs from that cache. Wall time and
CPU time (this process plus the helm processes) are printed, since the build machines are shared: the wall
time depends on their load, the CPU time much less. Also: renders, objects per chart, cache size, and the
CRD schema folder built from the hydrated CRDs (cold and warm).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from plinth.charts.chartdir import ChartDir, default_chart_dir, default_crd_dir
from plinth.charts.crdschemas import crd_schema_dir, hydrated_crds
from plinth.charts.helm import find_helm
from plinth.charts.hydrate import hydrate
from plinth.render.pipeline import render_all
from plinth.spec.loader import load_all

REPO = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn):
    wall, cpu = time.perf_counter(), _cpu()
    result = fn()
    return time.perf_counter() - wall, _cpu() - cpu, result


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chart-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec = REPO / "platform.yaml"
    chart_dir = args.chart_dir or default_chart_dir(spec)
    if chart_dir is None:
        raise SystemExit("no chart directory: pass --chart-dir (../shared/charts)")
    platforms = load_all(spec)
    rendered = render_all(platforms)
    charts = ChartDir(chart_dir)
    helm = find_helm(REPO)
    print(f"helm {helm.version}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, charts from {chart_dir}")
    with tempfile.TemporaryDirectory(prefix="plinth-hydrate-bench-") as tmp:
        cache = Path(tmp)
        wall, cpu, cold = _timed(lambda: hydrate(platforms, rendered, charts, helm, cache, args.workers))
        print(f"cold  : {wall:7.2f} s wall, {cpu:7.2f} s CPU  ({cold.renders} helm renders, {cold.cache_hits} reused; "
              f"{len(cold.apps)} Applications, {len(cold.objects)} objects; cache {_size(cache) / 2**20:.1f} MiB)")
        runs = [_timed(lambda: hydrate(platforms, rendered, charts, helm, cache, args.workers)) for _ in range(args.repeat)]
        warm = runs[-1][2]
        print(f"warm  : {statistics.median(r[0] for r in runs):7.2f} s wall, {statistics.median(r[1] for r in runs):7.2f} s CPU  "
              f"(median of {args.repeat}; {warm.renders} renders, {warm.cache_hits} from the cache)")
        crds = hydrated_crds(cold.objects) + hydrated_crds(rendered)
        fallback = default_crd_dir(REPO)
        wall, cpu, folder = _timed(lambda: crd_schema_dir(crds, cache, fallback))
        files = len(list(folder.glob("*/*.json")))
        print(f"CRD schemas (cold): {wall:6.2f} s wall  ({files} files, {len(crds)} CRD objects)")
        wall, cpu, _ = _timed(lambda: crd_schema_dir(crds, cache, fallback))
        print(f"CRD schemas (warm): {wall:6.2f} s wall")
    print("\nobjects per chart Application (prod): total, hooks, CRDs, kinds")
    for app in cold.apps:
        if app.application.environment != "prod":
            continue
        kinds = Counter(o.obj["kind"] for o in app.objects)
        hooks = sum(1 for o in app.objects if o.is_hook)
        print(f"  {app.application.name:28} {app.archive.ref:40} {len(app.objects):4} {hooks:3} {kinds.get('CustomResourceDefinition', 0):3}  "
              + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))


if __name__ == "__main__":
    main()
