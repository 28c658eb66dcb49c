"""Fixtures of the chart tests: the pinned chart archives in ../shared/charts, the project's helm, and one
cold and one warm hydration of both environments (shared by the tests of this folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plinth.charts.chartdir import ChartDir
from plinth.charts.helm import Helm, find_helm
from plinth.charts.hydrate import Hydration, hydrate
from plinth.render.pipeline import RenderedObject, render_all
from plinth.spec.model import Platform
from tests.conftest import REPO, SHARED

CHARTS = SHARED / "charts"

needs_charts = pytest.mark.skipif(
    not CHARTS.is_dir(),
    reason="needs ../shared/charts (the pinned chart archives; CI always has them, a user's clone may not)",
)


@pytest.fixture(scope="session")
def helm() -> Helm:
    """The helm scripts/setup.sh installs (a missing helm fails: the project's set-up must provide it)."""
    return find_helm(REPO)


@pytest.fixture(scope="session")
def rendered(platforms: dict[str, Platform]) -> list[RenderedObject]:
    """Every rendered object of both environments."""
    return render_all(platforms)


@pytest.fixture(scope="session")
def hydration_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty cache folder: the first hydration below is cold."""
    return tmp_path_factory.mktemp("plinth-cache")


@pytest.fixture(scope="session")
def cold(platforms, rendered, helm, hydration_cache) -> Hydration:
    """Both environments hydrated from the chart archives with an empty cache."""
    if not CHARTS.is_dir():
        pytest.skip("needs ../shared/charts")
    return hydrate(platforms, rendered, ChartDir(CHARTS), helm, hydration_cache)


@pytest.fixture(scope="session")
def warm(cold, platforms, rendered, helm, hydration_cache) -> Hydration:
    """The same hydration again, from the cache the cold one filled."""
    return hydrate(platforms, rendered, ChartDir(CHARTS), helm, hydration_cache)
