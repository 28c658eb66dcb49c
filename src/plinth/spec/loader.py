"""Load ``platform.yaml``: YAML with positions, typed validation, errors as ``file:line:col: path: message``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from plinth.spec.model import Platform
from plinth.spec.overlay import OverlayKeyError, SpecFile, apply_overlay
from plinth.spec.reading import LimitExceeded, ReadProblem, decode, load_text, read_bytes

DEFAULT_SPEC = "platform.yaml"


@dataclass(frozen=True)
class SpecProblem:
    """One problem of a spec file, located in the file."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec that cannot be used; carries every problem found."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (int, float)) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _child(node: Any, element: Any) -> tuple[bool, Any, int, int]:
    if isinstance(node, CommentedMap) and element in node:
        line, col = node.lc.key(element)
        return True, node[element], line + 1, col + 1
    if isinstance(node, CommentedSeq) and isinstance(element, int) and 0 <= element < len(node):
        line, col = node.lc.item(element)
        return True, node[element], line + 1, col + 1
    return False, None, 0, 0


def _locate(doc: Any, loc: tuple[Any, ...]) -> tuple[int, int, list[Any]]:
    """Walk ``loc`` through the YAML nodes; return the 1-based position of the deepest node found and the
    path to show. Elements pydantic adds that are not in the file (a union's tag such as ``cpu``) are
    skipped; a missing field (required but absent) is named after the deepest node found."""
    line, col = 1, 1
    node = doc
    shown: list[Any] = []
    elements = list(loc)
    i = 0
    while i < len(elements):
        element = elements[i]
        found, child, child_line, child_col = _child(node, element)
        if found:
            node, line, col = child, child_line, child_col
            shown.append(element)
        elif i + 1 < len(elements) and _child(node, elements[i + 1])[0]:
            pass  # a union tag: the next element lives directly under this node
        else:
            shown.extend(e for e in elements[i:] if not (isinstance(e, str) and e.startswith("function-")))
            break
        i += 1
    return line, col, shown


def _found_depth(doc: Any, loc: tuple[Any, ...]) -> int:
    depth, node = 0, doc
    for element in loc:
        found, child, _, _ = _child(node, element)
        if found:
            node, depth = child, depth + 1
    return depth


def _message(error: dict[str, Any]) -> str:
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "extra_forbidden":
        return "unknown field (not part of the spec; check the spelling)"
    if error["type"] not in ("value_error", "assertion_error") and "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (got {error['input']!r})"
    return message


def _problems(file: str, doc: Any, error: ValidationError, prefixes: list[tuple[Any, ...]]) -> list[SpecProblem]:
    """Turn pydantic errors into located problems; ``prefixes`` are tried in order (overlay before base)."""
    problems = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        best = None
        for prefix in prefixes:
            line, col, shown = _locate(doc, prefix + loc)
            found_depth = _found_depth(doc, prefix + loc)
            if best is None or found_depth > best[0]:
                best = (found_depth, line, col, shown)
        _, line, col, shown = best
        message = _message(err)
        # Model-level rules name the field they blame first ("min_nodes (20) must be ...", or a dotted
        # path "services.x.calls: ..."): point at that field when the file has it.
        token = message.split(" ", 1)[0]
        parts = tuple(int(p) if p.isdigit() else p for p in token.rstrip(":").split("."))
        if doc is not None and _found_depth(doc, tuple(shown) + parts) == len(shown) + len(parts):
            line, col, shown = _locate(doc, tuple(shown) + parts)
            if token.endswith(":"):
                message = message[len(token):].lstrip()
        elif re.match(r"^[a-z_][\w.-]*:$", token):
            line, col, _ = _locate(doc, tuple(shown) + parts) if doc is not None else (line, col, shown)
            shown = list(shown) + list(parts)
            message = message[len(token):].lstrip()
        problems.append(SpecProblem(file, line, col, ".".join(map(str, shown)), message))
    return problems


