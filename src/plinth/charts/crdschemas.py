"""JSON schemas of the custom resources, converted from the CRDs the pinned charts ship.

The chart is the source of truth for its CRDs: every ``CustomResourceDefinition`` in the hydrated objects
(and in the rendered tree) gives one file per served version, ``{group}/{kind}_{version}.json`` (lower
case), the layout ``plinth.validate.schemas.SchemaStore`` reads. The conversion is kubeconform's
``openapi2jsonschema.py`` (as the fallback folder ``../shared/schemas/crds`` was made, see its
PROVENANCE.md): ``additionalProperties: false`` on every object schema with ``properties`` that does not
say otherwise, except the root; ``format: int-or-string`` becomes ``oneOf`` string/integer. Two fixes
for Python's ``re`` (jsonschema's ``pattern``), both keeping the language the pattern accepts: a Go/RE2
flag group in the middle of a pattern (``(?i)`` after the start) is scoped to the rest of its enclosing
group (``(?i:...)``), and Envoy Gateway's exponentially backtracking origin host ``(([\\w-]+\\.?)+)?[\\w-]+``
becomes ``[\\w-]+(\\.[\\w-]+)*``.

CRDs no chart ships come from the fallback folder. ``crd_schema_dir`` writes the merged folder once per
distinct set of inputs under ``<cache>/crd-schemas/<digest>/`` and returns it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SLOW_HOST_PATTERN = r"(([\w-]+\.?)+)?[\w-]+"
LINEAR_HOST_PATTERN = r"[\w-]+(\.[\w-]+)*"
CONVERSION_FORMAT = 1
"""Bumped when the conversion changes (part of the cache key)."""


def additional_properties(data: Any, skip: bool = False) -> Any:
    """kubeconform's rule (kubectl's validation): object schemas with ``properties`` reject unknown fields.

    Like the original, it recurses through dict values only (not through lists such as ``oneOf``)."""
    if isinstance(data, dict):
        if "properties" in data and not skip and "additionalProperties" not in data:
            data["additionalProperties"] = False
        for value in data.values():
            additional_properties(value)
    return data


def replace_int_or_string(data: Any) -> Any:
    """kubeconform's rule: ``format: int-or-string`` becomes ``oneOf`` string or integer."""
    if not isinstance(data, dict):
        return data
    result: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            result[key] = ({"oneOf": [{"type": "string"}, {"type": "integer"}]} if value.get("format") == "int-or-string"
                           else replace_int_or_string(value))
        elif isinstance(value, list):
            result[key] = [replace_int_or_string(item) for item in value]
        else:
            result[key] = value
    return result


def _scope_inline_flags(pattern: str) -> str:
    """Rewrite each ``(?flags)`` that is not at the start into ``(?flags:...)`` up to the end of its
    enclosing group, which is what the flag covers in RE2 (Python rejects such global flags)."""
    out = pattern
    search_from = 1
    while True:
        start = _find_inline_flag(out, search_from)
        if start is None:
            return out
        close = out.index(")", start)
        flags = out[start + 2:close]
        end = _group_end(out, close + 1)
        out = f"{out[:start]}(?{flags}:{out[close + 1:end]}){out[end:]}"
        search_from = start + 1


def _find_inline_flag(pattern: str, start: int) -> int | None:
    i, in_class = start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif pattern.startswith("(?", i):
            j = i + 2
            while j < len(pattern) and pattern[j].isalpha():
                j += 1
            if j > i + 2 and j < len(pattern) and pattern[j] == ")":
                return i
        i += 1
    return None


def _group_end(pattern: str, start: int) -> int:
    """Index of the ``)`` closing the group that encloses ``start`` (or the end of the pattern)."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return len(pattern)


def python_pattern(pattern: str) -> str:
    """An RE2 ``pattern`` made usable by Python's ``re`` without changing what it accepts."""
    fixed = pattern.replace(SLOW_HOST_PATTERN, LINEAR_HOST_PATTERN)
    return _scope_inline_flags(fixed) if "(?" in fixed else fixed


