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

from plinth.render.pipeline import RenderError, RenderedObject, render_all, to_files
from plinth.render.writer import diff_tree, write_tree
from plinth.spec.loader import DEFAULT_SPEC, SpecError, load_all
from plinth.spec.model import Platform
from plinth.drills.report import DrillReport
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
    raise typer.Exit(1 if problems else 0)


# --------------------------------------------------------------------------- drills (issue 9)

drill_app = typer.Typer(no_args_is_help=True, help="Disaster-recovery drills on real servers, and the runbooks.")
app.add_typer(drill_app, name="drill")

DrillEnvOption = Annotated[str, typer.Option("--env", help="Environment whose settings the drill uses.")]
ReportDirOption = Annotated[Path, typer.Option("--out", help="Folder for <drill>.json and <drill>.md.")]
SabotageOption = Annotated[Optional[str], typer.Option("--sabotage", help="Break a setting on purpose to see a promise fail.")]


def _drill_platform(spec: Path, env: str) -> Platform:
    return load_platforms(spec, [env])[env]


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so a killed drill still stops every server it started."""
    import signal

    def _raise(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)


def _progress(message: str) -> None:
    out_console.log(message)


def _finish_drill(report: DrillReport, out: Path) -> None:
    json_path, md_path = report.write(out)
    table = Table(title=f"plinth drill {report.drill} ({report.environment})")
    for column in ("promise", "target", "measured", "result"):
        table.add_column(column)
    for p in report.promises:
        measured = "not measured" if p.measured is None else f"{p.measured:g} {p.unit}"
        result = ("[green]pass[/green]" if p.passed else "[red]FAIL[/red]") if p.counts else ("met" if p.passed else "[yellow]not met (reference)[/yellow]")
        table.add_row(p.name, f"{p.target:g} {p.unit} ({p.source})", measured, result)
    out_console.print(table)
    for error in report.errors:
        err_console.print(f"failed step: {error}", markup=False, highlight=False, soft_wrap=True)
    verdict = "[green]PASSED[/green]" if report.passed else "[red]FAILED[/red]"
    out_console.print(f"{verdict}: reports in {json_path} and {md_path}")
    raise typer.Exit(0 if report.passed else 1)


def _check_sabotage(sabotage: Optional[str], allowed: tuple[str, ...]) -> None:
    if sabotage is not None and sabotage not in allowed:
        _fail_bad_input([f"--sabotage: expected one of {', '.join(allowed)}, got {sabotage!r}"])


@drill_app.command("postgres-restore")
def drill_postgres_restore(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    scale: Annotated[int, typer.Option("--scale", min=1, help="pgbench scale (1 ~ 15 MB); 2 for CI, 30 (~450 MB) by default.")] = 30,
    out: ReportDirOption = Path("reports/drills"),
    sabotage: SabotageOption = None,
) -> None:
    """Lose a PostgreSQL primary and restore it from barman-cloud backups on loopback S3; measure RTO and RPO."""
    from plinth.drills import postgres_restore
    from plinth.drills.settings import postgres_settings

    _check_sabotage(sabotage, postgres_restore.SABOTAGES)
    settings = postgres_settings(_drill_platform(spec, env))
    _stop_on_sigterm()
    report = postgres_restore.run(settings, postgres_restore.RestoreOptions(scale=scale, sabotage=sabotage), env, _progress)
    _finish_drill(report, out)


@drill_app.command("redis-failover")
def drill_redis_failover(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent failovers (fresh servers each).")] = 5,
    out: ReportDirOption = Path("reports/drills"),
    sabotage: SabotageOption = None,
) -> None:
    """Kill a Redis primary under a recorded write load, several times; report the failover-time and loss distribution."""
    from plinth.drills import redis_failover
    from plinth.drills.settings import redis_settings

    _check_sabotage(sabotage, redis_failover.SABOTAGES)
    settings = redis_settings(_drill_platform(spec, env))
    _stop_on_sigterm()
    report = redis_failover.run(settings, redis_failover.FailoverOptions(runs=runs, sabotage=sabotage), env, _progress)
    _finish_drill(report, out)


@drill_app.command("postgres-failover")
def drill_postgres_failover(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent failovers (fresh servers each).")] = 3,
    out: ReportDirOption = Path("reports/drills"),
) -> None:
    """Kill the leader of a synchronous PostgreSQL cluster (Patroni + etcd standing in for CloudNativePG); measure failover and loss."""
    from plinth.drills import postgres_failover
    from plinth.drills.settings import postgres_settings

    settings = postgres_settings(_drill_platform(spec, env))
    _stop_on_sigterm()
    report = postgres_failover.run(settings, postgres_failover.PgFailoverOptions(runs=runs), env, _progress)
    _finish_drill(report, out)


@drill_app.command("runbooks")
def drill_runbooks(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder; default docs/runbooks next to the spec.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Do not write; exit 1 if the folder differs from a fresh render.")] = False,
) -> None:
    """Write the runbooks (one per failure of the spec's recovery list, plus alerts.md) generated from the spec."""
    from plinth.drills.runbooks import RUNBOOK_DIR, render_runbooks

    files = render_runbooks(_drill_platform(spec, env))
    folder = out or spec.parent / RUNBOOK_DIR
    if check:
        stale = sorted(name for name, text in files.items()
                       if not (folder / name).is_file() or (folder / name).read_text() != text)
        extra = sorted(p.name for p in folder.glob("*.md") if p.name not in files) if folder.is_dir() else []
        for name in stale + extra:
            err_console.print(f"stale: {folder / name} (run `plinth drill runbooks`)", markup=False, highlight=False)
        if not stale and not extra:
            out_console.print(f"{folder} is up to date ({len(files)} runbooks).")
        raise typer.Exit(1 if stale or extra else 0)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in sorted(files.items()):
        (folder / name).write_text(text)
    out_console.print(f"Wrote {len(files)} runbooks into {folder}/")


@drill_app.command("cluster-manifests")
def drill_cluster_manifests(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    out: Annotated[Path, typer.Option("--out", help="Folder for restore-drill.yaml and the drill procedures.")] = Path("reports/drills/cluster"),
    crd_dir: CrdOption = None,
) -> None:
    """Write the cluster drills (restore drill manifests, validated; zone-loss procedure) for a real cluster."""
    from plinth.drills.cluster import restore_drill_objects, restore_drill_procedure, zone_loss_procedure
    from plinth.render.yamlio import dump_yaml

    platform = _drill_platform(spec, env)
    objects = restore_drill_objects(platform)
    folder = _resolve_crd_dir(crd_dir, spec)
    try:
        store = SchemaStore(platform.cluster.kubernetes_version, folder)
        problems = [p for obj in objects for p in store.check(obj, "restore-drill.yaml")]
    except SchemaSetupError as exc:
        _fail_bad_input([str(exc)])
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "restore-drill.yaml").write_text("".join("---\n" + dump_yaml(obj) for obj in objects))
    (out / "restore-drill.md").write_text(restore_drill_procedure(platform))
    (out / "zone-loss.md").write_text(zone_loss_procedure(platform))
    out_console.print(f"Wrote the cluster drills into {out}/ ({len(objects)} objects, "
                      f"{'[red]' + str(len(problems)) + ' schema problem(s)[/red]' if problems else 'schema-valid'}); "
                      "apply them with kubectl against a real cluster (not run here).")
    raise typer.Exit(1 if problems else 0)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
