"""The ``plinth`` command: render, validate, check (and, as it lands, plan) the platform.

Exit codes: 0 ok, 1 findings (stale tree, schema errors), 2 bad input (spec, flags, missing schemas).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from plinth.charts.chartdir import default_crd_dir
from plinth.charts.hydrate import default_cache_dir
from plinth.charts.workflow import ChartsSetupError
from plinth.commands.charts import register as register_charts
from plinth.commands.flows import register as register_flows
from plinth.commands.flows import report_flows
from plinth.commands.common import (
    CrdOption,
    EnvOption,
    FormatOption,
    SpecOption,
    err_console,
    fail_unsafe,
    load_platforms,
    out_console,
    protected_paths,
)
from plinth.commands.sim import sim_app
from plinth.commands.versions import register as register_versions
from plinth.commands.common import check_format as _check_format
from plinth.commands.common import fail_bad_input as _fail_bad_input
from plinth.commands.common import render_platforms as _render
from plinth.commands.union import ChartDirOption, Charts, hydrate_charts, union_crd_dir
from plinth.delivery.workflows import WORKFLOWS_DIR, WorkflowError, render_workflows
from plinth.drills.report import DrillReport
from plinth.files import UnsafeWrite, check_file_replaceable, check_replaceable, diff_tree, owned_files, write_file, write_tree
from plinth.kube.pods import PodReadError
from plinth.render.pipeline import RenderedObject, RenderError, to_files
from plinth.spec.loader import DEFAULT_SPEC, SpecError
from plinth.spec.model import Platform
from plinth.validate.schemas import SchemaProblem, SchemaSetupError, SchemaStore
from plinth.validate.union import validate_objects

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Plinth: the platform's infrastructure as code.")

CheckFormatOption = Annotated[str, typer.Option("--format", help="Output format: table, json or sarif (SARIF 2.1.0).")]
WaiversOption = Annotated[Optional[Path], typer.Option("--waivers", help="Waiver file; default: check-waivers.yaml next to the spec, if present (never one in the current folder).")]


def _out_dir(spec: Path, platforms: dict[str, Platform], out: Optional[Path]) -> Path:
    if out is not None:
        return out
    first = next(iter(platforms.values()))
    return spec.parent / first.git.rendered_path




@app.command()
def render(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder; default: the spec's git.rendered_path.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Do not write; exit 1 if the folder differs from a fresh render.")] = False,
    fmt: FormatOption = "table",
    workflows_out: Annotated[Optional[Path], typer.Option("--workflows-out", help="Folder of the rendered GitHub Actions workflows; default: .github/workflows next to the spec.")] = None,
) -> None:
    """Render the GitOps tree (one YAML file per object) for every environment, and the CI/CD
    workflows into .github/workflows, atomically."""
    _check_format(fmt)
    platforms = load_platforms(spec, env)
    rendered = _render(platforms, spec)
    out_dir = _out_dir(spec, platforms, out)
    workflow_dir = workflows_out or spec.parent / WORKFLOWS_DIR
    workflow_files = _render_workflows(platforms)
    by_env: dict[str, dict[str, str]] = {}
    for path, text in to_files(rendered).items():
        environment, rel = path.split("/", 1)
        by_env.setdefault(environment, {})[rel] = text
    partial = env is not None
    if check:
        problems: list[str] = []
        if partial:
            for environment, files in sorted(by_env.items()):
                d = diff_tree(files, out_dir / environment, marker=False)
                problems += [f"{kind} {environment}/{p}" for kind, paths in (("added", d.added), ("removed", d.removed), ("changed", d.changed)) for p in paths]
        else:
            d = diff_tree({f"{e}/{r}": t for e, fs in by_env.items() for r, t in fs.items()}, out_dir)
            problems += [f"{kind} {p}" for kind, paths in (("added", d.added), ("removed", d.removed), ("changed", d.changed)) for p in paths]
        d = diff_tree(workflow_files, workflow_dir)
        problems += [f"{kind} {WORKFLOWS_DIR}/{p}" for kind, paths in (("added", d.added), ("removed", d.removed), ("changed", d.changed)) for p in paths]
        if fmt == "json":
            out_console.print_json(json.dumps({"stale": bool(problems), "differences": problems}))
        elif problems:
            err_console.print(f"[red]{out_dir} is stale[/red]: {len(problems)} file(s) differ from a fresh render (run `plinth render`):")
            for line in problems:
                err_console.print(f"  {line}", markup=False, highlight=False)
        else:
            out_console.print(f"{out_dir} is up to date ({len(rendered)} objects).")
        raise typer.Exit(1 if problems else 0)
    tree_files = {f"{e}/{r}": t for e, fs in by_env.items() for r, t in fs.items()}
    if partial:  # the other environments' files stay as Plinth last wrote them; the folder is still swapped whole
        kept = {rel: text for rel, text in owned_files(out_dir).items() if rel.split("/", 1)[0] not in by_env}
        tree_files = {**kept, **tree_files}
    _write_trees(spec, [(tree_files, out_dir, "git.rendered_path" if out is None else None),
                        (workflow_files, workflow_dir, None)])
    if fmt == "json":
        out_console.print_json(json.dumps({"out": str(out_dir), "objects": len(rendered), "environments": sorted(by_env),
                                           "workflows": sorted(workflow_files)}))
    else:
        out_console.print(f"Rendered {len(rendered)} objects for {', '.join(sorted(by_env))} into {out_dir}/ "
                          f"and {len(workflow_files)} workflows into {workflow_dir}/")


def _write_trees(spec: Path, trees: list[tuple[dict[str, str], Path, Optional[str]]]) -> None:
    """Write each (files, folder, spec field naming the folder) atomically, after checking that every folder is
    Plinth's to replace: a refusal (exit 2, located) leaves everything as it was."""
    protected = protected_paths(spec)
    for files, folder, field in trees:
        try:
            check_replaceable(folder, files, protected)
        except UnsafeWrite as exc:
            fail_unsafe(exc, spec, field)
    for files, folder, _ in trees:
        write_tree(files, folder, protected)


