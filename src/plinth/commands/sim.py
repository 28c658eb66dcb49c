"""``plinth sim``: a real Kubernetes control plane on simulated nodes shaped like the spec.

Exit codes: 0 ok, 1 findings (objects rejected, pods not scheduled, a process failed), 2 bad input or a
missing set-up (binaries not built, not root).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
import yaml
from rich.console import Console
from rich.table import Table

from plinth.spec.loader import DEFAULT_SPEC, SpecError, load_platform
from plinth.spec.model import Platform

if TYPE_CHECKING:
    from plinth.sim.cluster import SimCluster

sim_app = typer.Typer(no_args_is_help=True, help="A real Kubernetes control plane (kwok nodes) in a private network namespace.")
out_console = Console()
err_console = Console(stderr=True)

NameOption = Annotated[str, typer.Option("--name", help="Cluster name: its state folder and network namespace.")]
SpecOption = Annotated[Path, typer.Option("--spec", help="Platform spec file.")]
EnvOption = Annotated[str, typer.Option("--env", help="Environment whose pools become nodes.")]
CloudOption = Annotated[Optional[str], typer.Option("--cloud", help="aws, gcp or azure (node shapes); default: the spec's provider.")]
NodesOption = Annotated[str, typer.Option("--nodes", help="Nodes per pool: spec (the pool's nodes), min or max.")]
KubeOption = Annotated[Optional[str], typer.Option("--kubernetes", help="Kubernetes minor, e.g. 1.35; default: the spec's cluster.kubernetes_version.")]
OrgsOption = Annotated[Optional[int], typer.Option("--orgs", help="Scale the environment to N organisations (the planner's growth model) and size the pools from the plan.")]


def _bad_input(message: str) -> NoReturn:
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _detached_cluster(name: str) -> "SimCluster":
    """The detached cluster ``name``; exit 2 saying why when there is none to load."""
    from plinth.sim.cluster import SimCluster, SimError

    try:
        return SimCluster.load(name)
    except SimError as exc:
        _bad_input(str(exc))


def _platform(spec: Path, env: str) -> Platform:
    try:
        return load_platform(spec, env)
    except SpecError as exc:
        _bad_input("\n".join(str(p) for p in exc.problems))
    except KeyError:
        _bad_input(f"{spec}: no environment {env!r}")
    raise AssertionError("unreachable")


def _versions(platform: Platform | None, minor: Optional[str]):
    from plinth.sim.toolchain import ToolchainError, pinned_versions

    chosen = minor or (platform.cluster.kubernetes_version if platform else None)
    if chosen is None:
        _bad_input("--kubernetes: give a Kubernetes minor, e.g. 1.35")
    try:
        return pinned_versions(chosen)
    except ToolchainError as exc:
        _bad_input(f"{exc} (or choose a pinned minor with --kubernetes)")
    raise AssertionError("unreachable")


def _check_choice(option: str, value: Optional[str], allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        _bad_input(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")


@sim_app.command("toolchain")
def toolchain_command(
    kubernetes: KubeOption = None,
    spec: SpecOption = Path(DEFAULT_SPEC),
    resolve: Annotated[bool, typer.Option("--resolve", help="Pin the newest versions from the Go module proxy into versions.yaml, then build.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even when the cache is current.")] = False,
) -> None:
    """Build (or reuse from the cache) kube-apiserver, -controller-manager, -scheduler, kubectl, etcd and kwok."""
    from importlib import resources

    from plinth.sim.toolchain import ToolchainError, ensure_binaries, resolve_versions, write_pins

    platform = None if kubernetes else _platform(spec, "prod")
    minor = kubernetes or platform.cluster.kubernetes_version
    try:
        if resolve:
            versions = resolve_versions(minor)
            path = Path(str(resources.files("plinth.sim").joinpath("versions.yaml")))
            write_pins(versions, path)
            out_console.print(f"Pinned Kubernetes {versions.kubernetes}, etcd {versions.etcd}, kwok {versions.kwok} in {path}.")
        versions = _versions(None, minor)
        report = ensure_binaries(versions, force=force, log=lambda line: err_console.print(line, markup=False, highlight=False))
    except ToolchainError as exc:
        err_console.print(f"sim toolchain: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    state = "Built" if report.built else "Reused"
    figures = f" (peak memory {report.peak_tree_rss_mib:.0f} MiB)" if report.built else ""
    out_console.print(f"{state} Kubernetes {versions.kubernetes}, etcd {versions.etcd}, kwok {versions.kwok} "
                      f"in {report.bin_dir} in {report.seconds:.1f} s{figures}.")


def _check_orgs(orgs: Optional[int]) -> None:
    if orgs is not None and orgs <= 0:
        _bad_input(f"--orgs: expected a positive number of organisations, got {orgs}")


def _sized(spec: Path, platform: Platform, orgs: int, cloud: Optional[str]):
    """The environment scaled to ``orgs`` organisations, rendered, hydrated and planned (as `sim sync --orgs` runs it);
    exit 2 saying why when it cannot be."""
    from plinth.charts.workflow import ChartsSetupError
    from plinth.plan.growth import GrowthError
    from plinth.render.pipeline import RenderError
    from plinth.sim.run import sized_environment

    try:
        return sized_environment(spec, platform, orgs, cloud)
    except SpecError as exc:
        _bad_input("\n".join(str(p) for p in exc.problems))
    except (GrowthError, ChartsSetupError, RenderError) as exc:
        _bad_input(f"--orgs {orgs}: {exc}")


def _add_nodes(cluster, platform: Platform, cloud: Optional[str], nodes: str, counts: Optional[dict[str, int]] = None) -> int:
    from plinth.sim.nodes import add_nodes, spec_nodes

    objects = spec_nodes(platform, provider=cloud, count=nodes, counts=counts)  # type: ignore[arg-type]
    add_nodes(cluster, objects)
    return len(objects)


@sim_app.command("up")
def up_command(
    name: NameOption = "default",
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = "prod",
    cloud: CloudOption = None,
    nodes: NodesOption = "spec",
    kubernetes: KubeOption = None,
    orgs: OrgsOption = None,
    detach: Annotated[bool, typer.Option("--detach", help="Leave the cluster running; stop it with `plinth sim down`.")] = False,
) -> None:
    """Start etcd, the API server, controller-manager, scheduler and kwok, with nodes shaped like the spec's pools
    (with --orgs: as many per pool as the planner gives the environment scaled to N organisations, as `sim sync`)."""
    from plinth.procs import Supervisor
    from plinth.sim.cluster import SimCluster, SimError, start_cluster, state_root, watch
    from plinth.sim.cluster import detach as detach_cluster
    from plinth.sim.toolchain import ToolchainError

    _check_choice("--cloud", cloud, ("aws", "gcp", "azure"))
    _check_choice("--nodes", nodes, ("spec", "min", "max"))
    _check_orgs(orgs)
    platform = _platform(spec, env)
    versions = _versions(platform, kubernetes)
    counts = None
    if orgs is not None:
        sized = _sized(spec, platform, orgs, cloud)
        platform, counts = sized.platform, sized.node_counts(nodes)
    try:
        running = any(SimCluster.load(name).alive().values())
    except SimError:
        running = False
    if running:
        _bad_input(f"simulated cluster {name!r} is already running: `plinth sim down --name {name}` first, or choose another --name")
    supervisor = Supervisor(state_root())
    detached = False
    try:
        cluster = start_cluster(name, versions, supervisor)
        count = _add_nodes(cluster, platform, cloud, nodes, counts)
        scaled = f", {orgs:,} organisations" if orgs is not None else ""
        out_console.print(f"Simulated cluster {name!r} up: Kubernetes {versions.kubernetes}, {count} nodes ({env}{scaled}, "
                          f"{cloud or platform.cluster.provider}), network namespace {cluster.netns}, state in {cluster.folder}.")
        out_console.print(f"kubectl: plinth sim kubectl --name {name} -- get nodes")
        if detach:
            detach_cluster(cluster, supervisor)
            detached = True
            return
        out_console.print("Running; Ctrl-C stops it.")
        reason = watch(cluster, supervisor)
        out_console.print(f"Stopping ({reason.splitlines()[0]}).")
        if reason not in ("SIGINT", "SIGTERM"):
            err_console.print(reason, markup=False, highlight=False)
            raise typer.Exit(1)
    except (SimError, ToolchainError) as exc:
        err_console.print(f"sim up: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, ToolchainError) else 1) from exc
    finally:
        if not detached:
            from plinth.sim.cluster import delete_netns, discard_state, netns_name

            supervisor.close()
            delete_netns(netns_name(name))
            discard_state(name)  # the logs stay in the state folder


@sim_app.command("down")
def down_command(name: NameOption = "default") -> None:
    """Stop a detached cluster's processes by PID and delete its network namespace and state."""
    import shutil

    cluster = _detached_cluster(name)
    cluster.stop()
    shutil.rmtree(cluster.folder, ignore_errors=True)
    out_console.print(f"Simulated cluster {name!r} stopped.")


