"""The ``plinth`` command: render, validate (and, as they land, check, plan) the platform.

Exit codes: 0 ok, 1 findings (stale tree, schema errors), 2 bad input (spec, flags, missing schemas).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from plinth.plan.workloads import WorkloadError
from plinth.render.pipeline import RenderError, RenderedObject, render_all, to_files
from plinth.render.writer import diff_tree, write_tree
from plinth.spec.loader import DEFAULT_SPEC, SpecError, load_all
from plinth.spec.model import Platform
from plinth.validate.schemas import SchemaProblem, SchemaSetupError, SchemaStore, default_crd_dir

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Plinth: the platform's infrastructure as code.")
out_console = Console()
err_console = Console(stderr=True)

SpecOption = Annotated[Path, typer.Option("--spec", help="Platform spec file.")]
EnvOption = Annotated[Optional[list[str]], typer.Option("--env", help="Environment(s); default: all in the spec.")]
FormatOption = Annotated[str, typer.Option("--format", help="Output format: table or json.")]
CrdOption = Annotated[Optional[Path], typer.Option("--crd-dir", help="Folder of CRD JSON schemas ({group}/{kind}_{version}.json); default $PLINTH_CRD_DIR or ../shared/schemas/crds.")]


class BadInput(Exception):
    """A problem with what the user gave us: reported, exit 2."""


def _fail_bad_input(lines: list[str]) -> None:
    for line in lines:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def load_platforms(spec: Path, envs: Optional[list[str]]) -> dict[str, Platform]:
    """Load the spec's environments (all, or those asked for); exit 2 with located errors on bad input."""
    try:
        platforms = load_all(spec)
    except SpecError as exc:
        _fail_bad_input([str(p) for p in exc.problems])
    if envs:
        unknown = sorted(set(envs) - set(platforms))
        if unknown:
            _fail_bad_input([f"{spec}: no environment {', '.join(unknown)} (expected one of: {', '.join(sorted(platforms))})"])
        platforms = {e: platforms[e] for e in envs}
    return platforms


def _render(platforms: dict[str, Platform]) -> list[RenderedObject]:
    try:
        return render_all(platforms)
    except RenderError as exc:
        _fail_bad_input([f"render error: {exc}"])
        raise AssertionError  # unreachable


def _out_dir(spec: Path, platforms: dict[str, Platform], out: Optional[Path]) -> Path:
    if out is not None:
        return out
    first = next(iter(platforms.values()))
    return spec.parent / first.git.rendered_path


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        _fail_bad_input([f"--format: expected 'table' or 'json', got {fmt!r}"])


@app.command()
def render(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder; default: the spec's git.rendered_path.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Do not write; exit 1 if the folder differs from a fresh render.")] = False,
    fmt: FormatOption = "table",
) -> None:
    """Render the GitOps tree (one YAML file per object) for every environment, atomically."""
    _check_format(fmt)
    platforms = load_platforms(spec, env)
    rendered = _render(platforms)
    out_dir = _out_dir(spec, platforms, out)
    by_env: dict[str, dict[str, str]] = {}
    for path, text in to_files(rendered).items():
        environment, rel = path.split("/", 1)
        by_env.setdefault(environment, {})[rel] = text
    partial = env is not None
    if check:
        problems: list[str] = []
        if partial:
            for environment, files in sorted(by_env.items()):
                d = diff_tree(files, out_dir / environment)
                problems += [f"{kind} {environment}/{p}" for kind, paths in (("added", d.added), ("removed", d.removed), ("changed", d.changed)) for p in paths]
        else:
            d = diff_tree({f"{e}/{r}": t for e, fs in by_env.items() for r, t in fs.items()}, out_dir)
            problems += [f"{kind} {p}" for kind, paths in (("added", d.added), ("removed", d.removed), ("changed", d.changed)) for p in paths]
        if fmt == "json":
            out_console.print_json(json.dumps({"stale": bool(problems), "differences": problems}))
        elif problems:
            err_console.print(f"[red]{out_dir} is stale[/red]: {len(problems)} file(s) differ from a fresh render (run `plinth render`):")
            for line in problems:
                err_console.print(f"  {line}", markup=False, highlight=False)
        else:
            out_console.print(f"{out_dir} is up to date ({len(rendered)} objects).")
        raise typer.Exit(1 if problems else 0)
    if partial:
        for environment, files in sorted(by_env.items()):
            write_tree(files, out_dir / environment)
    else:
        write_tree({f"{e}/{r}": t for e, fs in by_env.items() for r, t in fs.items()}, out_dir)
    if fmt == "json":
        out_console.print_json(json.dumps({"out": str(out_dir), "objects": len(rendered), "environments": sorted(by_env)}))
    else:
        out_console.print(f"Rendered {len(rendered)} objects for {', '.join(sorted(by_env))} into {out_dir}/")


