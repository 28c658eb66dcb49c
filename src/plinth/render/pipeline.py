"""Render a platform: run every registered component, then the aggregation stages over all of them, add the
app-of-apps, lay the files out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plinth.components.base import Component
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.objects import object_key
from plinth.kube.yamlio import dump_yaml
from plinth.monitoring.dashboards import DashboardError
from plinth.render.gitops import APPS_FOLDER, BOOTSTRAP_FOLDER, ComponentOutput, app_of_apps, bootstrap_objects, component_folder
from plinth.render.stages import ALL_STAGES
from plinth.spec.model import Platform


class RenderError(Exception):
    """The components produced something that cannot be written (e.g. two objects at one path), or the spec lacks
    something a component needs; ``field`` names the spec field to blame when there is one."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class RenderedObject:
    """One object and the file it is written to (relative to the output folder)."""

    path: str
    obj: dict[str, Any]
    component: str
    environment: str

    @property
    def key(self) -> str:
        """``Kind/namespace/name`` of the object."""
        return object_key(self.obj)


def _file_name(obj: dict[str, Any], folder_namespace: str | None = None) -> str:
    """``<kind>-<name>.yaml``; objects outside their folder's namespace get ``<kind>-<namespace>-<name>.yaml``."""
    kind = obj["kind"].lower()
    namespace = obj["metadata"].get("namespace")
    if namespace and namespace != folder_namespace:
        return f"{kind}-{namespace}-{obj['metadata']['name']}.yaml"
    return f"{kind}-{obj['metadata']['name']}.yaml"


def render_components(platform: Platform, components: Iterable[Component] = ALL_COMPONENTS) -> list[ComponentOutput]:
    """Each component's objects and Helm releases for one platform, then each aggregation stage's objects."""
    components = tuple(components)
    outputs = [ComponentOutput(c, list(c.objects(platform)), list(c.charts(platform))) for c in components]
    outputs += [ComponentOutput(stage.as_component, stage.objects(platform, components), []) for stage in ALL_STAGES]
    return outputs


def render_platform(platform: Platform, components: Iterable[Component] = ALL_COMPONENTS) -> list[RenderedObject]:
    """Every object of one environment, with its path ``<env>/<folder>/<kind>-<name>.yaml``."""
    try:
        outputs = render_components(platform, components)
    except DashboardError as exc:
        raise RenderError(str(exc)) from None
    missing = sorted({(r.chart_key, out.component.name) for out in outputs for r in out.charts if r.chart_key not in platform.charts})
    if missing:
        raise RenderError("; ".join(f"no pin for chart {key!r} (the {name} component installs it)" for key, name in missing), "charts")
    env = platform.environment
    placed: list[RenderedObject] = []
    for folder, objects in ((BOOTSTRAP_FOLDER, bootstrap_objects(platform)), (APPS_FOLDER, app_of_apps(platform, outputs))):
        for obj in objects:
            placed.append(RenderedObject(f"{env}/{folder}/{_file_name(obj, platform.argocd.namespace)}", obj, "gitops", env))
    for out in outputs:
        folder = component_folder(out.component)
        for obj in out.objects:
            placed.append(RenderedObject(f"{env}/{folder}/{_file_name(obj, out.component.namespace)}", obj, out.component.name, env))
    seen: dict[str, str] = {}
    for item in placed:
        if item.path in seen:
            raise RenderError(f"{item.path}: both {seen[item.path]} and {item.key} would be written here")
        seen[item.path] = item.key
    return sorted(placed, key=lambda r: r.path)


def render_all(platforms: dict[str, Platform], components: Iterable[Component] = ALL_COMPONENTS) -> list[RenderedObject]:
    """Every object of every environment."""
    result: list[RenderedObject] = []
    for env in sorted(platforms):
        result.extend(render_platform(platforms[env], tuple(components)))
    return result


def to_files(rendered: list[RenderedObject]) -> dict[str, str]:
    """File contents by relative path: what the writer puts on disk."""
    return {r.path: dump_yaml(r.obj) for r in rendered}
