"""What every `plinth` subcommand shares: the consoles, the common options, loading the spec with located errors
(exit 2), rendering, and the format check. The main command (``plinth.cli``) and the command groups in this
package import it; it imports nothing of theirs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from plinth.catalog.kube_versions import today
from plinth.render.pipeline import RenderedObject, RenderError, render_all
from plinth.spec.loader import SpecError, load_all
from plinth.spec.model import Platform

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


def render_platforms(platforms: dict[str, Platform]) -> list[RenderedObject]:
    """Render every environment; a render error is bad input (exit 2)."""
    try:
        return render_all(platforms)
    except RenderError as exc:
        fail_bad_input([f"render error: {exc}"])
        raise AssertionError  # unreachable


def check_format(fmt: str) -> None:
    """Exit 2 unless ``fmt`` is table or json."""
    if fmt not in ("table", "json"):
        fail_bad_input([f"--format: expected 'table' or 'json', got {fmt!r}"])
