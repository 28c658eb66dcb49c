"""Everything Argo CD would apply in one environment: the rendered tree and the hydrated charts, each object
with the Application that syncs it, that Application's AppProject, and its place in the sync order.

The sync order is Argo CD's (``docs/user-guide/sync-waves.md``, gitops-engine ``pkg/sync``): the root
app-of-apps applies its own objects (AppProjects, Applications) wave by wave and, with the Application health
check the argocd component installs, waits for each child Application to be healthy before its next wave; a
child Application applies its objects phase by phase (PreSync hooks, Sync, PostSync hooks) and, inside a phase,
wave by wave. An object's place is therefore (its Application's wave in the root, its phase, its own wave); an
object of the root itself sits at (its own wave, before the children of that wave).

The bootstrap (README: ``helm install argocd`` from the pinned chart, then ``kubectl apply`` of the ``platform``
AppProject and of the root Application from the ``bootstrap/`` folder) creates the argocd release and the root
Application by hand: they exist before the root syncs anything (``SyncPosition.bootstrap``). No Application
syncs the root Application (``BOOTSTRAP``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Union

from plinth.charts.apis import CLUSTER_SCOPED_BUILTINS, group_version
from plinth.charts.argo import PHASE_ORDER, hook_phases, is_hook, sync_wave
from plinth.charts.hydrate import ChartApplication, Hydration, HydratedObject, chart_applications
from plinth.components.argocd import NAME as ARGOCD_APPLICATION
from plinth.render.gitops import APPS_FOLDER, BOOTSTRAP_FOLDER, ROOT_APP
from plinth.render.pipeline import RenderedObject

Item = Union[RenderedObject, HydratedObject]
"""An object of the union: rendered (a file of the tree) or hydrated (an object a chart Application renders)."""

BOOTSTRAP = "bootstrap"
"""What applies the ``bootstrap/`` folder (the root Application): the README's ``kubectl apply``, no Application."""
BOOTSTRAP_APPLICATIONS = frozenset({ARGOCD_APPLICATION, ROOT_APP, BOOTSTRAP})
"""Applications the bootstrap creates by hand before the root syncs (README "Bootstrapping a cluster")."""


@dataclass(frozen=True, order=True)
class SyncPosition:
    """When Argo CD applies an object, comparable: a smaller position is applied (and healthy) earlier."""

    stage: int
    """0: created by the bootstrap; 1: synced by the root app-of-apps."""
    application_wave: int
    """Wave of the Application in the root (an object of the root: its own wave)."""
    step: int
    """0: an object of the root itself; 1 + index in ``PHASE_ORDER`` for a child Application's object."""
    wave: int
    """The object's own wave inside its Application's phase."""

    @classmethod
    def bootstrap(cls) -> SyncPosition:
        """Created by the bootstrap, before any wave."""
        return cls(0, 0, 0, 0)

    @property
    def phase(self) -> str:
        """PreSync, Sync, PostSync... ("root" for an object of the root app-of-apps, "bootstrap")."""
        if self.stage == 0:
            return "bootstrap"
        return "root" if self.step == 0 else PHASE_ORDER[self.step - 1]

    def describe(self) -> str:
        """Human words: ``bootstrap``, ``root wave -5``, ``Application wave -5, Sync wave 0``."""
        if self.stage == 0:
            return "bootstrap (helm install before the root Application)"
        if self.step == 0:
            return f"root wave {self.application_wave}"
        return f"Application wave {self.application_wave}, {self.phase} wave {self.wave}"


def api_group(obj: dict[str, Any]) -> str:
    """The API group of an object (empty for the core group)."""
    return group_version(str(obj.get("apiVersion", "")))[0]


def _annotation_wave(obj: dict[str, Any]) -> int:
    return sync_wave(obj)


