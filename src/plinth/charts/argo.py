"""Argo CD's rules for the manifests a chart renders: hook phases, sync waves, namespaces.

From Argo CD's sources and docs (``docs/user-guide/helm.md`` "Helm Hooks", gitops-engine
``pkg/sync/hook``, ``pkg/sync/syncwaves``, ``controller/state.go DeduplicateTargetObjects``):

- An object with ``argocd.argoproj.io/hook`` is an Argo CD hook of those phases; its Helm hook
  annotations are then ignored. ``Skip`` means the object is never applied.
- Otherwise ``helm.sh/hook`` maps: ``crd-install``, ``pre-install``, ``pre-upgrade`` -> PreSync;
  ``post-install``, ``post-upgrade`` -> PostSync; ``pre-delete`` -> PreDelete; ``post-delete`` -> PostDelete.
  Other Helm hooks (``test``, ``test-success``, ``test-failure``, ``pre-rollback``, ``post-rollback``) are not
  supported: an object carrying only those is a hook of no phase, which Argo CD never applies.
- Sync wave: ``argocd.argoproj.io/sync-wave`` when it is an integer; else 0 for an Argo CD hook; else
  ``helm.sh/hook-weight`` (read for any object, hook or not); else 0. Waves order objects *within* one
  Application's sync (per phase); an Application's own wave orders Applications in the app-of-apps.
- Namespace: a namespaced (or unknown) kind without ``metadata.namespace`` gets the Application's
  destination namespace; a cluster-scoped kind loses any namespace it carries.
- Two manifests with the same group/kind/namespace/name: the last one wins (a RepeatedResourceWarning).
- A directory-type source (``docs/user-guide/directory.md``) reads the ``.yaml``/``.yml``/``.json`` files directly in
  its ``path`` (with ``directory.recurse`` every level below), filtered by the ``directory.include`` and
  ``directory.exclude`` globs (``{a,b}`` alternatives allowed), matched against the path relative to ``path``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

ARGO_HOOK = "argocd.argoproj.io/hook"
HELM_HOOK = "helm.sh/hook"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"

ARGO_HOOK_TYPES = ("PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete", "Skip")
HELM_HOOK_PHASES = {
    "crd-install": "PreSync",
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
    "pre-delete": "PreDelete",
    "post-delete": "PostDelete",
}
"""Helm hook -> Argo CD hook phase (Argo CD's "Helm Hooks" table); unlisted Helm hooks are unsupported."""

PHASE_ORDER = ("PreSync", "Sync", "PostSync", "SyncFail", "PreDelete", "PostDelete")


def _annotations(obj: dict[str, Any]) -> dict[str, Any]:
    return ((obj.get("metadata") or {}).get("annotations")) or {}


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value).split(",") if part.strip()]


def argo_hook_types(obj: dict[str, Any]) -> list[str]:
    """The valid Argo CD hook types an object's own ``argocd.argoproj.io/hook`` annotation names."""
    value = _annotations(obj).get(ARGO_HOOK)
    return [t for t in _csv(value) if t in ARGO_HOOK_TYPES] if value is not None else []


def is_hook(obj: dict[str, Any]) -> bool:
    """Argo CD treats the object as a hook (run in its phases, not kept as a synced resource)."""
    annotations = _annotations(obj)
    return ARGO_HOOK in annotations or HELM_HOOK in annotations


def hook_phases(obj: dict[str, Any]) -> tuple[str, ...]:
    """Phases a hook runs in, in sync order; ``()`` for a hook Argo CD never applies (``Skip``, Helm tests).
    Meaningless for a non-hook object (see ``is_hook``)."""
    annotations = _annotations(obj)
    if ARGO_HOOK in annotations:
        types = argo_hook_types(obj)
    else:
        types = [HELM_HOOK_PHASES[t] for t in _csv(annotations.get(HELM_HOOK, "")) if t in HELM_HOOK_PHASES]
    phases = {t for t in types if t != "Skip"}
    return tuple(p for p in PHASE_ORDER if p in phases)


def unsupported_helm_hooks(obj: dict[str, Any]) -> list[str]:
    """Helm hook types on the object that Argo CD ignores (e.g. ``test``, ``pre-rollback``)."""
    annotations = _annotations(obj)
    if ARGO_HOOK in annotations:
        return []
    return [t for t in _csv(annotations.get(HELM_HOOK, "")) if t not in HELM_HOOK_PHASES]


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def sync_wave(obj: dict[str, Any]) -> int:
    """The object's sync wave inside its Application's sync (gitops-engine ``syncwaves.Wave``)."""
    annotations = _annotations(obj)
    if SYNC_WAVE in annotations and _int(annotations[SYNC_WAVE]) is not None:
        return _int(annotations[SYNC_WAVE])  # type: ignore[return-value]
    if argo_hook_types(obj):
        return 0
    if HELM_HOOK_WEIGHT in annotations and _int(annotations[HELM_HOOK_WEIGHT]) is not None:
        return _int(annotations[HELM_HOOK_WEIGHT])  # type: ignore[return-value]
    return 0


def set_destination_namespace(obj: dict[str, Any], namespace: str, namespaced: bool) -> None:
    """Argo CD's namespace rule: namespaced objects without a namespace get the destination namespace,
    cluster-scoped objects lose theirs."""
    metadata = obj.setdefault("metadata", {})
    if not namespaced:
        metadata.pop("namespace", None)
    elif not metadata.get("namespace"):
        metadata["namespace"] = namespace


MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
"""Files a directory-type Application reads (Argo CD "Directory": plain manifests)."""


def _glob_alternatives(pattern: str) -> list[str]:
    """Argo CD's include/exclude globs allow ``{a,b}`` alternatives: expand them into plain fnmatch patterns."""
    start = pattern.find("{")
    end = pattern.find("}", start + 1)
    if start < 0 or end < 0:
        return [pattern]
    return [alt for choice in pattern[start + 1:end].split(",") for alt in _glob_alternatives(pattern[:start] + choice + pattern[end + 1:])]


def _glob_match(pattern: str, path: str) -> bool:
    return any(fnmatch.fnmatchcase(path, alt) for alt in _glob_alternatives(pattern))


def directory_files(source: dict[str, Any], files: Iterable[str]) -> list[str]:
    """The files among ``files`` (repository paths) that a directory-type Application source reads, as Argo CD does:
    the manifests directly in ``path`` (every level below with ``directory.recurse``), those matching
    ``directory.include`` when set, none matching ``directory.exclude`` (globs on the path relative to ``path``)."""
    folder = str(source.get("path") or "").strip("/")
    directory = source.get("directory") or {}
    include, exclude = str(directory.get("include") or ""), str(directory.get("exclude") or "")
    result = []
    for file in files:
        if not file.startswith(f"{folder}/") or not file.endswith(MANIFEST_SUFFIXES):
            continue
        relative = file[len(folder) + 1:]
        if "/" in relative and not directory.get("recurse"):
            continue
        if include and not _glob_match(include, relative):
            continue
        if exclude and _glob_match(exclude, relative):
            continue
        result.append(file)
    return sorted(result)
