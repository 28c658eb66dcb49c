"""Reading a spec (or waiver) file without trusting it: a regular file, of bounded size, in UTF-8 (a located error
for the first bad byte), parsed by a YAML composer that stops at a nesting depth and at an alias expansion past
the limits of ``plinth.spec.limits``. Nothing here can hang, or grow without bound, whatever the file holds.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

from plinth.spec.limits import MAX_SPEC_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES


class ReadProblem(Exception):
    """A file that cannot be read as a spec, at a 1-based line and column."""

    def __init__(self, line: int, column: int, message: str):
        self.line, self.column, self.message = line, column, message
        super().__init__(f"{line}:{column}: {message}")


class LimitExceeded(MarkedYAMLError):
    """The document nests deeper or expands to more values than the limits allow."""


_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
         (codecs.BOM_UTF16_BE, "UTF-16"))
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
"""Characters YAML does not allow in a stream (every C0 control but tab, line feed and carriage return; DEL)."""


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def read_bytes(path: Path, limit: int = MAX_SPEC_BYTES) -> bytes:
    """The file's bytes: only a regular file (a FIFO, a device, a folder is refused without reading), at most
    ``limit`` bytes (a larger one is refused before it is read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise ReadProblem(1, 1, "is a folder, not a spec file") from None
        raise ReadProblem(1, 1, f"cannot read the file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode)
                    else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                    else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise ReadProblem(1, 1, f"is {kind}; a spec must be a regular file (it is not read)")
        if info.st_size > limit:
            raise ReadProblem(1, 1, f"is {info.st_size:,} bytes, more than the {limit:,} a spec may have (it is not read)")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ReadProblem(1, 1, f"grew past the {limit:,} bytes a spec may have while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode(data: bytes) -> str:
    """UTF-8 text of the file (a UTF-8 byte-order mark is dropped); other encodings and bytes that are not UTF-8 or
    are control characters YAML forbids are located errors."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise ReadProblem(1, 1, f"is encoded as {name} (byte-order mark {bom.hex(' ')}); save it as UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data, exc.start)
        bad = data[exc.start:exc.end].hex(" ")
        hint = " (a UTF-16 file without a byte-order mark?)" if b"\x00" in data[:64] else ""
        raise ReadProblem(line, column, f"is not UTF-8: byte(s) {bad} cannot be decoded{hint}; save it as UTF-8") from None
    bad_char = _FORBIDDEN.search(text)
    if bad_char is not None:
        index, char = bad_char.start(), bad_char.group()
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        hint = " (a UTF-16 file without a byte-order mark?)" if char == "\x00" else ""
        raise ReadProblem(line, column, f"holds the control character U+{ord(char):04X}, which YAML does not allow{hint}")
    return text


class BoundedComposer(Composer):
    """ruamel's composer, counting as it goes: a collection nested deeper than ``MAX_YAML_DEPTH``, an alias that
    refers to a node containing it, or a document that expands (aliases at full size) past ``MAX_YAML_NODES``
    values fails at the node that crosses the limit, before anything is expanded."""

    def __init__(self, loader: Any = None):
        super().__init__(loader=loader)
        self._sizes: dict[int, int] = {}
        self._open: list[str] = []
        self._expanded = 0

    def _count(self, size: int, mark: Any, what: str) -> None:
        self._expanded += size
        if self._expanded > MAX_YAML_NODES:
            raise LimitExceeded(None, None, f"the document expands to more than {MAX_YAML_NODES:,} values at {what} "
                                            "(an alias-expansion bomb?); a spec has a few thousand", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if event.anchor in self._open:
                raise LimitExceeded(None, None, f"alias *{event.anchor} refers to a node that contains it (a cycle)",
                                    event.start_mark)
            if target is not None:
                self._count(self._sizes.get(id(target), 1), event.start_mark, f"alias *{event.anchor}")
            return super().compose_node(parent, index)
        if self.depth >= MAX_YAML_DEPTH:
            raise LimitExceeded(None, None, f"collections nest deeper than {MAX_YAML_DEPTH} levels; the spec has 7",
                                event.start_mark)
        before = self._expanded
        self._count(1, event.start_mark, "this value")
        if event.anchor is not None:
            self._open.append(event.anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            if event.anchor is not None:
                self._open.pop()
        self._sizes[id(node)] = self._expanded - before
        return node


def prescan(text: str) -> None:
    """Walk the document's events with libyaml (C; iterative, linear) and stop at the first collection nested deeper
    than ``MAX_YAML_DEPTH`` or the first alias that expands the document past ``MAX_YAML_NODES`` values.

    ruamel's round-trip scanner looks ahead over every open flow collection (quadratic in the nesting: 5,000
    brackets take seconds, a full file hours), so the limits are enforced here first. A syntax error is left to
    ruamel, which reports it with the same position rules as every other spec error."""
    loader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
    depth, expanded = 0, 0
    stack: list[list[Any]] = []  # [anchor, expanded count when the collection started]
    sizes: dict[str, int] = {}
    try:
        for event in pyyaml.parse(text, Loader=loader):
            if isinstance(event, (pyyaml.SequenceStartEvent, pyyaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise LimitExceeded(None, None, f"collections nest deeper than {MAX_YAML_DEPTH} levels; the spec has 7",
                                        _Mark(event.start_mark))
                expanded += 1
                stack.append([event.anchor, expanded - 1])
            elif isinstance(event, (pyyaml.SequenceEndEvent, pyyaml.MappingEndEvent)):
                depth -= 1
                anchor, start = stack.pop()
                if anchor is not None:
                    sizes[anchor] = expanded - start
            elif isinstance(event, (pyyaml.ScalarEvent, pyyaml.AliasEvent)):
                size = 1 if isinstance(event, pyyaml.ScalarEvent) else sizes.get(event.anchor, 1)
                if isinstance(event, pyyaml.ScalarEvent) and event.anchor is not None:
                    sizes[event.anchor] = 1
                expanded += size
                if expanded > MAX_YAML_NODES:
                    what = f"alias *{event.anchor}" if isinstance(event, pyyaml.AliasEvent) else "this value"
                    raise LimitExceeded(None, None, f"the document expands to more than {MAX_YAML_NODES:,} values at {what} "
                                                    "(an alias-expansion bomb?); a spec has a few thousand", _Mark(event.start_mark))
    except pyyaml.YAMLError:
        return


class _Mark:
    """A libyaml position in the shape ruamel's marks have (0-based line and column)."""

    def __init__(self, mark: Any):
        self.line, self.column = mark.line, mark.column


def load_text(text: str) -> Any:
    """Parse YAML text with positions (ruamel round trip, duplicate keys refused) through the bounded composer,
    after the limits are checked by ``prescan``."""
    prescan(text)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Composer = BoundedComposer
    return yaml.load(text)
