"""The render pipeline: deterministic, atomic, and --check catches a stale tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plinth import files as writer
from plinth.files import MARKER, diff_tree, marker_text, write_tree
from plinth.charts.union import BOOTSTRAP
from plinth.flows.inventory import UNSYNCED, sourced_objects
from plinth.render.pipeline import render_all, to_files
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC, REPO


def _files() -> dict[str, str]:
    return to_files(render_all(load_all(DEFAULT_SPEC)))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rendering_twice_gives_byte_identical_trees(tmp_path: Path) -> None:
    write_tree(_files(), tmp_path / "a")
    write_tree(_files(), tmp_path / "b")
    first, second = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert first == second
    assert len(first) > 20


def test_files_are_one_object_each_with_apiversion_kind_metadata_first() -> None:
    for path, text in _files().items():
        assert text.startswith("apiVersion: "), path
        assert text.count("\napiVersion: ") == 0, f"{path} holds more than one object"
        assert text.splitlines()[1].startswith("kind: ")
        assert text.splitlines()[2] == "metadata:"


def test_layout_is_env_then_folder(prod) -> None:
    paths = set(_files())
    assert "prod/bootstrap/application-platform-root.yaml" in paths
    assert "staging/bootstrap/application-platform-root.yaml" in paths
    assert "prod/cluster/namespaces/namespace-platform-data.yaml" in paths


def test_the_bootstrap_is_applied_by_hand_not_synced(platforms) -> None:
    """The root Application is applied once by hand: it has no sync wave, and the flows inventory names the bootstrap,
    not an Application, as what applies it (the root itself applies the apps/ folder)."""
    rendered = render_all(platforms)
    for env, platform in platforms.items():
        root = next(r for r in rendered if r.environment == env and r.path == f"{env}/bootstrap/application-platform-root.yaml")
        assert "argocd.argoproj.io/sync-wave" not in (root.obj["metadata"].get("annotations") or {})
        sourced = {s.path: s for s in sourced_objects(platform, rendered, [])}
        assert sourced[root.path].application == BOOTSTRAP
        assert sourced[f"{env}/apps/appproject-platform.yaml"].application == "platform-root"
        assert UNSYNCED not in {s.application for s in sourced.values()}, "every other folder has its Application"


def test_write_replaces_the_tree_exactly(tmp_path: Path) -> None:
    out = tmp_path / "tree"
    write_tree({"a.yaml": "a: 1\n", "sub/b.yaml": "b: 2\n"}, out)
    write_tree({"c.yaml": "c: 3\n"}, out)
    assert _snapshot(out) == {"c.yaml": b"c: 3\n", MARKER: marker_text(["c.yaml"]).encode()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree"], "no temporary folders may be left behind"


def test_a_render_failing_midway_leaves_the_previous_tree_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "kubernetes"
    files = _files()
    write_tree(files, out)
    before = _snapshot(out)
    real_write = writer._write_file
    written: list[Path] = []

    def failing_write(path: Path, text: str) -> None:
        if len(written) == 5:
            raise OSError(28, "No space left on device")
        written.append(path)
        real_write(path, text)

    monkeypatch.setattr(writer, "_write_file", failing_write)
    changed = {k: v + "# changed\n" for k, v in files.items()}
    with pytest.raises(OSError):
        write_tree(changed, out)
    assert len(written) == 5
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubernetes"], "the half-written folder must be removed"


def test_diff_tree_reports_added_removed_changed(tmp_path: Path) -> None:
    write_tree({"a.yaml": "a\n", "b.yaml": "b\n"}, tmp_path / "t")
    d = diff_tree({"a.yaml": "A\n", "c.yaml": "c\n"}, tmp_path / "t")
    assert (d.added, d.removed, d.changed) == (["c.yaml"], ["b.yaml"], [MARKER, "a.yaml"])  # the marker lists the files
    assert not d.clean


def _plinth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=REPO)


def test_render_check_exits_1_and_lists_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "kubernetes"
    assert _plinth("render", "--spec", str(DEFAULT_SPEC), "--out", str(out)).returncode == 0
    assert _plinth("render", "--check", "--spec", str(DEFAULT_SPEC), "--out", str(out)).returncode == 0
    stale = out / "prod" / "apps" / "application-argocd.yaml"
    stale.write_text(stale.read_text().replace("selfHeal: true", "selfHeal: false"))
    (out / "prod" / "apps" / "leftover.yaml").write_text("x: 1\n")
    (out / "staging" / "cluster" / "namespaces" / "namespace-platform-apps.yaml").unlink()
    result = _plinth("render", "--check", "--spec", str(DEFAULT_SPEC), "--out", str(out))
    assert result.returncode == 1
    assert "changed prod/apps/application-argocd.yaml" in result.stderr
    assert "removed prod/apps/leftover.yaml" in result.stderr
    assert "added staging/cluster/namespaces/namespace-platform-apps.yaml" in result.stderr


def test_render_one_environment_swaps_only_its_folder(tmp_path: Path) -> None:
    out = tmp_path / "kubernetes"
    assert _plinth("render", "--spec", str(DEFAULT_SPEC), "--out", str(out)).returncode == 0
    marker = out / "staging" / "apps" / "application-argocd.yaml"
    marker.write_text("edited\n")
    assert _plinth("render", "--spec", str(DEFAULT_SPEC), "--out", str(out), "--env", "prod").returncode == 0
    assert marker.read_text() == "edited\n"


