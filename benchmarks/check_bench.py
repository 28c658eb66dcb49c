"""Time `plinth check` on the default platform: the checks alone (in process, rendered objects given), the whole
command in process (load + render + check + waivers), and the CLI as a user runs it (a fresh interpreter).

Run: .venv/bin/python benchmarks/check_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from plinth.checks import ALL_CHECKS, check_platforms, load_waivers
from plinth.render.pipeline import render_all
from plinth.spec.loader import load_all

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "platform.yaml"
WAIVERS = REPO / "check-waivers.yaml"


def _best_and_median(samples: list[float]) -> str:
    return f"best {min(samples) * 1000:.0f} ms, median {statistics.median(samples) * 1000:.0f} ms"


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    platforms = load_all(SPEC)
    rendered = render_all(platforms)
    waivers = load_waivers(WAIVERS)
    checks_only, whole, cli = [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = check_platforms(platforms, rendered, waivers, WAIVERS, str(SPEC))
        checks_only.append(time.perf_counter() - start)
        start = time.perf_counter()
        p = load_all(SPEC)
        check_platforms(p, render_all(p), load_waivers(WAIVERS), WAIVERS, str(SPEC))
        whole.append(time.perf_counter() - start)
    for _ in range(max(3, args.repeat // 3)):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "plinth.cli", "check", "--format", "json"], cwd=REPO, capture_output=True, check=False)
        cli.append(time.perf_counter() - start)
    print(f"default platform: {len(platforms)} environments, {len(rendered)} rendered objects, {len(ALL_CHECKS)} checks, "
          f"{len(report.findings)} findings ({report.counts()})")
    print(f"checks + waivers (in process):               {_best_and_median(checks_only)}")
    print(f"load + render + checks + waivers (in process): {_best_and_median(whole)}")
    print(f"`plinth check --format json` (new process):   {_best_and_median(cli)}")


if __name__ == "__main__":
    main()
