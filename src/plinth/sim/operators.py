"""Go programs the simulated cluster runs out of cluster, built from the Go module proxy at the versions the
spec's charts pin: Argo CD's controllers and the operators.

Each build gets a wrapper module (``require <module> <version>`` plus a ``tool`` line per main package, or a
small main of its own from ``plinth/sim/go/<name>/main.go``). Replace directives of the upstream go.mod that
point at other module versions (not at local folders) are copied into the wrapper: Go ignores a
dependency's replaces, and programs such as Argo CD and Argo Rollouts pin their k8s.io modules that way.

Some releases are on the proxy as a module zip whose ``.mod`` file the proxy refuses (HTTP 403: Argo CD
v3.3.8, OT redis-operator v0.26.0). For those the zip is downloaded, checked against the sha256 pinned
here (the checksum database does not answer for them either), unpacked, and the wrapper replaces the module
with the unpacked folder; every dependency is still verified by the checksum database. Binaries land in
``<sim cache>/operators/<name>-<version>/bin/`` with a stamp like the control plane's.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from plinth.sim.toolchain import ToolchainError, _go_version, _jobs, _proxy, _proxy_get, _run_measured, _sha256, cache_root
from plinth.spec.loader import load_platform
from plinth.spec.model import Platform

RECIPE = "plinth-sim-operator-2"
"""Changes whenever the way operators are built changes, so cached builds of the old recipe are redone."""


@dataclass(frozen=True)
class GoOperator:
    """Where a program's source lives on the proxy and which chart pins its version."""

    chart_key: str
    """Key of ``charts`` in the spec whose ``app_version`` is the program's release."""
    module: str
    package: str
    """Main package; ``.`` for the wrapper's own main (``main_go``)."""
    binary: str
    zip_sha256: dict[str, str] = field(default_factory=dict)
    """Per version: sha256 of the proxy's module zip, for releases whose go.mod the proxy refuses."""
    main_go: str | None = None
    """Name of a folder under ``plinth/sim/go/`` holding the wrapper's own ``main.go``."""
    requires: tuple[str, ...] = ()
    """``module@version`` the wrapper also requires (before ``go mod tidy``), to settle what the upstream graph leaves
    ambiguous."""


OPERATORS: dict[str, GoOperator] = {
    "argocd": GoOperator(
        "argocd", "github.com/argoproj/argo-cd/v3", ".", "argocd", main_go="argocd",
        zip_sha256={"v3.3.8": "15f73f94a533e1d803d42ce76e2a68cfbde016045c6479120f48cf1a56d810bb"}),
    "cloudnative-pg": GoOperator("cloudnative-pg", "github.com/cloudnative-pg/cloudnative-pg",
                                 "github.com/cloudnative-pg/cloudnative-pg/cmd/manager", "manager"),
    "plugin-barman-cloud": GoOperator("barman-cloud", "github.com/cloudnative-pg/plugin-barman-cloud",
                                      "github.com/cloudnative-pg/plugin-barman-cloud/cmd/manager", "manager"),
    "argo-rollouts": GoOperator("argo-rollouts", "github.com/argoproj/argo-rollouts",
                                "github.com/argoproj/argo-rollouts/cmd/rollouts-controller", "rollouts-controller"),
    "gatewayapi-plugin": GoOperator("argo-rollouts", "github.com/argoproj/argo-rollouts", ".", "gatewayapi-plugin",
                                    main_go="gatewayapi-plugin"),
    "prometheus-operator": GoOperator("kube-prometheus-stack", "github.com/prometheus-operator/prometheus-operator",
                                      "github.com/prometheus-operator/prometheus-operator/cmd/operator", "operator",
                                      # An old cloud.google.com/go (v0.34.0, still holding compute/metadata) reaches the
                                      # graph; a release after the package moved to its own module ends the ambiguity.
                                      requires=("cloud.google.com/go@v0.118.0",)),
    "keda": GoOperator("keda", "github.com/kedacore/keda/v2", "github.com/kedacore/keda/v2/cmd/operator", "keda"),
    "keda-webhooks": GoOperator("keda", "github.com/kedacore/keda/v2", "github.com/kedacore/keda/v2/cmd/webhooks",
                                "keda-admission-webhooks"),
    "keda-adapter": GoOperator("keda", "github.com/kedacore/keda/v2", "github.com/kedacore/keda/v2/cmd/adapter", "keda-adapter"),
    "envoy-gateway": GoOperator("envoy-gateway", "github.com/envoyproxy/gateway",
                                "github.com/envoyproxy/gateway/cmd/envoy-gateway", "envoy-gateway"),
    "redis-operator": GoOperator(
        "redis-operator", "github.com/OT-CONTAINER-KIT/redis-operator", "github.com/OT-CONTAINER-KIT/redis-operator/cmd",
        "manager", zip_sha256={"v0.26.0": "b563965ee3cdb3adbf16114fa957f2e3d95e97870f32b8c8f5cf549d7f76e414"}),
}
"""Programs this module knows how to build. ``gatewayapi-plugin`` is Argo Rollouts' Gateway API traffic-router
plugin built as a stand-in (the proxy refuses every release of argoproj-labs/rollouts-plugin-trafficrouter-
gatewayapi): its main is ours, on Argo Rollouts' own plugin RPC package at the controller's version."""

