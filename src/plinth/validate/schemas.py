"""Validate objects against the real schemas: the Kubernetes OpenAPI schemas bundled by
``kubernetes-validate`` (strict variant) and the CRD schemas in a configurable folder.

One ``Draft202012Validator`` is built per (apiVersion, kind) and reused; the Kubernetes
``_definitions.json`` is loaded once into a ``referencing`` registry. A kind without a schema is an
error, never a silent pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource


class SchemaSetupError(Exception):
    """The schemas themselves cannot be found (bad version or CRD folder)."""


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation (or a missing schema) of one object."""

    path: str
    """Rendered file of the object (or the pseudo-path of a hydrated one)."""
    obj: str
    """``Kind/namespace/name``."""
    field: str
    """Dotted path of the offending field ("" for the whole object)."""
    message: str
    application: str | None = None
    """The chart Application a hydrated object comes from."""

    def __str__(self) -> str:
        where = f"{self.path}: {self.obj}" + (f" (Application {self.application})" if self.application else "")
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SchemaStore:
    """Schemas for one Kubernetes version plus a folder of CRD schemas; validators are cached."""

    def __init__(self, kubernetes_version: str, crd_dir: Path | None):
        self.kubernetes_version = kubernetes_version
        self.crd_dir = Path(crd_dir) if crd_dir else None
        root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{kubernetes_version}.0-local-strict"
        self._k8s_dir = Path(str(root))
        if not self._k8s_dir.is_dir():
            raise SchemaSetupError(f"kubernetes-validate has no schemas for Kubernetes {kubernetes_version}")
        if self.crd_dir is not None and not self.crd_dir.is_dir():
            raise SchemaSetupError(f"CRD schema folder {self.crd_dir} does not exist")
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    @cached_property
    def _registry(self) -> Registry:
        definitions = json.loads((self._k8s_dir / "_definitions.json").read_text())
        return Resource.from_contents(definitions) @ Registry()

    def _k8s_schema_file(self, api_version: str, kind: str) -> Path:
        flat = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
        return self._k8s_dir / f"{kind.lower()}-{flat}.json"

    def _crd_schema_file(self, api_version: str, kind: str) -> Path | None:
        if self.crd_dir is None or "/" not in api_version:
            return None
        group, version = api_version.split("/", 1)
        return self.crd_dir / group / f"{kind.lower()}_{version}.json"

    def validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        """The cached validator of a kind, or None when no schema exists for it."""
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build(api_version, kind)
        return self._validators[key]

    def _build(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        core = self._k8s_schema_file(api_version, kind)
        if core.is_file():
            schema = json.loads(core.read_text())
            return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ self._registry)
        crd = self._crd_schema_file(api_version, kind)
        if crd is not None and crd.is_file():
            schema = json.loads(crd.read_text())
            return jsonschema.Draft202012Validator(schema)
        return None

    def check(self, obj: dict[str, Any], path: str = "") -> list[SchemaProblem]:
        """Every schema problem of one object."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace")
        name = f"{obj.get('kind')}/{ns}/{meta.get('name')}" if ns else f"{obj.get('kind')}/{meta.get('name')}"
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return [SchemaProblem(path, name, "", "object has no apiVersion/kind")]
        validator = self.validator(api_version, kind)
        if validator is None:
            where = f"Kubernetes {self.kubernetes_version} or CRD folder {self.crd_dir}" if self.crd_dir else f"Kubernetes {self.kubernetes_version} (no CRD folder given)"
            return [SchemaProblem(path, name, "", f"no schema for {api_version} {kind} in {where}")]
        problems = []
        # CRD schemas converted the kubeconform way leave the root open; unknown top-level fields
        # (a misplaced ``finalizers``) would pass silently, so the root is checked here.
        known = (validator.schema.get("properties") or {}).keys()
        root_open = validator.schema.get("additionalProperties", True) is not False
        for extra in sorted(set(obj) - set(known)) if known and root_open else ():
            problems.append(SchemaProblem(path, name, extra, "unknown top-level field (not in the schema)"))
        for error in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path]):
            parts = list(error.absolute_path)
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                extras = sorted(set(error.instance) - set(error.schema.get("properties") or {}))
                if len(extras) == 1:
                    parts.append(extras[0])
            field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in parts).replace(".[", "[")
            problems.append(SchemaProblem(path, name, field, _short(error)))
        return problems


def _short(error: jsonschema.ValidationError) -> str:
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return best.message
    message = error.message
    return message if len(message) <= 300 else message[:297] + "..."
