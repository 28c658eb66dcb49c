"""The chart steps as the commands (and other modules) use them: find the chart directory, check the
pins, hydrate, build the CRD schema folder. Bad input is raised as ``SpecError`` (located) or
``ChartsSetupError`` (no chart directory, no helm), never as a traceback."""

from __future__ import annotations

from pathlib import Path

from plinth.charts.chartdir import ChartDir, ChartDirError, default_chart_dir, default_crd_dir, pin_problems
from plinth.charts.crdschemas import crd_schema_dir, hydrated_crds
from plinth.charts.helm import Helm, HelmError, find_helm
from plinth.charts.hydrate import ChartNotFound, Hydration, HydrationError, default_cache_dir, hydrate
from plinth.render.pipeline import RenderedObject
from plinth.spec.loader import SpecError, SpecProblem
from plinth.spec.model import Platform


class ChartsSetupError(Exception):
    """The chart directory or helm is missing or broken."""


def chart_dir_for(spec: Path, chart_dir: Path | None = None) -> ChartDir:
    """The chart directory (``--chart-dir``, ``$PLINTH_CHART_DIR``, ``../shared/charts``), opened."""
    folder = chart_dir or default_chart_dir(spec)
    if folder is None:
        raise ChartsSetupError("no chart directory: pass --chart-dir DIR or set PLINTH_CHART_DIR (a folder of "
                               "`helm package` archives of the pinned charts; `plinth charts pull` fills .cache/charts "
                               "on a connected machine)")
    try:
        return ChartDir(folder)
    except ChartDirError as exc:
        raise ChartsSetupError(str(exc)) from None


def check_pins(spec: Path, platforms: dict[str, Platform], charts: ChartDir) -> None:
    """Raise a located ``SpecError`` for every pin the chart directory does not hold."""
    problems: list[SpecProblem] = []
    seen: set[str] = set()
    for env in sorted(platforms):
        for problem in pin_problems(spec, platforms[env], charts):
            if str(problem) not in seen:
                seen.add(str(problem))
                problems.append(problem)
    if problems:
        raise SpecError(problems)


def helm_for(spec: Path) -> Helm:
    """The Helm 3 binary (see ``plinth.charts.helm``)."""
    try:
        return find_helm(spec.resolve().parent)
    except HelmError as exc:
        raise ChartsSetupError(str(exc)) from None


class Hydrator:
    """One chart directory, one helm and one cache, ready to hydrate rendered platforms: the spec's environments,
    and the platforms the planner renders at other sizes."""

    def __init__(self, spec: Path, chart_dir: Path | None = None, cache: bool = True, helm: Helm | None = None):
        """Open the chart directory and find helm (``ChartsSetupError`` when either is missing)."""
        self.spec = spec
        self.charts = chart_dir_for(spec, chart_dir)
        self.helm = helm or helm_for(spec)
        self.cache_dir = default_cache_dir(spec) if cache else None

    def hydrate(self, platforms: dict[str, Platform], rendered: list[RenderedObject]) -> Hydration:
        """Check the pins, then hydrate every chart Application of the rendered environments."""
        check_pins(self.spec, platforms, self.charts)
        try:
            return hydrate(platforms, rendered, self.charts, self.helm, self.cache_dir)
        except ChartNotFound as exc:  # an Application whose chart is not a pin (pins were checked above)
            raise SpecError([SpecProblem(str(self.spec), 1, 1, "charts", str(exc))]) from None
        except HydrationError as exc:
            raise ChartsSetupError(str(exc)) from None


def hydrate_spec(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject],
                 chart_dir: Path | None = None, cache: bool = True, helm: Helm | None = None) -> Hydration:
    """Check the pins, then hydrate every chart Application of the rendered environments."""
    return Hydrator(spec, chart_dir, cache, helm).hydrate(platforms, rendered)


def crd_dir_for(spec: Path, hydration: Hydration, rendered: list[RenderedObject] = (), fallback: Path | None = None) -> Path:
    """A CRD schema folder for ``SchemaStore``: the CRDs of the hydrated charts (and of the rendered tree),
    converted, with ``fallback`` (default: ``$PLINTH_CRD_DIR`` or ``../shared/schemas/crds``) for the rest."""
    crds = hydrated_crds(hydration.objects) + hydrated_crds(rendered)
    return crd_schema_dir(crds, default_cache_dir(spec), fallback if fallback is not None else default_crd_dir(spec.resolve().parent))
