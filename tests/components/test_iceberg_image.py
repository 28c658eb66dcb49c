"""The Iceberg jobs' image pins the pyiceberg and pyarrow the drill runs (pyproject's drills extra)."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _pins(text: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r'"?([A-Za-z][\w-]*)(?:\[[\w,]+\])?==([\w.]+)"?', text)}


def test_the_image_runs_the_drills_pyiceberg_and_pyarrow() -> None:
    image = _pins((REPO / "images" / "iceberg-maintenance" / "requirements.txt").read_text())
    project = _pins((REPO / "pyproject.toml").read_text())
    assert image == {"pyiceberg": project["pyiceberg"], "pyarrow": project["pyarrow"]}


def test_the_specs_image_tag_names_the_pyiceberg_it_holds(prod) -> None:
    image = _pins((REPO / "images" / "iceberg-maintenance" / "requirements.txt").read_text())
    assert prod.datastores.iceberg.maintenance.image.tag == f"pyiceberg-{image['pyiceberg']}"
