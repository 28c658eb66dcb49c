"""What every `plinth` subcommand shares: the consoles, the common options, loading the spec with located errors
(exit 2), rendering, and the format check. The main command (``plinth.cli``) and the command groups in this
package import it; it imports nothing of theirs."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from plinth.catalog.kube_versions import today
from plinth.files import UnsafeWrite
from plinth.render.pipeline import RenderedObject, RenderError, render_all
from plinth.spec.loader import DEFAULT_SPEC, SpecError, load_all, problem_at
from plinth.spec.model import Platform
from plinth.validate.kube_rules import rule_problems, spec_problems

out_console = Console()
err_console = Console(stderr=True)

SpecOption = Annotated[Path, typer.Option("--spec", help="Platform spec file.")]
EnvOption = Annotated[Optional[list[str]], typer.Option("--env", help="Environment(s); default: all in the spec.")]
FormatOption = Annotated[str, typer.Option("--format", help="Output format: table or json.")]
CrdOption = Annotated[Optional[Path], typer.Option("--crd-dir", help="Folder of CRD JSON schemas ({group}/{kind}_{version}.json); default $PLINTH_CRD_DIR or ../shared/schemas/crds.")]


def fail_bad_input(lines: list[str]) -> None:
    """Print each line on stderr, as is, and exit 2 (bad input)."""
    for line in lines:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def load_platforms(spec: Path, envs: Optional[list[str]]) -> dict[str, Platform]:
    """Load the spec's environments (all, or those asked for); exit 2 with located errors on bad input (a bad
    ``$PLINTH_TODAY``, the day version support is judged at, too)."""
    try:
        today()
    except ValueError as exc:
        fail_bad_input([str(exc)])
    try:
        platforms = load_all(spec)
    except SpecError as exc:
        fail_bad_input([str(p) for p in exc.problems])
    if envs:
        unknown = sorted(set(envs) - set(platforms))
        if unknown:
            fail_bad_input([f"{spec}: no environment {', '.join(unknown)} (expected one of: {', '.join(sorted(platforms))})"])
        platforms = {e: platforms[e] for e in envs}
    return platforms


def render_platforms(platforms: dict[str, Platform], spec: Optional[Path] = None) -> list[RenderedObject]:
    """Render every environment; a render error, or an object the cluster would refuse (a name too long, a port twice,
    two listeners on one hostname), is bad input (exit 2), located at the spec field that produced it."""
    try:
        rendered = render_all(platforms)
    except RenderError as exc:
        if exc.field and spec is not None:
            fail_bad_input([str(problem_at(spec, exc.field, str(exc)))])
        fail_bad_input([f"render error: {exc}"])
        raise AssertionError  # unreachable
    except Exception as exc:  # noqa: BLE001 - a spec the model accepts must never end in a traceback
        fail_bad_input([render_failure(exc, spec)])
    check_rendered(rendered, spec or Path(DEFAULT_SPEC))
    return rendered


def render_failure(exc: BaseException, spec: Optional[Path]) -> str:
    """One line for a renderer that failed on a spec the model accepted: what failed and where in Plinth (a bug to fix in
    the model or the component: the spec should have been refused with a located error)."""
    frames = traceback.extract_tb(exc.__traceback__)
    inner = next((f for f in reversed(frames) if "/plinth/" in f.filename), frames[-1] if frames else None)
    where = f" at {Path(inner.filename).name}:{inner.lineno} ({inner.name})" if inner else ""
    return (f"{spec or DEFAULT_SPEC}: the renderer could not use this spec: {type(exc).__name__}: {exc}{where}; the spec passed "
            "validation, so this is a bug in Plinth's model or a component (it should have been refused at the field)")


def check_rendered(rendered: list[RenderedObject], spec: Path) -> None:
    """Exit 2 when a rendered object breaks a rule the API server enforces, located at the spec field it came from."""
    problems = rule_problems(rendered)
    if problems:
        fail_bad_input([str(p) for p in spec_problems(problems, spec)])


def check_format(fmt: str) -> None:
    """Exit 2 unless ``fmt`` is table or json."""
    if fmt not in ("table", "json"):
        fail_bad_input([f"--format: expected 'table' or 'json', got {fmt!r}"])


def protected_paths(spec: Path) -> list[Path]:
    """What no write of Plinth may replace or overwrite: the spec file itself (and so its folder and every folder
    above it)."""
    return [spec]


def fail_unsafe(exc: UnsafeWrite, spec: Optional[Path] = None, field: Optional[str] = None) -> None:
    """Exit 2 for a refused write: located at the spec field that named the place (``git.rendered_path``) when there
    is one, else at the path itself."""
    if spec is not None and field is not None:
        fail_bad_input([str(problem_at(spec, field, str(exc)))])
    fail_bad_input([str(exc)])
