"""Generate ``examples/design-as-written.yaml``: platform.yaml with the design's numbers put back exactly as the
design writes them (../shared/seed/infrastructure.md), without the default spec's corrections.

Each design value is tried on its own: if the typed model accepts it, it goes in and ``plinth check`` must
report the contradiction (the check named here); if the model rejects it outright, the closest expressible
value (platform.yaml's) stays and the header records the model's own error. A test fails when the committed
file is stale and when an accepted value is not reported by its check.

Written by ``plinth generate examples``.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from plinth.render.pipeline import render_all
from plinth.spec.loader import SpecError, load_all, read_yaml

ALL_FAILURES = ["pod", "node", "zone", "region"]


@dataclass(frozen=True)
class DesignValue:
    """One number or word of the design, as written, and the check that must catch its contradiction."""

    path: str
    """Dotted spec path it sets (shown in the header and in findings)."""
    value: Any
    """The design's value, in the spec's units."""
    design_says: str
    """The design's own words."""
    check: str | None
    """Check ID that reports the contradiction when the model accepts the value; None: a contradiction the typed model
    itself must reject; "": not a contradiction by itself (the model must accept it)."""


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[parts[-1]] = value


DESIGN_VALUES: tuple[DesignValue, ...] = (
    DesignValue("design_totals.nodes", 18, 'resource table "Total": 18 nodes (3 + 10 + 5: right)', ""),
    DesignValue("design_totals.vcpu", 148, 'resource table "Total": 148 vCPU', "PL-CAP-002"),
    DesignValue("design_totals.memory_gib", 464, 'resource table "Total": 464GB', "PL-CAP-002"),
    DesignValue("design_totals.storage_gib", 12 * 1024, 'resource table "Total": 12TB', "PL-CAP-002"),
    DesignValue("datastores.redis.ha.rpo_seconds", 0, 'HA table "Redis | 3-node cluster | 1 min | 0"', "PL-RPO-003"),
    DesignValue("datastores.redis.ha.strategy", "3-node cluster", 'HA table "Redis | 3-node cluster"', ""),
    DesignValue("datastores.postgres.ha.covers", ALL_FAILURES, 'HA table "PostgreSQL RPO 0" (no failure excluded)', "PL-RPO-004"),
    DesignValue("datastores.clickhouse.ha.covers", ALL_FAILURES, 'HA table "ClickHouse RPO 1 min" (no failure excluded)', "PL-RPO-004"),
    DesignValue("datastores.redis.ha.covers", ALL_FAILURES, 'HA table "Redis RPO 0" (no failure excluded)', "PL-RPO-004"),
    DesignValue("datastores.kafka.ha.covers", ALL_FAILURES, 'HA table "Kafka RPO 0" (no failure excluded)', "PL-RPO-004"),
    DesignValue("api_services.ha.covers", ALL_FAILURES, 'HA table "API Services RTO 0, RPO 0" (stateless)', ""),
    DesignValue("datastores.postgres.scaling.min_replicas", 1, 'scaling table "PostgreSQL | Manual | Monitoring | 1 | 3"', None),
    DesignValue("services.api-gateway.scaling.type", "hpa", 'scaling table "API Gateway | HPA | RPS > 1000"', None),
    DesignValue("argocd.namespace", "argocd", 'example Application "namespace: argocd"', None),
)
"""The design's values platform.yaml corrects, in the order they are applied."""


def _rejection(data: dict[str, Any]) -> str | None:
    """None when the data is a spec that loads and renders, else why not."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "design-as-written.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        try:
            render_all(load_all(path))
        except SpecError as exc:
            return "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in exc.problems)
        except Exception as exc:  # noqa: BLE001 - a component that cannot render the value rejects it too
            return f"render fails: {type(exc).__name__}: {exc}"
    return None


def _clear_notes(data: dict[str, Any]) -> None:
    """Drop the notes in which platform.yaml explains its corrections (they are not the design's words)."""
    data["api_services"]["ha"]["note"] = ""
    for store in ("postgres", "clickhouse", "redis", "kafka"):
        data["datastores"][store]["ha"]["note"] = ""


def build(source: Path) -> tuple[str, list[tuple[DesignValue, str | None]]]:
    """The example's text, and each design value with None (accepted) or the model's reason for rejecting it."""
    read_yaml(source)  # located error if platform.yaml itself is malformed
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["environments"] = {"prod": {}}
    _clear_notes(data)
    outcomes: list[tuple[DesignValue, str | None]] = []
    for item in DESIGN_VALUES:
        trial = copy.deepcopy(data)
        _set(trial, item.path, item.value)
        rejected = _rejection(trial)
        if rejected is None:
            data = trial
        outcomes.append((item, rejected))
    return _header(outcomes) + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=140), outcomes


def _header(outcomes: list[tuple[DesignValue, str | None]]) -> str:
    lines = [
        "# GENERATED by `plinth generate examples` from platform.yaml: do not edit.",
        "# The design's numbers exactly as written (../shared/seed/infrastructure.md), WITHOUT platform.yaml's corrections.",
        "# `plinth check --spec examples/design-as-written.yaml` reports each contradiction the typed model lets through;",
        "# values the model rejects outright keep platform.yaml's (closest expressible) value, with the model's reason.",
        "# Fields the design does not state (images, resources, quotas, timers...) are platform.yaml's.",
        "#",
        "# As written, and what catches it:",
    ]
    for item, rejected in outcomes:
        shown = item.value
        if rejected is not None:
            fate = f"REJECTED by the model, closest expressible value kept: {rejected}"
        elif item.check:
            fate = f"reported by {item.check}"
        else:
            fate = "kept (not a contradiction by itself)" if item.check == "" else "ACCEPTED although the model should reject it"
        lines.append(f"#   {item.path} = {shown!s}  ({item.design_says}): {fate}")
    return "\n".join(lines) + "\n"

