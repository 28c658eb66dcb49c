"""Hydration: every chart Application of the rendered tree rendered exactly as Argo CD would render it.

For each Application with ``spec.source.chart`` the pinned archive is taken from the chart directory and
rendered with ``helm template <releaseName> <archive> --namespace <destination> --kube-version <spec's>
--values <valuesObject> --api-versions ... --include-crds`` (no ``--include-crds`` when ``skipCrds``).
``--api-versions`` lists the built-in APIs of the spec's Kubernetes version and every served version of
every CRD the environment installs (the charts' CRDs and the tree's own): the API list of the cluster in its
steady state. The CRDs are only known after rendering, so rendering repeats until the list is stable
(normally twice). Argo CD's rules then apply (``plinth.charts.argo``): namespaces, hook phases, waves,
ignored Helm test hooks, duplicates.

Each render is cached under ``<cache>/hydrate/`` by (chart archive digest, chart, version, release,
namespace, values digest, kube version, API list digest, CRDs included, helm version). Output is sorted
by pseudo-path ``<env>/hydrated/<application>/<kind>-<name>.yaml`` and is byte-identical across runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from plinth.charts.apis import CLUSTER_SCOPED_BUILTINS, builtin_api_versions, crd_api_versions, group_version, kube_version_semver
from plinth.charts.argo import hook_phases, is_hook, set_destination_namespace, sync_wave, unsupported_helm_hooks
from plinth.charts.chartdir import ChartArchive, ChartDir
from plinth.charts.helm import Helm, HelmError
from plinth.kube.objects import object_key
from plinth.render.pipeline import RenderedObject
from plinth.spec.model import Platform

CACHE_ENV = "PLINTH_CACHE_DIR"
CACHE_FORMAT = 1
"""Bumped when the cached form of a render changes."""
MAX_ROUNDS = 4


class HydrationError(Exception):
    """A chart cannot be hydrated (archive missing from the chart directory, helm failed)."""


class ChartNotFound(HydrationError):
    """An Application's chart version is not in the chart directory."""

    def __init__(self, application: str, chart: str, version: str, available: list[str]):
        self.application, self.chart, self.version, self.available = application, chart, version, available
        have = ", ".join(available) if available else "no version of it"
        super().__init__(f"Application {application}: chart {chart} {version} is not in the chart directory (it holds {have})")


def default_cache_dir(spec: Path | None = None) -> Path:
    """Where derived data is cached: ``$PLINTH_CACHE_DIR``, else ``.cache`` at the root of the Git repository holding
    the spec (a spec in a subfolder, e.g. ``examples/``, shares it), else next to the spec (not in Git)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    folder = spec.resolve().parent if spec is not None else Path.cwd().resolve()
    root = next((base for base in (folder, *folder.parents) if (base / ".git").exists()), folder)
    return root / ".cache"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe loader without the YAML 1.1 timestamp and ``=`` (value) rules: Kubernetes reads those plain
    scalars as strings."""


_STRING_TAGS = ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _STRING_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)
_PARSED: dict[str, str] = {}
"""Parsed documents by the sha256 of their text, as JSON (charts render the same large CRDs again and again)."""
_PARSED_LOCK = threading.Lock()


def _parse_document(text: str) -> Any:
    digest = hashlib.sha256(text.encode()).hexdigest()
    with _PARSED_LOCK:
        known = _PARSED.get(digest)
    if known is None:
        known = json.dumps(yaml.load(text, Loader=_Loader))
        with _PARSED_LOCK:
            _PARSED[digest] = known
    return json.loads(known)


