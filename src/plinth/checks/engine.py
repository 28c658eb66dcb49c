"""The check engine: a check is a small declared unit (ID, severity, title, remediation, scope, params)
whose findings name the object, the field path and a message built from the same params (kube-linter).

Checks read the union of one environment: the rendered tree and the objects its chart Applications hydrate to
(``plinth.charts.union``). A finding on a hydrated object names its Application and its pseudo-path
``<env>/hydrated/<application>/<kind>-<name>.yaml``.

Scopes: ``object`` looks at one object, ``tree`` at relations between objects, ``promise`` at
what the spec promises (RTO/RPO/capacity/retention) against what the configuration delivers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plinth.charts.hydrate import Hydration, HydratedObject
from plinth.charts.union import EnvironmentUnion, Item, environment_union
from plinth.kube.flows import Flow
from plinth.kube.pods import PodGroup, pod_groups
from plinth.plan.capacity import CapacityPlan, plan_capacity
from plinth.plan.inventory import limit_range_defaults
from plinth.render.pipeline import RenderedObject
from plinth.spec.model import Platform

Severity = Literal["error", "warning", "info"]
Scope = Literal["object", "tree", "promise"]
SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
SPEC_KIND = "Spec"
"""Kind of the pseudo-object findings about the spec itself carry (field path = dotted spec path)."""


@dataclass(frozen=True)
class ObjectRef:
    """What a finding is about: an object (Kind/namespace/name and its file or pseudo-path) or the spec."""

    kind: str
    namespace: str | None
    name: str
    file: str
    application: str | None = None
    """The chart Application a hydrated object comes from (None for a file of the rendered tree or the spec)."""

    @property
    def key(self) -> str:
        """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped): what waivers name."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Finding:
    """One broken rule: which check, where (object, field path), what (message), in which environment."""

    check_id: str
    severity: Severity
    environment: str
    obj: ObjectRef
    field_path: str
    message: str
    waived_by: str | None = None
    """Reason of the waiver that covers it, if any (waived findings never fail the run)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "check": self.check_id, "severity": self.severity, "environment": self.environment,
            "object": self.obj.key, "kind": self.obj.kind, "namespace": self.obj.namespace, "name": self.obj.name,
            "file": self.obj.file, "application": self.obj.application, "field": self.field_path, "message": self.message,
            "waived": self.waived_by is not None, "waiver_reason": self.waived_by,
        }


class CheckContext:
    """One environment's platform and its union (rendered + hydrated objects), indexed for checks."""

    def __init__(self, platform: Platform, rendered: Iterable[RenderedObject], spec_file: str = "platform.yaml",
                 hydrated: Iterable[HydratedObject] | None = None, hydrated_applications: Iterable[str] | None = None,
                 flows: Sequence[Flow] | None = None):
        """``hydrated`` None: the chart Applications were not hydrated (their objects are unknown). ``flows`` None: the
        registered components' declared network flows."""
        self.platform = platform
        self.environment = platform.environment
        self.union = EnvironmentUnion(platform.environment, rendered, hydrated, hydrated_applications)
        self.rendered = self.union.rendered
        self.hydrated = self.union.hydrated
        self.objects: list[Item] = self.union.items
        self.flows = None if flows is None else list(flows)
        self.spec_file = spec_file
        self._by_kind: dict[str, list[Item]] = {}
        for item in self.objects:
            self._by_kind.setdefault(item.obj.get("kind", ""), []).append(item)
        self._by_id = {id(item.obj): item for item in self.objects}
        self._hydrated_given = hydrated is not None
        self._pods: list[PodGroup] | None = None
        self._capacity: CapacityPlan | None = None

    @classmethod
    def for_hydration(cls, platform: Platform, rendered: Iterable[RenderedObject], hydration: Hydration | None,
                      spec_file: str = "platform.yaml") -> "CheckContext":
        """A context over the rendered objects and what ``hydration`` (None: not hydrated) holds for the environment."""
        union = environment_union(platform.environment, rendered, hydration)
        hydrated = None if hydration is None else union.hydrated
        done = None if hydration is None else [a.name for a in union.chart_applications if a not in union.unhydrated]
        return cls(platform, union.rendered, spec_file, hydrated, done)

    @classmethod
    def from_objects(cls, platform: Platform, objects: Iterable[dict[str, Any]], spec_file: str = "platform.yaml",
                     hydrated: Iterable[HydratedObject] | None = (), flows: Sequence[Flow] = ()) -> "CheckContext":
        """A context from plain dicts (test fixtures): each gets a path like the renderer's; every chart Application
        among them counts as hydrated, to ``hydrated`` (None: the charts were not hydrated); the fixture declares
        ``flows`` (not the components')."""
        env = platform.environment
        rendered = []
        for obj in objects:
            meta = obj.get("metadata", {})
            if obj.get("kind") in ("Application", "AppProject") and str(obj.get("apiVersion", "")).startswith("argoproj.io/"):
                path, component = f"{env}/apps/{obj['kind'].lower()}-{meta.get('name')}.yaml", "gitops"
            else:
                folder = meta.get("namespace") or "cluster"
                path, component = f"{env}/{folder}/fixture/{obj['kind'].lower()}-{meta.get('name')}.yaml", "fixture"
            rendered.append(RenderedObject(path, obj, component, env))
        if hydrated is None:
            return cls(platform, rendered, spec_file, None, None, flows)
        charts = [r.obj["metadata"]["name"] for r in rendered
                  if r.obj.get("kind") == "Application" and "chart" in ((r.obj.get("spec") or {}).get("source") or {})]
        return cls(platform, rendered, spec_file, list(hydrated), charts, flows)

    def of_kind(self, *kinds: str) -> list[Item]:
        """Objects of the given kinds (rendered first, in path order, then hydrated, in pseudo-path order)."""
        return [item for kind in kinds for item in self._by_kind.get(kind, [])]

    def find(self, kind: str, namespace: str | None, name: str) -> Item | None:
        """The object ``kind/namespace/name``, or None."""
        for item in self._by_kind.get(kind, []):
            meta = item.obj.get("metadata", {})
            if meta.get("name") == name and meta.get("namespace") == namespace:
                return item
        return None

    def ref(self, item: Item) -> ObjectRef:
        """The finding reference of an object: its file under the rendered path, or (hydrated) its pseudo-path and
        its Application."""
        meta = item.obj.get("metadata", {})
        if isinstance(item, HydratedObject):
            return ObjectRef(item.obj.get("kind", "?"), meta.get("namespace"), meta.get("name", "?"), item.path, item.application)
        return ObjectRef(item.obj.get("kind", "?"), meta.get("namespace"), meta.get("name", "?"),
                         f"{self.platform.git.rendered_path}/{item.path}")

    def expected_ref(self, kind: str, namespace: str | None, name: str) -> ObjectRef:
        """Reference to an object the spec needs but the tree lacks (its file is the spec)."""
        return ObjectRef(kind, namespace, name, self.spec_file)

    def spec_ref(self, dotted: str) -> ObjectRef:
        """Reference to a part of the spec (findings about its own numbers): ``Spec/<path of the field's parent>``."""
        parts = dotted.split(".")
        return ObjectRef(SPEC_KIND, None, ".".join(parts[:-1]) or parts[0], self.spec_file)

    def chart_applications(self) -> list[RenderedObject]:
        """Applications installing a Helm chart."""
        return [a for a in self.rendered if a.obj.get("kind") == "Application" and "chart" in ((a.obj.get("spec") or {}).get("source") or {})]

    @property
    def charts_hydrated(self) -> bool:
        """Every chart Application's objects are in the union (the charts were hydrated and none is missing)."""
        return self._hydrated_given and not self.union.unhydrated

    def unhydrated_namespaces(self) -> set[str]:
        """Namespaces a chart Application that was not hydrated installs into (selectors there may match its pods)."""
        return {a.namespace for a in self.union.unhydrated}

    def pod_groups(self) -> list[PodGroup]:
        """Pods the union runs, read by the one pod model (the planner reads the same)."""
        if self._pods is None:
            self._pods = pod_groups((item.obj for item in self.objects), limit_range_defaults(self.platform))
        return self._pods

    def item_of(self, group: PodGroup) -> Item | None:
        """The object a pod group comes from."""
        return self._by_id.get(id(group.obj))

    def capacity(self) -> CapacityPlan:
        """The planner's capacity plan of this environment on its cloud (the capacity checks judge it)."""
        if self._capacity is None:
            self._capacity = plan_capacity(self.platform, self.rendered, hydrated=self.hydrated if self._hydrated_given else None)
        return self._capacity


