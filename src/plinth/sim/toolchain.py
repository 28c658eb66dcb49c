"""The simulated cluster's binaries, built from source with the local Go toolchain and cached per version.

``k8s.io/kubernetes`` cannot be ``go install``-ed (its go.mod replaces the ``k8s.io/*`` staging modules
with local folders), so the build writes a small wrapper module that requires ``k8s.io/kubernetes vX.Y.Z``
and replaces every staging module (the list is read from that release's own go.mod) with ``v0.Y.Z``.
etcd (at the version the Kubernetes release pins) and kwok get wrapper modules of their own, since their
dependency graphs differ. Versions are pinned in ``versions.yaml`` (``resolve_versions`` refreshes them
from the Go module proxy).

Cache layout (``cache_root()``: ``$PLINTH_SIM_CACHE``, default ``~/.cache/plinth/sim``, shared by every
checkout and CI run on a machine)::

    <root>/go-mod/              GOMODCACHE of the builds
    <root>/go-build/            GOCACHE of the builds
    <root>/<k8s version>/bin/   kube-apiserver kube-controller-manager kube-scheduler etcd kwok
    <root>/<k8s version>/src/   the generated wrapper modules
    <root>/<k8s version>/stamp.json   digest of the inputs, sha256 of each binary, build figures

A build runs only when the stamp's input digest differs or a binary is missing or changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import yaml

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
"""Built from k8s.io/kubernetes/cmd/<name>; kubectl is the client of the same release."""
BINARIES = (*KUBE_COMMANDS, "etcd", "kwok")
RECIPE = "plinth-sim-build-1"
"""Changes whenever the way binaries are built changes, so cached builds of the old recipe are redone."""

GO_PROXY_DEFAULT = "https://proxy.golang.org"


class ToolchainError(RuntimeError):
    """The binaries could not be resolved or built (no Go, proxy unreachable, build failure)."""


@dataclass(frozen=True)
class SimVersions:
    """The exact versions one simulated cluster is built from."""

    minor: str
    kubernetes: str
    etcd: str
    kwok: str

    @property
    def staging(self) -> str:
        """The version of the k8s.io staging modules that belong to this Kubernetes release."""
        return "v0." + self.kubernetes.removeprefix("v1.")


@dataclass
class BuildReport:
    """What one ``ensure_binaries`` call did and measured."""

    versions: SimVersions
    bin_dir: Path
    built: bool
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    peak_process_rss_mib: float = 0.0
    peak_tree_rss_mib: float = 0.0
    go_version: str = ""


# --- where things live ---------------------------------------------------------------------------------


def cache_root() -> Path:
    """The cache folder: ``$PLINTH_SIM_CACHE`` or ``~/.cache/plinth/sim`` (XDG_CACHE_HOME honoured)."""
    explicit = os.environ.get("PLINTH_SIM_CACHE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "plinth" / "sim"


def version_dir(versions: SimVersions) -> Path:
    """The per-version folder of one Kubernetes release's binaries."""
    return cache_root() / versions.kubernetes


def bin_dir(versions: SimVersions) -> Path:
    """The folder holding the five binaries of these versions."""
    return version_dir(versions) / "bin"


# --- versions ------------------------------------------------------------------------------------------


def pinned_versions(minor: str) -> SimVersions:
    """The versions pinned in versions.yaml for a Kubernetes minor ("1.35")."""
    data = yaml.safe_load(resources.files("plinth.sim").joinpath("versions.yaml").read_text()) or {}
    row = data.get(minor)
    if not row:
        known = ", ".join(sorted(data)) or "none"
        raise ToolchainError(
            f"no simulator versions pinned for Kubernetes {minor} (pinned: {known}); "
            f"run `plinth sim toolchain --resolve --minor {minor}` to pin them from the Go module proxy"
        )
    return SimVersions(minor=minor, kubernetes=row["kubernetes"], etcd=row["etcd"], kwok=row["kwok"])