def cli_commands() -> set[str]:
    """Names of the ``plinth`` subcommands (the CI workflow runs only commands that exist)."""
    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands if c.callback}
    return commands | {g.name for g in app.registered_groups if g.name}


def _render_workflows(platforms: dict[str, Platform]) -> dict[str, str]:
    """The CI/CD workflows; delivery stages are not overlaid, so any environment gives the same files."""
    platform = platforms.get("prod") or next(iter(platforms.values()))
    try:
        return render_workflows(platform, cli_commands())
    except WorkflowError as exc:
        _fail_bad_input([f"render error: {exc}"])
        raise AssertionError  # unreachable


def validate_rendered(rendered: list[RenderedObject], platforms: dict[str, Platform], crd_dir: Optional[Path],
                      charts: Optional[Charts] = None, cache_dir: Optional[Path] = None) -> list[SchemaProblem]:
    """Schema problems of every rendered object and every hydrated one (one schema store per Kubernetes version;
    verdicts of valid objects cached under ``cache_dir``)."""
    return validate_objects([*rendered, *(charts.objects() if charts is not None else [])], platforms, crd_dir, cache_dir)


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
    chart_dir: ChartDirOption = None,
) -> None:
    """Validate every rendered object, and every object the chart Applications hydrate to, against the Kubernetes
    OpenAPI schema and its CRD schema (from the charts' own CRDs; --crd-dir for CRDs no chart ships)."""
    _check_format(fmt)
    platforms = load_platforms(spec, env)
    rendered = _render(platforms, spec)
    charts = hydrate_charts(spec, platforms, rendered, chart_dir)
    try:
        folder = union_crd_dir(spec, charts, rendered, crd_dir)
        problems = validate_rendered(rendered, platforms, folder, charts, default_cache_dir(spec))
    except (SchemaSetupError, ChartsSetupError) as exc:
        _fail_bad_input([str(exc)])
    hydrated = len(charts.objects())
    if fmt == "json":
        out_console.print_json(json.dumps({
            "objects": len(rendered) + hydrated,
            "rendered": len(rendered),
            "hydrated": hydrated,
            "not_hydrated_applications": charts.unhydrated,
            "crd_dir": str(folder),
            "valid": not problems,
            "problems": [p.__dict__ for p in problems],
        }))
    else:
        for problem in problems:
            err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        what = f"{len(rendered)} rendered + {hydrated} hydrated objects" if charts.hydration is not None else \
            f"{len(rendered)} rendered objects (charts not hydrated)"
        if problems:
            err_console.print(f"[red]{len(problems)} schema problem(s)[/red] in {what}")
        else:
            out_console.print(f"All {what} valid against the Kubernetes and CRD schemas ({folder}).")
    raise typer.Exit(1 if problems else 0)