def _fix_patterns(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: (python_pattern(v) if k == "pattern" and isinstance(v, str) else _fix_patterns(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_fix_patterns(v) for v in data]
    return data


def convert_schema(open_api_v3: dict[str, Any]) -> dict[str, Any]:
    """One served version's ``openAPIV3Schema`` as the JSON schema ``SchemaStore`` reads."""
    schema = additional_properties(json.loads(json.dumps(open_api_v3)), skip=True)
    return _fix_patterns(replace_int_or_string(schema))


@dataclass(frozen=True)
class CrdSchema:
    """One converted schema: where it goes and what it came from."""

    file: str
    """``{group}/{kind}_{version}.json`` (lower case)."""
    schema: dict[str, Any]
    source: str
    """What shipped the CRD (``<chart>-<version>`` or a rendered file)."""


def crd_schemas(crds: Iterable[tuple[dict[str, Any], str]]) -> tuple[list[CrdSchema], list[str]]:
    """Converted schemas of (CRD, source) pairs, one per served version; also conflicts (the same
    group/kind/version from two sources with different schemas; the first source, by name, wins)."""
    chosen: dict[str, CrdSchema] = {}
    conflicts: list[str] = []
    for crd, source in sorted(crds, key=lambda pair: (pair[1], (pair[0].get("metadata") or {}).get("name", ""))):
        spec = crd.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        for version in spec.get("versions") or []:
            open_api = ((version.get("schema") or {}).get("openAPIV3Schema"))
            if not (group and kind and open_api and version.get("served", True)):
                continue
            item = CrdSchema(f"{group}/{kind}_{version['name']}.json".lower(), convert_schema(open_api), source)
            if item.file in chosen:
                if chosen[item.file].schema != item.schema:
                    conflicts.append(f"{item.file}: {chosen[item.file].source} and {source} differ ({chosen[item.file].source} kept)")
                continue
            chosen[item.file] = item
    return [chosen[k] for k in sorted(chosen)], conflicts


def _fallback_files(fallback: Path | None) -> dict[str, Path]:
    if fallback is None or not fallback.is_dir():
        return {}
    return {str(p.relative_to(fallback)).lower(): p for p in sorted(fallback.glob("*/*.json"))}


def _served_files(crd: dict[str, Any]) -> set[str]:
    spec = crd.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    return {f"{group}/{kind}_{v['name']}.json".lower() for v in spec.get("versions") or []
            if group and kind and v.get("served", True) and (v.get("schema") or {}).get("openAPIV3Schema")}


def crd_schema_dir(crds: Iterable[tuple[dict[str, Any], str]], cache_dir: Path, fallback: Path | None) -> Path:
    """A folder of CRD schemas: every chart-shipped CRD converted, plus the fallback folder's files for
    CRDs no chart ships. Written once per distinct input under ``<cache>/crd-schemas/<digest>/``; a
    ``SOURCES.json`` there says where each file came from."""
    crds = list(crds)
    shipped = set().union(*(_served_files(crd) for crd, _ in crds)) if crds else set()
    extra = {name: path for name, path in _fallback_files(fallback).items() if name not in shipped}
    digest = hashlib.sha256(str(CONVERSION_FORMAT).encode())
    for crd, source in sorted(crds, key=lambda pair: (pair[1], json.dumps(pair[0], sort_keys=True))):
        digest.update(source.encode() + json.dumps(crd, sort_keys=True).encode())
    for name, path in sorted(extra.items()):
        digest.update(f"{name} {path} {path.stat().st_mtime_ns} {path.stat().st_size}".encode())
    key = digest.hexdigest()[:24]
    folder = cache_dir / "crd-schemas" / key
    if (folder / "SOURCES.json").is_file():
        return folder
    schemas, conflicts = crd_schemas(crds)
    partial = cache_dir / "crd-schemas" / f".{key}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    sources: dict[str, str] = {}
    for item in schemas:
        target = partial / item.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(item.schema, indent=2) + "\n")
        sources[item.file] = item.source
    for name, path in sorted(extra.items()):
        target = partial / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        sources[name] = f"fallback {path}"
    (partial / "SOURCES.json").write_text(json.dumps({"files": sources, "conflicts": conflicts}, indent=2, sort_keys=True) + "\n")
    try:
        os.replace(partial, folder)
    except OSError:  # another process wrote the same folder first
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def hydrated_crds(objects: Iterable[Any]) -> list[tuple[dict[str, Any], str]]:
    """(CRD, source) pairs of hydrated or rendered objects (``chart`` of a hydrated object, else its path)."""
    return [(o.obj, getattr(o, "chart", None) or o.path) for o in objects
            if o.obj.get("kind") == "CustomResourceDefinition" and str(o.obj.get("apiVersion", "")).startswith("apiextensions.k8s.io/")]
