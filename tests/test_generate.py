"""The one door for generated files: every committed artifact is fresh, and `plinth generate` writes and checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plinth import generate
from plinth.cli import app, cli_commands
from plinth.docs.diagram import dot_available
from plinth.spec.loader import load_all
from tests.conftest import CHART_DIR, DEFAULT_SPEC, REPO, needs_charts

needs_dot = pytest.mark.skipif(not dot_available(), reason="Graphviz 'dot' missing: `make test` installs Debian's graphviz")


@needs_dot
@needs_charts
def test_every_generated_artifact_is_fresh() -> None:
    """The tree, workflows, docs, runbooks and examples committed equal a fresh generation (one check for all)."""
    inputs = generate.Inputs(DEFAULT_SPEC, load_all(DEFAULT_SPEC), frozenset(cli_commands()))
    stale = generate.stale(generate.ARTIFACTS, inputs)
    lines = [line for item in stale for line in item.lines(inputs.root)]
    assert not stale, "generated files are stale; run `plinth generate`:\n" + "\n".join(lines[:20])


def test_every_artifact_has_a_distinct_name_and_an_owner_folder() -> None:
    names = [a.name for a in generate.ARTIFACTS]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="unknown artifact.*expected some of: tree, workflows"):
        generate.by_name(["trees"])


def _repository_copy(tmp_path: Path) -> Path:
    """The spec and the committed artifacts of this repository, in a scratch folder."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(DEFAULT_SPEC, root / "platform.yaml")
    for folder in ("kubernetes", "docs", "examples", ".github"):
        shutil.copytree(REPO / folder, root / folder)
    return root


WITHOUT_CHARTS = ["tree", "workflows", "architecture", "datastores", "checks", "runbooks", "examples"]
"""Every artifact but the charts lock (its archive paths and digests are read from the chart directory, not from a copy)."""


@needs_dot
@needs_charts
def test_check_lists_a_stale_file_and_generate_mends_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The architecture doc's cost table plans the hydrated charts: the scratch copy reads the same chart directory
    # (and the repository's warm hydration cache).
    monkeypatch.setenv("PLINTH_CHART_DIR", str(CHART_DIR))
    monkeypatch.setenv("PLINTH_CACHE_DIR", str(REPO / ".cache"))
    root = _repository_copy(tmp_path)
    runbook = root / "docs" / "runbooks" / "zone.md"
    runbook.write_text(runbook.read_text() + "hand edit\n")
    (root / "docs" / "runbooks" / "extra.md").write_text("not generated\n")
    (root / "docs" / "notes.md").write_text("hand-written, not an artifact\n")
    stale = CliRunner().invoke(app, ["generate", *WITHOUT_CHARTS, "--check", "--spec", str(root / "platform.yaml")])
    assert stale.exit_code == 1
    assert "changed docs/runbooks/zone.md" in stale.output and "removed docs/runbooks/extra.md" in stale.output
    assert "notes.md" not in stale.output  # docs/ holds hand-written files too: only the runbooks folder is owned
    refused = CliRunner().invoke(app, ["generate", "runbooks", "--spec", str(root / "platform.yaml")])
    assert refused.exit_code == 2 and "extra.md" in refused.output  # a hand-written file is never deleted
    assert (root / "docs" / "runbooks" / "extra.md").exists()
    (root / "docs" / "runbooks" / "extra.md").unlink()
    written = CliRunner().invoke(app, ["generate", "runbooks", "--spec", str(root / "platform.yaml")])
    assert written.exit_code == 0, written.output
    assert (root / "docs" / "notes.md").exists()
    fresh = CliRunner().invoke(app, ["generate", *WITHOUT_CHARTS, "--check", "--spec", str(root / "platform.yaml")])
    assert fresh.exit_code == 0, fresh.output
    assert not list(root.rglob(".*.tmp")) and not list(root.rglob(".*.new-*"))


def test_an_unknown_artifact_is_bad_input() -> None:
    result = CliRunner().invoke(app, ["generate", "nothing", "--check", "--spec", str(DEFAULT_SPEC)])
    assert result.exit_code == 2
    assert "unknown artifact(s) nothing" in result.output


def test_a_file_artifact_is_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way leaves the previous file whole and no temporary file behind."""
    from plinth import files

    target = tmp_path / "doc.md"
    target.write_text("old\n")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError):
        files.write_file(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]
