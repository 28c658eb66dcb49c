"""Write the rendered tree atomically, and compare it with what is on disk.

The tree is written to a temporary sibling folder, then swapped in with two renames, so a failure
at any point leaves the previous tree intact and no half-written folder behind.
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
