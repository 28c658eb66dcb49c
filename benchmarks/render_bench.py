"""Time the foundation's main steps on the default platform: load, render, serialise, schema-validate.

Usage: .venv/bin/python benchmarks/render_bench.py [--repeat N] [--crd-dir DIR]
Prints the median of N runs per step (in-process, after one warm-up run).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from plinth.render.pipeline import render_all, to_files
from plinth.spec.loader import load_all
from plinth.validate.schemas import SchemaStore, default_crd_dir

REPO = Path(__file__).resolve().parent.parent


def _median(fn, repeat: int) -> tuple[float, object]:
    fn()
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--crd-dir", type=Path, default=None)
    args = parser.parse_args()
    crd_dir = args.crd_dir or default_crd_dir(REPO)
    spec = REPO / "platform.yaml"
    t_load, platforms = _median(lambda: load_all(spec), args.repeat)
    t_render, rendered = _median(lambda: render_all(platforms), args.repeat)
    t_yaml, files = _median(lambda: to_files(rendered), args.repeat)
    print(f"objects: {len(rendered)} in {len(platforms)} environments, {sum(len(t) for t in files.values()) / 1024:.0f} KiB of YAML")
    print(f"load + resolve spec : {t_load * 1000:8.1f} ms")
    print(f"render components   : {t_render * 1000:8.1f} ms")
    print(f"serialise YAML      : {t_yaml * 1000:8.1f} ms")
    if crd_dir is None:
        print("validate            : skipped (no CRD schema folder; pass --crd-dir)")
        return
    start = time.perf_counter()
    store = SchemaStore(next(iter(platforms.values())).cluster.kubernetes_version, crd_dir)
    problems = [p for r in rendered for p in store.check(r.obj, r.path)]
    cold = time.perf_counter() - start
    t_valid, _ = _median(lambda: [p for r in rendered for p in store.check(r.obj, r.path)], args.repeat)
    kinds = len({(r.obj["apiVersion"], r.obj["kind"]) for r in rendered})
    print(f"validate (cold)     : {cold * 1000:8.1f} ms  ({kinds} kinds: one validator per kind, {len(problems)} problems)")
    print(f"validate (warm)     : {t_valid * 1000:8.1f} ms  ({t_valid / len(rendered) * 1e6:.0f} us per object)")


if __name__ == "__main__":
    main()