@app.command()
def run(
    spec: SpecOption = Path(DEFAULT_SPEC),
    crd_dir: CrdOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder; default: the spec's git.rendered_path.")] = None,
    waivers: WaiversOption = None,
    chart_dir: ChartDirOption = None,
) -> None:
    """The main job: render every environment, hydrate its charts, validate, check and plan the union, and print a
    short summary."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    platforms = load_platforms(spec, None)
    rendered = _render(platforms, spec)
    out_dir = _out_dir(spec, platforms, out)
    report_path = spec.resolve().parent / REPORT_PATH
    _check_report_targets(spec, [report_path, spec.resolve().parent / PLAN_REPORT])
    _write_trees(spec, [(to_files(rendered), out_dir, "git.rendered_path" if out is None else None)])
    timings["render"] = time.perf_counter() - started
    charts = hydrate_charts(spec, platforms, rendered, chart_dir)
    timings["hydrate"] = charts.seconds
    started = time.perf_counter()
    try:
        folder = union_crd_dir(spec, charts, rendered, crd_dir)
        problems = validate_rendered(rendered, platforms, folder, charts, default_cache_dir(spec))
    except (SchemaSetupError, ChartsSetupError) as exc:
        _fail_bad_input([str(exc)])
    timings["validate"] = time.perf_counter() - started
    counts = _namespace_counts(rendered)
    table = Table(title=f"Plinth: {next(iter(platforms.values())).name} rendered into {out_dir}/")
    table.add_column("namespace")
    for environment in sorted(platforms):
        table.add_column(environment, justify="right")
    for ns in sorted({ns for _, ns in counts}):
        table.add_row(ns, *[str(counts.get((e, ns), 0)) for e in sorted(platforms)])
    table.add_row("[bold]total[/bold]", *[f"[bold]{sum(v for (e, _), v in counts.items() if e == env)}[/bold]" for env in sorted(platforms)])
    out_console.print(table)
    out_console.print(charts.summary())
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    hydrated = len(charts.objects())
    if problems:
        out_console.print(f"validate: [red]{len(problems)} schema problem(s)[/red]")
    else:
        out_console.print(f"validate: [green]all {len(rendered) + hydrated} objects valid[/green] ({len(rendered)} rendered + "
                          f"{hydrated} hydrated; Kubernetes + CRD schemas)")
    started = time.perf_counter()
    report = run_checks_for(platforms, rendered, spec, waivers, charts.hydration)
    timings["check"] = time.perf_counter() - started
    for finding in report.failing:
        where = f" (Application {finding.obj.application})" if finding.obj.application else ""
        err_console.print(f"{finding.check_id} {finding.environment} {finding.obj.key}{where} {finding.field_path}: {finding.message}",
                          markup=False, highlight=False, soft_wrap=True)
    verdict = "[red]FAILED[/red]" if report.failing else "[green]passed[/green]"
    out_console.print(f"check: {verdict} {report.summary_line()} (details: plinth check)")
    started = time.perf_counter()
    point, curve = _plan_summary(spec, platforms, rendered, charts)
    timings["plan"] = time.perf_counter() - started
    path = write_report(report_path, _report_inputs(spec, platforms, rendered, problems, report, point, curve, charts.hydration), spec)
    out_console.print(f"report: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    out_console.print("time: " + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()), highlight=False)
    raise typer.Exit(1 if problems or report.failing else 0)


# --------------------------------------------------------------------------- check (policies and promises)


def _waivers_path(waivers: Optional[Path], spec: Path) -> Path:
    if waivers is not None:
        if not waivers.exists():
            _fail_bad_input([f"--waivers: no such file {waivers}"])
        return waivers
    from plinth.checks import DEFAULT_WAIVERS

    # Only the spec's own folder: a waiver file in the current folder belongs to another spec and must not hide
    # this one's findings.
    return spec.resolve().parent / DEFAULT_WAIVERS


def run_checks_for(platforms: dict[str, Platform], rendered: list[RenderedObject], spec: Path, waivers: Optional[Path], hydration=None):
    """Load the waivers and run every check on each environment's union (exit 2 on a bad waiver file)."""
    from plinth.checks import check_platforms, load_waivers

    path = _waivers_path(waivers, spec)
    try:
        loaded = load_waivers(path)
    except SpecError as exc:
        _fail_bad_input([str(p) for p in exc.problems])
    return check_platforms(platforms, rendered, loaded, path, str(spec), hydration=hydration)


@app.command()
def check(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    fmt: CheckFormatOption = "table",
    waivers: WaiversOption = None,
    show_waived: Annotated[bool, typer.Option("--show-waived", help="List waived findings in the table too.")] = False,
    chart_dir: ChartDirOption = None,
) -> None:
    """Check policies, Argo CD's sync rules and the design's promises (HA, RPO, backups, retention, capacity, GitOps) on
    the rendered tree and the objects its chart Applications hydrate to."""
    from plinth.checks import as_json, as_sarif, table

    if fmt not in ("table", "json", "sarif"):
        _fail_bad_input([f"--format: expected 'table', 'json' or 'sarif', got {fmt!r}"])
    platforms = load_platforms(spec, env)
    rendered = _render(platforms, spec)
    charts = hydrate_charts(spec, platforms, rendered, chart_dir)
    report = run_checks_for(platforms, rendered, spec, waivers, charts.hydration)
    if fmt == "json":
        sys.stdout.write(json.dumps(as_json(report), indent=2, sort_keys=True) + "\n")
    elif fmt == "sarif":
        root = next(iter(platforms.values())).git.rendered_path
        sys.stdout.write(json.dumps(as_sarif(report, rendered, spec.read_text(encoding="utf-8"), root), indent=2) + "\n")
    else:
        if any(f.waived_by is None for f in report.findings) or (show_waived and report.findings):
            out_console.print(table(report, show_waived))
        out_console.print(("[red]FAILED[/red] " if report.failing else "[green]passed[/green] ") + report.summary_line())
    raise typer.Exit(1 if report.failing else 0)