@sim_app.command("status")
def status_command(name: NameOption = "default") -> None:
    """Whether each process of a detached cluster is running; exit 1 if any is not."""
    cluster = _detached_cluster(name)
    alive = cluster.alive()
    for component, running in alive.items():
        out_console.print(f"{component:26} pid {cluster.pids[component]:>7}  {'running' if running else 'NOT RUNNING'}")
    raise typer.Exit(0 if alive and all(alive.values()) else 1)


@sim_app.command("kubectl", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def kubectl_command(ctx: typer.Context, name: NameOption = "default") -> None:
    """Run the cluster's kubectl in its network namespace: plinth sim kubectl [--name N] -- ARGS."""
    import subprocess

    from plinth.sim.toolchain import binary

    cluster = _detached_cluster(name)
    argv = ["ip", "netns", "exec", cluster.netns, str(binary(cluster.versions, "kubectl")), f"--kubeconfig={cluster.kubeconfig}", *ctx.args]
    raise typer.Exit(subprocess.run(argv).returncode)


class _ManifestLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: CRD bundles are megabytes
    """YAML 1.1's ``=`` (the "value" tag) is a plain string in Kubernetes manifests (CRD enums use it)."""


_ManifestLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


def _load_manifests(paths: list[Path]) -> list[dict[str, Any]]:
    """Objects of the given files and folders (``*.yaml``/``*.yml``; ``List`` kinds unpacked)."""
    objects: list[dict[str, Any]] = []
    for path in paths:
        files = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            try:
                documents = list(yaml.load_all(file.read_text(), Loader=_ManifestLoader))  # noqa: S506 - a safe loader
            except (OSError, yaml.YAMLError) as exc:
                _bad_input(f"{file}: {exc}")
            for document in documents:
                if isinstance(document, dict) and document.get("kind") == "List":
                    objects.extend(document.get("items", []))
                elif isinstance(document, dict) and document.get("kind"):
                    objects.append(document)
    return objects


@sim_app.command("apply")
def apply_command(
    name: NameOption = "default",
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = "prod",
    cloud: CloudOption = None,
    nodes: NodesOption = "spec",
    kubernetes: KubeOption = None,
    crds: Annotated[Optional[list[Path]], typer.Option("--crds", help="Extra manifests (files or folders) applied first, e.g. CRDs from `helm template --include-crds`.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    settle_seconds: Annotated[float, typer.Option("--settle", help="Seconds without pod changes that count as settled.")] = 5.0,
) -> None:
    """Server-side apply the environment's rendered tree (CRDs first) and show pods scheduled or Pending.

    Uses the detached cluster ``--name`` when it runs; otherwise starts a throwaway one for the run.
    """
    from plinth.procs import Supervisor
    from plinth.render.pipeline import RenderError, render_platform
    from plinth.sim.apply import apply_objects, pod_states, settle, workload_states
    from plinth.sim.cluster import SimCluster, SimError, delete_netns, discard_state, netns_name, start_cluster, state_root

    _check_choice("--format", output_format, ("table", "json"))
    _check_choice("--cloud", cloud, ("aws", "gcp", "azure"))
    _check_choice("--nodes", nodes, ("spec", "min", "max"))
    platform = _platform(spec, env)
    extra = _load_manifests(crds or [])
    try:
        rendered = [r.obj for r in render_platform(platform)]
    except RenderError as exc:
        _bad_input(str(exc))
    supervisor: Supervisor | None = None
    try:
        try:
            cluster = SimCluster.load(name)
            if not all(cluster.alive().values()):
                raise SimError("not running")
        except SimError:
            supervisor = Supervisor(state_root())
            cluster = start_cluster(f"{name}-apply", _versions(platform, kubernetes), supervisor)
            _add_nodes(cluster, platform, cloud, nodes)
        report = apply_objects(cluster, extra + rendered)
        waited = settle(cluster, quiet_seconds=settle_seconds)
        pods = pod_states(cluster)
        workloads = workload_states(cluster)
    except SimError as exc:
        err_console.print(f"sim apply: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        if supervisor is not None:
            supervisor.close()
            delete_netns(netns_name(f"{name}-apply"))
            discard_state(f"{name}-apply", keep_logs=False)
    pending = [p for p in pods if not p.node]
    failing = report.count("rejected") > 0 or bool(pending)
    if output_format == "json":
        payload = {
            "objects": [asdict(r) for r in report.results],
            "backends_not_running": [asdict(b) for b in report.backends],
            "workloads": [asdict(w) for w in workloads],
            "pods": [asdict(p) for p in pods],
            "settle_seconds": round(waited, 1),
        }
        out_console.print_json(json.dumps(payload))
        raise typer.Exit(1 if failing else 0)
    _print_apply(report, workloads, pods)
    raise typer.Exit(1 if failing else 0)


def _print_apply(report, workloads, pods) -> None:
    out_console.print(f"Objects: {report.count('applied')} applied, {report.count('rejected')} rejected, "
                      f"{report.count('no-crd')} without CRD (not sent).")
    for result in report.results:
        if result.status == "rejected":
            out_console.print(f"REJECTED {result.key}: {result.message}", markup=False, highlight=False, soft_wrap=True)
    no_crd: dict[str, int] = {}
    for result in report.results:
        if result.status == "no-crd":
            kind = result.message.split("serves no ", 1)[1]
            no_crd[kind] = no_crd.get(kind, 0) + 1
    for kind, count in sorted(no_crd.items()):
        out_console.print(f"no CRD: {count} x {kind}", markup=False, highlight=False)
    for backend in report.backends:
        out_console.print(f"backend not running: {backend.what} ({backend.key}, failurePolicy {backend.failure_policy}): {backend.consequence}",
                          markup=False, highlight=False, soft_wrap=True)
    table = Table(title="Workloads")
    for column in ("workload", "ready/desired", "problems"):
        table.add_column(column, overflow="fold")
    for w in workloads:
        table.add_row(w.key, f"{w.ready}/{w.desired}", "\n".join(w.problems))
    out_console.print(table)
    by_pool: dict[str, int] = {}
    for pod in pods:
        by_pool[pod.pool or "(pending)"] = by_pool.get(pod.pool or "(pending)", 0) + 1
    out_console.print("Pods per pool: " + ", ".join(f"{pool} {count}" for pool, count in sorted(by_pool.items())))
    for pod in pods:
        if not pod.node:
            out_console.print(f"PENDING {pod.namespace}/{pod.name} ({pod.owner}): {pod.reason}", markup=False, highlight=False, soft_wrap=True)


ReportDirOption = Annotated[Path, typer.Option("--out", help="Folder of the JSON reports (plinth report reads reports/sim/).")]


def _write_reports(payloads: dict[str, dict[str, Any]], out: Path, env: str, organisations: Optional[int]) -> list[Path]:
    from plinth.sim.report import write_report

    suffix = f"-{organisations}-orgs" if organisations else ""
    return [write_report(payload, out / f"{what}-{env}{suffix}.json") for what, payload in payloads.items()]


@sim_app.command("sync")
def sync_command(
    name: NameOption = "default",
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = "prod",
    cloud: CloudOption = None,
    nodes: NodesOption = "spec",
    kubernetes: KubeOption = None,
    orgs: OrgsOption = None,
    zone_loss: Annotated[Optional[str], typer.Option("--zone-loss", help="After the sync, lose this zone (as `plinth sim zone-loss`).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds the sync may take in all.")] = 2400.0,
    quiet: Annotated[float, typer.Option("--quiet", help="Seconds without any Application changing after which the sync is reported as stuck.")] = 420.0,
    out: ReportDirOption = Path("reports/sim"),
) -> None:
    """Sync the environment into a cluster with the real Argo CD and report each Application, pods and findings.

    Argo CD (application controller, repo server, Redis) and the operators that are built run as the pods their
    charts create; the rendered tree is served as a Git repository and the pinned charts as a Helm repository on
    loopback. Uses the detached cluster ``--name`` when it runs (the programs then stay with it, for
    `plinth sim zone-loss`); otherwise a throwaway cluster. Exit 0 when every Application is Synced and Healthy,
    every pod Running and (with --zone-loss) every promise held; 1 otherwise.
    """
    from plinth.charts.workflow import ChartsSetupError
    from plinth.plan.growth import GrowthError
    from plinth.render.pipeline import RenderError
    from plinth.sim.cluster import SimError
    from plinth.sim.report import cluster_lines, sync_lines, zone_lines
    from plinth.sim.run import RunOptions, report_payloads, run
    from plinth.sim.toolchain import ToolchainError, binary

    _check_choice("--cloud", cloud, ("aws", "gcp", "azure"))
    _check_choice("--nodes", nodes, ("spec", "min", "max"))
    _check_orgs(orgs)
    platform = _platform(spec, env)
    versions = _versions(platform, kubernetes)
    try:
        binary(versions, "kube-apiserver")
    except ToolchainError as exc:
        _bad_input(str(exc))
    if zone_loss is not None and zone_loss not in platform.cluster.zones:
        _bad_input(f"--zone-loss: {zone_loss!r} is not a zone of {env} (zones: {', '.join(platform.cluster.zones)})")
    options = RunOptions(spec=spec, environment=env, cluster_name=name, provider=cloud, nodes=nodes, organisations=orgs,
                         zone=zone_loss, timeout_seconds=timeout, quiet_seconds=quiet)
    try:
        result = run(options, platform, versions, log=lambda line: out_console.print(line, markup=False, highlight=False, soft_wrap=True))
    except RenderError as exc:
        _bad_input(str(exc))
    except (GrowthError, ChartsSetupError) as exc:
        _bad_input(f"--orgs {orgs}: {exc}" if isinstance(exc, GrowthError) else str(exc))
    except (SimError, ToolchainError, RuntimeError) as exc:
        err_console.print(f"sim sync: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    for line in sync_lines(result.sync) + cluster_lines(result.cluster) + (zone_lines(result.zone_loss) if result.zone_loss else []):
        out_console.print(line, markup=False, highlight=False, soft_wrap=True)
    for path in _write_reports(report_payloads(result, env, orgs), out, env, orgs):
        out_console.print(f"report: {path}", markup=False, highlight=False)
    healthy = result.sync.get("settled", False) and result.cluster.get("pending", 1) == 0
    held = result.zone_loss is None or result.zone_loss.get("held", False)
    raise typer.Exit(0 if healthy and held else 1)


@sim_app.command("zone-loss")
def zone_loss_command(
    zone: Annotated[str, typer.Argument(help="The zone to lose, e.g. eu-west-1a.")],
    name: NameOption = "default",
    spec: SpecOption = Path(DEFAULT_SPEC),
    env: EnvOption = "prod",
    out: ReportDirOption = Path("reports/sim"),
) -> None:
    """Lose a zone of a detached, synced cluster: cordon, drain through the Eviction API (PDBs honoured), delete its
    nodes; report ready replicas against each promise and every pod left Pending. Exit 1 when a promise fails."""
    from plinth.sim.cluster import SimError
    from plinth.sim.report import cluster_lines, zone_lines
    from plinth.sim.run import lose_zone_of

    platform = _platform(spec, env)
    if zone not in platform.cluster.zones:
        _bad_input(f"zone {zone!r} is not a zone of {env} (zones: {', '.join(platform.cluster.zones)})")
    try:
        report = lose_zone_of(name, platform, zone, log=lambda line: out_console.print(line, markup=False, highlight=False))
    except SimError as exc:
        _bad_input(str(exc))
    for line in zone_lines(report) + cluster_lines(report["cluster_after"]):
        out_console.print(line, markup=False, highlight=False, soft_wrap=True)
    for path in _write_reports({"zone-loss": {"report": "sim-zone-loss", "environment": env, "organisations": None,
                                              "zone_loss": report}}, out, env, None):
        out_console.print(f"report: {path}", markup=False, highlight=False)
    raise typer.Exit(0 if report["held"] else 1)