def _proxy() -> str:
    for entry in os.environ.get("GOPROXY", GO_PROXY_DEFAULT).split(","):
        entry = entry.strip()
        if entry.startswith("http"):
            return entry.rstrip("/")
    return GO_PROXY_DEFAULT


def _proxy_get(path: str) -> str | None:
    """A text file from the Go module proxy, or None when the proxy does not have it (404/410/403)."""
    try:
        with urllib.request.urlopen(f"{_proxy()}/{path}", timeout=60) as response:
            return response.read().decode()
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404, 410):
            return None
        raise ToolchainError(f"Go module proxy: GET {path}: HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        raise ToolchainError(f"Go module proxy unreachable ({_proxy()}): {exc.reason}") from exc


def _semver_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


def _listed_versions(module: str) -> list[str]:
    listing = _proxy_get(f"{module}/@v/list") or ""
    return [v for v in listing.split() if re.fullmatch(r"v\d+\.\d+\.\d+", v)]


def newest_patch(module: str, major_minor: str, *, probe_misses: int = 3) -> str:
    """The newest patch ``v<major_minor>.N`` of a module on the proxy.

    The proxy's list is not complete (it lists versions it has been asked for), so after the highest
    listed patch the following patch numbers are asked for directly until ``probe_misses`` in a row
    are missing.
    """
    prefix = f"v{major_minor}."
    patches = [int(v.removeprefix(prefix)) for v in _listed_versions(module) if v.startswith(prefix)]
    best = max(patches) if patches else -1
    misses, candidate = 0, best + 1
    while misses < probe_misses:
        if _proxy_get(f"{module}/@v/{prefix}{candidate}.info") is not None:
            best, misses = candidate, 0
        else:
            misses += 1
        candidate += 1
    if best < 0:
        raise ToolchainError(f"the Go module proxy has no {module} {prefix}x")
    return f"{prefix}{best}"


def kubernetes_go_mod(kubernetes: str) -> str:
    """The go.mod of a Kubernetes release, from the proxy."""
    text = _proxy_get(f"k8s.io/kubernetes/@v/{kubernetes}.mod")
    if text is None:
        raise ToolchainError(f"the Go module proxy has no k8s.io/kubernetes {kubernetes}")
    return text


def staging_modules(go_mod: str) -> list[str]:
    """The k8s.io modules a Kubernetes go.mod replaces with its ./staging folders."""
    return sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", go_mod, flags=re.MULTILINE)))


def pinned_etcd(go_mod: str) -> str:
    """The etcd server version a Kubernetes go.mod requires."""
    match = re.search(r"^\s*go\.etcd\.io/etcd/server/v3\s+(v[\d.]+)", go_mod, flags=re.MULTILINE)
    if not match:
        raise ToolchainError("the Kubernetes go.mod names no go.etcd.io/etcd/server/v3 version")
    return match.group(1)


def resolve_versions(minor: str) -> SimVersions:
    """Newest Kubernetes patch of a minor, the etcd it pins and the newest kwok release, from the proxy."""
    kubernetes = newest_patch("k8s.io/kubernetes", minor)
    etcd = pinned_etcd(kubernetes_go_mod(kubernetes))
    kwok_releases = sorted(_listed_versions("sigs.k8s.io/kwok"), key=_semver_key)
    latest = _proxy_get("sigs.k8s.io/kwok/@latest")
    if latest:
        kwok_releases.append(json.loads(latest)["Version"])
    kwok_releases = sorted({v for v in kwok_releases if re.fullmatch(r"v\d+\.\d+\.\d+", v)}, key=_semver_key)
    if not kwok_releases:
        raise ToolchainError("the Go module proxy lists no sigs.k8s.io/kwok release")
    newest_minor = ".".join(kwok_releases[-1].lstrip("v").split(".")[:2])
    kwok = newest_patch("sigs.k8s.io/kwok", newest_minor)
    return SimVersions(minor=minor, kubernetes=kubernetes, etcd=etcd, kwok=kwok)


def write_pins(versions: SimVersions, path: Path) -> None:
    """Record resolved versions in a versions.yaml file (the package's own, in a checkout)."""
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    header = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#")) if path.exists() else ""
    data = data or {}
    data[versions.minor] = {"kubernetes": versions.kubernetes, "etcd": versions.etcd, "kwok": versions.kwok}
    body = yaml.safe_dump({k: data[k] for k in sorted(data, key=_semver_key)}, sort_keys=False)
    path.write_text(header + body)


# --- the wrapper modules -------------------------------------------------------------------------------


def _go_version() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError("`go` is not on PATH; the simulator's binaries are built with the local Go toolchain")
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True, env=_go_env())
    return out.stdout.strip()


