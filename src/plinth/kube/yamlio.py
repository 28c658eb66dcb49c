"""The one writer: objects (plain data) to YAML text, sorted and deterministic."""

from __future__ import annotations

from typing import Any

import yaml

_FIRST = ("apiVersion", "kind", "metadata")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value


def canonical(obj: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata first, every other key sorted, recursively (cdk8s ``toJson``)."""
    ordered = {k: _sorted(obj[k]) for k in _FIRST if k in obj}
    ordered.update({k: _sorted(obj[k]) for k in sorted(obj) if k not in _FIRST})
    return ordered


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Safe dumper; multi-line strings as literal blocks so scripts and rules stay readable."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(obj: Any, *, canonical_order: bool = True, header: str = "", value_comments: dict[str, str] | None = None) -> str:
    """YAML text of one object (or any plain data), byte-stable across runs.

    ``header`` becomes leading ``#`` comment lines; ``value_comments`` maps a plain scalar value to a
    comment appended to every line that ends with that value (e.g. a pinned action SHA and its tag).
    """
    data = canonical(obj) if canonical_order and isinstance(obj, dict) else _sorted(obj)
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    if value_comments:
        lines = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\n")
            for value, comment in value_comments.items():
                if body.endswith((f": {value}", f"- {value}")):
                    line = f"{body} # {comment}\n"
                    break
            lines.append(line)
        text = "".join(lines)
    if header:
        text = "".join(f"# {h}\n" if h else "#\n" for h in header.splitlines()) + text
    return text