def read_yaml(path: Path) -> Any:
    """Parse a YAML file keeping positions; a file that is not a bounded, regular, UTF-8 file or is malformed YAML
    becomes a located SpecError (see ``plinth.spec.reading``: nothing here can hang or grow without bound)."""
    try:
        text = decode(read_bytes(path))
    except ReadProblem as exc:
        raise SpecError([SpecProblem(str(path), exc.line, exc.column, "", exc.message)]) from None
    try:
        doc = load_text(text)
    except LimitExceeded as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([SpecProblem(str(path), line, col, "", str(exc.problem))]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "malformed YAML"
        raise SpecError([SpecProblem(str(path), line, col, "", f"malformed YAML: {problem}")]) from None
    except RecursionError:
        raise SpecError([SpecProblem(str(path), 1, 1, "", "malformed YAML: nested too deeply to read")]) from None
    except Exception as exc:  # noqa: BLE001 - ruamel raises a few unmarked errors; any of them is bad input
        raise SpecError([SpecProblem(str(path), 1, 1, "", f"malformed YAML: {exc}")]) from None
    if not isinstance(doc, CommentedMap):
        raise SpecError([SpecProblem(str(path), 1, 1, "", "expected a mapping of spec fields at the top level")])
    return doc


def load_spec_file(path: Path | str) -> tuple[SpecFile, Any]:
    """Load and validate the whole file (base and overlays); returns the model and the positioned YAML."""
    path = Path(path)
    doc = read_yaml(path)
    try:
        return SpecFile.model_validate(_plain(doc)), doc
    except ValidationError as exc:
        raise SpecError(_problems(str(path), doc, exc, [()])) from None


def resolve(spec_file: SpecFile, environment: str, doc: Any = None, file: str = DEFAULT_SPEC) -> Platform:
    """The platform of one environment: the base with that environment's typed overlay applied."""
    if environment not in spec_file.environments:
        known = ", ".join(sorted(spec_file.environments))
        raise SpecError([SpecProblem(file, 1, 1, "environments", f"no environment {environment!r} (expected one of: {known})")])
    base = Platform.model_validate(spec_file.model_dump(mode="python", round_trip=True, exclude={"environments"}))
    overlay = spec_file.environments[environment]
    overlay_prefix = ("environments", environment)
    try:
        data = apply_overlay(base, environment, overlay)
    except OverlayKeyError as exc:
        line, col, shown = _locate(doc, overlay_prefix + exc.path) if doc is not None else (1, 1, list(exc.path))
        raise SpecError([SpecProblem(file, line, col, ".".join(map(str, shown)), str(exc))]) from None
    try:
        return Platform.model_validate(data)
    except ValidationError as exc:
        problems = _problems(file, doc, exc, [overlay_prefix, ()]) if doc is not None else [
            SpecProblem(file, 1, 1, ".".join(map(str, e["loc"])), _message(e)) for e in exc.errors(include_url=False)
        ]
        raise SpecError(problems) from None


def load_platform(path: Path | str = DEFAULT_SPEC, environment: str = "prod") -> Platform:
    """Load the spec file and resolve one environment; raises SpecError with located problems."""
    spec_file, doc = load_spec_file(path)
    return resolve(spec_file, environment, doc, str(path))


def load_all(path: Path | str = DEFAULT_SPEC) -> dict[str, Platform]:
    """Every environment of the spec file, resolved; all problems of all environments are gathered."""
    spec_file, doc = load_spec_file(path)
    platforms: dict[str, Platform] = {}
    problems: list[SpecProblem] = []
    for environment in sorted(spec_file.environments):
        try:
            platforms[environment] = resolve(spec_file, environment, doc, str(path))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return platforms


def problem_at(path: Path | str, dotted: str, message: str) -> SpecProblem:
    """A problem located at a field of the spec file (``git.rendered_path``, ``services.x.port``): its line and column
    when the file has it, else the deepest part it has."""
    parts = tuple(int(p) if p.isdigit() else p for p in dotted.split(".")) if dotted else ()
    try:
        doc = read_yaml(Path(path))
    except SpecError:
        return SpecProblem(str(path), 1, 1, dotted, message)
    line, col, _ = _locate(doc, parts)
    return SpecProblem(str(path), line, col, dotted, message)
