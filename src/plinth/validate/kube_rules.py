"""Rules the API server (or a controller) enforces that the OpenAPI schemas do not: object names and their lengths,
label syntax, unique ports per object, unique listeners per hostname. Checked on the rendered objects, and each
problem is reported at the spec field that produced it, so a 63-character service name is an error at
``services.<name>`` (its Service ``<name>-canary`` has 70 characters), not an object a cluster refuses later.

Name rules (Kubernetes' ``apimachinery/pkg/util/validation``): a Namespace is a DNS-1123 label (63 characters,
``[a-z0-9]([-a-z0-9]*[a-z0-9])?``); a Service a DNS-1035 label (also starts with a letter); a CronJob at most 52
characters (its Jobs append 11); a StatefulSet at most 52 (its pods carry ``controller-revision-hash:
<name>-<10-character hash>``, a label value of at most 63); every other object a DNS-1123 subdomain (253 characters,
dot-separated labels). Label values have at most 63 characters (``(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?``);
port names are IANA service names (at most 15 characters, a letter among ``[a-z0-9-]``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plinth.render.pipeline import RenderedObject
from plinth.spec.loader import SpecError, SpecProblem, read_yaml

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
WILDCARD_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

LABEL_KINDS = {"Namespace": "a DNS-1123 label"}
SERVICE_KINDS = {"Service"}
SHORT_KINDS = {"CronJob": 52, "StatefulSet": 52}
"""Kinds whose name must leave room for what their controller appends (see the module docstring)."""
POD_TEMPLATES = {
    "Deployment": "spec.template", "StatefulSet": "spec.template", "DaemonSet": "spec.template", "Rollout": "spec.template",
    "Job": "spec.template", "CronJob": "spec.jobTemplate.spec.template", "ReplicaSet": "spec.template",
}


@dataclass(frozen=True)
class RuleProblem:
    """A rendered object the cluster would refuse: which object, which of its fields, the offending value, why."""

    item: RenderedObject
    field: str
    value: str
    message: str

    @property
    def where(self) -> str:
        """``Kind/namespace/name`` of the object."""
        meta = self.item.obj.get("metadata") or {}
        ns = meta.get("namespace")
        return f"{self.item.obj.get('kind')}/{ns}/{meta.get('name')}" if ns else f"{self.item.obj.get('kind')}/{meta.get('name')}"


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _name_problems(kind: str, name: str) -> list[str]:
    if kind in SERVICE_KINDS:
        if len(name) > 63 or not DNS1035_LABEL.match(name):
            return [f"a Service name must be a DNS-1035 label (a lower-case letter first, then letters, digits and '-', at most "
                    f"63 characters); {name!r} has {len(name)}"]
        return []
    if kind in LABEL_KINDS:
        if len(name) > 63 or not DNS1123_LABEL.match(name):
            return [f"a {kind} name must be {LABEL_KINDS[kind]} (lower-case letters, digits and '-', at most 63 characters); "
                    f"{name!r} has {len(name)}"]
        return []
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        return [f"a {kind} name must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253 characters); "
                f"got {name!r}"]
    if kind in SHORT_KINDS and len(name) > SHORT_KINDS[kind]:
        return [f"a {kind} name may have at most {SHORT_KINDS[kind]} characters (its controller appends to it for the names and "
                f"labels it creates); {name!r} has {len(name)}"]
    return []


def _label_problems(labels: Any, where: str) -> Iterator[tuple[str, str, str]]:
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        key, value = str(key), "" if value is None else str(value)
        prefix, _, name = key.rpartition("/")
        if len(name) > 63 or not LABEL_NAME.match(name) or (prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix))):
            yield f"{where}.{key}", key, f"label key {key!r} is not a valid label name (an optional DNS subdomain prefix and '/', then at most 63 characters)"
        if len(value) > 63 or not LABEL_VALUE.match(value):
            yield (f"{where}.{key}", value, f"label value {value!r} has {len(value)} characters; a label value has at most 63 (letters, "
                   "digits, '-', '_', '.', alphanumeric at both ends)")


def _port_name_problem(name: str) -> str | None:
    if len(name) > 15 or not IANA_SVC_NAME.match(name) or "--" in name or not re.search(r"[a-z]", name):
        return (f"port name {name!r} must be an IANA service name (at most 15 characters of lower-case letters, digits and '-', "
                "with at least one letter)")
    return None


def _duplicates(values: Iterable[Any]) -> list[Any]:
    counts = Counter(values)
    return sorted((v for v, n in counts.items() if n > 1), key=str)


def object_problems(item: RenderedObject) -> Iterator[RuleProblem]:
    """What the API server (or the object's controller) would refuse in one rendered object."""
    obj = item.obj
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    for message in _name_problems(kind, name):
        yield RuleProblem(item, "metadata.name", name, message)
    namespace = meta.get("namespace")
    if namespace is not None and (len(str(namespace)) > 63 or not DNS1123_LABEL.match(str(namespace))):
        yield RuleProblem(item, "metadata.namespace", str(namespace), f"namespace {namespace!r} is not a DNS-1123 label")
    label_sources = [("metadata.labels", meta.get("labels")), ("spec.selector.matchLabels", _get(obj, "spec.selector.matchLabels"))]
    template = POD_TEMPLATES.get(kind)
    if template:
        label_sources.append((f"{template}.metadata.labels", _get(obj, f"{template}.metadata.labels")))
    if kind == "Service":
        label_sources.append(("spec.selector", _get(obj, "spec.selector")))
    for where, labels in label_sources:
        for field, value, message in _label_problems(labels, where):
            yield RuleProblem(item, field, value, message)
    if kind == "Service":
        yield from _service_ports(item)
    if template:
        yield from _container_ports(item, f"{template}.spec")
    if kind == "Gateway":
        yield from _listeners(item)


def _service_ports(item: RenderedObject) -> Iterator[RuleProblem]:
    ports = _get(item.obj, "spec.ports") or []
    numbers = [(p.get("port"), p.get("protocol", "TCP")) for p in ports if isinstance(p, dict)]
    for port, protocol in _duplicates(numbers):
        yield RuleProblem(item, "spec.ports", str(port), f"port {port}/{protocol} is listed twice; each Service port must be unique")
    names = [p.get("name") for p in ports if isinstance(p, dict)]
    for duplicate in _duplicates(n for n in names if n):
        yield RuleProblem(item, "spec.ports", str(duplicate), f"port name {duplicate!r} is used twice")
    if len(ports) > 1 and any(not n for n in names):
        yield RuleProblem(item, "spec.ports", "", "a Service with several ports must name each of them")
    for port_name in names:
        if port_name and (problem := _port_name_problem(str(port_name))):
            yield RuleProblem(item, "spec.ports", str(port_name), problem)


def _container_ports(item: RenderedObject, pod_path: str) -> Iterator[RuleProblem]:
    pod = _get(item.obj, pod_path) or {}
    containers = [c for key in ("initContainers", "containers") for c in pod.get(key) or [] if isinstance(c, dict)]
    for duplicate in _duplicates(str(c.get("name")) for c in containers):
        yield RuleProblem(item, f"{pod_path}.containers", duplicate, f"container name {duplicate!r} is used twice in one pod")
    for container in containers:
        cname = str(container.get("name", ""))
        if len(cname) > 63 or not DNS1123_LABEL.match(cname):
            yield RuleProblem(item, f"{pod_path}.containers", cname, f"container name {cname!r} is not a DNS-1123 label")
    ports = [(str(c.get("name")), p) for c in containers for p in c.get("ports") or [] if isinstance(p, dict)]
    for duplicate in _duplicates((p.get("containerPort"), p.get("protocol", "TCP")) for _, p in ports):
        yield RuleProblem(item, f"{pod_path}.containers", str(duplicate[0]),
                          f"container port {duplicate[0]}/{duplicate[1]} is declared twice in one pod")
    for duplicate in _duplicates(p.get("name") for _, p in ports if p.get("name")):
        yield RuleProblem(item, f"{pod_path}.containers", str(duplicate), f"port name {duplicate!r} is used twice in one pod")
    for _, port in ports:
        if port.get("name") and (problem := _port_name_problem(str(port["name"]))):
            yield RuleProblem(item, f"{pod_path}.containers", str(port["name"]), problem)


def _listeners(item: RenderedObject) -> Iterator[RuleProblem]:
    listeners = [li for li in _get(item.obj, "spec.listeners") or [] if isinstance(li, dict)]
    for duplicate in _duplicates(str(li.get("name")) for li in listeners):
        yield RuleProblem(item, "spec.listeners", duplicate, f"listener name {duplicate!r} is used twice")
    for port, hostname in _duplicates((li.get("port"), li.get("hostname") or "*") for li in listeners):
        yield RuleProblem(item, "spec.listeners", str(hostname),
                          f"two listeners on port {port} for hostname {hostname}: the Gateway marks them Conflicted and serves neither")
    for listener in listeners:
        host = listener.get("hostname")
        if host is not None and (len(str(host)) > 253 or not WILDCARD_HOST.match(str(host))):
            yield RuleProblem(item, "spec.listeners", str(host), f"listener hostname {host!r} is not a valid DNS name")


def rule_problems(rendered: Iterable[RenderedObject]) -> list[RuleProblem]:
    """Every problem of every rendered object, in path order."""
    return [problem for item in sorted(rendered, key=lambda r: r.path) for problem in object_problems(item)]


# --------------------------------------------------------------------------- back to the spec


@dataclass(frozen=True)
class _Source:
    path: tuple[Any, ...]
    text: str
    line: int
    column: int


def _sources(doc: Any) -> list[_Source]:
    """Every mapping key and scalar value of the spec with its position (the strings names are made from)."""
    found: list[_Source] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                try:
                    line, col = node.lc.key(key)
                except (AttributeError, KeyError, TypeError):
                    line, col = 0, 0
                found.append(_Source(path + (key,), str(key), line + 1, col + 1))
                if isinstance(value, (dict, list)):
                    stack.append((value, path + (key,)))
                elif value is not None and not isinstance(value, bool):
                    try:
                        vline, vcol = node.lc.value(key)
                    except (AttributeError, KeyError, TypeError):
                        vline, vcol = line, col
                    found.append(_Source(path + (key,), str(value), vline + 1, vcol + 1))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((value, path + (index,)))
                elif value is not None and not isinstance(value, bool):
                    try:
                        line, col = node.lc.item(index)
                    except (AttributeError, KeyError, TypeError):
                        line, col = 0, 0
                    found.append(_Source(path + (index,), str(value), line + 1, col + 1))
    return found


def _origin(problem: RuleProblem, sources: list[_Source]) -> _Source | None:
    """The spec string the offending value (or, for a duplicate, the object's name) was made from: the longest spec key
    or value it contains, preferring the object's own environment overlay."""
    name = str((problem.item.obj.get("metadata") or {}).get("name", ""))
    environment = problem.item.environment
    for target in (problem.value, name):
        if len(target) < 2:
            continue
        candidates = [s for s in sources if len(s.text) >= 2 and s.text in target
                      and not (s.path and s.path[0] == "environments" and len(s.path) > 1 and s.path[1] != environment)]
        if candidates:
            return max(candidates, key=lambda s: (len(s.text), s.path[:2] == ("environments", environment), -len(s.path)))
    return None


def spec_problems(problems: list[RuleProblem], spec: Path | str) -> list[SpecProblem]:
    """Each rule problem as a problem of the spec, located at the field whose value the offending name came from."""
    if not problems:
        return []
    try:
        sources = _sources(read_yaml(Path(spec)))
    except SpecError:
        sources = []
    groups: dict[tuple[int, int, str], list[RuleProblem]] = {}
    for problem in problems:
        origin = _origin(problem, sources)
        key = (origin.line, origin.column, ".".join(map(str, origin.path))) if origin else (1, 1, "")
        groups.setdefault(key, []).append(problem)
    result = []
    for (line, column, field), group in groups.items():
        group.sort(key=lambda p: (p.field != "metadata.name", p.item.obj.get("kind") not in SERVICE_KINDS, p.item.path))
        first = group[0]
        what = f"{first.where} ({first.item.environment}) {first.field}: {first.message}"
        others = sorted({p.where for p in group[1:]} - {first.where})
        if others:
            what += f"; {len(group) - 1} more problem(s) in objects made from it ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
        if not field:
            what += " (no spec field found that makes this value)"
        result.append(SpecProblem(str(spec), line, column, field, what))
    return result