@app.command()
def monitoring(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Check alert rules, alert unit tests, dashboards and Alertmanager routing with the real promtool and amtool."""
    from plinth.validate.monitoring import MissingTool, check_platform

    _check_format(fmt)
    platforms = load_platforms(spec, env)
    try:
        results = [r for name in sorted(platforms) for r in check_platform(platforms[name])]
    except MissingTool as exc:
        _fail_bad_input([f"missing tool(s): {exc} (Debian packages prometheus and prometheus-alertmanager; `make test` installs them)"])
    except RenderError as exc:
        _fail_bad_input([f"render error: {exc}"])
    failed = [r for r in results if not r.ok]
    if fmt == "json":
        out_console.print_json(json.dumps({"ok": not failed, "checks": [r.__dict__ for r in results]}))
    else:
        for result in results:
            mark = "[green]ok[/green]  " if result.ok else "[red]FAIL[/red]"
            out_console.print(f"{mark} {result.environment}: {result.check}", highlight=False)
            if result.detail:
                err_console.print(result.detail, markup=False, highlight=False, soft_wrap=True)
        out_console.print(f"monitoring checks: {len(results) - len(failed)} ok, {len(failed)} failing")
    raise typer.Exit(1 if failed else 0)


def _generate(spec: Path, names: list[str], check: bool) -> None:
    """Write (or with ``check`` compare) the named artifacts; exit 1 when stale, 2 on bad input."""
    from plinth import generate as gen
    from plinth.docs.diagram import DiagramError

    try:
        artifacts = gen.by_name(names)
    except ValueError as exc:
        _fail_bad_input([f"plinth generate: {exc}"])
    inputs = gen.Inputs(spec, load_platforms(spec, None), frozenset(cli_commands()))
    inputs.rendered = _render(inputs.platforms, spec)  # type: ignore[misc]  # fills the cached property, checked
    try:
        if check:
            stale = gen.stale(artifacts, inputs)
            for item in stale:
                for line in item.lines(inputs.root):
                    err_console.print(f"stale: {line}", markup=False, highlight=False)
            if stale:
                err_console.print(f"{len(stale)} artifact(s) stale: run `plinth generate {' '.join(a.artifact.name for a in stale)}`",
                                  markup=False, highlight=False)
            else:
                out_console.print(f"{', '.join(a.name for a in artifacts)}: up to date.")
            raise typer.Exit(1 if stale else 0)
        for artifact, folder, count in gen.write(artifacts, inputs):
            where = folder.relative_to(inputs.root) if folder.is_relative_to(inputs.root) else folder
            out_console.print(f"{artifact.name}: {count} file(s) in {where}/", markup=False, highlight=False)
    except gen.ArtifactRefused as exc:
        fail_unsafe(exc, spec, "git.rendered_path" if exc.artifact.name == "tree" else None)
    except (DiagramError, RenderError, WorkflowError, ChartsSetupError) as exc:
        _fail_bad_input([f"plinth generate: {exc}"])
    except SpecError as exc:
        _fail_bad_input([str(p) for p in exc.problems])


@app.command()
def generate(
    names: Annotated[Optional[list[str]], typer.Argument(help="Artifacts to generate (default: all): tree, workflows, architecture, "
                                                            "datastores, checks, runbooks, charts-lock, examples.")] = None,
    spec: SpecOption = Path(DEFAULT_SPEC),
    check: Annotated[bool, typer.Option("--check", help="Do not write; exit 1 if any artifact differs from what is committed.")] = False,
) -> None:
    """Regenerate every generated file of the repository (the GitOps tree, workflows, docs, runbooks, examples)
    from the spec, atomically; with --check, list what is stale."""
    _generate(spec, list(names or []), check)


@app.command()
def docs(
    spec: SpecOption = Path(DEFAULT_SPEC),
    check: Annotated[bool, typer.Option("--check", help="Do not write; exit 1 if the documents are stale.")] = False,
) -> None:
    """Regenerate the documents under docs/ (architecture, data stores, checks, runbooks): `plinth generate` of those artifacts."""
    _generate(spec, ["architecture", "datastores", "checks", "runbooks"], check)


def _report_inputs(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject],
                   problems: Optional[list[SchemaProblem]], check_report=None, plan_point=None, plan_curve=None, hydration=None):
    """Gather what the report shows from the same functions the other commands use."""
    from plinth.checks import as_json
    from plinth.docs.diagram import DiagramError, dot_available
    from plinth.docs.report import ReportInputs
    from plinth.sim.report import read_reports as read_sim_reports

    counts = Counter(r.environment for r in rendered)
    prod = platforms.get("prod") or next(iter(platforms.values()))
    svg = None
    if dot_available():
        from plinth.docs.build import component_placements
        from plinth.docs.diagram import architecture_svg
        from plinth.render.pipeline import render_platform

        try:
            svg = architecture_svg(prod, component_placements(render_platform(prod)))
        except DiagramError:
            svg = None
    committed = spec.parent / "docs" / "architecture.svg"
    if svg is None and committed.is_file():
        svg = committed.read_text(encoding="utf-8")
    drills = []
    drill_dir = spec.parent / "reports" / "drills"
    if drill_dir.is_dir():
        for path in sorted(drill_dir.glob("*.json")):
            try:
                drills.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                continue
    sims = read_sim_reports(spec.parent / "reports" / "sim")
    findings, check_meta = None, {}
    if check_report is not None:
        data = as_json(check_report)
        findings = data["findings"]
        check_meta = {c["id"]: c for c in data["checks"]}
    flows = report_flows(spec, platforms, rendered, hydration)
    return ReportInputs(platforms=platforms, objects_by_env=dict(counts),
                        validation_problems=None if problems is None else len(problems), diagram_svg=svg, drills=drills, sims=sims,
                        findings=findings, check_meta=check_meta, plan_point=plan_point, plan_curve=list(plan_curve or []),
                        flows=flows)


HTML_SIGNATURES = ('<meta name="generator" content="plinth">', ": platform report</title>", "<title>Plinth plan:")
"""What an HTML page Plinth wrote holds (the last two: pages written before the generator tag); only such a page is
overwritten by ``plinth report --out``, ``plinth run`` and ``plinth plan --html``."""


def _check_report_targets(spec: Path, paths: list[Path]) -> None:
    """Exit 2 (before any work) unless each HTML page may be written: absent, or a page Plinth wrote."""
    for path in paths:
        try:
            check_file_replaceable(path, HTML_SIGNATURES, protected_paths(spec))
        except UnsafeWrite as exc:
            fail_unsafe(exc)


def write_report(path: Path, inputs, spec: Optional[Path] = None) -> Path:
    """Write the HTML report atomically (only over a page Plinth wrote) and return its path."""
    from plinth.docs.report import report_html

    try:
        write_file(path, report_html(inputs), HTML_SIGNATURES, protected_paths(spec) if spec else ())
    except UnsafeWrite as exc:
        fail_unsafe(exc)
    return path


@app.command()
def report(
    spec: SpecOption = Path(DEFAULT_SPEC),
    crd_dir: CrdOption = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("reports/platform.html"),
    chart_dir: ChartDirOption = None,
) -> None:
    """Write one self-contained HTML page: diagram, plan, findings, drills, environments."""
    _check_report_targets(spec, [out])
    platforms = load_platforms(spec, None)
    rendered = _render(platforms, spec)
    charts = hydrate_charts(spec, platforms, rendered, chart_dir)
    folder = crd_dir or default_crd_dir(spec.resolve().parent)
    problems = None
    if folder is not None or charts.hydration is not None:
        try:
            problems = validate_rendered(rendered, platforms, union_crd_dir(spec, charts, rendered, crd_dir), charts,
                                         default_cache_dir(spec))
        except (SchemaSetupError, ChartsSetupError) as exc:
            _fail_bad_input([str(exc)])
    check_report = run_checks_for(platforms, rendered, spec, None, charts.hydration)
    point, curve = _plan_for_report(platforms, rendered, charts)
    path = write_report(out, _report_inputs(spec, platforms, rendered, problems, check_report, point, curve, charts.hydration), spec)
    out_console.print(f"Report: {path}")


# --------------------------------------------------------------------------- delivery


@app.command()
def promote(
    service: Annotated[str, typer.Option("--service", help="Service whose image is promoted.")],
    digest: Annotated[str, typer.Option("--digest", help="Image digest, sha256:<64 hex>.")],
    env: Annotated[str, typer.Option("--env", help="Environment to promote into: staging or prod.")],
    spec: SpecOption = Path(DEFAULT_SPEC),
) -> None:
    """Set a service's image digest for an environment in the spec (comments kept; prod only takes a
    digest staging already runs). CI calls this, then `plinth render`, then commits; never kubectl."""
    from plinth.delivery.promote import PromotionError
    from plinth.delivery.promote import promote as promote_digest

    try:
        result = promote_digest(spec, service, digest, env)
    except PromotionError as exc:
        err_console.print(f"promote: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code)
    if result.changed:
        out_console.print(f"{spec}: environments.{env}.services.{service}.image.digest = {digest} (was {result.previous or 'the tag'})",
                          markup=False, highlight=False, soft_wrap=True)
    else:
        out_console.print(f"{spec}: {env} already runs {service}@{digest}; nothing changed", markup=False, highlight=False, soft_wrap=True)
# --------------------------------------------------------------------------- plan

PLAN_REPORT = Path("reports") / "plan.html"
REPORT_PATH = Path("reports") / "platform.html"
"""The page `plinth run` ends with (`plinth report` writes the same)."""
"""Where ``plinth run`` writes the growth chart, relative to the spec's folder (``reports/`` is gitignored)."""
RUN_CURVE_ORGS = (100, 300, 1000, 3000, 10000, 30000, 100000)
"""Organisation counts of the chart ``plinth run`` writes."""


