"""Time `plinth plan`: the default platform, 100,000 organisations, and how the time grows with organisations.

Run: .venv/bin/python benchmarks/plan_bench.py [--repeat N]
Prints wall-clock figures (best of N) for the whole command (a fresh process, as a user runs it) and for
the in-process planner (render + inventory + packing + cost on all three clouds), plus pods packed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from plinth.plan import plan_point
from plinth.spec.loader import load_platform

REPO = Path(__file__).resolve().parent.parent


def best_of(repeat: int, run) -> float:  # type: ignore[no-untyped-def]
    """Fastest of ``repeat`` runs, seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    platform = load_platform(REPO / "platform.yaml", "prod")

    print("plinth plan, whole command (fresh process, all clouds, table output):")
    for label, extra in (("default platform (1,000 orgs)", []), ("100,000 organisations", ["--orgs", "100000"])):
        seconds = best_of(args.repeat, lambda: subprocess.run(
            [sys.executable, "-m", "plinth.cli", "plan", *extra], cwd=REPO, check=True, capture_output=True))
        print(f"  {label:32s} {seconds:6.2f} s")

    print("in-process planner (render + inventory + pack + cost, 3 clouds), by organisations:")
    print(f"  {'organisations':>13s} {'pods (max)':>11s} {'nodes (max, aws)':>17s} {'seconds':>8s}")
    for orgs in (1_000, 10_000, 100_000, 1_000_000):
        point = plan_point(platform, orgs)
        seconds = best_of(args.repeat, lambda: plan_point(platform, orgs))
        aws = point.clouds["aws"].capacity
        pods = sum(p.at_max.pods for p in aws.pools)
        nodes = sum(p.at_max.nodes for p in aws.pools)
        print(f"  {orgs:>13,} {pods:>11,} {nodes:>17,} {seconds:>8.3f}")


if __name__ == "__main__":
    main()