NOT_ON_PROXY: dict[str, str] = {
    "cert-manager": "github.com/cert-manager/cert-manager/cmd/controller (and cmd/webhook, cmd/cainjector) v1.21.1: "
                    "the proxy refuses these nested modules (HTTP 403); the root module holds no main package",
    "external-secrets": "github.com/external-secrets/external-secrets v2.9.0: the proxy refuses it (HTTP 403; it lists only v0.16.2 and v1.3.2)",
    "clickhouse-operator": "github.com/altinity/clickhouse-operator v0.25.6: the proxy refuses it (HTTP 403)",
    "strimzi": "io.strimzi:cluster-operator 1.2.0 is not on Maven Central (only io.strimzi:api and crd-generator are)",
    "gatewayapi-plugin": "github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi: the proxy refuses every release (HTTP 403)",
}
"""What could not be fetched, and exactly why (shown in the sync report)."""


def operator_version(platform: Platform, name: str) -> str:
    """The program's release as the spec's chart pins it (``app_version``), with a leading ``v``."""
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


def wrapper_go_mod(operator: GoOperator, version: str, upstream_go_mod: str, go_version: str,
                   local_source: str | None = None) -> str:
    """The wrapper module's go.mod (``local_source``: a folder replacing the module, for zip-only releases)."""
    go_directive = ".".join(go_version.removeprefix("go").split(".")[:2]) + ".0"
    replaces = copied_replaces(upstream_go_mod)
    if local_source:
        replaces = [f"{operator.module} => {local_source}", *replaces]
    text = f"module plinth.sim/operator\n\ngo {go_directive}\n\nrequire {operator.module} {version}\n"
    if replaces:
        text += "\nreplace (\n" + "".join(f"\t{line}\n" for line in replaces) + ")\n"
    if operator.package != ".":
        text += f"\ntool {operator.package}\n"
    return text


def proxy_path(module: str) -> str:
    """A module path as the Go module proxy spells it (capital letters as ``!`` + lower case)."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), module)


def operator_dir(name: str, version: str) -> Path:
    """The cache folder of one operator release."""
    return cache_root() / "operators" / f"{name}-{version}"


def main_source(operator: GoOperator) -> str | None:
    """The wrapper's own main.go, when the build has one."""
    if operator.main_go is None:
        return None
    return resources.files("plinth.sim").joinpath("go", operator.main_go, "main.go").read_text()


def _download_zip(operator: GoOperator, version: str, target: Path) -> str:
    """Fetch the module zip from the proxy, check its pinned sha256, unpack it; return the upstream go.mod."""
    expected = operator.zip_sha256.get(version)
    if expected is None:
        raise ToolchainError(f"the Go module proxy has no go.mod for {operator.module} {version} "
                             "(and no zip checksum is pinned for it in plinth.sim.operators)")
    url = f"{_proxy()}/{proxy_path(operator.module)}/@v/{version}.zip"
    try:
        with urllib.request.urlopen(url, timeout=300) as response:
            payload = response.read()
    except urllib.error.URLError as exc:
        raise ToolchainError(f"Go module proxy: GET {url}: {exc}") from exc
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected:
        raise ToolchainError(f"{url}: sha256 {digest}, expected the pinned {expected}")
    prefix = f"{operator.module}@{version}/"
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        for info in archive.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            relative = info.filename[len(prefix):]
            if relative.startswith("/") or ".." in relative.split("/"):
                raise ToolchainError(f"{url}: unsafe path {info.filename!r} in the module zip")
            out = target / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(info))
    return (target / "go.mod").read_text()