def _parse_orgs(text: Optional[str]) -> list[int]:
    if text is None:
        return []
    from plinth.spec.limits import MAX_ORGANISATIONS, MAX_ORGS_POINTS

    values = []
    parts = text.split(",")
    if len(parts) > MAX_ORGS_POINTS:
        _fail_bad_input([f"--orgs: at most {MAX_ORGS_POINTS} points on one growth curve, got {len(parts)}"])
    for part in parts:
        part = part.strip().replace("_", "")
        if not (part.isascii() and part.isdigit()) or len(part) > 18 or int(part) < 1:
            _fail_bad_input([f"--orgs: expected a positive whole number or a comma-separated list of them (e.g. 5000 or 100,1000,10000), got {text!r}"])
        if int(part) > MAX_ORGANISATIONS:
            _fail_bad_input([f"--orgs: {int(part):,} organisations is more than the {MAX_ORGANISATIONS:,} Plinth plans for "
                             "(1,000x the design's point; the replica and node bounds of the spec stop well before)"])
        values.append(int(part))
    return sorted(set(values))


def _plan_environments(platforms: dict[str, Platform], env: Optional[list[str]]) -> list[str]:
    if env:
        return list(env)
    return ["prod"] if "prod" in platforms else sorted(platforms)


def _plan_for_report(platforms: dict[str, Platform], rendered: list[RenderedObject], charts: Charts):
    """The plan on every cloud at the default environment's organisations, and its growth curve (each size's charts
    hydrated; without a chart directory, planned without charts)."""
    from plinth.plan import plan_curve, plan_point

    environment = _plan_environments(platforms, None)[0]
    platform = platforms[environment]
    mine = [r for r in rendered if r.environment == environment]
    hydrated = [h for h in charts.objects() if h.environment == environment] if charts.hydration is not None else None
    try:
        point = plan_point(platform, None, rendered=mine, hydrated=hydrated, hydrator=charts.hydrator)
        return point, plan_curve(platform, RUN_CURVE_ORGS, rendered=mine, hydrated=hydrated, hydrator=charts.hydrator)
    except PodReadError as exc:
        _fail_bad_input([f"plan: {exc}"])
    except SpecError as exc:
        _fail_bad_input([str(p) for p in exc.problems])
    except ChartsSetupError as exc:
        _fail_bad_input([f"plan: {exc}"])
    raise AssertionError  # unreachable