def validate_rendered(rendered: list[RenderedObject], platforms: dict[str, Platform], crd_dir: Optional[Path]) -> list[SchemaProblem]:
    """Schema problems of every rendered object (one schema store per Kubernetes version)."""
    stores: dict[str, SchemaStore] = {}
    problems: list[SchemaProblem] = []
    for item in rendered:
        version = platforms[item.environment].cluster.kubernetes_version
        if version not in stores:
            stores[version] = SchemaStore(version, crd_dir)
        problems.extend(stores[version].check(item.obj, item.path))
    return problems


def _resolve_crd_dir(crd_dir: Optional[Path], spec: Path) -> Path:
    found = crd_dir or default_crd_dir(spec.resolve().parent)
    if found is None:
        _fail_bad_input([
            "no CRD schema folder: pass --crd-dir DIR or set PLINTH_CRD_DIR "
            "(a folder of {group}/{kind}_{version}.json schemas for the pinned operator versions; see the README)"
        ])
    return found  # type: ignore[return-value]


def _namespace_counts(rendered: list[RenderedObject]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for item in rendered:
        counts[(item.environment, item.obj.get("metadata", {}).get("namespace") or "(cluster)")] += 1
    return counts


@app.command()
def validate(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    crd_dir: CrdOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Validate every rendered object against the Kubernetes OpenAPI schema and its CRD schema."""
    _check_format(fmt)
    platforms = load_platforms(spec, env)
    rendered = _render(platforms)
    folder = _resolve_crd_dir(crd_dir, spec)
    try:
        problems = validate_rendered(rendered, platforms, folder)
    except SchemaSetupError as exc:
        _fail_bad_input([str(exc)])
    if fmt == "json":
        out_console.print_json(json.dumps({
            "objects": len(rendered),
            "crd_dir": str(folder),
            "valid": not problems,
            "problems": [p.__dict__ for p in problems],
        }))
    else:
        for problem in problems:
            err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        if problems:
            err_console.print(f"[red]{len(problems)} schema problem(s)[/red] in {len(rendered)} objects")
        else:
            out_console.print(f"All {len(rendered)} objects valid against the Kubernetes and CRD schemas ({folder}).")
    raise typer.Exit(1 if problems else 0)


@app.command()
def run(
    spec: SpecOption = Path(DEFAULT_SPEC),
    crd_dir: CrdOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder; default: the spec's git.rendered_path.")] = None,
) -> None:
    """The main job: render every environment, validate it, and print a ten-second summary."""
    platforms = load_platforms(spec, None)
    rendered = _render(platforms)
    out_dir = _out_dir(spec, platforms, out)
    write_tree(to_files(rendered), out_dir)
    folder = _resolve_crd_dir(crd_dir, spec)
    try:
        problems = validate_rendered(rendered, platforms, folder)
    except SchemaSetupError as exc:
        _fail_bad_input([str(exc)])
    counts = _namespace_counts(rendered)
    table = Table(title=f"Plinth: {next(iter(platforms.values())).name} rendered into {out_dir}/")
    table.add_column("namespace")
    for environment in sorted(platforms):
        table.add_column(environment, justify="right")
    for ns in sorted({ns for _, ns in counts}):
        table.add_row(ns, *[str(counts.get((e, ns), 0)) for e in sorted(platforms)])
    table.add_row("[bold]total[/bold]", *[f"[bold]{sum(v for (e, _), v in counts.items() if e == env)}[/bold]" for env in sorted(platforms)])
    out_console.print(table)
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if problems:
        out_console.print(f"validate: [red]{len(problems)} schema problem(s)[/red]")
    else:
        out_console.print(f"validate: [green]all {len(rendered)} objects valid[/green] (Kubernetes + CRD schemas)")
    _plan_summary(spec, platforms, rendered)
    raise typer.Exit(1 if problems else 0)


# --------------------------------------------------------------------------- plan

PLAN_REPORT = Path("reports") / "plan.html"
"""Where ``plinth run`` writes the growth chart, relative to the spec's folder (``reports/`` is gitignored)."""
RUN_CURVE_ORGS = (100, 300, 1000, 3000, 10000, 30000, 100000)
"""Organisation counts of the chart ``plinth run`` writes."""


def _parse_orgs(text: Optional[str]) -> list[int]:
    if text is None:
        return []
    values = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part.isdigit() or int(part) < 1:
            _fail_bad_input([f"--orgs: expected a positive whole number or a comma-separated list of them (e.g. 5000 or 100,1000,10000), got {text!r}"])
        values.append(int(part))
    return sorted(set(values))


def _plan_environments(platforms: dict[str, Platform], env: Optional[list[str]]) -> list[str]:
    if env:
        return list(env)
    return ["prod"] if "prod" in platforms else sorted(platforms)


def _plan_summary(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject]) -> None:
    """One line of plan for ``plinth run`` (the default environment, default cloud) and the growth chart."""
    from plinth.plan import plan_curve, plan_point
    from plinth.plan.report import curve_html

    environment = _plan_environments(platforms, None)[0]
    platform = platforms[environment]
    provider = platform.cluster.provider
    try:
        point = plan_point(platform, None, (provider,), [r for r in rendered if r.environment == environment])
    except WorkloadError as exc:
        _fail_bad_input([f"plan: {exc}"])
        raise AssertionError  # unreachable
    cloud = point.clouds[provider]
    pools = ", ".join(
        f"{p.name} {p.at_min.nodes}-{p.at_max.nodes} nodes (spec {p.spec.nodes}{'' if p.holds else ', [red]does not hold[/red]'})"
        for p in cloud.capacity.pools)
    design = cloud.cost.design_usd_per_month
    curve = plan_curve(platform, RUN_CURVE_ORGS)
    target = spec.resolve().parent / PLAN_REPORT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(curve_html(curve))
    out_console.print(
        f"plan: {environment}, {point.organisations:,} orgs on {provider} {cloud.cost.region}: {pools}; "
        f"${cloud.cost.total('max_replicas'):,.0f}/month at max replicas"
        + (f" (design ~${design:,})" if design is not None else "")
        + f"; growth chart {PLAN_REPORT}", soft_wrap=True)


@app.command()
def plan(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    orgs: Annotated[Optional[str], typer.Option("--orgs", help="Organisations: N, or N,N,... for a growth curve; default: the spec's load.organisations.")] = None,
    fmt: FormatOption = "table",
    cloud: Annotated[str, typer.Option("--cloud", help="aws, gcp, azure or all.")] = "all",
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the growth chart (self-contained HTML with SVG) here.")] = None,
) -> None:
    """Capacity (nodes per pool, bin-packed, with a lower bound) and monthly cost per cloud; with --orgs, how they grow."""
    from plinth.plan.pricing import PROVIDERS

    _check_format(fmt)
    if cloud not in (*PROVIDERS, "all"):
        _fail_bad_input([f"--cloud: expected one of aws, gcp, azure, all, got {cloud!r}"])
    providers = PROVIDERS if cloud == "all" else (cloud,)
    counts = _parse_orgs(orgs)
    platforms = load_platforms(spec, env)
    try:
        _plan_each(platforms, env, counts, providers, fmt, html)
    except (WorkloadError, ValueError) as exc:
        _fail_bad_input([f"plan: {exc}"])


def _plan_each(platforms: dict[str, Platform], env: Optional[list[str]], counts: list[int], providers: tuple[str, ...],
               fmt: str, html: Optional[Path]) -> None:
    from plinth.plan import plan_curve, plan_point
    from plinth.plan.report import curve_html, curve_to_dict, point_to_dict, print_curve, print_point

    results: list[dict[str, object]] = []
    for environment in _plan_environments(platforms, env):
        platform = platforms[environment]
        if len(counts) > 1:
            points = plan_curve(platform, counts, providers)  # type: ignore[arg-type]
            if fmt == "json":
                results.append({"environment": environment, **curve_to_dict(points)})
            else:
                print_curve(points, out_console)
        else:
            point = plan_point(platform, counts[0] if counts else None, providers)  # type: ignore[arg-type]
            points = [point]
            if fmt == "json":
                results.append(point_to_dict(point))
            else:
                print_point(point, out_console)
        if html is not None:
            html.parent.mkdir(parents=True, exist_ok=True)
            html.write_text(curve_html(points))
            if fmt != "json":
                out_console.print(f"growth chart written to {html}")
    if fmt == "json":
        out_console.print_json(json.dumps(results[0] if len(results) == 1 else results))


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
