"""Time how fast hostile specs fail: an alias-expansion bomb, deep flow and block nesting, a 50 MB value, a FIFO,
/dev/zero, UTF-16, plus the default spec's load for scale. Each line: wall and CPU time (best of N) and the
peak-memory growth of this process, and the first line of the located error.

Run: .venv/bin/python benchmarks/hostile_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from plinth.spec.loader import SpecError, load_all

REPO = Path(__file__).resolve().parent.parent


def _bomb(folder: Path) -> Path:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = folder / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _deep_flow(folder: Path) -> Path:
    path = folder / "deep-flow.yaml"
    path.write_text("name: " + "[" * 100_000 + "]" * 100_000 + "\n")
    return path


def _deep_block(folder: Path) -> Path:
    path = folder / "deep-block.yaml"
    path.write_text("".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v\n")
    return path


def _huge_value(folder: Path) -> Path:
    path = folder / "huge.yaml"
    with path.open("w") as handle:
        handle.write("name: " + "x" * (50 * 1024 * 1024) + "\n")
    return path


def _fifo(folder: Path) -> Path:
    path = folder / "fifo.yaml"
    os.mkfifo(path)
    return path


def _utf16(folder: Path) -> Path:
    path = folder / "utf16.yaml"
    path.write_bytes((REPO / "platform.yaml").read_text().encode("utf-16"))
    return path


def _largest(folder: Path) -> Path:
    """A file just under the size limit, of the content the reader is slowest on (flow collections)."""
    from plinth.spec.limits import MAX_SPEC_BYTES

    row = 'k{}: {{a: 1, b: [x, y, z], c: "some text here"}}\n'
    lines, size, index = [], 0, 0
    while size + len(row.format(index)) + 8 < MAX_SPEC_BYTES:
        lines.append(row.format(index))
        size += len(lines[-1])
        index += 1
    path = folder / "largest.yaml"
    path.write_text("".join(lines))
    return path


CASES: list[tuple[str, Callable[[Path], Path]]] = [
    ("alias bomb (10^10 values)", _bomb), ("deep flow nesting (100,000 [)", _deep_flow),
    ("deep block nesting (200 levels)", _deep_block), ("50 MB value", _huge_value), ("FIFO", _fifo),
    ("/dev/zero", lambda _folder: Path("/dev/zero")), ("UTF-16 spec", _utf16),
    ("largest accepted file (256 KiB, flow)", _largest), ("default spec (loads)", lambda _folder: REPO / "platform.yaml"),
]


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, make in CASES:
            path = make(folder)
            walls, cpus, outcome = [], [], "loaded"
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for _ in range(args.repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    load_all(path)
                except SpecError as exc:
                    outcome = str(exc.problems[0]).replace(str(folder) + "/", "")
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
            print(f"{name:36} wall {min(walls) * 1000:8.2f} ms  cpu {min(cpus) * 1000:8.2f} ms  peak +{grown:6.1f} MiB  {outcome[:110]}")


if __name__ == "__main__":
    main()
