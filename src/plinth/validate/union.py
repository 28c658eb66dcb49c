"""Schema validation of the union: every rendered object and every object a chart Application hydrates to, one
schema store per Kubernetes version. A problem of a hydrated object names its Application and its pseudo-path.

Validation is pure Python (jsonschema) and the charts' CRDs are large, so verdicts are remembered: an object with the
same content is validated once per run (staging and prod share most chart objects), and with ``cache_dir`` the objects
found valid are recorded under ``<cache>/validate/`` per schema set (Kubernetes version, kubernetes-validate version,
the CRD schema folder's content), so an unchanged object is not validated again on the next run. Only "valid" is
remembered: an invalid object is always validated, so its problems are always reported in full.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import replace
from importlib.metadata import version as package_version
from pathlib import Path

from plinth.charts.hydrate import HydratedObject
from plinth.render.pipeline import RenderedObject
from plinth.spec.model import Platform
from plinth.validate import schemas
from plinth.validate.schemas import SchemaProblem, SchemaStore


def _schema_set_key(kubernetes_version: str, crd_dir: Path | None) -> str:
    """What the verdicts depend on besides the object: the schemas and the code that applies them."""
    digest = hashlib.sha256(f"{kubernetes_version} {package_version('kubernetes-validate')}".encode())
    digest.update(Path(schemas.__file__).read_bytes())  # the validator's own rules
    if crd_dir is not None and crd_dir.is_dir():
        sources = crd_dir / "SOURCES.json"
        if sources.is_file():  # a folder plinth.charts built: named by its inputs, listed in SOURCES.json
            digest.update(str(crd_dir.resolve()).encode() + sources.read_bytes())
        else:
            for path in sorted(crd_dir.glob("*/*.json")):
                stat = path.stat()
                digest.update(f"{path.relative_to(crd_dir)} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


class _Verdicts:
    """Digests of objects known valid against one schema set (in memory, and on disk with a cache folder)."""

    def __init__(self, key: str, cache_dir: Path | None):
        self.file = cache_dir / "validate" / f"{key}.json" if cache_dir is not None else None
        self.valid: set[str] = set()
        if self.file is not None and self.file.is_file():
            try:
                self.valid = set(json.loads(self.file.read_text()))
            except (OSError, ValueError):
                self.valid = set()
        self._loaded = len(self.valid)

    def save(self) -> None:
        if self.file is None or len(self.valid) == self._loaded:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.file.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(sorted(self.valid)))
        os.replace(partial, self.file)


def validate_objects(items: Iterable[RenderedObject | HydratedObject], platforms: dict[str, Platform],
                     crd_dir: Path | None, cache_dir: Path | None = None) -> list[SchemaProblem]:
    """Schema problems of every object (``SchemaSetupError`` when the schemas themselves are missing)."""
    stores: dict[str, tuple[SchemaStore, _Verdicts]] = {}
    problems: list[SchemaProblem] = []
    for item in items:
        version = platforms[item.environment].cluster.kubernetes_version
        if version not in stores:
            stores[version] = (SchemaStore(version, crd_dir), _Verdicts(_schema_set_key(version, crd_dir), cache_dir))
        store, verdicts = stores[version]
        digest = hashlib.sha256(json.dumps(item.obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        if digest in verdicts.valid:
            continue
        found = store.check(item.obj, item.path)
        if not found:
            verdicts.valid.add(digest)
        if isinstance(item, HydratedObject):
            found = [replace(p, application=item.application) for p in found]
        problems.extend(found)
    for _, verdicts in stores.values():
        verdicts.save()
    return problems
