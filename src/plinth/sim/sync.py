"""``plinth sim sync``: the real Argo CD syncs the rendered tree into the simulated cluster.

1. **Sources.** The rendered tree is served as a Git repository and the chart directory as a Helm
   repository on loopback (``plinth.sim.sources``); Applications and AppProjects point at them (reported).
2. **Bootstrap**, as the README's "Bootstrapping a cluster" does with ``helm install``: the namespace, then
   the objects of the hydrated ``argocd`` chart Application (CRDs first); the chart's pre-install hook that
   writes the Redis password runs only as a simulated pod, so its Secret is written here (reported).
3. **Argo CD runs**: the application controller and a repo server (built from the pinned release) and
   Debian's redis-server take over the chart's pods (``plinth.sim.programs``); the stand-ins process
   provides disks and load balancers; the operators take over their charts' pods as those get synced.
4. **The root Application is applied** (its AppProject first, then the root from the ``bootstrap/`` folder,
   outside the ``apps/`` folder it syncs) and Argo CD does the rest: waves, hooks, CRDs before their resources,
   server-side apply, ignoreDifferences, AppProject rules, health. ``wait_for_sync`` polls the Applications
   until every one is Synced and Healthy, nothing changes any more, or the time is up.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plinth.charts.hydrate import Hydration
from plinth.procs import Supervisor
from plinth.render.pipeline import RenderedObject
from plinth.sim.apply import ApplyReport, apply_objects
from plinth.sim.cluster import SimCluster, _free_ports_in_netns
from plinth.components.delivery import GATEWAY_PLUGIN
from plinth.sim.kubeclient import ApiError, Resource, cluster_client
from plinth.sim.operators import built_binary
from plinth.sim.programs import ARGOCD_PROGRAMS, DATA_PROGRAMS, OPERATOR_PROGRAMS, Programs
from plinth.sim.sources import Sources, chart_server_argv, git_daemon_argv, rewrite_objects, write_chart_repository, write_git_repository

APPLICATIONS = Resource("argoproj.io", "v1alpha1", "applications")
ARGOCD_APPLICATION = "argocd"
ROOT_APPLICATION = "platform-root"


@dataclass
class ApplicationStatus:
    """One Application as Argo CD reports it."""

    name: str
    wave: int
    sync: str = ""
    health: str = ""
    health_message: str = ""
    operation: str = ""
    operation_message: str = ""
    conditions: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)
    """Resources Argo CD reports not Healthy: ``Kind/namespace/name: status: message``."""
    out_of_sync: list[str] = field(default_factory=list)


@dataclass
class SyncResult:
    """What one sync run did and saw."""

    seconds: float = 0.0
    settled: bool = False
    reason: str = ""
    applications: list[ApplicationStatus] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    rewrites: list[dict[str, str]] = field(default_factory=list)
    bootstrap: dict[str, Any] = field(default_factory=dict)
    programs: list[dict[str, Any]] = field(default_factory=list)
    not_runnable: dict[str, str] = field(default_factory=dict)
    interventions: list[str] = field(default_factory=list)
    """Everything the sim did by hand that a real cluster's own machinery would have done (reported)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the JSON report."""
        return asdict(self)


def application_wave(obj: dict[str, Any]) -> int:
    """An Application's sync wave (its annotation, default 0)."""
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get("argocd.argoproj.io/sync-wave", 0))
    except ValueError:
        return 0


def start_sources(cluster: SimCluster, supervisor: Supervisor, rendered: list[RenderedObject], chart_dir: Path,
                  helm: Path, plugin_locations: dict[str, str] | None = None) -> tuple[Sources, list[dict[str, Any]]]:
    """Write and serve the Git and Helm repositories; return them and the rewritten rendered objects."""
    git_port, chart_port = _free_ports_in_netns(cluster.netns, 2)
    sources = Sources(cluster.folder / "sources", git_port, chart_port)
    objects = rewrite_objects([r.obj for r in rendered], sources, plugin_locations)
    write_git_repository(sources, rendered, objects)
    write_chart_repository(sources, chart_dir, helm)
    for name, argv in (("git-daemon", git_daemon_argv(sources)), ("chart-repository", chart_server_argv(sources, sys.executable))):
        supervisor.start(name, ["ip", "netns", "exec", cluster.netns, *argv], as_service_user=False)
        cluster.record_program(name, supervisor.processes[name].pid)
    return sources, objects


STANDIN_FOR_PROGRAM = {"envoy-gateway": "envoy-gateway", "keda": "keda"}
"""Stand-in controllers that run only when the named program is not built."""


def standin_controllers(versions: dict[str, str]) -> list[str]:
    """Controllers played by stand-ins: those not on the proxy always, the Go ones whose binary is not built."""
    chosen = ["external-secrets", "cert-manager"]
    for controller, program in STANDIN_FOR_PROGRAM.items():
        if program not in versions or built_binary(program, versions[program]) is None:
            chosen.append(controller)
    return chosen


