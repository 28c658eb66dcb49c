"""Bounded reading: a spec that is not a regular file, too large, not UTF-8, nested too deeply or an alias bomb is a
located error (exit 2) in well under a second, never a hang, a memory explosion or a traceback."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plinth.cli import app
from plinth.spec.limits import MAX_SPEC_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES
from plinth.spec.loader import SpecError, load_all
from tests.conftest import DEFAULT_SPEC

FAST = 1.0
"""CPU seconds a bounded failure may take (CPU, not wall time: the machine may be shared; they take milliseconds)."""


def _fails_fast(path: Path, fragment: str, line: int | None = None, column: int | None = None) -> str:
    started = time.process_time()
    with pytest.raises(SpecError) as caught:
        load_all(path)
    elapsed = time.process_time() - started
    assert elapsed < FAST, f"took {elapsed:.2f} s"
    problem = caught.value.problems[0]
    assert problem.file == str(path) and fragment in problem.message, str(problem)
    if line is not None:
        assert problem.line == line, str(problem)
    if column is not None:
        assert problem.column == column, str(problem)
    return str(problem)


def test_a_billion_laughs_alias_bomb_fails_at_the_alias_that_crosses_the_limit(tmp_path: Path) -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _fails_fast(bomb, f"more than {MAX_YAML_NODES:,} values", line=5)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100 * 1024  # KiB: under 100 MiB more


def test_merge_keys_count_at_their_full_size(tmp_path: Path) -> None:
    lines = ["b0: &b0 {" + ", ".join(f"k{j}: v" for j in range(20)) + "}"]
    lines += [f"b{i}: &b{i} {{" + ", ".join(f"m{j}: *b{i - 1}" for j in range(20)) + "}" for i in range(1, 6)]
    merged = tmp_path / "merged.yaml"
    merged.write_text("\n".join(lines) + "\nname: x\n")
    _fails_fast(merged, "alias-expansion bomb")


def test_a_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    cycle = tmp_path / "cycle.yaml"
    cycle.write_text("name: x\nloop: &loop [1, *loop]\n")
    _fails_fast(cycle, "refers to a node that contains it", line=2)


@pytest.mark.parametrize("opening,closing", [("[", "]"), ("{a: ", "}")], ids=["sequences", "mappings"])
def test_deep_flow_nesting_fails_fast(tmp_path: Path, opening: str, closing: str) -> None:
    deep = tmp_path / "deep.yaml"
    depth = 50_000  # ~100-250 KB: under the size limit; ruamel's own scanner alone needs seconds per 5,000 levels
    deep.write_text("name: " + opening * depth + "x" + closing * depth + "\n")
    assert deep.stat().st_size <= MAX_SPEC_BYTES
    _fails_fast(deep, f"deeper than {MAX_YAML_DEPTH} levels")


def test_deep_block_nesting_fails_fast(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v\n")
    _fails_fast(deep, f"deeper than {MAX_YAML_DEPTH} levels", line=MAX_YAML_DEPTH + 1)


def test_a_50_mb_value_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("w") as handle:
        handle.write("name: ")
        handle.write("x" * (50 * 1024 * 1024))
        handle.write("\n")
    _fails_fast(huge, f"more than the {MAX_SPEC_BYTES:,} a spec may have", line=1, column=1)


def test_a_fifo_is_refused_without_opening_it_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "platform.yaml"
    os.mkfifo(fifo)
    _fails_fast(fifo, "FIFO")


def test_dev_zero_and_a_folder_are_refused_without_reading() -> None:
    _fails_fast(Path("/dev/zero"), "device")
    _fails_fast(DEFAULT_SPEC.parent, "folder")


def test_utf16_with_a_byte_order_mark(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_bytes(DEFAULT_SPEC.read_text().encode("utf-16"))
    _fails_fast(spec, "UTF-16", line=1, column=1)


def test_utf16_without_a_byte_order_mark(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_bytes("name: plinth\n".encode("utf-16-le"))
    _fails_fast(spec, "U+0000", line=1, column=2)


def test_an_undecodable_byte_is_located(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    text = DEFAULT_SPEC.read_bytes().replace(b"purpose: Infrastructure", b"purpose: Infra\xffstructure", 1)
    spec.write_bytes(text)
    line = next(i for i, row in enumerate(text.split(b"\n"), 1) if b"\xff" in row)
    column = text.split(b"\n")[line - 1].index(b"\xff") + 1
    _fails_fast(spec, "byte(s) ff", line=line, column=column)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + DEFAULT_SPEC.read_bytes())
    assert sorted(load_all(spec)) == ["prod", "staging"]


@pytest.mark.parametrize("command", [["check"], ["render", "--check"], ["plan"], ["validate"]])
def test_commands_exit_2_with_the_location_and_no_traceback(tmp_path: Path, command: list[str]) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_bytes("name: plinth\n".encode("utf-16"))
    result = CliRunner().invoke(app, [*command, "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    assert f"{spec}:1:1" in result.output and "UTF-16" in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
