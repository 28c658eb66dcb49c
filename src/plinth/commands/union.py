"""What validate, check, plan, run and report share: hydrating the chart Applications of the rendered tree, so that
each of them works on the union (rendered + hydrated objects).

With no chart directory (``--chart-dir``, ``$PLINTH_CHART_DIR``, ``../shared/charts``) the commands go on with the
rendered tree and say so, loudly, on stderr: the chart Applications' objects are then not validated, `plinth check`
reports each such Application (PL-ARGO-007, an error) and the plan says "planned without charts". A chart directory
that is given but broken, a pin it does not hold, or a missing helm is bad input (exit 2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from plinth.charts.chartdir import default_chart_dir, default_crd_dir
from plinth.charts.hydrate import Hydration, HydratedObject, chart_applications
from plinth.charts.workflow import ChartsSetupError, Hydrator, crd_dir_for
from plinth.commands.common import err_console, fail_bad_input
from plinth.render.pipeline import RenderedObject
from plinth.spec.loader import SpecError
from plinth.spec.model import Platform

ChartDirOption = Annotated[Optional[Path], typer.Option(
    "--chart-dir", help="Folder of `helm package` archives of the pinned charts; default $PLINTH_CHART_DIR or ../shared/charts.")]


@dataclass
class Charts:
    """The hydration of the chart Applications (None when no chart directory was found), and how it went."""

    hydration: Hydration | None
    hydrator: Hydrator | None
    unhydrated: int
    """Chart Applications not hydrated (all of them without a chart directory)."""
    seconds: float

    def objects(self) -> list[HydratedObject]:
        """Every hydrated object (none when not hydrated)."""
        return self.hydration.objects if self.hydration is not None else []

    def summary(self) -> str:
        """One line for `plinth run`."""
        if self.hydration is None:
            return f"hydrate: [yellow]not hydrated[/yellow]: no chart directory, {self.unhydrated} chart Applications left out"
        h = self.hydration
        return (f"hydrate: {len(h.apps)} chart Applications, {len(h.objects)} objects (helm {h.helm_version}; {h.renders} renders, "
                f"{h.cache_hits} from the cache) in {self.seconds:.1f} s")


def hydrate_charts(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject], chart_dir: Optional[Path]) -> Charts:
    """Hydrate every chart Application of the rendered environments; without a chart directory, warn and go on."""
    started = time.perf_counter()
    apps = len(chart_applications(rendered))
    if chart_dir is None and default_chart_dir(spec) is None:
        err_console.print(
            f"charts: NOT HYDRATED: no chart directory (no --chart-dir, no $PLINTH_CHART_DIR, no ../shared/charts beside the "
            f"repository): the objects of {apps} chart Applications are not validated, checked or planned. Point --chart-dir at "
            "the pinned chart archives (`plinth charts pull` fills .cache/charts on a connected machine).",
            markup=False, highlight=False, soft_wrap=True)
        return Charts(None, None, apps, time.perf_counter() - started)
    try:
        hydrator = Hydrator(spec, chart_dir)
        hydration = hydrator.hydrate(platforms, rendered)
    except SpecError as exc:
        fail_bad_input([str(p) for p in exc.problems])
        raise AssertionError  # unreachable
    except ChartsSetupError as exc:
        fail_bad_input([f"charts: {exc}"])
        raise AssertionError  # unreachable
    return Charts(hydration, hydrator, 0, time.perf_counter() - started)


def union_crd_dir(spec: Path, charts: Charts, rendered: list[RenderedObject], crd_dir: Optional[Path]) -> Path:
    """The CRD schema folder for the union: the charts' CRDs converted, with ``crd_dir`` (or ``$PLINTH_CRD_DIR``,
    ``../shared/schemas/crds``) for CRDs no chart ships; without hydration, that folder alone (exit 2 when none, or
    when a folder named by --crd-dir does not exist)."""
    if crd_dir is not None and not crd_dir.is_dir():
        fail_bad_input([f"--crd-dir: CRD schema folder {crd_dir} does not exist"])
    if charts.hydration is not None:
        return crd_dir_for(spec, charts.hydration, rendered, crd_dir)
    found = crd_dir or default_crd_dir(spec.resolve().parent)
    if found is None:
        fail_bad_input([
            "no CRD schema folder: pass --crd-dir DIR or set PLINTH_CRD_DIR "
            "(a folder of {group}/{kind}_{version}.json schemas for the pinned operator versions; see the README)"
        ])
    return found  # type: ignore[return-value]