def _ldflags_kubernetes(versions: SimVersions) -> str:
    major, minor_number = versions.minor.split(".")
    commit = "0" * 40
    stamp = "2000-01-01T00:00:00Z"
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={versions.kubernetes}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor_number}",
            f"-X {package}.gitCommit={commit}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate={stamp}",
        ]
    return " ".join(flags)


def wrapper_modules(versions: SimVersions, go_mod: str, go_version: str) -> dict[str, dict]:
    """The three wrapper modules: go.mod text, packages to build and link flags, by name."""
    go_directive = re.sub(r"^go", "", go_version).split("-")[0]
    go_directive = ".".join(go_directive.split(".")[:2]) + ".0"
    staging = staging_modules(go_mod)
    if not staging:
        raise ToolchainError(f"k8s.io/kubernetes {versions.kubernetes}: its go.mod names no staging modules")
    replaces = "\n".join(f"\t{module} => {module} {versions.staging}" for module in staging)
    kube_mod = (
        f"module plinth.sim/kubernetes\n\ngo {go_directive}\n\n"
        f"require k8s.io/kubernetes {versions.kubernetes}\n\n"
        f"replace (\n{replaces}\n)\n\n"
        + "".join(f"tool k8s.io/kubernetes/cmd/{command}\n" for command in KUBE_COMMANDS)
    )
    etcd_mod = (
        f"module plinth.sim/etcd\n\ngo {go_directive}\n\n"
        f"require go.etcd.io/etcd/server/v3 {versions.etcd}\n\n"
        "tool go.etcd.io/etcd/server/v3\n"
    )
    kwok_mod = (
        f"module plinth.sim/kwok\n\ngo {go_directive}\n\n"
        f"require sigs.k8s.io/kwok {versions.kwok}\n\n"
        "tool sigs.k8s.io/kwok/cmd/kwok\n"
    )
    return {
        "kubernetes": {
            "go_mod": kube_mod,
            "outputs": {command: f"k8s.io/kubernetes/cmd/{command}" for command in KUBE_COMMANDS},
            "ldflags": _ldflags_kubernetes(versions),
        },
        "etcd": {
            "go_mod": etcd_mod,
            "outputs": {"etcd": "go.etcd.io/etcd/server/v3"},
            "ldflags": "-s -w",
        },
        "kwok": {
            "go_mod": kwok_mod,
            "outputs": {"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
            "ldflags": f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={versions.kwok}",
        },
    }


# --- building ------------------------------------------------------------------------------------------


def _go_env() -> dict[str, str]:
    root = cache_root()
    env = dict(os.environ)
    env.update(
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
        GOMODCACHE=str(root / "go-mod"),
        GOCACHE=str(root / "go-build"),
        GOFLAGS="-buildvcs=false -trimpath -modcacherw",
    )
    return env


def _jobs() -> int:
    """Parallel compile jobs: ``$PLINTH_SIM_GO_JOBS``, default the CPU count (Go's own default)."""
    return int(os.environ.get("PLINTH_SIM_GO_JOBS") or os.cpu_count() or 1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def input_digest(versions: SimVersions, modules: dict[str, dict], go_version: str) -> str:
    """A digest of everything a build depends on: versions, wrapper modules, flags, Go version, recipe."""
    payload = json.dumps({"recipe": RECIPE, "versions": asdict(versions), "go": go_version, "modules": modules}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
        rss[int(entry.name)] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


def _run_measured(command: list[str], cwd: Path, log: Callable[[str], None], peak: list[int]) -> None:
    """Run a go command, sampling the memory of its process tree; raise ToolchainError on failure."""
    log("$ " + " ".join(command))
    process = subprocess.Popen(command, cwd=cwd, env=_go_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            peak[0] = max(peak[0], _tree_rss_kib(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = process.communicate()[0]
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise ToolchainError(f"`{' '.join(command)}` failed in {cwd} (exit {process.returncode}):\n{output[-6000:]}")


def _stamp_ok(stamp_path: Path, digest: str, binaries: Path) -> bool:
    if not stamp_path.exists():
        return False
    try:
        stamp = json.loads(stamp_path.read_text())
    except ValueError:
        return False
    if stamp.get("digest") != digest:
        return False
    for name in BINARIES:
        path = binaries / name
        if not path.exists() or stamp.get("sha256", {}).get(name) != _sha256(path):
            return False
    return True


def ensure_binaries(versions: SimVersions, *, force: bool = False, log: Callable[[str], None] = print) -> BuildReport:
    """Build the five binaries of ``versions`` unless the cache already holds them (idempotent, locked)."""
    started = time.monotonic()
    go_version = _go_version()
    go_mod = _kubernetes_go_mod_cached(versions)
    modules = wrapper_modules(versions, go_mod, go_version)
    digest = input_digest(versions, modules, go_version)
    folder = version_dir(versions)
    folder.mkdir(parents=True, exist_ok=True)
    binaries = bin_dir(versions)
    stamp_path = folder / "stamp.json"
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another checkout building the same version waits, then reuses
        if not force and _stamp_ok(stamp_path, digest, binaries):
            _ensure_kwok_stages(versions)
            return BuildReport(versions, binaries, built=False, seconds=time.monotonic() - started, go_version=go_version)
        report = BuildReport(versions, binaries, built=True, seconds=0.0, go_version=go_version)
        peak = [0]
        staging_bin = folder / "bin.new"
        shutil.rmtree(staging_bin, ignore_errors=True)
        staging_bin.mkdir()
        for name, module in modules.items():
            step_started = time.monotonic()
            source = folder / "src" / name
            source.mkdir(parents=True, exist_ok=True)
            (source / "go.mod").write_text(module["go_mod"])
            (source / "go.sum").unlink(missing_ok=True)
            _run_measured(["go", "mod", "tidy"], source, log, peak)
            for output, package in module["outputs"].items():
                _run_measured(
                    ["go", "build", f"-p={_jobs()}", "-ldflags", module["ldflags"], "-o", str(staging_bin / output), package],
                    source, log, peak,
                )
            report.steps[name] = round(time.monotonic() - step_started, 1)
            log(f"built {name} in {report.steps[name]:.0f}s")
        shutil.rmtree(binaries, ignore_errors=True)
        staging_bin.rename(binaries)
        report.seconds = time.monotonic() - started
        report.peak_tree_rss_mib = round(peak[0] / 1024, 1)
        report.peak_process_rss_mib = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
        stamp = {
            "digest": digest,
            "versions": asdict(versions),
            "go": go_version,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(report.seconds, 1),
            "steps": report.steps,
            "jobs": _jobs(),
            "peak_tree_rss_mib": report.peak_tree_rss_mib,
            "peak_process_rss_mib": report.peak_process_rss_mib,
            "sha256": {name: _sha256(binaries / name) for name in BINARIES},
        }
        stamp_path.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        _ensure_kwok_stages(versions)
        return report


KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
"""kwok's own "fast" stage set (its kustomize/stage/fast: nodes Ready at once, leases renewed, pods Running at once)."""


def kwok_stage_dir(versions: SimVersions) -> Path:
    """Where the kwok Stage files of a version are kept (copied from the kwok module at that version)."""
    return version_dir(versions) / "kwok-stages"


def _ensure_kwok_stages(versions: SimVersions) -> None:
    folder = kwok_stage_dir(versions)
    if all((folder / name.replace("/", "_")).exists() for name in KWOK_STAGES):
        return
    out = subprocess.run(["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{versions.kwok}"], capture_output=True,
                         text=True, env=_go_env(), cwd=version_dir(versions))
    if out.returncode != 0:
        raise ToolchainError(f"go mod download sigs.k8s.io/kwok@{versions.kwok}: {out.stderr or out.stdout}")
    source = Path(json.loads(out.stdout)["Dir"]) / "kustomize" / "stage"
    folder.mkdir(parents=True, exist_ok=True)
    for name in KWOK_STAGES:
        shutil.copyfile(source / name, folder / name.replace("/", "_"))


def kwok_stage_files(versions: SimVersions) -> list[Path]:
    """The Stage files kwok is started with."""
    return [kwok_stage_dir(versions) / name.replace("/", "_") for name in KWOK_STAGES]


def _kubernetes_go_mod_cached(versions: SimVersions) -> str:
    """The release's go.mod, kept next to the binaries so a warm check needs no network."""
    path = version_dir(versions) / "kubernetes.go.mod"
    if path.exists():
        return path.read_text()
    text = kubernetes_go_mod(versions.kubernetes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def binary(versions: SimVersions, name: str) -> Path:
    """The path of one built binary; ToolchainError when it has not been built."""
    path = bin_dir(versions) / name
    if not path.exists():
        raise ToolchainError(f"{path} does not exist: run `plinth sim toolchain` (or scripts/setup.sh test) first")
    return path


def pinned_minors() -> list[str]:
    """The Kubernetes minors versions.yaml pins, oldest first."""
    data = yaml.safe_load(resources.files("plinth.sim").joinpath("versions.yaml").read_text()) or {}
    return sorted(data, key=_semver_key)


def default_minor(spec_minor: str | None) -> str:
    """The minor the tests and the set-up build: the spec's when pinned, else the newest pinned one."""
    minors = pinned_minors()
    if spec_minor in minors:
        return spec_minor
    if not minors:
        raise ToolchainError("versions.yaml pins no Kubernetes minor")
    return minors[-1]


def main() -> None:
    """``python -m plinth.sim.toolchain [MINOR]``: build or reuse the binaries (scripts/setup.sh test runs it).

    Without MINOR: the spec's (platform.yaml in the current folder) when pinned, else the newest pinned.
    """
    import sys

    try:
        if len(sys.argv) > 1:
            minor = sys.argv[1]
        else:
            spec = Path("platform.yaml")
            spec_minor = (yaml.safe_load(spec.read_text()) or {}).get("cluster", {}).get("kubernetes_version") if spec.exists() else None
            minor = default_minor(spec_minor)
            if spec_minor and minor != spec_minor:
                print(f"sim toolchain: the spec's Kubernetes {spec_minor} is not pinned in versions.yaml; building {minor}")
        report = ensure_binaries(pinned_versions(minor), log=lambda line: print(line, flush=True))
    except ToolchainError as exc:
        print(f"sim toolchain: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    state = "built" if report.built else "reused"
    print(f"sim toolchain: {state} Kubernetes {report.versions.kubernetes}, etcd {report.versions.etcd}, "
          f"kwok {report.versions.kwok} in {report.bin_dir} ({report.seconds:.1f} s)")


if __name__ == "__main__":
    main()