def _plan_summary(spec: Path, platforms: dict[str, Platform], rendered: list[RenderedObject], charts: Charts):
    """One line of plan for ``plinth run`` (the default environment, default cloud) and the growth chart;
    returns the plan on every cloud and the curve, for the report."""
    from plinth.plan.report import curve_html

    point, curve = _plan_for_report(platforms, rendered, charts)
    platform = point.platform
    environment = platform.environment
    provider = platform.cluster.provider
    cloud = point.clouds[provider]
    pools = ", ".join(
        f"{p.name} {p.at_min.nodes}-{p.at_max.nodes} nodes (spec {p.spec.nodes}{'' if p.holds else ', [red]does not hold[/red]'})"
        for p in cloud.capacity.pools)
    design = cloud.cost.design_usd_per_month
    target = spec.resolve().parent / PLAN_REPORT
    try:
        write_file(target, curve_html(curve), HTML_SIGNATURES, protected_paths(spec))
    except UnsafeWrite as exc:
        fail_unsafe(exc)
    out_console.print(
        f"plan: {environment}, {point.organisations:,} orgs on {provider} {cloud.cost.region}: {pools}; "
        f"${cloud.cost.total('max_replicas'):,.0f}/month at max replicas"
        + (f" (design ~${design:,})" if design is not None else "")
        + (f"; [yellow]planned without charts: {len(point.unhydrated)} Applications not hydrated[/yellow]" if point.unhydrated else "")
        + f"; growth chart {PLAN_REPORT}", soft_wrap=True)
    return point, curve


