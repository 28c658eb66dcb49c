"""Atomic writes of generated files, and comparison with what is on disk.

A folder is written to a temporary sibling folder, then swapped in with two renames; a single file is
written to a temporary sibling file, then renamed over the old one. A failure at any point leaves the
previous content intact and nothing half-written behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_tree(files: dict[str, str], out: Path) -> None:
    """Replace ``out`` with exactly ``files`` (relative path → text), atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for rel in sorted(files):
            _write_file(staging / rel, files[rel])
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            os.replace(out, old)
        try:
            os.replace(staging, out)
        except BaseException:
            if old is not None:
                os.replace(old, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_file(path: Path, text: str) -> None:
    """Replace one file with ``text``, atomically (a reader sees the old content or the new, never half)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(files: dict[str, str], folder: Path) -> None:
    """Write each of ``files`` (relative path → text) under ``folder``, each atomically; other files are left alone."""
    for rel in sorted(files):
        write_file(Path(folder) / rel, files[rel])


@dataclass(frozen=True)
class TreeDiff:
    """Differences between the rendered files and a folder on disk."""

    added: list[str]
    """Rendered but missing on disk."""
    removed: list[str]
    """On disk but no longer rendered."""
    changed: list[str]
    """On disk with other content."""

    @property
    def clean(self) -> bool:
        """True when the folder holds exactly the rendered files."""
        return not (self.added or self.removed or self.changed)


def diff_tree(files: dict[str, str], out: Path) -> TreeDiff:
    """Compare rendered files with the folder ``out``."""
    out = Path(out)
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} if out.exists() else set()
    added = sorted(set(files) - on_disk)
    removed = sorted(on_disk - set(files))
    changed = sorted(rel for rel in set(files) & on_disk if (out / rel).read_text(encoding="utf-8") != files[rel])
    return TreeDiff(added, removed, changed)


def diff_files(files: dict[str, str], folder: Path) -> TreeDiff:
    """Compare ``files`` with the same paths under ``folder`` (other files there are not this set's business)."""
    folder = Path(folder)
    added = sorted(rel for rel in files if not (folder / rel).is_file())
    changed = sorted(rel for rel in files if (folder / rel).is_file() and (folder / rel).read_text(encoding="utf-8") != files[rel])
    return TreeDiff(added, [], changed)
