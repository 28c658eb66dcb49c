"""The CRD schema folder validation reads when none is given: the fallback folder (``$PLINTH_CRD_DIR`` or
``../shared/schemas/crds``), completed from the pinned charts when the tree uses a custom resource it lacks.

Only the charts whose ``charts.lock.yaml`` entry installs a missing kind are hydrated (cached), so a tree the
fallback folder covers costs nothing more; without a chart directory or helm the fallback is used as it is and
validation names the kinds it has no schema for.
"""

from __future__ import annotations

from pathlib import Path

from plinth.charts.lock import read_lock
from plinth.charts.workflow import ChartsSetupError, crd_dir_for, hydrate_spec
from plinth.render.pipeline import RenderedObject
from plinth.spec.loader import SpecError
from plinth.spec.model import Platform
from plinth.validate.schemas import SchemaStore

LOCK_FILE = "charts.lock.yaml"


def missing_kinds(rendered: list[RenderedObject], platforms: dict[str, Platform], folder: Path) -> set[tuple[str, str]]:
    """(apiVersion, kind) of rendered objects neither Kubernetes nor ``folder`` has a schema for."""
    stores: dict[str, SchemaStore] = {}
    missing: set[tuple[str, str]] = set()
    for item in rendered:
        version = platforms[item.environment].cluster.kubernetes_version
        store = stores.setdefault(version, SchemaStore(version, folder))
        key = (item.obj.get("apiVersion", ""), item.obj.get("kind", ""))
        if key not in missing and store.validator(*key) is None:
            missing.add(key)
    return missing


def charts_installing(spec: Path, kinds: set[tuple[str, str]]) -> set[str]:
    """Chart names whose lock entry installs one of ``kinds`` (``group/Kind:version``)."""
    lock = read_lock(spec.resolve().parent / LOCK_FILE) or {}
    wanted = {f"{api.split('/')[0]}/{kind}:{api.split('/')[-1]}" for api, kind in kinds if "/" in api}
    return {entry["chart"] for entry in (lock.get("charts") or {}).values() if wanted & set(entry.get("crds") or [])}


def crd_dir(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject], fallback: Path) -> Path:
    """``fallback``, or a folder completing it with the CRDs of the charts that install the kinds it lacks."""
    kinds = missing_kinds(rendered, platforms, fallback)
    charts = charts_installing(spec, kinds) if kinds else set()
    if not charts:
        return fallback
    needed = [r for r in rendered if r.obj.get("kind") != "Application"
              or (r.obj.get("spec", {}).get("source") or {}).get("chart") in charts]
    try:
        hydration = hydrate_spec(spec, platforms, needed)
        return crd_dir_for(spec, hydration, needed, fallback)
    except (ChartsSetupError, SpecError):
        return fallback
