"""``plinth hydrate`` and ``plinth charts list|pull|lock|crd-schemas``: the pinned charts as data.

Registered on the main ``plinth`` app by ``register``. Exit codes as everywhere: 0 ok, 1 findings (a
stale lock, a failed pull), 2 bad input (spec, a pin missing from the chart directory, no helm).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from plinth import generate
from plinth.charts.chartdir import file_digest, pin_statuses, read_chart_yaml, same_version
from plinth.charts.helm import HelmError
from plinth.charts.hydrate import Hydration, default_cache_dir
from plinth.charts.lock import LOCK_FILE
from plinth.charts.workflow import ChartsSetupError, chart_dir_for, crd_dir_for, helm_for, hydrate_spec
from plinth.commands.common import (
    check_format,
    err_console,
    fail_bad_input,
    fail_unsafe,
    load_platforms,
    out_console,
    protected_paths,
    render_platforms,
)
from plinth.files import UnsafeWrite, write_tree
from plinth.kube.yamlio import dump_yaml
from plinth.spec.loader import DEFAULT_SPEC, SpecError

charts_app = typer.Typer(no_args_is_help=True, help="Pinned Helm charts as data: list, pull, lock, CRD schemas.")

SpecOption = Annotated[Path, typer.Option("--spec", help="Platform spec file.")]
EnvOption = Annotated[Optional[list[str]], typer.Option("--env", help="Environment(s); default: all in the spec.")]
FormatOption = Annotated[str, typer.Option("--format", help="Output format: table or json.")]
ChartDirOption = Annotated[Optional[Path], typer.Option(
    "--chart-dir", help="Folder of `helm package` archives; default $PLINTH_CHART_DIR or ../shared/charts.")]


def _bad(lines: list[str]) -> None:
    fail_bad_input(lines)


def _prepare(spec: Path, env: Optional[list[str]]):
    platforms = load_platforms(spec, env)
    return platforms, render_platforms(platforms, spec)


def _hydrate(spec: Path, env: Optional[list[str]], chart_dir: Optional[Path], cache: bool = True):
    platforms, rendered = _prepare(spec, env)
    try:
        return platforms, rendered, hydrate_spec(spec, platforms, rendered, chart_dir, cache=cache)
    except SpecError as exc:
        _bad([str(p) for p in exc.problems])
    except ChartsSetupError as exc:
        _bad([str(exc)])
    raise AssertionError  # unreachable


def _summary(hydration: Hydration) -> list[dict]:
    rows = []
    for app in hydration.apps:
        objects = app.objects
        cluster = sum(1 for o in objects if not (o.obj.get("metadata") or {}).get("namespace"))
        outside = sum(1 for o in objects if (o.obj.get("metadata") or {}).get("namespace") not in (None, app.application.namespace))
        rows.append({
            "environment": app.application.environment, "application": app.application.name, "chart": app.archive.ref,
            "namespace": app.application.namespace, "application_wave": app.application.application_wave,
            "objects": len(objects), "hooks": sum(1 for o in objects if o.is_hook),
            "crds": sum(1 for o in objects if o.obj.get("kind") == "CustomResourceDefinition"),
            "cluster_scoped": cluster, "outside_namespace": outside, "ignored": [list(i) for i in app.ignored],
            "duplicates": app.duplicates,
            "kinds": dict(sorted(Counter(str(o.obj.get("kind")) for o in objects).items())),
        })
    return rows


def hydrate_command(
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = None,
    chart_dir: ChartDirOption = None,
    fmt: FormatOption = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write every hydrated object, one YAML file each, under DIR/<env>/hydrated/<application>/.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Render every chart again (ignore .cache/hydrate).")] = False,
) -> None:
    """Render every chart Application as Argo CD would (helm template with the Application's values, release,
    namespace, the spec's Kubernetes version and the cluster's API list) and summarise the objects."""
    check_format(fmt)
    _, _, hydration = _hydrate(spec, env, chart_dir, cache=not no_cache)
    if out is not None:
        files = {o.path: dump_yaml(o.obj) for o in hydration.objects}
        try:
            write_tree(files, out, protected_paths(spec))
        except UnsafeWrite as exc:
            fail_unsafe(exc)
    rows = _summary(hydration)
    if fmt == "json":
        out_console.print_json(json.dumps({
            "helm": hydration.helm_version, "kube_versions": hydration.kube_versions,
            "api_versions": {e: len(v) for e, v in hydration.api_versions.items()},
            "objects": len(hydration.objects), "renders": hydration.renders, "cache_hits": hydration.cache_hits,
            "seconds": round(hydration.seconds, 2), "applications": rows,
        }))
        return
    table = Table(title=f"Hydrated chart Applications (helm {hydration.helm_version})")
    for column in ("env", "application", "chart", "wave", "objects", "hooks", "CRDs", "cluster", "outside ns", "ignored"):
        table.add_column(column, justify="right" if column in ("wave", "objects", "hooks", "CRDs", "cluster", "outside ns", "ignored") else "left")
    for row in rows:
        table.add_row(row["environment"], row["application"], row["chart"], str(row["application_wave"]), str(row["objects"]),
                      str(row["hooks"]), str(row["crds"]), str(row["cluster_scoped"]), str(row["outside_namespace"]), str(len(row["ignored"])))
    out_console.print(table)
    out_console.print(f"{len(hydration.objects)} objects from {len(rows)} Applications; {hydration.renders} helm renders, "
                          f"{hydration.cache_hits} from the cache, {hydration.seconds:.1f} s"
                          + (f"; written under {out}/" if out is not None else ""))


@charts_app.command("list")
def list_command(
    spec: SpecOption = Path(DEFAULT_SPEC),
    chart_dir: ChartDirOption = None,
    fmt: FormatOption = "table",
) -> None:
    """Show each pin of the spec against the chart directory (present, or which versions it holds)."""
    check_format(fmt)
    platform = next(iter(load_platforms(spec, None).values()))
    try:
        charts = chart_dir_for(spec, chart_dir)
        statuses = pin_statuses(platform, charts)
    except ChartsSetupError as exc:
        _bad([str(exc)])
    rows = [{"pin": s.key, "chart": s.chart, "version": s.version, "present": s.archive is not None,
             "app_version": s.archive.app_version if s.archive else None,
             "digest": s.archive.digest if s.archive else None, "available": list(s.available)} for s in statuses]
    if fmt == "json":
        out_console.print_json(json.dumps({"chart_dir": str(charts.path), "pins": rows}))
        return
    table = Table(title=f"Pins in {spec} vs {charts.path}")
    for column in ("pin", "chart", "pinned", "in chart dir", "appVersion", "versions held"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["pin"], row["chart"], row["version"], "yes" if row["present"] else "[red]MISSING[/red]",
                      row["app_version"] or "", ", ".join(row["available"]))
    out_console.print(table)


@charts_app.command("pull")
def pull_command(
    spec: SpecOption = Path(DEFAULT_SPEC),
    out: Annotated[Optional[Path], typer.Option("--out", help="Chart cache to fill; default .cache/charts next to the spec.")] = None,
    ca_file: Annotated[Optional[Path], typer.Option("--ca-file", help="CA bundle for the repositories' TLS (e.g. an internal mirror).")] = None,
    mirror: Annotated[Optional[str], typer.Option("--mirror", help="Pull every chart from this chart repository instead of each pin's repoURL.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Pull again even if the archive is already in the cache.")] = False,
) -> None:
    """Fill a local chart directory from each pin's repository with `helm pull` (needs the network, or a mirror).
    Use it afterwards with --chart-dir (or PLINTH_CHART_DIR)."""
    platform = next(iter(load_platforms(spec, None).values()))
    try:
        helm = helm_for(spec)
    except ChartsSetupError as exc:
        _bad([str(exc)])
    folder = out or default_cache_dir(spec) / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for key, pin in sorted(platform.charts.items()):
        present = [p for p in folder.glob(f"{pin.chart}-*.tgz") if _archive_matches(p, pin.chart, pin.version)]
        if present and not force:
            out_console.print(f"{key}: {present[0].name} already in {folder}")
            continue
        repo = mirror or pin.repo_url
        try:
            helm.pull(pin.chart, pin.version, repo, folder, ca_file)
        except HelmError as exc:
            failures.append(f"{key}: {pin.chart} {pin.version} from {repo}: {exc}")
            continue
        pulled = [p for p in folder.glob(f"{pin.chart}-*.tgz") if _archive_matches(p, pin.chart, pin.version)]
        if not pulled:
            failures.append(f"{key}: helm pull of {pin.chart} {pin.version} from {repo} left no matching archive in {folder}")
            continue
        out_console.print(f"{key}: pulled {pulled[0].name} ({file_digest(pulled[0])}) from {repo}")
    for line in failures:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    if failures:
        err_console.print(f"[red]{len(failures)} chart(s) not pulled[/red]")
        raise typer.Exit(1)
    out_console.print(f"{folder} holds every pin; use --chart-dir {folder}")


def _archive_matches(path: Path, chart: str, version: str) -> bool:
    try:
        meta = read_chart_yaml(path)
    except Exception:  # a partial download is not a match
        return False
    return meta.get("name") == chart and same_version(str(meta.get("version")), version)


@charts_app.command("lock")
def lock_command(
    spec: SpecOption = Path(DEFAULT_SPEC),
    check: Annotated[bool, typer.Option("--check", help="Do not write; exit 1 if the lock differs from the chart directory.")] = False,
) -> None:
    """Write charts.lock.yaml next to the spec (the ``charts-lock`` artifact of ``plinth generate``): per pin the
    chart's version, appVersion, archive digest, the CRDs it installs and the images it runs."""
    inputs = generate.Inputs(spec, load_platforms(spec, None))
    artifacts = generate.by_name(["charts-lock"])
    try:
        if check:
            stale = generate.stale(artifacts, inputs)
            for line in (line for item in stale for line in item.lines(inputs.root)):
                err_console.print(f"stale: {line} (run `plinth charts lock`)", markup=False, highlight=False)
            if stale:
                raise typer.Exit(1)
            out_console.print(f"{spec.parent / LOCK_FILE} matches the chart directory.")
            return
        generate.write(artifacts, inputs)
    except SpecError as exc:
        _bad([str(p) for p in exc.problems])
    except ChartsSetupError as exc:
        _bad([str(exc)])
    out_console.print(f"Wrote {spec.parent / LOCK_FILE}.")