@dataclass(frozen=True)
class Check:
    """A registered check: declared metadata plus the function that finds violations."""

    id: str
    severity: Severity
    scope: Scope
    title: str
    remediation: str
    run: Callable[["Check", CheckContext], Iterator[Finding]]
    params: dict[str, Any] = field(default_factory=dict)
    """Thresholds of the check; the same numbers appear in its messages and the generated docs."""

    def finding(self, ctx: CheckContext, obj: ObjectRef | RenderedObject | HydratedObject, field_path: str, message: str) -> Finding:
        """A finding of this check."""
        ref = obj if isinstance(obj, ObjectRef) else ctx.ref(obj)
        return Finding(self.id, self.severity, ctx.environment, ref, field_path, message)


def run_checks(ctx: CheckContext, checks: Iterable[Check]) -> list[Finding]:
    """Every finding of the given checks on one environment, in a stable order."""
    findings: list[Finding] = []
    for check in checks:
        try:
            findings.extend(check.run(check, ctx))
        except Exception as exc:  # noqa: BLE001 - an object shape a check did not expect must not hide the others
            findings.append(Finding(check.id, "error", ctx.environment, ObjectRef("Check", None, check.id, ctx.spec_file), "",
                                    f"the check could not evaluate this tree ({type(exc).__name__}: {exc}); fix the object or the check"))
    return sort_findings(findings)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Stable order: severity, check ID, environment, object, field."""
    return sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.check_id, f.environment, f.obj.key, f.field_path, f.message))