def start_standins(cluster: SimCluster, supervisor: Supervisor, controllers: list[str]) -> None:
    """The stand-ins process (disks, load balancers, operators and controllers that do not run here)."""
    argv = ["ip", "netns", "exec", cluster.netns, sys.executable, "-m", "plinth.sim.standins", str(cluster.folder), cluster.server,
            ",".join(controllers)]
    supervisor.start("standins", argv, as_service_user=False)
    cluster.record_program("standins", supervisor.processes["standins"].pid)


def bootstrap(cluster: SimCluster, hydration: Hydration, environment: str, namespace: str) -> tuple[ApplyReport, list[str]]:
    """Install Argo CD from its hydrated chart as ``helm install`` would; return the apply report and what was
    done by hand."""
    done: list[str] = []
    cluster.kubectl("create", "namespace", namespace, check=False)
    objects = [o.obj for o in hydration.objects if o.application == ARGOCD_APPLICATION and o.environment == environment
               and not o.hook_phases]
    report = apply_objects(cluster, objects)
    redis_secret = cluster.kubectl("get", "secret", "argocd-redis", "-n", namespace, check=False)
    if redis_secret.returncode != 0:
        password = base64.b64encode(secrets.token_urlsafe(16).encode()).decode()
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "argocd-redis", "namespace": namespace},
                  "type": "Opaque", "data": {"auth": password}}
        cluster.kubectl("apply", "--server-side", "--field-manager=plinth-sim", "-f", "-", input_text=json.dumps(secret))
        done.append("Secret platform-system/argocd-redis written with a random password: the chart's redis-secret-init "
                    "hook Job writes it, but here its pod is simulated")
    return report, done


def _resource_line(resource: dict[str, Any]) -> str:
    ns = resource.get("namespace")
    key = f"{resource.get('kind')}/{ns}/{resource.get('name')}" if ns else f"{resource.get('kind')}/{resource.get('name')}"
    health = resource.get("health") or {}
    return f"{key}: {health.get('status', '')}: {health.get('message', '')}".rstrip(": ")


def application_statuses(cluster: SimCluster, namespace: str) -> list[ApplicationStatus]:
    """Every Application's sync, health, last operation and conditions, as Argo CD reports them."""
    client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
    try:
        apps = client.list(APPLICATIONS, namespace)
    except (ApiError, OSError):
        return []
    statuses = []
    for app in apps:
        status = app.get("status") or {}
        operation = status.get("operationState") or {}
        statuses.append(ApplicationStatus(
            name=app["metadata"]["name"], wave=application_wave(app),
            sync=(status.get("sync") or {}).get("status", ""), health=(status.get("health") or {}).get("status", ""),
            health_message=(status.get("health") or {}).get("message", ""),
            operation=operation.get("phase", ""), operation_message=operation.get("message", ""),
            conditions=[f"{c.get('type')}: {c.get('message')}" for c in status.get("conditions") or []],
            unhealthy=[_resource_line(r) for r in status.get("resources") or []
                       if (r.get("health") or {}).get("status") not in (None, "Healthy")],
            out_of_sync=[_resource_line(r).split(":")[0] for r in status.get("resources") or [] if r.get("status") == "OutOfSync"],
        ))
    return sorted(statuses, key=lambda a: (a.wave, a.name))


def all_done(statuses: list[ApplicationStatus], expected: int) -> bool:
    """Every expected Application exists, is Synced and Healthy."""
    return len(statuses) >= expected and all(a.sync == "Synced" and a.health == "Healthy" for a in statuses)


_NUMBERS = re.compile(r"\d+")


def _fingerprint(statuses: list[ApplicationStatus]) -> str:
    """What counts as a change for the quiet window: the Applications' states and messages with numbers masked (a
    controller's retry repeats its error with a new source port or timestamp, which is not progress)."""
    return _NUMBERS.sub("#", json.dumps([(a.name, a.sync, a.health, a.operation, a.operation_message, a.conditions, a.unhealthy)
                                         for a in statuses]))