class EnvironmentUnion:
    """The rendered and hydrated objects of one environment, with Applications, projects and sync positions."""

    def __init__(self, environment: str, rendered: Iterable[RenderedObject], hydrated: Iterable[HydratedObject] | None,
                 hydrated_applications: Iterable[str] | None = None):
        """``hydrated`` None: the charts were not hydrated; ``hydrated_applications``: the chart Applications that
        were (default: those the hydrated objects name)."""
        self.environment = environment
        self.rendered = [r for r in rendered if r.environment == environment]
        self.hydrated = [h for h in (hydrated or ()) if h.environment == environment]
        self.items: list[Item] = [*self.rendered, *self.hydrated]
        self.applications: dict[str, RenderedObject] = {}
        self.projects: dict[str, RenderedObject] = {}
        for item in self.rendered:
            kind = item.obj.get("kind")
            if api_group(item.obj) != "argoproj.io":
                continue
            if kind == "Application":
                self.applications[item.obj["metadata"]["name"]] = item
            elif kind == "AppProject":
                self.projects[item.obj["metadata"]["name"]] = item
        done = set(hydrated_applications) if hydrated_applications is not None else {h.application for h in self.hydrated}
        self.chart_applications: list[ChartApplication] = chart_applications(self.rendered)
        self.unhydrated: list[ChartApplication] = [a for a in self.chart_applications if hydrated is None or a.name not in done]
        """Chart Applications whose objects are not in the union (no chart directory)."""
        self._cluster_scoped: set[tuple[str, str]] = set(CLUSTER_SCOPED_BUILTINS) | {
            ((c.obj.get("spec") or {}).get("group", ""), ((c.obj.get("spec") or {}).get("names") or {}).get("kind", ""))
            for c in self.crds() if (c.obj.get("spec") or {}).get("scope") == "Cluster"}

    # ------------------------------------------------------------------ membership

    def application_of(self, item: Item) -> str:
        """Name of the Application that syncs the object (the root for the ``apps/`` folder; ``BOOTSTRAP`` for the
        root Application itself, which no Application syncs)."""
        if isinstance(item, HydratedObject):
            return item.application
        obj = item.obj
        if item.path.startswith(f"{item.environment}/{BOOTSTRAP_FOLDER}/") or (
                obj.get("kind") == "Application" and (obj.get("metadata") or {}).get("name") == ROOT_APP):
            return BOOTSTRAP
        if item.path.startswith(f"{item.environment}/{APPS_FOLDER}/"):
            return ROOT_APP
        return item.component

    def application_wave(self, application: str) -> int:
        """The Application's wave in the root app-of-apps (0 when the tree has no such Application)."""
        app = self.applications.get(application)
        return _annotation_wave(app.obj) if app is not None else 0

    def project_of(self, application: str) -> RenderedObject | None:
        """The AppProject the Application belongs to, if rendered."""
        app = self.applications.get(application)
        if app is None:
            return None
        return self.projects.get((app.obj.get("spec") or {}).get("project", "default"))

    # ------------------------------------------------------------------ order

    def position(self, item: Item) -> SyncPosition:
        """When Argo CD applies the object in a first sync of the environment."""
        application = self.application_of(item)
        obj = item.obj
        if application == BOOTSTRAP:
            return SyncPosition.bootstrap()
        if application == ROOT_APP:
            return SyncPosition(1, _annotation_wave(obj), 0, 0)
        if isinstance(item, HydratedObject):
            phases = item.hook_phases
            wave = item.sync_wave
        else:
            phases = hook_phases(obj) if is_hook(obj) else ()
            wave = _annotation_wave(obj)
        phase = phases[0] if phases else "Sync"
        return SyncPosition(1, self.application_wave(application), 1 + PHASE_ORDER.index(phase), wave)

    def available_from(self, item: Item) -> SyncPosition:
        """From when the object exists for others: the bootstrap for what it creates by hand, else its position."""
        if self.application_of(item) in BOOTSTRAP_APPLICATIONS:
            return SyncPosition.bootstrap()
        return self.position(item)

    def in_time(self, provider: Item, consumer: Item, *, same_wave_across: bool) -> bool:
        """Whether ``provider`` exists when Argo CD applies ``consumer``.

        Inside one Application, a provider in the same phase and wave counts (Argo CD applies both in one step and
        the consumer converges, or for a CRD gitops-engine applies it first and skips the dry run of its custom
        resources). Across Applications the provider's Application must sync in an earlier wave of the root, or
        (``same_wave_across``) in the same wave too.
        """
        available = self.available_from(provider)
        if available.stage == 0:
            return True
        wanted = self.position(consumer)
        if self.application_of(provider) == self.application_of(consumer):
            return available <= wanted
        if available.application_wave == wanted.application_wave and available.step == 0 and wanted.step > 0:
            return True  # an object of the root is applied before the children of its wave
        if same_wave_across:
            return available.application_wave <= wanted.application_wave
        return available.application_wave < wanted.application_wave

    # ------------------------------------------------------------------ kinds

    def crds(self) -> list[Item]:
        """Every CustomResourceDefinition of the union."""
        return [i for i in self.items if i.obj.get("kind") == "CustomResourceDefinition" and api_group(i.obj) == "apiextensions.k8s.io"]

    def is_namespaced(self, obj: dict[str, Any]) -> bool:
        """A namespaced kind (built-in or a CRD of the union); unknown kinds count as namespaced, as Argo CD assumes."""
        return (api_group(obj), str(obj.get("kind"))) not in self._cluster_scoped

    def describe(self, item: Item) -> str:
        """``Kind/namespace/name`` of an object and the Application that syncs it."""
        return f"{item.key} (Application {self.application_of(item)})"


def environment_union(environment: str, rendered: Iterable[RenderedObject], hydration: Hydration | None) -> EnvironmentUnion:
    """The union of one environment (``hydration`` None: the charts were not hydrated)."""
    if hydration is None:
        return EnvironmentUnion(environment, rendered, None)
    return EnvironmentUnion(environment, rendered, hydration.for_environment(environment),
                            [a.application.name for a in hydration.apps if a.application.environment == environment])