def _stamp_current(stamp_path: Path, target: Path, expected: dict[str, str]) -> bool:
    if not (stamp_path.exists() and target.exists()):
        return False
    try:
        stamp = json.loads(stamp_path.read_text())
    except ValueError:
        return False
    return all(stamp.get(key) == value for key, value in expected.items()) and stamp.get("sha256") == _sha256(target)


def ensure_operator(name: str, version: str, *, log: Callable[[str], None] = print) -> Path:
    """Build (or reuse) a program's binary; return its path."""
    if name not in OPERATORS:
        raise ToolchainError(f"no Go build known for {name!r} (known: {', '.join(sorted(OPERATORS))})")
    operator = OPERATORS[name]
    folder = operator_dir(name, version)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "bin" / operator.binary
    main_go = main_source(operator)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        go_version = _go_version()
        inputs = {"go": go_version, "recipe": RECIPE,
                  "main_sha256": hashlib.sha256((main_go or "").encode()).hexdigest()}
        if operator.requires:
            inputs["requires"] = list(operator.requires)
        stamp_path = folder / "stamp.json"
        if _stamp_current(stamp_path, target, inputs):
            return target
        started, peak = time.monotonic(), [0]
        upstream = _proxy_get(f"{proxy_path(operator.module)}/@v/{version}.mod")
        local_source = None
        if upstream is None:
            upstream = _download_zip(operator, version, folder / "module")
            local_source = "../module"
        source = folder / "src"
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir()
        (source / "go.mod").write_text(wrapper_go_mod(operator, version, upstream, go_version, local_source))
        if main_go is not None:
            (source / "main.go").write_text(main_go)
        for requirement in operator.requires:
            _run_measured(["go", "mod", "edit", f"-require={requirement}"], source, log, peak)
        _run_measured(["go", "mod", "tidy"], source, log, peak)
        staging = folder / "bin.new"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _run_measured(["go", "build", f"-p={_jobs()}", "-ldflags", "-s -w", "-o", str(staging / operator.binary), operator.package],
                      source, log, peak)
        shutil.rmtree(folder / "bin", ignore_errors=True)
        staging.rename(folder / "bin")
        stamp = {**inputs, "module": operator.module, "version": version, "sha256": _sha256(target),
                 "from": "module zip (go.mod refused by the proxy)" if local_source else "module proxy",
                 "seconds": round(time.monotonic() - started, 1), "peak_tree_rss_mib": round(peak[0] / 1024, 1)}
        stamp_path.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        return target


def built_binary(name: str, version: str) -> Path | None:
    """The binary of a program built earlier (its stamp current), or None: never builds."""
    operator = OPERATORS[name]
    folder = operator_dir(name, version)
    target = folder / "bin" / operator.binary
    main_go = main_source(operator)
    inputs = {"recipe": RECIPE, "main_sha256": hashlib.sha256((main_go or "").encode()).hexdigest()}
    return target if _stamp_current(folder / "stamp.json", target, inputs) else None


def build_figures(name: str, version: str) -> dict[str, object]:
    """The stamp of a built program (build seconds, peak memory, source), or {} when not built."""
    path = operator_dir(name, version) / "stamp.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def main() -> None:
    """``python -m plinth.sim.operators [NAME...]``: build or reuse the programs (all when none named) at the
    versions ``platform.yaml`` in the current folder pins (run before `plinth sim sync`; scripts/setup.sh does not)."""
    platform = load_platform(Path("platform.yaml"), "prod")
    names = sys.argv[1:] or list(OPERATORS)
    failed = []
    for name in names:
        version = operator_version(platform, name)
        started = time.monotonic()
        try:
            path = ensure_operator(name, version, log=lambda line: print(line, flush=True))
        except ToolchainError as exc:
            print(f"sim operators: {name} {version}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"sim operators: {name} {version}: {path} ({time.monotonic() - started:.1f} s)", flush=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