@app.command()
def plan(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    orgs: Annotated[Optional[str], typer.Option("--orgs", help="Organisations: N, or N,N,... for a growth curve; default: the spec's load.organisations.")] = None,
    fmt: FormatOption = "table",
    cloud: Annotated[str, typer.Option("--cloud", help="aws, gcp, azure or all.")] = "all",
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the growth chart (self-contained HTML with SVG) here.")] = None,
    chart_dir: ChartDirOption = None,
) -> None:
    """Capacity (nodes per pool, bin-packed, with a lower bound) and monthly cost per cloud, from the pods of the rendered
    tree and of the hydrated charts; with --orgs, how they grow."""
    from plinth.catalog.nodes import PROVIDERS

    _check_format(fmt)
    if cloud not in (*PROVIDERS, "all"):
        _fail_bad_input([f"--cloud: expected one of aws, gcp, azure, all, got {cloud!r}"])
    providers = PROVIDERS if cloud == "all" else (cloud,)
    counts = _parse_orgs(orgs)
    if html is not None:
        _check_report_targets(spec, [html])
    platforms = load_platforms(spec, env)
    planned = {e: platforms[e] for e in _plan_environments(platforms, env)}
    rendered = _render(planned, spec)
    charts = hydrate_charts(spec, planned, rendered, chart_dir)
    try:
        _plan_each(platforms, env, counts, providers, fmt, html, rendered, charts)
    except (PodReadError, RenderError, ValueError, ChartsSetupError) as exc:
        _fail_bad_input([f"plan: {exc}"])
    except SpecError as exc:
        _fail_bad_input([str(p) for p in exc.problems])


def _plan_each(platforms: dict[str, Platform], env: Optional[list[str]], counts: list[int], providers: tuple[str, ...],
               fmt: str, html: Optional[Path], rendered: list[RenderedObject], charts: Charts) -> None:
    from plinth.plan import plan_curve, plan_point
    from plinth.plan.report import curve_html, curve_to_dict, point_to_dict, print_curve, print_point

    results: list[dict[str, object]] = []
    for environment in _plan_environments(platforms, env):
        platform = platforms[environment]
        mine = [r for r in rendered if r.environment == environment]
        hydrated = [h for h in charts.objects() if h.environment == environment] if charts.hydration is not None else None
        if len(counts) > 1:
            points = plan_curve(platform, counts, providers, mine, hydrated, charts.hydrator)  # type: ignore[arg-type]
            if fmt == "json":
                results.append({"environment": environment, **curve_to_dict(points)})
            else:
                print_curve(points, out_console)
        else:
            point = plan_point(platform, counts[0] if counts else None, providers, mine, hydrated, charts.hydrator)  # type: ignore[arg-type]
            points = [point]
            if fmt == "json":
                results.append(point_to_dict(point))
            else:
                print_point(point, out_console)
        if html is not None:
            try:
                write_file(html, curve_html(points), HTML_SIGNATURES)
            except UnsafeWrite as exc:
                fail_unsafe(exc)
            if fmt != "json":
                out_console.print(f"growth chart written to {html}")
    if fmt == "json":
        out_console.print_json(json.dumps(results[0] if len(results) == 1 else results))


# --------------------------------------------------------------------------- drills

drill_app = typer.Typer(no_args_is_help=True, help="Disaster-recovery drills on real servers, and the cluster drills' manifests.")
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


def _check_drill_out(out: Path, drill: str) -> None:
    """Exit 2 before a drill starts when its reports could not be written to ``out``."""
    from plinth.drills.report import check_report_paths

    try:
        check_report_paths(out, drill)
    except UnsafeWrite as exc:
        fail_unsafe(exc)


def _finish_drill(report: DrillReport, out: Path) -> None:
    try:
        json_path, md_path = report.write(out)
    except UnsafeWrite as exc:
        fail_unsafe(exc)
    table = Table(title=f"plinth drill {report.drill} ({report.environment})")
    for column in ("promise", "target", "measured", "result"):
        table.add_column(column)
    for p in report.promises:
        measured = "not measured" if p.measured is None else f"{p.measured:g} {p.unit}"
        result = ("[green]pass[/green]" if p.passed else "[red]FAIL[/red]") if p.counts else ("met" if p.passed else "[yellow]not met (reference)[/yellow]")
        name = f"{p.name} · {p.check_id}" if p.check_id else p.name
        table.add_row(escape(name), escape(f"{p.target:g} {p.unit} ({p.source})"), measured, result)
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
    _check_drill_out(out, postgres_restore.DRILL)
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
    _check_drill_out(out, redis_failover.DRILL)
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

    _check_drill_out(out, postgres_failover.DRILL)
    settings = postgres_settings(_drill_platform(spec, env))
    _stop_on_sigterm()
    report = postgres_failover.run(settings, postgres_failover.PgFailoverOptions(runs=runs), env, _progress)
    _finish_drill(report, out)


