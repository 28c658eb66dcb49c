"""Go operators the tree pins, built from the Go module proxy at the chart's app version, to run out of cluster.

Each operator gets a wrapper module (``require <module> <version>`` plus a ``tool`` line for its main
package). Replace directives of the operator's own go.mod that point at other module versions (not at
local folders) are copied into the wrapper: Go ignores a dependency's replaces, and operators such as
Argo Rollouts pin their k8s.io modules that way. Binaries land in ``<sim cache>/operators/<name>-<version>/``
with a stamp like the control plane's.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from plinth.sim.toolchain import ToolchainError, _go_version, _jobs, _proxy_get, _run_measured, _sha256, cache_root
from plinth.spec.model import Platform


@dataclass(frozen=True)
class GoOperator:
    """Where an operator's source lives on the proxy and which chart pins its version."""

    chart_key: str
    """Key of ``charts`` in the spec whose ``app_version`` is the operator's release."""
    module: str
    package: str
    """Main package (the operator's manager binary)."""
    binary: str


OPERATORS: dict[str, GoOperator] = {
    "cloudnative-pg": GoOperator("cloudnative-pg", "github.com/cloudnative-pg/cloudnative-pg",
                                 "github.com/cloudnative-pg/cloudnative-pg/cmd/manager", "manager"),
    "argo-rollouts": GoOperator("argo-rollouts", "github.com/argoproj/argo-rollouts",
                                "github.com/argoproj/argo-rollouts/cmd/rollouts-controller", "rollouts-controller"),
}
"""Operators this module knows how to build (more follow the same pattern)."""


def operator_version(platform: Platform, name: str) -> str:
    """The operator's release as the spec's chart pins it (``app_version``), with a leading ``v``."""
    chart = platform.charts[OPERATORS[name].chart_key]
    version = chart.app_version
    return version if version.startswith("v") else f"v{version}"


def copied_replaces(go_mod: str) -> list[str]:
    """The replace directives of a go.mod that point at module versions (local-folder replaces dropped)."""
    lines: list[str] = []
    for block in re.finditer(r"^replace\s+\(\n(.*?)^\)", go_mod, flags=re.MULTILINE | re.DOTALL):
        lines += [line.strip() for line in block.group(1).splitlines()]
    lines += [m.group(1).strip() for m in re.finditer(r"^replace\s+([^(\s].*)$", go_mod, flags=re.MULTILINE)]
    lines = [line.split("//")[0].strip() for line in lines]
    return [line for line in lines if "=>" in line and not re.search(r"=>\s*\.{0,2}/", line)]


def wrapper_go_mod(operator: GoOperator, version: str, upstream_go_mod: str, go_version: str) -> str:
    """The wrapper module's go.mod."""
    go_directive = ".".join(go_version.removeprefix("go").split(".")[:2]) + ".0"
    replaces = copied_replaces(upstream_go_mod)
    text = f"module plinth.sim/operator\n\ngo {go_directive}\n\nrequire {operator.module} {version}\n"
    if replaces:
        text += "\nreplace (\n" + "".join(f"\t{line}\n" for line in replaces) + ")\n"
    return text + f"\ntool {operator.package}\n"


def proxy_path(module: str) -> str:
    """A module path as the Go module proxy spells it (capital letters as ``!`` + lower case)."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)


def operator_dir(name: str, version: str) -> Path:
    """The cache folder of one operator release."""
    return cache_root() / "operators" / f"{name}-{version}"


def ensure_operator(name: str, version: str, *, log: Callable[[str], None] = print) -> Path:
    """Build (or reuse) an operator's binary; return its path."""
    if name not in OPERATORS:
        raise ToolchainError(f"no Go build known for operator {name!r} (known: {', '.join(sorted(OPERATORS))})")
    operator = OPERATORS[name]
    folder = operator_dir(name, version)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "bin" / operator.binary
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        go_version = _go_version()
        stamp_path = folder / "stamp.json"
        if stamp_path.exists() and target.exists():
            stamp = json.loads(stamp_path.read_text())
            if stamp.get("go") == go_version and stamp.get("sha256") == _sha256(target):
                return target
        upstream = _proxy_get(f"{proxy_path(operator.module)}/@v/{version}.mod")
        if upstream is None:
            raise ToolchainError(f"the Go module proxy has no {operator.module} {version}")
        source = folder / "src"
        source.mkdir(exist_ok=True)
        (source / "go.mod").write_text(wrapper_go_mod(operator, version, upstream, go_version))
        (source / "go.sum").unlink(missing_ok=True)
        started, peak = time.monotonic(), [0]
        _run_measured(["go", "mod", "tidy"], source, log, peak)
        staging = folder / "bin.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _run_measured(["go", "build", f"-p={_jobs()}", "-ldflags", "-s -w", "-o", str(staging / operator.binary), operator.package],
                      source, log, peak)
        shutil.rmtree(folder / "bin", ignore_errors=True)
        staging.rename(folder / "bin")
        stamp = {"go": go_version, "module": operator.module, "version": version, "sha256": _sha256(target),
                 "seconds": round(time.monotonic() - started, 1), "peak_tree_rss_mib": round(peak[0] / 1024, 1)}
        stamp_path.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        return target
