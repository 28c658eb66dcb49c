"""One simulated run end to end, as ``plinth sim sync`` does it: the environment (scaled to N organisations
by the planner's growth model when asked), its rendered and hydrated tree, the programs built, a cluster
(the detached one of that name, or a throwaway one with the environment's pools as nodes), the real Argo CD
sync, the cluster's findings, optionally a zone loss, and the JSON reports."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plinth.charts.hydrate import HydratedObject, Hydration
from plinth.charts.workflow import Hydrator, chart_dir_for, helm_for
from plinth.plan.capacity import plan_capacity
from plinth.plan.growth import scale_platform
from plinth.procs import Supervisor
from plinth.render.pipeline import RenderedObject, render_platform
from plinth.sim.cluster import SimCluster, SimError, delete_netns, discard_state, netns_name, start_cluster, state_root
from plinth.sim.findings import cluster_report
from plinth.sim.kubeclient import cluster_client
from plinth.sim.nodes import add_nodes, spec_nodes
from plinth.sim.operators import OPERATORS, build_figures, built_binary, operator_version
from plinth.sim.programs import ARGOCD_PROGRAMS, DATA_PROGRAMS, OPERATOR_PROGRAMS, Programs
from plinth.sim.sync import run_sync
from plinth.sim.toolchain import SimVersions, _tree_rss_kib
from plinth.sim.zoneloss import lose_zone
from plinth.spec.model import Platform


@dataclass
class RunOptions:
    """What one run does."""

    spec: Path
    environment: str = "prod"
    cluster_name: str = "default"
    provider: str | None = None
    nodes: str = "spec"
    organisations: int | None = None
    zone: str | None = None
    timeout_seconds: float = 1800.0
    quiet_seconds: float = 300.0


@dataclass
class RunResult:
    """Everything the run measured, ready to be written as reports."""

    sync: dict[str, Any] = field(default_factory=dict)
    cluster: dict[str, Any] = field(default_factory=dict)
    zone_loss: dict[str, Any] | None = None
    builds: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def planned_nodes(platform: Platform, provider: str | None = None, rendered: list[RenderedObject] | None = None,
                  hydrated: list[HydratedObject] | None = None) -> dict[str, tuple[int, int]]:
    """Per pool, the nodes ``plinth plan`` says minimum and maximum replicas need, counting the pods of the chart
    Applications when their ``hydrated`` objects are given (as ``plinth plan`` does)."""
    plan = plan_capacity(platform, rendered, provider=provider, hydrated=hydrated)  # type: ignore[arg-type]
    return {pool.name: (pool.at_min.nodes, pool.at_max.nodes) for pool in plan.pools}


@dataclass
class SizedEnvironment:
    """An environment as a run deploys it: its platform (scaled when asked), rendered tree, hydrated charts, and the
    planner's nodes per pool (minimum, maximum)."""

    platform: Platform
    rendered: list[RenderedObject]
    hydration: Hydration
    plan: dict[str, tuple[int, int]]
    organisations: int | None = None

    def node_counts(self, nodes: str = "spec") -> dict[str, int] | None:
        """Nodes per pool a cluster for this environment is created with when it is scaled to a number of
        organisations: the planner's count at maximum replicas for ``nodes="max"``, else at minimum replicas (a
        scaled environment has no spec count of its own); None unscaled: the pools' own counts apply."""
        if not self.organisations:
            return None
        return {pool: counts[1] if nodes == "max" else counts[0] for pool, counts in self.plan.items()}


def sized_environment(spec: Path, platform: Platform, organisations: int | None = None,
                      provider: str | None = None) -> SizedEnvironment:
    """``platform`` scaled to ``organisations`` by the planner's growth model (None: as the spec sizes it), rendered,
    its charts hydrated from the spec's chart directory, and planned (``GrowthError``, ``ChartsSetupError``,
    ``SpecError`` or ``RenderError`` when one of these steps cannot be done)."""
    hydrator = Hydrator(spec)
    if organisations:
        platform = scale_platform(platform, organisations, hydrator)
    rendered = render_platform(platform)
    hydration = hydrator.hydrate({platform.environment: platform}, rendered)
    plan = planned_nodes(platform, provider, rendered, hydration.objects)
    return SizedEnvironment(platform, rendered, hydration, plan, organisations)


def program_versions(platform: Platform) -> dict[str, str]:
    """Each program's release, from the spec's chart pins."""
    return {name: operator_version(platform, name) for name in OPERATORS}


