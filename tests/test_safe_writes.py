"""Writes that cannot destroy: Plinth replaces only folders it wrote (its marker lists every file), refuses the
repository root, the spec's folder and any folder holding other files (exit 2, located), and cleans what a killed
run left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plinth.cli import app
from plinth.files import MARKER, UnsafeWrite, check_replaceable, clean_leftovers, write_file, write_tree
from tests.conftest import DEFAULT_SPEC, spec_with

FILES = {"a.yaml": "a: 1\n", "sub/b.yaml": "b: 2\n"}


def _spec_copy(folder: Path, changes: list | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return spec_with(folder, changes or [])


def _plinth(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=cwd)


# --------------------------------------------------------------------------- the folder rules


def test_a_new_folder_is_written_with_its_marker_and_replaced_next_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(FILES, out)
    assert (out / MARKER).read_text().splitlines()[-2:] == ["a.yaml", "sub/b.yaml"]
    write_tree({"c.yaml": "c\n"}, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [MARKER, "c.yaml"]


def test_a_folder_with_a_hand_written_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(FILES, out)
    (out / "notes.md").write_text("mine\n")
    with pytest.raises(UnsafeWrite) as caught:
        write_tree(FILES, out)
    assert "notes.md" in str(caught.value) and MARKER in str(caught.value)
    assert (out / "notes.md").read_text() == "mine\n" and (out / "a.yaml").exists()


def test_a_folder_without_marker_is_replaced_only_when_it_holds_nothing_else(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    (legacy / "sub").mkdir(parents=True)
    (legacy / "a.yaml").write_text("old\n")
    write_tree(FILES, legacy)  # every file is one Plinth writes now: nothing is lost
    assert (legacy / "a.yaml").read_text() == "a: 1\n" and (legacy / MARKER).exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "README.md").write_text("hand-written\n")
    with pytest.raises(UnsafeWrite, match="README.md"):
        write_tree(FILES, foreign)
    assert (foreign / "README.md").exists()


def test_the_repository_root_and_the_spec_folder_are_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "kubernetes").mkdir()
    with pytest.raises(UnsafeWrite, match="Git repository"):
        check_replaceable(repo, ["kubernetes/x.yaml"])
    spec = repo / "platform.yaml"
    spec.write_text("x: 1\n")
    for target in (repo, tmp_path):
        with pytest.raises(UnsafeWrite, match="platform.yaml"):
            check_replaceable(target, [], [spec])


def test_a_huge_foreign_folder_is_refused_without_walking_all_of_it(tmp_path: Path) -> None:
    big = tmp_path / "big"
    for i in range(2000):
        (big / f"d{i // 100}").mkdir(parents=True, exist_ok=True)
        (big / f"d{i // 100}" / f"f{i}").write_text("x")
    started = time.process_time()
    with pytest.raises(UnsafeWrite):
        check_replaceable(big, [])
    assert time.process_time() - started < 0.5


def test_a_single_file_is_overwritten_only_when_it_carries_the_signature(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text("<p>my notes</p>\n")
    with pytest.raises(UnsafeWrite, match="did not write"):
        write_file(page, "<html>new</html>", ["<meta name=\"generator\" content=\"plinth\">"])
    assert page.read_text() == "<p>my notes</p>\n"
    with pytest.raises(UnsafeWrite, match="folder"):
        write_file(tmp_path, "x", ["sig"])


def test_write_file_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_file(link, "new\n")
    assert link.is_symlink() and target.read_text() == "new\n"


# --------------------------------------------------------------------------- leftovers of killed runs


def test_leftovers_of_a_run_killed_with_sigkill_are_removed_by_the_next_write(tmp_path: Path) -> None:
    out = tmp_path / "kubernetes"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        import plinth.files as files
        real = files._write_file
        def slow(path, text):
            real(path, text)
            if path.name == "f5.yaml":
                print("writing", flush=True)
                time.sleep(60)
        files._write_file = slow
        files.write_tree({{f"f{{i}}.yaml": "x\\n" for i in range(10)}}, Path({str(out)!r}))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".kubernetes.new-"))
    assert left, "the killed run should have left its staging folder"
    (tmp_path / ".kubernetes.old-abc").mkdir()  # an older Plinth's leftover: no pid in the name, older than this run
    stale_tmp = tmp_path / ".kubernetes.999999999-x.tmp"  # a write_file temporary of a process that is gone
    stale_tmp.write_text("half")
    old_time = time.time() - 3600
    for path in (tmp_path / ".kubernetes.old-abc", stale_tmp):
        os.utime(path, (old_time, old_time))
    write_tree(FILES, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kubernetes"]


def test_a_concurrent_runs_staging_folder_is_left_alone(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        busy = tmp_path / f".out.new-{sleeper.pid}-abc"
        busy.mkdir()
        assert clean_leftovers(tmp_path / "out") == []
        assert busy.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert clean_leftovers(tmp_path / "out") == [busy]


# --------------------------------------------------------------------------- through the commands


def test_render_out_the_repository_root_is_refused_and_deletes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    spec = _spec_copy(repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    before = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*"))
    result = _plinth("render", "--spec", str(spec), "--out", str(repo), cwd=repo)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "refusing to replace this folder" in result.stderr
    assert sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*")) == before


def test_render_out_dot_from_the_spec_folder_is_refused(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path / "here")
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(spec.parent)])
    assert result.exit_code == 2 and spec.exists()
    assert "platform.yaml" in result.output and "never overwrites" in result.output


def test_rendered_path_src_is_refused_at_the_spec_field(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path / "repo", [("git.rendered_path", "src")])
    src = spec.parent / "src"
    (src / "plinth").mkdir(parents=True)
    (src / "plinth" / "__init__.py").write_text("# code\n")
    result = CliRunner().invoke(app, ["render", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if "rendered_path" in text)
    assert f"{spec}:{line}:" in result.output and "git.rendered_path" in result.output
    assert "plinth/__init__.py" in result.output
    assert (src / "plinth" / "__init__.py").read_text() == "# code\n"


def test_generate_refuses_a_tree_folder_another_artifact_writes_in(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path / "repo", [("git.rendered_path", "docs")])
    result = CliRunner().invoke(app, ["generate", "tree", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    assert "git.rendered_path" in result.output and "'architecture'" in result.output
    assert not (spec.parent / "docs").exists()


def test_partial_render_keeps_the_other_environment(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path / "repo")
    out = tmp_path / "tree"
    assert CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out), "--workflows-out", str(tmp_path / "wf")]).exit_code == 0
    prod_files = sorted(p.relative_to(out).as_posix() for p in (out / "prod").rglob("*"))
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--env", "staging", "--out", str(out),
                                      "--workflows-out", str(tmp_path / "wf")])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in (out / "prod").rglob("*")) == prod_files
    assert CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out), "--check",
                                    "--workflows-out", str(tmp_path / "wf")]).exit_code == 0


def test_report_out_over_the_spec_or_a_foreign_file_is_refused_before_any_work(tmp_path: Path) -> None:
    spec = _spec_copy(tmp_path / "repo")
    written = spec.read_text()
    notes = tmp_path / "notes.html"
    notes.write_text("<p>mine</p>")
    for target in (spec, notes, tmp_path):
        started = time.process_time()
        result = CliRunner().invoke(app, ["report", "--spec", str(spec), "--out", str(target)])
        assert result.exit_code == 2, result.output
        assert time.process_time() - started < 5
    assert spec.read_text() == written and notes.read_text() == "<p>mine</p>"


def test_drill_out_with_a_foreign_report_file_is_refused_before_the_drill(tmp_path: Path) -> None:
    (tmp_path / "redis-failover.md").write_text("my own notes\n")
    result = CliRunner().invoke(app, ["drill", "redis-failover", "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "redis-failover.md" in result.output and (tmp_path / "redis-failover.md").read_text() == "my own notes\n"


def test_cluster_drill_manifests_refuse_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    result = CliRunner().invoke(app, ["drill", "cluster-manifests", "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "keep.txt" in result.output and (tmp_path / "keep.txt").exists()