@drill_app.command("kafka-failover")
def drill_kafka_failover(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent runs (a fresh cluster each).")] = 5,
    out: ReportDirOption = Path("reports/drills"),
    sabotage: SabotageOption = None,
    scenario: Annotated[Optional[str], typer.Option("--scenario", help="Fault sequence: leader-kill (default), isolated-leader-lost, in-sync-replicas-lost.")] = None,
) -> None:
    """Kill the partition leader of 3 KRaft brokers under an acks=all load, several times; report lost acknowledged writes and leader/ISR times."""
    from plinth.drills import kafka_failover
    from plinth.drills.settings import kafka_settings

    _check_sabotage(sabotage, kafka_failover.SABOTAGES)
    _check_drill_out(out, kafka_failover.DRILL)
    if scenario is not None and scenario not in kafka_failover.SCENARIOS:
        _fail_bad_input([f"--scenario: expected one of {', '.join(kafka_failover.SCENARIOS)}, got {scenario!r}"])
    settings = kafka_settings(_drill_platform(spec, env))
    _stop_on_sigterm()
    options = kafka_failover.KafkaFailoverOptions(runs=runs, sabotage=sabotage, scenario=scenario)
    report = kafka_failover.run(settings, options, env, _progress)
    _finish_drill(report, out)


@drill_app.command("iceberg-restore")
def drill_iceberg_restore(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    writers: Annotated[int, typer.Option("--writers", min=1, help="Concurrent writers of the load.")] = 3,
    commits: Annotated[int, typer.Option("--commits", min=3, help="Commits per writer.")] = 8,
    rows: Annotated[int, typer.Option("--rows", min=10, help="Rows per commit.")] = 2000,
    out: ReportDirOption = Path("reports/drills"),
    sabotage: SabotageOption = None,
) -> None:
    """Restore an Iceberg table (PostgreSQL-backed catalog, versioned S3 on loopback) to a snapshot, a point in time and
    after a purge; show that maintenance keeps exactly the retention's history."""
    from plinth.drills import iceberg_restore
    from plinth.drills.settings import iceberg_settings

    _check_sabotage(sabotage, iceberg_restore.SABOTAGES)
    settings = iceberg_settings(_drill_platform(spec, env))
    _stop_on_sigterm()
    options = iceberg_restore.IcebergRestoreOptions(writers=writers, commits_per_writer=commits, rows_per_commit=rows,
                                                    sabotage=sabotage)
    report = iceberg_restore.run(settings, options, env, _progress)
    _finish_drill(report, out)


@drill_app.command("cluster-manifests")
def drill_cluster_manifests(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: DrillEnvOption = "prod",
    out: Annotated[Path, typer.Option("--out", help="Folder for restore-drill.yaml and the drill procedures.")] = Path("reports/drills/cluster"),
    crd_dir: CrdOption = None,
) -> None:
    """Write the cluster drills (restore drill manifests, validated; zone-loss procedure) for a real cluster."""
    from plinth.drills.cluster import restore_drill_objects, restore_drill_procedure, zone_loss_procedure
    from plinth.kube.yamlio import dump_yaml

    platform = _drill_platform(spec, env)
    if platform.datastores.postgres.managed_by == "cloud":
        _fail_bad_input([f"{spec}: datastores.postgres.managed_by: the restore drill recovers CloudNativePG's backups from the "
                         "backup bucket, and a cloud-managed PostgreSQL writes none (the cloud's point-in-time restore "
                         "recovers it): nothing to drill here"])
    objects = restore_drill_objects(platform)
    files = {"restore-drill.yaml": "".join("---\n" + dump_yaml(obj) for obj in objects),
             "restore-drill.md": restore_drill_procedure(platform), "zone-loss.md": zone_loss_procedure(platform)}
    try:
        check_replaceable(out, files, protected_paths(spec))
    except UnsafeWrite as exc:
        fail_unsafe(exc)
    folder = _resolve_crd_dir(crd_dir, spec)
    try:
        store = SchemaStore(platform.cluster.kubernetes_version, folder)
        problems = [p for obj in objects for p in store.check(obj, "restore-drill.yaml")]
    except SchemaSetupError as exc:
        _fail_bad_input([str(exc)])
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    write_tree(files, out, protected_paths(spec))
    out_console.print(f"Wrote the cluster drills into {out}/ ({len(objects)} objects, "
                      f"{'[red]' + str(len(problems)) + ' schema problem(s)[/red]' if problems else 'schema-valid'}); "
                      "apply them with kubectl against a real cluster (not run here).")
    raise typer.Exit(1 if problems else 0)


# --------------------------------------------------------------------------- pinned charts: hydrate, charts list|pull|lock|crd-schemas

register_charts(app)
register_flows(app)
register_versions(app)


# --------------------------------------------------------------------------- simulated cluster

app.add_typer(sim_app, name="sim")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