def built_programs(versions: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per program: its binary and build figures when built (``python -m plinth.sim.operators``), else why not.
    A sync never builds: a program that is not built leaves its pods to kwok and is reported."""
    builds: dict[str, dict[str, Any]] = {}
    for name in OPERATORS:
        path = built_binary(name, versions[name])
        entry: dict[str, Any] = {"version": versions[name]}
        if path is None:
            entry["error"] = f"not built (python -m plinth.sim.operators {name})"
        else:
            entry["path"] = str(path)
            entry.update({k: v for k, v in build_figures(name, versions[name]).items() if k in ("seconds", "from", "peak_tree_rss_mib")})
        builds[name] = entry
    return builds


def _peak_rss_mib() -> float:
    return round(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024, 1)


def _tree_rss_mib(cluster: SimCluster) -> dict[str, float]:
    """Resident memory of the cluster's processes (control plane and programs), MiB."""
    figures = {name: round(_tree_rss_kib(pid) / 1024, 1) for name, pid in cluster.pids.items()}
    for name, record in cluster.programs.items():
        figures[name] = round(_tree_rss_kib(int(record["pid"])) / 1024, 1)
    return figures


def run(options: RunOptions, platform: Platform, versions: SimVersions, log: Callable[[str], None] = print) -> RunResult:
    """Sync the environment into a cluster, read the findings, optionally lose a zone (see the module docstring)."""
    result = RunResult()
    started = time.monotonic()
    sized = sized_environment(options.spec, platform, options.organisations, options.provider)
    platform, rendered, hydration, plan = sized.platform, sized.rendered, sized.hydration, sized.plan
    helm = helm_for(options.spec)
    chart_dir = chart_dir_for(options.spec).path
    result.figures["prepare_seconds"] = round(time.monotonic() - started, 1)
    versions_of = program_versions(platform)
    build_started = time.monotonic()
    result.builds = built_programs(versions_of)
    result.figures["build_check_seconds"] = round(time.monotonic() - build_started, 1)
    supervisor: Supervisor | None = None
    own_cluster = False
    try:
        cluster = SimCluster.load(options.cluster_name)
        if not all(cluster.alive().values()):
            raise SimError("not running")
        supervisor = Supervisor(cluster.folder / "logs")
    except SimError:
        own_cluster = True
        supervisor = Supervisor(state_root())
        up_started = time.monotonic()
        cluster = start_cluster(f"{options.cluster_name}-sync", versions, supervisor)
        nodes = spec_nodes(platform, provider=options.provider, count=options.nodes, counts=sized.node_counts(options.nodes))  # type: ignore[arg-type]
        add_nodes(cluster, nodes)
        result.figures["cluster_start_seconds"] = round(time.monotonic() - up_started, 1)
        result.figures["nodes"] = len(nodes)
    try:
        sync_started = time.monotonic()
        sync, programs = run_sync(cluster, supervisor, rendered=rendered, hydration=hydration, environment=platform.environment,
                                  argocd_namespace=platform.argocd.namespace, chart_dir=chart_dir, helm=helm.path,
                                  versions=versions_of, timeout_seconds=options.timeout_seconds,
                                  quiet_seconds=options.quiet_seconds, log=log)
        result.figures["sync_seconds"] = round(time.monotonic() - sync_started, 1)
        result.sync = sync.to_dict()
        findings_started = time.monotonic()
        result.cluster = cluster_report(cluster, plan).to_dict()
        result.figures["findings_seconds"] = round(time.monotonic() - findings_started, 1)
        result.figures["memory_mib"] = _tree_rss_mib(cluster)
        if options.zone:
            client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
            result.zone_loss = lose_zone(client, platform, options.zone, tick=programs.reconcile, log=log).to_dict()
            result.zone_loss["cluster_after"] = cluster_report(cluster, plan).to_dict()
        if not own_cluster:
            supervisor.processes.clear()  # the programs stay with the detached cluster
    finally:
        if own_cluster and supervisor is not None:
            supervisor.close()
            delete_netns(netns_name(f"{options.cluster_name}-sync"))
            discard_state(f"{options.cluster_name}-sync")
    result.figures["total_seconds"] = round(time.monotonic() - started, 1)
    result.figures["peak_rss_mib_of_this_process_or_a_child"] = _peak_rss_mib()
    return result


def report_payloads(result: RunResult, environment: str, organisations: int | None) -> dict[str, dict[str, Any]]:
    """The JSON reports of one run: ``sync`` always, ``zone-loss`` when a zone was lost (``plinth report`` reads them)."""
    common = {"environment": environment, "organisations": organisations}
    payloads = {"sync": {"report": "sim-sync", **common, "sync": result.sync, "cluster": result.cluster,
                         "builds": result.builds, "figures": result.figures}}
    if result.zone_loss is not None:
        payloads["zone-loss"] = {"report": "sim-zone-loss", **common, "zone_loss": result.zone_loss}
    return payloads


def lose_zone_of(cluster_name: str, platform: Platform, zone: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Lose a zone of a detached, synced cluster: its programs keep following their pods (restarted for the
    replacements) while the zone is drained and removed; return the zone-loss report with the cluster after."""
    cluster = SimCluster.load(cluster_name)
    if not all(cluster.alive().values()):
        raise SimError(f"simulated cluster {cluster_name!r} is not running (plinth sim status --name {cluster_name})")
    rendered = render_platform(platform)
    namespace_of = {r.obj["metadata"]["name"]: ((r.obj.get("spec") or {}).get("destination") or {}).get("namespace", "")
                    for r in rendered if r.obj.get("kind") == "Application"}
    supervisor = Supervisor(cluster.folder / "logs")
    programs = Programs(cluster, supervisor, namespace_of, ARGOCD_PROGRAMS + OPERATOR_PROGRAMS + DATA_PROGRAMS, program_versions(platform), log=log)
    client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
    try:
        report = lose_zone(client, platform, zone, tick=programs.reconcile, log=log).to_dict()
        report["cluster_after"] = cluster_report(cluster, planned_nodes(platform)).to_dict()
    finally:
        supervisor.processes.clear()  # the programs stay with the detached cluster
    return report
