"""Shared fixtures: the repository's default spec, the shared CRD schemas, spec mutation helpers."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from plinth.spec.loader import load_all
from plinth.spec.model import Platform

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO / "platform.yaml"
SHARED = REPO.parent / "shared"
CRD_DIR = SHARED / "schemas" / "crds"

CHART_DIR = SHARED / "charts"

needs_shared = pytest.mark.skipif(
    not CRD_DIR.is_dir(),
    reason="needs ../shared/schemas/crds (the CRD schemas; CI always has them, a user's clone may not)",
)
needs_charts = pytest.mark.skipif(
    not CHART_DIR.is_dir(),
    reason="needs ../shared/charts (the pinned chart archives; CI always has them, a user's clone may not)",
)


@pytest.fixture(scope="session")
def hydration(platforms: dict[str, Platform]):
    """Both environments of the default spec hydrated from ../shared/charts (the repository's .cache: warm after the
    first run); skips without the chart directory."""
    if not CHART_DIR.is_dir():
        pytest.skip("needs ../shared/charts (the pinned chart archives; CI always has them, a user's clone may not)")
    from plinth.charts.workflow import hydrate_spec
    from plinth.render.pipeline import render_all

    return hydrate_spec(DEFAULT_SPEC, platforms, render_all(platforms), CHART_DIR)


@pytest.fixture(scope="session")
def chart_crd_dir(platforms: dict[str, Platform], hydration) -> Path:
    """CRD schemas converted from the pinned charts' CRDs (``../shared/schemas/crds`` only for CRDs no chart ships),
    as ``plinth validate`` uses them; skips without the chart directory."""
    from plinth.charts.workflow import crd_dir_for
    from plinth.render.pipeline import render_all

    return crd_dir_for(DEFAULT_SPEC, hydration, render_all(platforms), CRD_DIR)


def chart_pods(hydration, environment: str, application: str) -> dict:
    """``Kind/name[/role]`` -> pod group of what one chart Application hydrates to (read by the one pod model)."""
    from plinth.kube.pods import pod_groups

    objects = [h.obj for h in hydration.for_environment(environment)]
    wanted = {id(h.obj) for h in hydration.for_environment(environment) if h.application == application}
    return {f"{g.kind}/{g.short_name}": g for g in pod_groups(objects) if id(g.obj) in wanted}


TEST_TODAY = "2026-06-01"
"""The day the tests judge Kubernetes version support at ($PLINTH_TODAY): the committed spec's version is in standard
support on EKS, GKE and AKS then, more than 90 days from its end, so results do not drift with the calendar. The one
test that judges the committed spec at the real date says so (tests/checks/test_versions.py). Move it with the version."""


@pytest.fixture(autouse=True, scope="session")
def _version_support_day():
    """Session-wide, so module- and session-scoped fixtures (rendered reports, plans) see it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLINTH_TODAY", TEST_TODAY)
        yield


@pytest.fixture(scope="session")
def platforms() -> dict[str, Platform]:
    """Every environment of the default spec."""
    return load_all(DEFAULT_SPEC)


@pytest.fixture(scope="session")
def prod(platforms: dict[str, Platform]) -> Platform:
    """The default spec's prod environment."""
    return platforms["prod"]


def spec_with(tmp_path: Path, changes: list[tuple[str, Any]], source: Path = DEFAULT_SPEC) -> Path:
    """Copy ``source`` with values changed at dotted paths (``a.b.0.c``; value DELETE removes the key)."""
    yaml = YAML(typ="rt")
    doc = yaml.load(source.read_text())
    for dotted, value in changes:
        parts = [int(p) if p.isdigit() else p for p in dotted.split(".")]
        node = doc
        for part in parts[:-1]:
            node = node[part]
        if value is DELETE:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    out = tmp_path / "platform.yaml"
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    out.write_text(buffer.getvalue())
    return out


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()
