"""Time the simulated cluster's toolchain build (cold and warm) and a cluster start, and their memory.

Cold: an empty cache folder (no Go module or build cache: downloads and compiles everything). Warm: the
same folder again (a stamp check). The last cold build's figures are also kept in the cache's stamp.json.

Run: .venv/bin/python benchmarks/sim_build_bench.py [--minor 1.35] [--cold DIR] [--jobs N] [--start]
  --cold DIR   build into this empty folder (PLINTH_SIM_CACHE) first; 20-40 minutes on 2 cores
  --jobs N     Go's -p for the cold build (PLINTH_SIM_GO_JOBS); fewer jobs, less memory, longer
  --start      also time `running_cluster` up to the default ServiceAccount, and its memory
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from plinth.sim.toolchain import default_minor, ensure_binaries, pinned_versions, version_dir


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total / 2**20


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--minor", default=None)
    parser.add_argument("--cold", type=Path, default=None)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--start", action="store_true")
    args = parser.parse_args()
    if args.cold:
        args.cold.mkdir(parents=True, exist_ok=True)
        if any(args.cold.iterdir()):
            raise SystemExit(f"--cold {args.cold}: the folder must be empty")
        os.environ["PLINTH_SIM_CACHE"] = str(args.cold)
    if args.jobs:
        os.environ["PLINTH_SIM_GO_JOBS"] = str(args.jobs)
    versions = pinned_versions(args.minor or default_minor(None))
    print(f"Kubernetes {versions.kubernetes}, etcd {versions.etcd}, kwok {versions.kwok}; cache {version_dir(versions).parent}")

    first = ensure_binaries(versions, log=lambda _line: None)
    if first.built:
        print(f"cold build: {first.seconds:.0f} s (steps {first.steps}), peak memory of the build tree "
              f"{first.peak_tree_rss_mib:.0f} MiB, largest single process {first.peak_process_rss_mib:.0f} MiB")
    else:
        stamp = json.loads((version_dir(versions) / "stamp.json").read_text())
        print(f"cache current; its cold build (stamp.json): {stamp['seconds']:.0f} s (steps {stamp['steps']}, -p={stamp['jobs']}), "
              f"peak memory {stamp['peak_tree_rss_mib']:.0f} MiB (largest process {stamp['peak_process_rss_mib']:.0f} MiB)")
    warm = []
    for _ in range(3):
        report = ensure_binaries(versions, log=lambda _line: None)
        assert not report.built
        warm.append(report.seconds)
    print(f"warm (stamp check incl. sha256 of the binaries): best {min(warm):.2f} s of 3")
    sizes = {p.name: p.stat().st_size / 2**20 for p in sorted((version_dir(versions) / "bin").iterdir())}
    print("binaries: " + ", ".join(f"{name} {size:.0f} MiB" for name, size in sizes.items()))

    if args.start:
        from plinth.sim.cluster import running_cluster

        started = time.monotonic()
        with running_cluster(f"bench{os.getpid()}", versions) as cluster:
            elapsed = time.monotonic() - started
            print(f"cluster start (five processes healthy, default ServiceAccount made): {elapsed:.1f} s; "
                  f"memory of the five processes {_rss_mib(list(cluster.pids.values())):.0f} MiB")


if __name__ == "__main__":
    main()
