"""What Argo CD reads in the simulated cluster: the rendered tree as a Git repository and the pinned charts as a
Helm repository, both served inside the cluster's network namespace on its gateway address (``GATEWAY_IP``, on
its loopback), which the programs' pod networks reach.

The Applications and AppProjects of the copy served (and of the root Application applied to start the
sync) point at these servers instead of the public URLs; every rewrite is recorded and reported:

- a source with ``chart`` (a Helm repository, ``https://…`` or an OCI reference) -> the loopback chart
  repository: ``helm repo index`` over the chart directory's archives, served by ``python -m http.server``;
- any other source (the platform's Git repository) -> ``git://<gateway>:<port>/<repo>``: a bare clone of a
  one-commit repository holding ``kubernetes/<env>/…`` exactly as ``plinth render`` writes it, on the branch
  the Applications name, served by ``git daemon``.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plinth.kube.yamlio import dump_yaml
from plinth.render.pipeline import RenderedObject
from plinth.sim.pki import GATEWAY_IP

REPO_NAME = "platform-infra.git"
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "plinth sim", "GIT_AUTHOR_EMAIL": "sim@plinth.invalid",
                "GIT_COMMITTER_NAME": "plinth sim", "GIT_COMMITTER_EMAIL": "sim@plinth.invalid",
                "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z"}


class SourcesError(RuntimeError):
    """The repositories could not be prepared (git or helm failed, no chart directory)."""


@dataclass(frozen=True)
class Rewrite:
    """One URL of the applied copy that now points at a loopback server."""

    object: str
    field: str
    original: str
    local: str


@dataclass
class Sources:
    """The served repositories of one simulated cluster."""

    folder: Path
    git_port: int
    chart_port: int
    revisions: tuple[str, ...] = ("main",)
    rewrites: list[Rewrite] = field(default_factory=list)
    kept: list[Rewrite] = field(default_factory=list)
    """AppProject source repositories no Application uses (left as they are)."""

    @property
    def git_url(self) -> str:
        """The loopback Git repository's URL."""
        return f"git://{GATEWAY_IP}:{self.git_port}/{REPO_NAME}"

    @property
    def chart_url(self) -> str:
        """The loopback Helm repository's URL."""
        return f"http://{GATEWAY_IP}:{self.chart_port}/"

    @property
    def git_root(self) -> Path:
        """The folder ``git daemon`` serves (``--base-path``)."""
        return self.folder / "git"

    @property
    def chart_root(self) -> Path:
        """The folder the chart server serves."""
        return self.folder / "charts"


def _local_url(sources: Sources, source: dict[str, Any]) -> str:
    return sources.chart_url if source.get("chart") else sources.git_url


