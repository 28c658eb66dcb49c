"""Before/after of hostile input and operator mistakes: each scenario runs the `plinth` CLI of a given source tree
(this checkout by default, or another one with --src, e.g. an export of an older commit) in a throw-away sandbox, in
its own process with a wall-clock limit and an address-space limit, and prints the exit code, CPU and wall time, peak memory (of the largest run so far: a figure that does not
grow means the case stayed small)
and what happened (traceback, files lost, error line).

Run: .venv/bin/python benchmarks/hostile_scenarios.py [--src DIR] [--only NAME] [--timeout S] [--memory-mib M]
Compare: git archive <commit> src platform.yaml | tar -x -C /tmp/before && ... --src /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Scenario:
    """One hostile case: ``prepare(sandbox, spec)`` edits the sandbox and returns the CLI arguments; ``judge`` looks
    at the sandbox afterwards and returns what was lost (empty: nothing)."""

    name: str
    prepare: Callable[[Path, Path], list[str]]
    judge: Callable[[Path], str] = lambda _sandbox: ""


def _set(spec: Path, dotted: str, value: object) -> None:
    doc = yaml.safe_load(spec.read_text())
    parts = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _changed(dotted: str, value: object, *command: str) -> Callable[[Path, Path], list[str]]:
    def prepare(sandbox: Path, spec: Path) -> list[str]:
        _set(spec, dotted, value)
        return [*command, "--spec", str(spec)]
    return prepare


def _render_into(sandbox: Path, spec: Path, out: Path) -> list[str]:
    return ["render", "--spec", str(spec), "--out", str(out), "--workflows-out", str(sandbox / "wf")]


def _lost(*names: str) -> Callable[[Path], str]:
    def judge(sandbox: Path) -> str:
        return ", ".join(n for n in names if not (sandbox / n).exists())
    return judge


def _file(content: Callable[[Path], bytes | str]) -> Callable[[Path, Path], list[str]]:
    def prepare(sandbox: Path, spec: Path) -> list[str]:
        data = content(spec)
        (spec.write_bytes if isinstance(data, bytes) else spec.write_text)(data)
        return ["render", "--check", "--spec", str(spec)]
    return prepare


def _bomb(_spec: Path) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\nname: *a9\n"


def _fifo(sandbox: Path, spec: Path) -> list[str]:
    spec.unlink()
    os.mkfifo(spec)
    return ["render", "--check", "--spec", str(spec)]


def _rendered_path_src(sandbox: Path, spec: Path) -> list[str]:
    (sandbox / "src").mkdir()
    (sandbox / "src" / "code.py").write_text("print('hand-written')\n")
    _set(spec, "git.rendered_path", "src")
    return ["render", "--spec", str(spec), "--workflows-out", str(sandbox / "wf")]


def _cwd_waivers(sandbox: Path, spec: Path) -> list[str]:
    other = sandbox / "other"
    other.mkdir()
    shutil.move(spec, other / "platform.yaml")
    shutil.copy(REPO / "check-waivers.yaml", sandbox / "check-waivers.yaml")  # the current folder's, another spec's
    return ["check", "--spec", str(other / "platform.yaml"), "--format", "json"]


def _promote_symlink(sandbox: Path, spec: Path) -> list[str]:
    real = sandbox / "specs" / "platform.yaml"
    real.parent.mkdir()
    shutil.move(spec, real)
    spec.symlink_to(real)
    return ["promote", "--spec", str(spec), "--service", "auth", "--digest", "sha256:" + "d" * 64, "--env", "staging"]


def _symlink_kept(sandbox: Path) -> str:
    return "" if (sandbox / "platform.yaml").is_symlink() else "the symbolic link (replaced by a plain file)"


SCENARIOS = [
    Scenario("render --out <repository root>", lambda s, p: _render_into(s, p, s), _lost(".git", "platform.yaml")),
    Scenario("render --out . (the spec's folder)", lambda s, p: ["render", "--spec", "platform.yaml", "--out", ".",
                                                                 "--workflows-out", "wf"], _lost("platform.yaml")),
    Scenario("git.rendered_path: src", _rendered_path_src, _lost("src/code.py")),
    Scenario("alias bomb (10^9 values)", _file(_bomb)),
    Scenario("deep nesting (100,000 [)", _file(lambda _s: "name: " + "[" * 100_000 + "]" * 100_000 + "\n")),
    Scenario("50 MB value", _file(lambda _s: "name: " + "x" * (50 * 1024 * 1024) + "\n")),
    Scenario("spec is /dev/zero", lambda s, p: ["render", "--check", "--spec", "/dev/zero"]),
    Scenario("spec is a FIFO", _fifo),
    Scenario("UTF-16 spec", _file(lambda p: p.read_text().encode("utf-16"))),
    Scenario("undecodable byte", _file(lambda p: p.read_bytes().replace(b"name: ", b"name: \xff", 1))),
    Scenario("nodes: true", _changed("node_pools.apps.nodes", True, "render", "--check")),
    Scenario("rto_seconds: 900ms", _changed("datastores.postgres.ha.rto_seconds", "900ms", "render", "--check")),
    Scenario("canary pause 500ms", _changed("delivery.canary_steps.0.pause_seconds", "500ms", "render", "--check")),
    Scenario("canary pause 6e25 s", _changed("delivery.canary_steps.0.pause_seconds", 6 * 10**25, "render", "--check")),
    Scenario("CNPG schedule 0 * * * *", _changed("backups.0.schedule", "0 * * * *", "render", "--check")),
    Scenario("cron 61 * * * *", _changed("backups.1.schedule", "61 2 * * *", "render", "--check")),
    Scenario("max_replicas 10^8", _changed("services.frontend.scaling.max_replicas", 10**8, "plan")),
    Scenario("plan --orgs 10^12", lambda s, p: ["plan", "--spec", str(p), "--orgs", str(10**12)]),
    Scenario("Redis max lag 0", _changed("datastores.redis.min_replicas_max_lag_seconds", 0, "render", "--check")),
    Scenario("waivers of the current folder", _cwd_waivers),
    Scenario("promote a symlinked spec", _promote_symlink, _symlink_kept),
]


def _limit(memory_mib: int, cpu_seconds: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mib * 1024 * 1024, memory_mib * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    return apply


def run(scenario: Scenario, src: Path, timeout: float, memory_mib: int, cpu_seconds: int) -> str:
    """Run one scenario in a fresh sandbox; return its result line."""
    with tempfile.TemporaryDirectory(prefix="plinth-hostile-") as tmp:
        sandbox = Path(tmp) / "repo"
        sandbox.mkdir()
        (sandbox / ".git").mkdir()
        (sandbox / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        spec = sandbox / "platform.yaml"
        shutil.copy(src / "platform.yaml", spec)
        args = scenario.prepare(sandbox, spec)
        env = {**os.environ, "PYTHONPATH": str(src / "src")}
        code = "from plinth.cli import app; app(prog_name='plinth')"
        started = time.perf_counter()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_before = usage.ru_utime + usage.ru_stime
        try:
            done = subprocess.run([sys.executable, "-c", code, *args], cwd=sandbox, env=env, capture_output=True, text=True,
                                  timeout=timeout, preexec_fn=_limit(memory_mib, cpu_seconds), errors="replace")
            wall = time.perf_counter() - started
            output = done.stderr + done.stdout
            exit_code = str(done.returncode)
        except subprocess.TimeoutExpired:
            wall, output, exit_code = timeout, "", "hung"
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - cpu_before
        peak = usage.ru_maxrss / 1024
        if exit_code == str(-24):  # SIGXCPU
            what = f"killed at the {cpu_seconds} s CPU limit"
        elif "MemoryError" in output or "Cannot allocate memory" in output:
            what = "MemoryError"
        elif "Traceback" in output:
            what = "traceback: " + next((l for l in reversed(output.splitlines()) if l.strip()), "")
        elif exit_code == "hung":
            what = f"no answer after {timeout:.0f} s"
        elif "--format" in args and done.stdout.lstrip().startswith("{"):
            summary = json.loads(done.stdout)["summary"]
            what = f"{summary['error']} error(s), {summary.get('waived', 0)} waived (waiver file {json.loads(done.stdout).get('waivers_file')})"
        else:
            lines = [l for l in output.splitlines() if l.strip() and "────" not in l]
            what = " ".join(lines[:2]).replace(str(sandbox), "<sandbox>")
        lost = scenario.judge(sandbox)
        if lost:
            what = f"LOST {lost}; " + what
        return (f"{scenario.name:34} exit {exit_code:>4}  cpu {cpu:6.1f} s  wall {wall:6.1f} s  peak {peak:6.0f} MiB  "
                f"{what[:140]}")


def main() -> None:
    """Print one line per scenario."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", type=Path, default=REPO, help="a source tree holding src/plinth and platform.yaml")
    parser.add_argument("--only", help="run the scenarios whose name contains this")
    parser.add_argument("--timeout", type=float, default=180.0, help="wall-clock seconds (a hang; the machine may be busy)")
    parser.add_argument("--cpu-seconds", type=int, default=30, help="CPU seconds a scenario may use")
    parser.add_argument("--memory-mib", type=int, default=2048)
    args = parser.parse_args()
    print(f"plinth from {args.src.resolve()}; limits: {args.cpu_seconds} s CPU, {args.timeout:.0f} s wall, "
          f"{args.memory_mib} MiB address space")
    for scenario in SCENARIOS:
        if args.only and args.only not in scenario.name:
            continue
        print(run(scenario, args.src.resolve(), args.timeout, args.memory_mib, args.cpu_seconds), flush=True)


if __name__ == "__main__":
    main()