@charts_app.command("crd-schemas")
def crd_schemas_command(
    spec: SpecOption = Path(DEFAULT_SPEC),
    chart_dir: ChartDirOption = None,
    fallback: Annotated[Optional[Path], typer.Option("--fallback", help="CRD schemas for CRDs no chart ships; default $PLINTH_CRD_DIR or ../shared/schemas/crds.")] = None,
) -> None:
    """Convert the CRDs the pinned charts ship into JSON schemas ({group}/{kind}_{version}.json) and print
    the folder (usable as `plinth validate --crd-dir`)."""
    _, rendered, hydration = _hydrate(spec, None, chart_dir)
    folder = crd_dir_for(spec, hydration, rendered, fallback)
    sources = json.loads((folder / "SOURCES.json").read_text())
    from_charts = sum(1 for s in sources["files"].values() if not s.startswith("fallback "))
    out_console.print(f"{folder} ({from_charts} schemas from the charts' CRDs, "
                          f"{len(sources['files']) - from_charts} from the fallback folder)")
    for conflict in sources["conflicts"]:
        err_console.print(f"conflict: {conflict}", markup=False, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``hydrate`` and ``charts ...`` to the main command."""
    app.command("hydrate")(hydrate_command)
    app.add_typer(charts_app, name="charts")