def parse_manifests(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document manifest stream (empty documents dropped, ``kind: List`` expanded)."""
    objects: list[dict[str, Any]] = []
    for part in _SEPARATOR.split(text):
        if not part.strip():
            continue
        doc = _parse_document(part)
        if not isinstance(doc, dict) or not doc:
            continue
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            objects.extend(item for item in doc["items"] if isinstance(item, dict))
        else:
            objects.append(doc)
    return objects


@dataclass(frozen=True)
class ChartApplication:
    """An Argo CD Application of the rendered tree that installs a Helm chart."""

    name: str
    environment: str
    project: str
    chart: str
    version: str
    repo_url: str
    release: str
    namespace: str
    values: dict[str, Any]
    skip_crds: bool
    application_wave: int
    path: str
    """Rendered file of the Application."""

    @classmethod
    def from_rendered(cls, item: RenderedObject) -> ChartApplication:
        """Read the chart source of one rendered Application."""
        spec = item.obj["spec"]
        source = spec["source"]
        helm = source.get("helm") or {}
        annotations = item.obj["metadata"].get("annotations") or {}
        wave = int(annotations.get("argocd.argoproj.io/sync-wave", 0))
        return cls(item.obj["metadata"]["name"], item.environment, spec.get("project", "default"), source["chart"],
                   str(source["targetRevision"]), source["repoURL"], helm.get("releaseName") or item.obj["metadata"]["name"],
                   spec["destination"].get("namespace") or "", helm.get("valuesObject") or {}, bool(helm.get("skipCrds")),
                   wave, item.path)


def chart_applications(rendered: Iterable[RenderedObject]) -> list[ChartApplication]:
    """Every chart Application (``spec.source.chart``) of the rendered objects, sorted by environment and name."""
    apps = [ChartApplication.from_rendered(r) for r in rendered
            if r.obj.get("kind") == "Application" and str(r.obj.get("apiVersion", "")).startswith("argoproj.io/")
            and (r.obj.get("spec") or {}).get("source", {}).get("chart")]
    return sorted(apps, key=lambda a: (a.environment, a.name))


@dataclass(frozen=True)
class HydratedObject:
    """One object a chart Application makes Argo CD apply, shaped like ``RenderedObject``."""

    path: str
    """Stable pseudo-path ``<env>/hydrated/<application>/<kind>-[<namespace>-]<name>.yaml``."""
    obj: dict[str, Any]
    application: str
    environment: str
    sync_wave: int
    """Wave inside the Application's sync (``argo.sync_wave``)."""
    hook_phases: tuple[str, ...]
    """Phases of a hook (PreSync, PostSync, ...); empty for a normal resource (synced in phase Sync)."""
    chart: str
    """``<chart>-<version>`` it was rendered from."""
    application_wave: int
    """The Application's own wave in the app-of-apps."""

    @property
    def component(self) -> str:
        """The Application name (``RenderedObject.component`` of a hydrated object)."""
        return self.application

    @property
    def key(self) -> str:
        """``Kind/namespace/name`` of the object."""
        return object_key(self.obj)

    @property
    def is_hook(self) -> bool:
        """A hook, not a resource Argo CD keeps in sync."""
        return bool(self.hook_phases)


@dataclass
class AppHydration:
    """What one chart Application hydrated to."""

    application: ChartApplication
    archive: ChartArchive
    objects: list[HydratedObject]
    ignored: list[tuple[str, str]] = field(default_factory=list)
    """(object key, reason) of manifests Argo CD never applies (Helm test hooks, ``Skip``)."""
    duplicates: list[str] = field(default_factory=list)
    """Keys rendered more than once (the last one is kept, as Argo CD does)."""


@dataclass
class Hydration:
    """Every chart Application of the environments hydrated, with how it was done."""

    apps: list[AppHydration]
    api_versions: dict[str, tuple[str, ...]]
    """The ``--api-versions`` list per environment."""
    kube_versions: dict[str, str]
    helm_version: str
    renders: int = 0
    """helm processes run."""
    cache_hits: int = 0
    seconds: float = 0.0

    @property
    def objects(self) -> list[HydratedObject]:
        """Every hydrated object of every environment, sorted by path."""
        return sorted((o for a in self.apps for o in a.objects), key=lambda o: o.path)

    def for_environment(self, environment: str) -> list[HydratedObject]:
        """The hydrated objects of one environment."""
        return [o for o in self.objects if o.environment == environment]


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Renderer:
    """Runs ``helm template`` for chart Applications, with a cache of the parsed output."""

    def __init__(self, helm: Helm, cache_dir: Path | None):
        self.helm = helm
        self.cache_dir = cache_dir / "hydrate" if cache_dir is not None else None
        self.renders = 0
        self.cache_hits = 0

    def cache_key(self, app: ChartApplication, archive: ChartArchive, kube_version: str, api_versions: tuple[str, ...]) -> str:
        """The digest every input of one render goes into (the API list only for charts that read it)."""
        return _digest({
            "format": CACHE_FORMAT, "helm": self.helm.version, "archive": archive.digest, "chart": archive.ref,
            "release": app.release, "namespace": app.namespace, "values": _digest(app.values), "kube": kube_version,
            "apis": _digest(list(api_versions)) if archive.reads_api_versions else None, "crds": not app.skip_crds,
        })

    def _seed_file(self, environment: str, kube_version: str) -> Path | None:
        return self.cache_dir / f"api-versions-{environment}-{kube_version}.json" if self.cache_dir is not None else None

    def seed_api_versions(self, environment: str, kube_version: str) -> tuple[str, ...] | None:
        """The API list the last hydration of this environment settled on: a first guess that saves a round
        of renders (the result does not depend on it, the list is always rendered to a fixed point)."""
        seed = self._seed_file(environment, kube_version)
        try:
            return tuple(json.loads(seed.read_text())) if seed is not None and seed.is_file() else None
        except (OSError, ValueError):
            return None

    def save_api_versions(self, environment: str, kube_version: str, apis: tuple[str, ...]) -> None:
        """Remember the settled API list of an environment (see ``seed_api_versions``)."""
        seed = self._seed_file(environment, kube_version)
        if seed is not None:
            seed.parent.mkdir(parents=True, exist_ok=True)
            seed.write_text(json.dumps(list(apis)))

    def render(self, app: ChartApplication, archive: ChartArchive, kube_version: str, api_versions: tuple[str, ...]) -> list[dict[str, Any]]:
        """The manifests of one Application (parsed, before Argo CD's rules), from the cache or helm."""
        key = self.cache_key(app, archive, kube_version, api_versions)
        entry = self.cache_dir / key[:2] / f"{key}.json" if self.cache_dir is not None else None
        if entry is not None and entry.is_file():
            try:
                docs = json.loads(entry.read_text())["manifests"]
                self.cache_hits += 1
                return docs
            except (OSError, ValueError, KeyError):
                pass  # a broken entry is rendered again
        try:
            text = self.helm.template(app.release, archive.path, app.namespace, kube_version, api_versions, app.values,
                                      include_crds=not app.skip_crds)
        except HelmError as exc:
            raise HydrationError(f"{app.environment}: Application {app.name} ({archive.ref}): {exc}") from None
        self.renders += 1
        try:
            docs = parse_manifests(text)
        except yaml.YAMLError as exc:
            raise HydrationError(f"{app.environment}: Application {app.name} ({archive.ref}): helm rendered invalid YAML: {exc}") from None
        if entry is not None:
            entry.parent.mkdir(parents=True, exist_ok=True)
            partial = entry.with_suffix(f".{os.getpid()}.partial")
            partial.write_text(json.dumps({"chart": archive.ref, "application": app.name, "manifests": docs}, sort_keys=True))
            os.replace(partial, entry)
        # Each caller gets its own copy to modify.
        return json.loads(json.dumps(docs))


def _crds(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == "CustomResourceDefinition" and str(d.get("apiVersion", "")).startswith("apiextensions.k8s.io/")]


def _file_name(obj: dict[str, Any], namespace: str, with_group: bool = False) -> str:
    kind = obj.get("kind", "unknown").lower()
    if with_group:
        group = group_version(str(obj.get("apiVersion", "")))[0]
        kind = f"{kind}.{group}" if group else kind
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name") or meta.get("generateName") or "unnamed"
    return f"{kind}-{ns}-{name}.yaml" if ns and ns != namespace else f"{kind}-{name}.yaml"


def _resource_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (group_version(str(obj.get("apiVersion", "")))[0], str(obj.get("kind")), meta.get("namespace") or "",
            meta.get("name") or meta.get("generateName") or "")


def argo_objects(app: ChartApplication, archive: ChartArchive, docs: list[dict[str, Any]],
                 cluster_scoped: set[tuple[str, str]] | frozenset[tuple[str, str]]) -> AppHydration:
    """Apply Argo CD's rules to one Application's rendered manifests."""
    result = AppHydration(app, archive, [])
    kept: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for obj in docs:
        group = group_version(str(obj.get("apiVersion", "")))[0]
        set_destination_namespace(obj, app.namespace, (group, str(obj.get("kind"))) not in cluster_scoped)
        if is_hook(obj) and not hook_phases(obj):
            unsupported = unsupported_helm_hooks(obj)
            reason = f"Helm hook {', '.join(unsupported)} (not supported by Argo CD)" if unsupported else "hook of no phase (Skip)"
            result.ignored.append((object_key(obj), reason))
            continue
        key = _resource_key(obj)
        if key in kept:
            result.duplicates.append(object_key(obj))
        kept[key] = obj
    names: dict[str, int] = {}
    for obj in kept.values():
        names[_file_name(obj, app.namespace)] = names.get(_file_name(obj, app.namespace), 0) + 1
    for obj in kept.values():
        name = _file_name(obj, app.namespace)
        name = _file_name(obj, app.namespace, with_group=True) if names[name] > 1 else name
        phases = hook_phases(obj) if is_hook(obj) else ()
        result.objects.append(HydratedObject(f"{app.environment}/hydrated/{app.name}/{name}", obj, app.name,
                                             app.environment, sync_wave(obj), phases, archive.ref, app.application_wave))
    result.objects.sort(key=lambda o: o.path)
    result.ignored.sort()
    result.duplicates.sort()
    return result


def _archive_for(app: ChartApplication, chart_dir: ChartDir) -> ChartArchive:
    archive = chart_dir.find(app.chart, app.version)
    if archive is None:
        raise ChartNotFound(app.name, app.chart, app.version, chart_dir.versions(app.chart))
    return archive


def hydrate_environment(platform: Platform, rendered: list[RenderedObject], chart_dir: ChartDir,
                        renderer: Renderer, workers: int = 2) -> tuple[list[AppHydration], tuple[str, ...]]:
    """Hydrate every chart Application of one environment's rendered objects; also return the API list used."""
    apps = [a for a in chart_applications(rendered) if a.environment == platform.environment]
    archives = {a.name: _archive_for(a, chart_dir) for a in apps}
    kube = kube_version_semver(platform.cluster.kubernetes_version)
    builtin = set(builtin_api_versions(platform.cluster.kubernetes_version))
    tree_crds = _crds(r.obj for r in rendered if r.environment == platform.environment)
    base = builtin.union(*(crd_api_versions(c) for c in tree_crds))
    apis = renderer.seed_api_versions(platform.environment, kube) or tuple(sorted(base))
    outputs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(MAX_ROUNDS):
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            rendered_docs = list(pool.map(lambda a: renderer.render(a, archives[a.name], kube, apis), apps))
        outputs = {a.name: docs for a, docs in zip(apps, rendered_docs)}
        found = base.union(*(crd_api_versions(c) for docs in outputs.values() for c in _crds(docs)))
        if tuple(sorted(found)) == apis:
            break
        apis = tuple(sorted(found))
    else:
        raise HydrationError(f"{platform.environment}: the API list did not settle after {MAX_ROUNDS} renders")
    renderer.save_api_versions(platform.environment, kube, apis)
    all_crds = tree_crds + [c for docs in outputs.values() for c in _crds(docs)]
    cluster_scoped = set(CLUSTER_SCOPED_BUILTINS) | {
        (c["spec"].get("group", ""), c["spec"].get("names", {}).get("kind", "")) for c in all_crds
        if (c.get("spec") or {}).get("scope") == "Cluster"}
    return [argo_objects(a, archives[a.name], outputs[a.name], cluster_scoped) for a in apps], apis


def hydrate(platforms: dict[str, Platform], rendered: list[RenderedObject], chart_dir: ChartDir, helm: Helm,
            cache_dir: Path | None, workers: int = 2) -> Hydration:
    """Hydrate every chart Application of every environment (``cache_dir`` None: no cache)."""
    started = time.perf_counter()
    renderer = Renderer(helm, cache_dir)
    apps: list[AppHydration] = []
    api_versions: dict[str, tuple[str, ...]] = {}
    kube_versions: dict[str, str] = {}
    for env in sorted(platforms):
        env_apps, apis = hydrate_environment(platforms[env], [r for r in rendered if r.environment == env], chart_dir, renderer, workers)
        apps.extend(env_apps)
        api_versions[env] = apis
        kube_versions[env] = kube_version_semver(platforms[env].cluster.kubernetes_version)
    return Hydration(apps, api_versions, kube_versions, helm.version, renderer.renders, renderer.cache_hits,
                     time.perf_counter() - started)