def wait_for_sync(cluster: SimCluster, namespace: str, expected: int, programs: Programs, *, timeout_seconds: float,
                  quiet_seconds: float, started: float, log: Callable[[str], None]) -> tuple[bool, str, list[ApplicationStatus], list[tuple[float, str]]]:
    """Poll until all Applications are Synced and Healthy, nothing changed for ``quiet_seconds``, or timeout."""
    timeline: list[tuple[float, str]] = []
    seen: dict[str, tuple[str, str]] = {}
    last_fingerprint, last_change = "", time.monotonic()
    statuses: list[ApplicationStatus] = []
    while True:
        changed = programs.reconcile()
        statuses = application_statuses(cluster, namespace)
        for app in statuses:
            state = (app.sync, app.health)
            if seen.get(app.name) != state:
                seen[app.name] = state
                elapsed = round(time.monotonic() - started, 1)
                timeline.append((elapsed, f"{app.name}: {app.sync or '-'} / {app.health or '-'}"))
                log(f"[{elapsed:7.1f}s] {app.name} (wave {app.wave}): {app.sync or '-'} / {app.health or '-'}"
                    + (f" — {app.operation_message}" if app.operation_message and app.health != "Healthy" else ""))
        fingerprint = _fingerprint(statuses)
        if fingerprint != last_fingerprint or changed:
            last_fingerprint, last_change = fingerprint, time.monotonic()
        if all_done(statuses, expected):
            return True, "every Application Synced and Healthy", statuses, timeline
        if time.monotonic() - last_change > quiet_seconds:
            return False, f"nothing changed for {quiet_seconds:.0f} s", statuses, timeline
        if time.monotonic() - started > timeout_seconds:
            return False, f"timed out after {timeout_seconds:.0f} s", statuses, timeline
        time.sleep(3.0)


def run_sync(cluster: SimCluster, supervisor: Supervisor, *, rendered: list[RenderedObject], hydration: Hydration,
             environment: str, argocd_namespace: str, chart_dir: Path, helm: Path, versions: dict[str, str],
             timeout_seconds: float = 1800, quiet_seconds: float = 300,
             log: Callable[[str], None] = print) -> tuple[SyncResult, Programs]:
    """Serve the sources, install and run Argo CD, apply the root Application, wait; see the module docstring."""
    started = time.monotonic()
    result = SyncResult()
    plugin = built_binary("gatewayapi-plugin", versions["gatewayapi-plugin"]) if "gatewayapi-plugin" in versions else None
    sources, objects = start_sources(cluster, supervisor, rendered, chart_dir, helm, {GATEWAY_PLUGIN: str(plugin or "")})
    result.rewrites = [asdict(r) for r in sources.rewrites]
    log(f"sources: {sources.git_url} (rendered tree), {sources.chart_url} (charts); {len(sources.rewrites)} URLs rewritten")
    controllers = standin_controllers(versions)
    start_standins(cluster, supervisor, controllers)
    result.interventions.append("stand-ins (plinth.sim.standin_controllers, standin_operators, cloud): disks, load balancers, "
                                "ClickHouse and Strimzi operators, " + ", ".join(controllers))
    report, done = bootstrap(cluster, hydration, environment, argocd_namespace)
    result.interventions += done
    result.bootstrap = {"applied": report.count("applied"), "rejected": [asdict(r) for r in report.results if r.status != "applied"]}
    log(f"bootstrap: {report.count('applied')} Argo CD objects applied, {len(result.bootstrap['rejected'])} not")
    for item in result.bootstrap["rejected"]:
        log(f"  not applied: {item['key']}: {item['status']}: {item['message'][:300]}")
    namespace_of = {o["metadata"]["name"]: (o.get("spec") or {}).get("destination", {}).get("namespace", "")
                    for o in objects if o.get("kind") == "Application"}
    programs = Programs(cluster, supervisor, namespace_of, ARGOCD_PROGRAMS + OPERATOR_PROGRAMS + DATA_PROGRAMS, versions,
                        extra_path=(str(helm.parent),), log=log)
    deadline = time.monotonic() + 600
    while not all(programs.states[f"argocd/{r.kind}/{r.name}"].status != "waiting" for r in ARGOCD_PROGRAMS):
        programs.reconcile()
        if time.monotonic() > deadline:
            raise RuntimeError("Argo CD's pods did not become Running within 600 s")
        time.sleep(2.0)
    root = next(o for o in objects if o.get("kind") == "Application" and o["metadata"]["name"] == ROOT_APPLICATION)
    project = next(o for o in objects if o.get("kind") == "AppProject" and o["metadata"]["name"] == root["spec"]["project"])
    for obj in (project, root):
        cluster.kubectl("apply", "--server-side", "--field-manager=plinth-sim", "-f", "-", input_text=json.dumps(obj))
    log(f"applied the AppProject {project['metadata']['name']} and the root Application {ROOT_APPLICATION}")
    expected = sum(1 for o in objects if o.get("kind") == "Application")
    result.settled, result.reason, result.applications, result.timeline = wait_for_sync(
        cluster, argocd_namespace, expected, programs, timeout_seconds=timeout_seconds, quiet_seconds=quiet_seconds,
        started=started, log=log)
    result.seconds = round(time.monotonic() - started, 1)
    result.programs = programs.report()
    result.not_runnable = programs.unavailable()
    return result, programs
