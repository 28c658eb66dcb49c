"""Helpers to build Kubernetes objects as plain data (dicts), with the platform's common labels."""

from __future__ import annotations

import hashlib
import re
from typing import Any

PART_OF = "plinth"
MANAGED_BY = "plinth"


def dns_label(*parts: str, max_length: int = 63) -> str:
    """Join parts into a DNS-1123 label; too-long names are truncated with a short stable hash."""
    raw = "-".join(p for p in parts if p).lower()
    name = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{name[: max_length - 9].rstrip('-')}-{digest}"


def labels(component: str, name: str, version: str | None = None, **extra: str) -> dict[str, str]:
    """The app.kubernetes.io labels every object carries."""
    result = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version:
        result["app.kubernetes.io/version"] = version
    result.update(extra)
    return result


def k8s_object(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    finalizers: list[str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Kubernetes object as a dict: apiVersion, kind, metadata, then the given top-level fields."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    if finalizers:
        metadata["finalizers"] = list(finalizers)
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
    obj.update(fields)
    return obj


def object_key(obj: dict[str, Any]) -> str:
    """A readable identity of an object: ``Kind/namespace/name`` (cluster-scoped: ``Kind/name``)."""
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{ns}/{meta.get('name')}" if ns else f"{obj.get('kind')}/{meta.get('name')}"


def get(obj: Any, dotted: str, default: Any = None) -> Any:
    """Value at a dotted path of nested dicts (list indexes as numbers), or ``default``."""
    node = obj
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """True when a LabelSelector (matchLabels + matchExpressions) selects ``labels``; an empty selector selects all."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