def _application_sources(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = obj.get("spec") or {}
    found = []
    if isinstance(spec.get("source"), dict):
        found.append(("spec.source.repoURL", spec["source"]))
    for index, source in enumerate(spec.get("sources") or []):
        if isinstance(source, dict):
            found.append((f"spec.sources[{index}].repoURL", source))
    return found


def _key(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    return f"{obj['kind']}/{namespace}/{meta.get('name')}" if namespace else f"{obj['kind']}/{meta.get('name')}"


def _is_argo(obj: dict[str, Any], kind: str) -> bool:
    return obj.get("kind") == kind and str(obj.get("apiVersion", "")).startswith("argoproj.io/")


def rewrite_objects(objects: list[dict[str, Any]], sources: Sources,
                    plugin_locations: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Copies of the objects with every Application source and AppProject source repository pointed at the
    loopback servers, and each Argo Rollouts traffic-router plugin named in ``plugin_locations`` (plugin name
    -> local path) loaded from that file instead of its download URL (removed when the path is empty: the
    plugin is not built); the rewrites are recorded in ``sources``."""
    mapping: dict[str, str] = {}
    out = [copy.deepcopy(o) for o in objects]
    for obj in out:
        if not _is_argo(obj, "Application"):
            continue
        _rewrite_plugins(obj, sources, plugin_locations or {})
        for where, source in _application_sources(obj):
            original = str(source.get("repoURL", ""))
            local = _local_url(sources, source)
            mapping[original] = local
            if original != local:
                source["repoURL"] = local
                sources.rewrites.append(Rewrite(_key(obj), where, original, local))
            if not source.get("chart") and source.get("targetRevision") and source["targetRevision"] not in sources.revisions:
                sources.revisions = (*sources.revisions, str(source["targetRevision"]))
    for obj in out:
        if not _is_argo(obj, "AppProject"):
            continue
        repos = (obj.get("spec") or {}).get("sourceRepos") or []
        rewritten: list[str] = []
        for index, repo in enumerate(repos):
            local = mapping.get(repo)
            if local is None:
                sources.kept.append(Rewrite(_key(obj), f"spec.sourceRepos[{index}]", repo, repo))
                rewritten.append(repo)
                continue
            sources.rewrites.append(Rewrite(_key(obj), f"spec.sourceRepos[{index}]", repo, local))
            if local not in rewritten:
                rewritten.append(local)
        if repos:
            obj["spec"]["sourceRepos"] = rewritten
    return out


def _rewrite_plugins(obj: dict[str, Any], sources: Sources, locations: dict[str, str]) -> None:
    """Point the Argo Rollouts chart's traffic-router plugins at local files (the sim has no way out to download)."""
    source = (obj.get("spec") or {}).get("source") or {}
    values = (source.get("helm") or {}).get("valuesObject") or {}
    plugins = ((values.get("controller") or {}).get("trafficRouterPlugins")) or []
    for index, plugin in reversed(list(enumerate(plugins))):
        local = locations.get(str(plugin.get("name")))
        if local is None or not isinstance(plugin, dict):
            continue
        if not local:  # not built: without its download the controller would not start at all
            del plugins[index]
            sources.rewrites.append(Rewrite(_key(obj), f"spec.source.helm.valuesObject.controller.trafficRouterPlugins[{index}]",
                                            str(plugin.get("location", "")), "(removed: the plugin is not built)"))
            continue
        original = str(plugin.get("location", ""))
        plugin["location"] = f"file://{local}"
        plugin.pop("sha256", None)
        sources.rewrites.append(Rewrite(_key(obj), f"spec.source.helm.valuesObject.controller.trafficRouterPlugins[{index}].location",
                                        original, plugin["location"]))


def _git(args: list[str], cwd: Path) -> None:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **GIT_IDENTITY, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"})
    if result.returncode != 0:
        raise SourcesError(f"git {' '.join(args)}: {(result.stderr or result.stdout).strip()}")


def write_git_repository(sources: Sources, rendered: list[RenderedObject], objects: list[dict[str, Any]]) -> None:
    """A one-commit repository of ``kubernetes/<path>`` for each rendered object (the rewritten copies), a
    branch per revision the Applications name, bare-cloned where ``git daemon`` serves it."""
    if shutil.which("git") is None:
        raise SourcesError("git is not installed (Debian package git)")
    work = sources.folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(sources.git_root, ignore_errors=True)
    work.mkdir(parents=True)
    for item, obj in zip(rendered, objects):
        path = work / "kubernetes" / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(obj))
    first, *others = sources.revisions
    _git(["init", "-q", "-b", first], work)
    _git(["add", "-A"], work)
    _git(["commit", "-q", "-m", "rendered tree"], work)
    for revision in others:
        _git(["branch", revision], work)
    sources.git_root.mkdir(parents=True)
    _git(["clone", "-q", "--bare", str(work), str(sources.git_root / REPO_NAME)], sources.folder)
    shutil.rmtree(work)


def write_chart_repository(sources: Sources, chart_dir: Path, helm: Path) -> None:
    """Every archive of the chart directory, indexed by ``helm repo index`` at the loopback URL."""
    archives = sorted(chart_dir.glob("*.tgz"))
    if not archives:
        raise SourcesError(f"{chart_dir}: no chart archives to serve")
    shutil.rmtree(sources.chart_root, ignore_errors=True)
    sources.chart_root.mkdir(parents=True)
    for archive in archives:
        shutil.copyfile(archive, sources.chart_root / archive.name)
    result = subprocess.run([str(helm), "repo", "index", str(sources.chart_root), "--url", sources.chart_url.rstrip("/")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SourcesError(f"helm repo index: {(result.stderr or result.stdout).strip()}")


def git_daemon_argv(sources: Sources) -> list[str]:
    """``git daemon`` serving the bare repository on loopback (read-only, no hooks)."""
    return ["git", "daemon", "--reuseaddr", "--export-all", "--informative-errors", f"--base-path={sources.git_root}",
            f"--listen={GATEWAY_IP}", f"--port={sources.git_port}", str(sources.git_root)]


def chart_server_argv(sources: Sources, python: str) -> list[str]:
    """A static HTTP server for the chart repository on loopback."""
    return [python, "-m", "http.server", str(sources.chart_port), "--bind", GATEWAY_IP, "--directory", str(sources.chart_root)]
