"""Time `plinth run` (what `make run` runs) cold and warm, step by step: render, hydrate, validate, check, plan.

Usage: .venv/bin/python benchmarks/run_bench.py [--repeat N] [--chart-dir DIR]
Cold: one run with an empty cache (``PLINTH_CACHE_DIR`` set to a fresh folder): every chart rendered by helm, the CRD
schemas converted, every object validated, every size of the growth curve hydrated. Warm: the median of N runs from
that cache. Each run is the real command in a subprocess; the per-step times are the ones it prints on its ``time:``
line, next to the wall and CPU time of the whole process (the build machines are shared: wall time depends on their
load, CPU time much less).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STEP = re.compile(r"(\w+) ([\d.]+) s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(cache: Path, chart_dir: Path | None) -> dict[str, float]:
    """One `plinth run`: its steps' seconds, plus ``wall`` and ``cpu`` of the whole process (helm included)."""
    args = [sys.executable, "-m", "plinth.cli", "run"] + (["--chart-dir", str(chart_dir)] if chart_dir else [])
    wall, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PLINTH_CACHE_DIR": str(cache)})
    result = {"wall": time.perf_counter() - wall, "cpu": _children_cpu() - cpu}
    line = next((line for line in done.stdout.splitlines() if line.startswith("time:")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"plinth run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result.update({step: float(seconds) for step, seconds in STEP.findall(line)})
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chart-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plinth-run-bench-") as tmp:
        cold = run_once(Path(tmp), args.chart_dir)
        warm_runs = [run_once(Path(tmp), args.chart_dir) for _ in range(max(1, args.repeat))]
    warm = {key: statistics.median(run[key] for run in warm_runs) for key in warm_runs[0]}
    steps = [k for k in cold if k not in ("wall", "cpu")]
    print(f"{'':8}" + "".join(f"{k:>10}" for k in (*steps, "wall", "cpu")))
    for name, row in (("cold", cold), (f"warm x{len(warm_runs)}", warm)):
        print(f"{name:8}" + "".join(f"{row[k]:>9.1f}s" for k in (*steps, "wall", "cpu")))
    print("steps: wall seconds inside `plinth run` (its `time:` line); wall/cpu: the whole process, helm included")


if __name__ == "__main__":
    main()
