"""Atomic writes of generated files that cannot destroy anything, and comparison with what is on disk.

A folder is written to a temporary sibling folder, then swapped in with two renames; a single file is
written to a temporary sibling file, then renamed over the old one. A failure at any point leaves the
previous content intact and nothing half-written behind.

Plinth replaces only what it wrote. Every folder it swaps in carries a marker file (``.plinth-generated``)
listing the files it wrote there. A folder is replaced only when every file in it is listed by its marker
(or, for a folder without a marker, when every file in it is one Plinth writes now: nothing else is
lost); never when it is, or holds, a protected path (the spec, its folder) or is the root of a Git
repository. A single file is replaced only when it carries the signature of what Plinth writes there.
Anything else is an :class:`UnsafeWrite` naming the path and why, before anything is written.

A run killed half-way (SIGKILL) leaves its temporary siblings (``.<name>.new-<pid>-*``,
``.<name>.old-<pid>-*``, ``.<name>.<pid>-*.tmp``); the next write to the same place removes those of
processes that are gone.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MARKER = ".plinth-generated"
"""File Plinth writes into every folder it owns, listing the files it wrote there."""
MARKER_HEADER = (
    "# Written by Plinth: this folder is generated and replaced as a whole by `plinth generate` / `plinth render`.\n"
    "# Plinth refuses to replace it while it holds a file not listed below: keep hand-written files elsewhere.\n"
)
FOREIGN_SHOWN = 5
"""How many foreign files a refusal names."""
STARTED = time.time()
"""When this process started writing anything (leftovers older than this, of this pid, are a previous run's)."""


class UnsafeWrite(Exception):
    """A write that would destroy something Plinth did not write; carries the path and the reason."""

    def __init__(self, path: Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# --------------------------------------------------------------------------- ownership


def marker_text(files: Iterable[str]) -> str:
    """The marker of a folder holding ``files`` (relative paths)."""
    return MARKER_HEADER + "".join(f"{rel}\n" for rel in sorted(files))


def _listed(folder: Path) -> set[str] | None:
    """Files the folder's marker lists (None: no marker)."""
    marker = folder / MARKER
    if not marker.is_file() or marker.is_symlink():
        return None
    try:
        text = marker.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    return {line for line in text.splitlines() if line and not line.startswith("#")}


def _foreign_files(out: Path, wanted: Iterable[str], limit: int = FOREIGN_SHOWN) -> list[str]:
    """Up to ``limit`` files under ``out`` that Plinth may not delete: neither listed by the folder's marker nor among
    ``wanted`` (the files it writes now: a merge of two branches' trees brings files the committed marker does not list
    yet). Stops at the limit, so a huge folder (``/``) is refused quickly."""
    owned = (_listed(out) or set()) | set(wanted)
    found: list[str] = []
    for root, dirs, names in os.walk(out, followlinks=False):
        dirs.sort()
        here = Path(root)
        # a symbolic link to a folder is an entry of its own, never followed
        entries = sorted(names + [d for d in dirs if (here / d).is_symlink()])
        for name in entries:
            rel = (here / name).relative_to(out).as_posix()
            if rel == MARKER or rel in owned:
                continue
            found.append(rel)
            if len(found) >= limit:
                return found
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_replaceable(out: Path, files: Iterable[str] = (), protected: Iterable[Path] = ()) -> None:
    """Raise UnsafeWrite unless Plinth may replace the folder ``out`` with ``files`` (relative paths)."""
    out = Path(out)
    target = Path(os.path.abspath(out))
    if out.is_symlink():
        raise UnsafeWrite(out, "refusing to replace a symbolic link (Plinth would replace the link, not its folder); "
                               "give the real folder")
    resolved = out.resolve()
    for path in protected:
        guarded = Path(path).resolve()
        if _inside(guarded, resolved) or _inside(guarded, target):
            what = "is" if guarded in (resolved, target) else "holds"
            raise UnsafeWrite(out, f"refusing to replace this folder: it {what} {path}, which Plinth reads and never "
                                   "overwrites; choose a folder of its own")
    if not out.exists():
        return
    if not out.is_dir():
        raise UnsafeWrite(out, "refusing to replace a file with a folder (Plinth writes generated folders only where none "
                               "or its own is)")
    if (out / ".git").exists():
        raise UnsafeWrite(out, "refusing to replace this folder: it is the root of a Git repository (.git)")
    foreign = _foreign_files(out, files)
    if foreign:
        more = ", ..." if len(foreign) >= FOREIGN_SHOWN else ""
        why = (f"the files its {MARKER} marker lists or Plinth writes there now" if _listed(out) is not None
               else f"files Plinth writes there (it has no {MARKER} marker)")
        raise UnsafeWrite(out, f"refusing to replace this folder: it holds files other than {why}: "
                               f"{', '.join(foreign)}{more}; move them away or choose an empty or new folder")


def owned_files(out: Path) -> dict[str, str]:
    """Text of every file the folder's marker lists (empty when the folder or its marker is missing)."""
    listed = _listed(Path(out)) or set()
    return {rel: (Path(out) / rel).read_text(encoding="utf-8") for rel in sorted(listed) if (Path(out) / rel).is_file()}


# --------------------------------------------------------------------------- leftovers of killed runs

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:(?:new|old)-(?:(?P<pid>\d+)-)?[^/]*|(?:(?P<tpid>\d+)-)?[^./]+\.tmp)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_leftover(path: Path, name: str) -> bool:
    match = _LEFTOVER.match(path.name)
    if not match or match.group("name") != name:
        return False
    pid_text = match.group("pid") or match.group("tpid")
    try:
        older = path.lstat().st_mtime < STARTED
    except OSError:
        return False
    if pid_text is None:
        return older  # written by an older Plinth that did not record its pid
    pid = int(pid_text)
    if pid == os.getpid():
        return older
    return not _alive(pid)


def clean_leftovers(path: Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` that killed runs left behind; return what was removed."""
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return []
    removed = []
    for sibling in parent.iterdir():
        if sibling.name.startswith(f".{path.name}.") and _is_leftover(sibling, path.name):
            if sibling.is_dir() and not sibling.is_symlink():
                shutil.rmtree(sibling, ignore_errors=True)
            else:
                sibling.unlink(missing_ok=True)
            removed.append(sibling)
    return removed


# --------------------------------------------------------------------------- writes


def _write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_tree(files: dict[str, str], out: Path, protected: Iterable[Path] = ()) -> None:
    """Replace the folder ``out`` with exactly ``files`` (relative path → text) and its marker, atomically; raise
    UnsafeWrite (before writing anything) when ``out`` is not Plinth's to replace."""
    out = Path(out)
    check_replaceable(out, files, protected)
    clean_leftovers(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-{os.getpid()}-", dir=out.parent))
    try:
        for rel in sorted(files):
            _write_file(staging / rel, files[rel])
        _write_file(staging / MARKER, marker_text(files))
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
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


def check_file_replaceable(path: Path, signatures: Iterable[str] | None = None, protected: Iterable[Path] = ()) -> None:
    """Raise UnsafeWrite unless Plinth may write the file ``path``: not a folder, not a protected path, and (when
    ``signatures`` are given) absent or holding one of them (what Plinth writes there)."""
    path = Path(path)
    resolved = path.resolve()
    for guarded in protected:
        if Path(guarded).resolve() == resolved:
            raise UnsafeWrite(path, f"refusing to overwrite {guarded}, which Plinth reads and never overwrites")
    if path.is_dir():
        raise UnsafeWrite(path, "refusing to write a file where a folder is; give a file name")
    if signatures is None or not path.exists():
        return
    if not stat.S_ISREG(path.stat().st_mode):
        raise UnsafeWrite(path, "refusing to overwrite something that is not a regular file")
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16).decode("utf-8", errors="replace")
    except OSError as exc:
        raise UnsafeWrite(path, f"cannot read it to see whether Plinth wrote it: {exc.strerror}") from None
    if not any(signature in head for signature in signatures):
        raise UnsafeWrite(path, "refusing to overwrite a file Plinth did not write; remove it or choose another name")


def write_file(path: Path, text: str, signatures: Iterable[str] | None = None, protected: Iterable[Path] = ()) -> None:
    """Replace one file with ``text``, atomically (a reader sees the old content or the new, never half). With
    ``signatures``, an existing file is replaced only when it holds one of them (see check_file_replaceable)."""
    path = Path(path)
    check_file_replaceable(path, signatures, protected)
    clean_leftovers(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.resolve() if path.is_symlink() else path
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
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


def diff_tree(files: dict[str, str], out: Path, marker: bool = True) -> TreeDiff:
    """Compare rendered files with the folder ``out`` (with ``marker``, its marker file is expected too)."""
    out = Path(out)
    expected = {**files, MARKER: marker_text(files)} if marker else dict(files)
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} if out.exists() else set()
    if not marker:
        on_disk.discard(MARKER)
    added = sorted(set(expected) - on_disk)
    removed = sorted(on_disk - set(expected))
    changed = sorted(rel for rel in set(expected) & on_disk if (out / rel).read_text(encoding="utf-8") != expected[rel])
    return TreeDiff(added, removed, changed)


def diff_files(files: dict[str, str], folder: Path) -> TreeDiff:
    """Compare ``files`` with the same paths under ``folder`` (other files there are not this set's business)."""
    folder = Path(folder)
    added = sorted(rel for rel in files if not (folder / rel).is_file())
    changed = sorted(rel for rel in files if (folder / rel).is_file() and (folder / rel).read_text(encoding="utf-8") != files[rel])
    return TreeDiff(added, [], changed)
