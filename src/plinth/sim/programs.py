"""Which real program stands in for which simulated pod, and keeping them running.

A ``PodProgram`` names a workload the hydrated charts create (Argo CD's own controller and repo server, each
operator's Deployment) and the program that runs as its container: a binary built by
``plinth.sim.operators`` at the chart's app version, or a system binary (Debian's redis-server for Argo CD's
Redis). ``Programs.reconcile`` runs once per loop: every rule whose workload has a Running pod gets its
program started for that pod (``plinth.sim.takeover``); a program whose pod is gone (deleted, evicted, its node
lost) is stopped and started again for the pod that replaced it, as the kubelet would. The cluster's hosts
file maps each Service whose selector matches a taken-over pod to that pod's IP (a Service name resolves to
the one endpoint that really answers).
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plinth.components import redis
from plinth.procs import Supervisor
from plinth.sim.cluster import SimCluster, alias_pod_ips, attach_pod_network, write_hosts
from plinth.sim.kubeclient import DEPLOYMENTS, PODS, SERVICES, STATEFULSETS, Resource, cluster_client
from plinth.sim.operators import NOT_ON_PROXY, OPERATORS, built_binary, ensure_operator
from plinth.sim.takeover import TakeoverError, describe, expand, launcher_argv, pod_program
from plinth.sim.toolchain import ToolchainError


GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
"""This machine's architecture as Go names it (the builds are native)."""
MAX_STARTS = 6
"""Starts of one program before it is left failed (the kubelet would keep backing off)."""
BACKOFF_SECONDS = 10.0
REFRESH_SECONDS = 15.0
"""How often a running program's Secret and ConfigMap volumes are brought up to date."""
WORKLOADS = {"Deployment": DEPLOYMENTS, "StatefulSet": STATEFULSETS, "Job": Resource("batch", "v1", "jobs")}


@dataclass(frozen=True)
class PodProgram:
    """One workload whose pod a real program plays."""

    application: str
    """The Argo CD Application (chart) that creates the workload."""
    kind: str
    name: str
    container: str
    build: str | None = None
    """Key of ``plinth.sim.operators.OPERATORS``; None for ``system_binary``."""
    system_binary: str | None = None
    argv_prefix: tuple[str, ...] = ()
    argv: tuple[str, ...] | None = None
    """A fixed command line (``$(VAR)`` expanded from the container's environment) instead of the container's."""
    env: tuple[tuple[str, str], ...] = ()
    drop_first_arg: bool = False
    """The container's first argument is the image's program (Argo CD's images), replaced like ``command[0]``."""
    image_links: tuple[tuple[str, str], ...] = ()
    """(path in the container, ``{binary}`` or a host path): files of the image the program reads, linked into its root."""
    image_files: tuple[tuple[str, str], ...] = ()
    """(path in the container, content): files of the image the program reads or rewrites (a starting configuration)."""
    per_pod: bool = False
    """Every pod of the workload (a StatefulSet's, whose names are stable) gets its own program at its own IP, as
    each member of a data store runs its own server; otherwise one program plays the workload and the other
    replicas' IPs answer through it."""
    note: str = ""


ARGOCD_PROGRAMS = (
    PodProgram("argocd", "StatefulSet", "argocd-application-controller", "application-controller", build="argocd",
               argv_prefix=("application-controller",), drop_first_arg=True,
               env=(("ARGOCD_APPLICATION_CONTROLLER_PERSIST_RESOURCE_HEALTH", "true"),),
               note="resource health persisted in each Application's status (Argo CD 3 keeps it only in Redis by default), "
                    "so the report can name the resource that is not Healthy"),
    PodProgram("argocd", "Deployment", "argocd-repo-server", "repo-server", build="argocd", argv_prefix=("repo-server",),
               drop_first_arg=True, env=(("ARGOCD_GPG_ENABLED", "false"),)),
    PodProgram("argocd", "Deployment", "argocd-redis-ha-haproxy", "haproxy", system_binary="/usr/bin/redis-server",
               argv=("--bind", "$(POD_IP)", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"),
               env=(("POD_IP", "$(POD_IP)"),),
               note="Debian's redis-server plays Redis behind the chart's HAProxy (one server, no Sentinel)"),
)
"""Argo CD as the pinned chart runs it: the application controller and one repo server, Redis for their cache."""

OPERATOR_PROGRAMS = (
    PodProgram("argo-rollouts", "Deployment", "argo-rollouts", "argo-rollouts", build="argo-rollouts"),
    PodProgram("cloudnative-pg", "Deployment", "cloudnative-pg", "manager", build="cloudnative-pg",
               image_links=((f"/operator/manager_{GOARCH}", "{binary}"),),
               note="the image's per-architecture instance manager (/operator/manager_<arch>, which the operator hashes and "
                    "reports in each Cluster's status) is the same build"),
    PodProgram("plugin-barman-cloud", "Deployment", "plugin-barman-cloud", "barman-cloud", build="plugin-barman-cloud"),
    PodProgram("kube-prometheus-stack-chart", "Deployment", "kps-operator", "kube-prometheus-stack", build="prometheus-operator"),
    PodProgram("keda", "Deployment", "keda-operator", "keda-operator", build="keda"),
    PodProgram("keda", "Deployment", "keda-admission-webhooks", "keda-admission-webhooks", build="keda-webhooks"),
    PodProgram("keda", "Deployment", "keda-operator-metrics-apiserver", "keda-operator-metrics-apiserver", build="keda-adapter",
               note="KEDA's metrics server: the backend of the APIService v1beta1.external.metrics.k8s.io"),
    PodProgram("envoy-gateway", "Deployment", "envoy-gateway", "envoy-gateway", build="envoy-gateway"),
    PodProgram("redis-operator", "Deployment", "redis-operator", "redis-operator", build="redis-operator"),
    PodProgram("kube-prometheus-stack-chart", "StatefulSet", "prometheus-kps-prometheus", "prometheus", system_binary="/usr/bin/prometheus",
               argv=("--config.file=/dev/null", "--storage.tsdb.path=/tmp/prometheus", "--web.listen-address=:9090"),
               note="Debian's Prometheus plays the query API of the StatefulSet the Prometheus Operator made (no scrape "
                    "configuration: kwok's pods expose nothing, so every query answers an empty vector and KEDA's "
                    "Prometheus triggers read 0)"),
    PodProgram("cert-manager", "Deployment", "cert-manager-webhook", "cert-manager-webhook", system_binary=sys.executable,
               argv_prefix=("-m", "plinth.sim.standin_webhook", "cert-manager"),
               note="stand-in webhook server (cert-manager's webhook is refused by the Go module proxy): dynamic serving "
                    "from its CA Secret, admits every review"),
    PodProgram("external-secrets", "Deployment", "external-secrets-webhook", "webhook", system_binary=sys.executable,
               argv_prefix=("-m", "plinth.sim.standin_webhook", "external-secrets"),
               note="stand-in webhook server (External Secrets is refused by the Go module proxy): serves the certificate "
                    "the cert controller's stand-in writes, admits every review"),
    PodProgram("envoy-gateway", "Job", "envoy-gateway-gateway-helm-certgen", "envoy-gateway-certgen", build="envoy-gateway",
               note="the chart's certgen hook (envoy-gateway certgen) writes the TLS Secrets Envoy Gateway mounts"),
)
"""The operators that run for real (their charts' Deployments, the containers' own arguments)."""

DATA_PROGRAMS = (
    PodProgram(redis.NAME, "StatefulSet", redis.REPLICATION, redis.REPLICATION, system_binary="/bin/sh", per_pod=True,
               argv=("-c", "/operator agent bootstrap && exec redis-server /etc/redis/redis.conf"),
               image_links=(("/operator", "{build:redis-operator}"),),
               note="Debian's redis-server on the configuration the redis-operator's own bootstrap agent writes from the "
                    "pod's environment and volumes (`operator agent bootstrap`, the Go port of the image's entrypoint), "
                    "one server per pod: the operator then finds the master and sets up replication itself"),
    PodProgram(redis.NAME, "StatefulSet", redis.SENTINEL_APP, redis.SENTINEL_APP, system_binary="/bin/sh",
               per_pod=True, argv=("-c", "/operator agent bootstrap --sentinel && exec redis-sentinel /etc/redis/sentinel.conf"),
               image_links=(("/operator", "{build:redis-operator}"),),
               note="Debian's redis-sentinel on the configuration of the operator's bootstrap agent, one per pod: the "
                    "operator registers the master with each"),
)
"""Data stores whose members run real servers, one per pod."""


@dataclass
class ProgramState:
    """What happened to one rule."""

    rule: PodProgram
    status: str = "waiting"
    """waiting (no Running pod yet), running, blocked (the container cannot be configured yet: a Secret or
    ConfigMap is missing; retried), completed (a Job's pod), failed (exited), unavailable (no binary)."""
    pod: str = ""
    command: str = ""
    starts: int = 0
    message: str = ""
    notes: list[str] = field(default_factory=list)
    retry_at: float = 0.0
    refresh_at: float = 0.0
    replicas: list[str] = field(default_factory=list)
    """IPs of the workload's other pods that answer through this program (``alias_pod_ips``)."""
    pinned: str = ""
    """For a per-pod rule: the one pod (by name) this state plays."""
    uid: str = ""
    """UID of the pod the program was started for: a pod recreated under the same name is another pod."""

    @property
    def key(self) -> str:
        """``Kind/name`` of the workload (and ``[pod]`` for a per-pod rule's state)."""
        return f"{self.rule.kind}/{self.rule.name}" + (f"[{self.pinned}]" if self.pinned else "")

    @property
    def program(self) -> str:
        """The name the cluster records the program under (``application.workload`` or ``application.pod``)."""
        return f"{self.rule.application}.{self.pinned or self.rule.name}"


def _selector(workload: dict[str, Any]) -> dict[str, str]:
    return dict(((workload.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})


def _matches(labels: dict[str, str], selector: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _service_names(name: str, namespace: str) -> tuple[str, ...]:
    """The names a pod resolves for ``name`` in ``namespace`` (its search path and the full name)."""
    return (name, f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local")


class Programs:
    """The real programs of one cluster: started, restarted for new pods, stopped with the cluster."""

    def __init__(self, cluster: SimCluster, supervisor: Supervisor, namespace_of: dict[str, str],
                 rules: tuple[PodProgram, ...], versions: dict[str, str], extra_path: tuple[str, ...] = (),
                 log: Callable[[str], None] = print):
        self.cluster = cluster
        self.supervisor = supervisor
        self.namespace_of = namespace_of
        """Application name -> destination namespace."""
        self.states = {f"{r.application}/{r.kind}/{r.name}": ProgramState(r) for r in rules if not r.per_pod}
        self.per_pod_rules = tuple(r for r in rules if r.per_pod)
        self.versions = versions
        self.extra_path = extra_path
        self.log = log
        self.binaries: dict[str, Path] = {}
        self.client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
        for rule in self.per_pod_rules:  # a StatefulSet's pods: <workload>-<ordinal>
            ordinal = re.compile(rf"{re.escape(rule.application)}\.({re.escape(rule.name)}-\d+)")
            for name in self.cluster.programs:
                if match := ordinal.fullmatch(name):
                    self._state_for_pod(rule, match.group(1))
        for key, state in self.states.items():  # programs a previous command started for this (detached) cluster
            name = state.program
            if self.cluster.program_alive(name):
                state.status, state.pod = "running", str(self.cluster.programs[name].get("pod", ""))
                state.uid = str(self.cluster.programs[name].get("uid", ""))
                state.starts = 1

    def _state_for_pod(self, rule: PodProgram, pod: str) -> ProgramState:
        key = f"{rule.application}/{rule.kind}/{rule.name}/{pod}"
        if key not in self.states:
            self.states[key] = ProgramState(rule, pinned=pod)
        return self.states[key]

    def _expand_per_pod(self, cache: dict[str, list[dict[str, Any]]]) -> None:
        """One state per pod of each per-pod rule's workload (a StatefulSet's pods keep their names)."""
        for rule in self.per_pod_rules:
            namespace = self.namespace_of.get(rule.application)
            workload = self._workload(namespace, rule) if namespace else None
            if namespace is None or workload is None:
                continue
            if namespace not in cache:
                cache[namespace] = self._pods(namespace)
            selector = _selector(workload)
            for pod in cache[namespace]:
                if _matches(pod["metadata"].get("labels") or {}, selector):
                    self._state_for_pod(rule, pod["metadata"]["name"])

    def binary(self, rule: PodProgram) -> Path:
        """The program's binary (built or reused); ToolchainError when it cannot be built."""
        if rule.system_binary:
            found = shutil.which(rule.system_binary) or rule.system_binary
            if not Path(found).exists():
                raise ToolchainError(f"{rule.system_binary} is not installed")
            return Path(found)
        assert rule.build is not None
        if rule.build not in self.binaries:
            built = built_binary(rule.build, self.versions[rule.build])
            if built is None:
                reason = NOT_ON_PROXY.get(rule.build) or "not built (run `plinth sim operators` or scripts/setup.sh test)"
                raise ToolchainError(f"{rule.build} {self.versions[rule.build]}: {reason}")
            self.binaries[rule.build] = built
        return self.binaries[rule.build]

    def _pods(self, namespace: str) -> list[dict[str, Any]]:
        return self.client.list(PODS, namespace)

    def reconcile(self) -> bool:
        """Start or restart programs for their pods; return whether anything changed."""
        changed = False
        pods_by_ns: dict[str, list[dict[str, Any]]] = {}
        self._expand_per_pod(pods_by_ns)
        for key, state in self.states.items():
            rule = state.rule
            if state.status == "unavailable" and rule.kind != "Job":
                try:  # built since (a build running beside the sync): start it for the pod
                    self.binary(rule)
                except ToolchainError:
                    continue
                state.status, state.message = "waiting", ""
            if state.status == "failed" and rule.kind != "Job":
                if state.starts >= MAX_STARTS or time.monotonic() < state.retry_at:
                    continue
                state.status = "waiting"  # the kubelet restarts a container that exited (CrashLoopBackOff)
            namespace = self.namespace_of.get(rule.application)
            if namespace is None:
                continue
            name = state.program
            if rule.kind == "Job":
                changed |= self._reconcile_job(state, name, namespace, pods_by_ns)
                continue
            blocked_before = state.message if state.status == "blocked" else None
            if state.status == "blocked":
                state.status = "waiting"  # the kubelet retries a container it could not configure
            if state.status == "running" and self.cluster.program_alive(name):
                pod = self._find_pod(pods_by_ns, namespace, state.pod)
                meta = (pod or {}).get("metadata") or {}
                if pod is not None and meta.get("deletionTimestamp") is None and (not state.uid or meta.get("uid") == state.uid):
                    self._refresh_volumes(state, name, pod)
                    if not state.pinned:
                        self._answer_for_replicas(state, name, namespace, pods_by_ns)
                    continue
                self.log(f"{state.key}: pod {state.pod} is gone; stopping its program")
                self.cluster.stop_program(name)
                self.supervisor.processes.pop(name, None)
                state.status = "waiting"
                changed = True
            elif state.status == "running":
                state.status, state.message = "failed", f"exited: {self.supervisor.log_tail(name, 8)}"
                state.retry_at = time.monotonic() + BACKOFF_SECONDS * state.starts
                self.supervisor.processes.pop(name, None)
                self.log(f"{state.key}: program exited (start {state.starts} of at most {MAX_STARTS})\n{state.message}")
                changed = True
                continue
            workload = self._workload(namespace, rule)
            if workload is None:
                continue
            pod = self._running_pod(pods_by_ns, namespace, workload, state.pinned)
            if pod is None:
                continue
            try:
                binary = self.binary(rule)
            except ToolchainError as exc:
                state.status, state.message = "unavailable", str(exc)
                self.log(f"{state.key}: {exc}")
                changed = True
                continue
            try:
                self._start(state, name, pod, binary)
                changed = True
            except TakeoverError as exc:
                message = f"CreateContainerConfigError: {exc}"
                if message != state.message:
                    self.log(f"{state.key}: {message} (retried)")
                # A retry that fails the same way changes nothing (the sync's quiet timer keeps running).
                changed |= message != blocked_before
                state.status, state.message = "blocked", message
        if changed:
            self.update_hosts()
        return changed

    def _answer_for_replicas(self, state: ProgramState, name: str, namespace: str, cache: dict[str, list[dict[str, Any]]]) -> None:
        """The workload's other Running pods answer through the program: one program plays the workload, and a
        Service, webhook or APIService picks any of its ready endpoints."""
        workload = self._workload(namespace, state.rule)
        if workload is None:
            return
        ips = sorted(p["status"]["podIP"] for p in self._running_pods(cache, namespace, workload) if p["metadata"]["name"] != state.pod)
        if ips == state.replicas:
            return
        alias_pod_ips(self.cluster.netns, name, [ip for ip in ips if ip not in state.replicas],
                      [ip for ip in state.replicas if ip not in ips])
        state.replicas = ips
        self.log(f"{state.key}: the other replicas' IPs ({', '.join(ips) or 'none'}) answer through the program of {state.pod}")

    def _refresh_volumes(self, state: ProgramState, name: str, pod: dict[str, Any]) -> None:
        """Bring the running program's Secret and ConfigMap volumes up to date, as the kubelet's periodic sync
        does (operators such as CloudNativePG wait for the certificate Secret they wrote to appear in their
        mount). Written through /proc/<pid>/root: the program's own view of its file system."""
        if time.monotonic() < state.refresh_at:
            return
        state.refresh_at = time.monotonic() + REFRESH_SECONDS
        try:
            spec = pod_program(self.cluster, pod, state.rule.container, Path("/bin/true"), argv_prefix=state.rule.argv_prefix,
                               tokens=False)  # tokens live TOKEN_SECONDS; the kubelet renews them near expiry
        except TakeoverError:
            return
        root = Path(f"/proc/{self.cluster.programs[name]['pid']}/root")
        for item in spec.files:
            path = inside_root(root, item["path"])
            content = base64.b64decode(item["content"])
            try:
                if path.exists() and path.read_bytes() == content:
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                path.chmod(int(item.get("mode", 0o644)))
            except OSError:
                continue
            self.log(f"{state.key}: volume file {item['path']} updated (kubelet sync)")

    def _find_pod(self, cache: dict[str, list[dict[str, Any]]], namespace: str, name: str) -> dict[str, Any] | None:
        if namespace not in cache:
            cache[namespace] = self._pods(namespace)
        return next((p for p in cache[namespace] if p["metadata"]["name"] == name), None)

    def _job_pods(self, cache: dict[str, list[dict[str, Any]]], namespace: str, rule: PodProgram) -> list[dict[str, Any]]:
        if namespace not in cache:
            cache[namespace] = self._pods(namespace)
        return [p for p in cache[namespace] if (p["metadata"].get("labels") or {}).get("job-name") == rule.name
                and p.get("status", {}).get("phase") == "Running" and p.get("status", {}).get("podIP")]

    def _finish_job_pod(self, state: ProgramState, name: str) -> None:
        """The program of a Job's pod exited: set the pod's phase from its exit code, as the kubelet would."""
        process = self.supervisor.processes.pop(name, None)
        code = process.returncode if process is not None else 1
        namespace = self.namespace_of[state.rule.application]
        pod = self.cluster.get_json("pod", state.pod, "-n", namespace)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        statuses = [{"name": c["name"], "image": c.get("image", ""), "ready": False, "restartCount": 0, "started": False,
                     "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                              "startedAt": now, "finishedAt": now}}}
                    for c in pod.get("spec", {}).get("containers") or []]
        patch = {"status": {"phase": "Succeeded" if code == 0 else "Failed", "containerStatuses": statuses}}
        self.cluster.kubectl("patch", "pod", state.pod, "-n", namespace, "--subresource=status", "--type=merge", "-p", json.dumps(patch))
        state.status = "completed" if code == 0 else "failed"
        state.message = "" if code == 0 else f"exit {code}: {self.supervisor.log_tail(name, 8)}"
        self.cluster.programs.pop(name, None)
        self.log(f"{state.key}: pod {state.pod} finished with exit code {code}")

    def _reconcile_job(self, state: ProgramState, name: str, namespace: str, cache: dict[str, list[dict[str, Any]]]) -> bool:
        process = self.supervisor.processes.get(name)
        if state.status == "running" and process is not None:
            if process.poll() is None:
                return False
            self._finish_job_pod(state, name)
            return True
        for pod in self._job_pods(cache, namespace, state.rule):
            if pod["metadata"]["name"] == state.pod and state.status in ("completed", "failed", "unavailable"):
                continue
            try:
                self._start(state, name, pod, self.binary(state.rule))
            except TakeoverError as exc:
                state.status, state.message, state.pod = "failed", str(exc), pod["metadata"]["name"]
                self.log(f"{state.key}: {exc}")
            except ToolchainError as exc:  # no program to play it: the pod completes as kwok completes every other Job's
                state.status, state.pod = "unavailable", pod["metadata"]["name"]
                state.message = f"{exc}; its pod was completed as kwok completes the others"
                self.cluster.kubectl("patch", "pod", state.pod, "-n", namespace, "--subresource=status", "--type=merge", "-p",
                                     json.dumps({"status": {"phase": "Succeeded"}}))
                self.log(f"{state.key}: {state.message}")
            return True
        return False

    def _workload(self, namespace: str, rule: PodProgram) -> dict[str, Any] | None:
        return self.client.get(WORKLOADS[rule.kind], rule.name, namespace)

    def _running_pods(self, cache: dict[str, list[dict[str, Any]]], namespace: str, workload: dict[str, Any]) -> list[dict[str, Any]]:
        """The workload's Running pods that have an IP and are not being deleted, by name."""
        if namespace not in cache:
            cache[namespace] = self._pods(namespace)
        selector = _selector(workload)
        return sorted((p for p in cache[namespace]
                       if _matches(p["metadata"].get("labels") or {}, selector) and p.get("status", {}).get("phase") == "Running"
                       and p.get("status", {}).get("podIP") and p["metadata"].get("deletionTimestamp") is None),
                      key=lambda p: p["metadata"]["name"])

    def _running_pod(self, cache: dict[str, list[dict[str, Any]]], namespace: str, workload: dict[str, Any],
                     pinned: str = "") -> dict[str, Any] | None:
        running = [p for p in self._running_pods(cache, namespace, workload) if not pinned or p["metadata"]["name"] == pinned]
        return running[0] if running else None

    def _link_target(self, target: str, binary: Path) -> str:
        """``{binary}``: the rule's program; ``{build:NAME}``: another program's build (an operator's binary whose
        subcommand the image runs first, as an init container)."""
        if target.startswith("{build:") and target.endswith("}"):
            build = target[len("{build:"):-1]
            built = built_binary(build, self.versions[build])
            if built is None:
                raise TakeoverError(f"{build} {self.versions[build]} is not built")
            return str(built)
        return target.replace("{binary}", str(binary))

    def _start(self, state: ProgramState, name: str, pod: dict[str, Any], binary: Path) -> None:
        rule = state.rule
        env_overrides: dict[str, str] = {}
        spec = pod_program(self.cluster, pod, rule.container, binary, argv_prefix=rule.argv_prefix,
                           extra_path=self.extra_path, drop_first_arg=rule.drop_first_arg)
        for key, value in rule.env:
            env_overrides[key] = expand(value, {**spec.env, "POD_IP": spec.pod_ip})
        spec.env.update(env_overrides)
        if rule.argv is not None:
            spec.argv = [str(binary), *(expand(a, spec.env) for a in rule.argv)]
        spec.links = [{"path": path, "target": self._link_target(target, binary)} for path, target in rule.image_links]
        spec.files = [*spec.files, *({"path": path, "content": base64.b64encode(content.encode()).decode(), "mode": 0o644}
                                     for path, content in rule.image_files)]
        if not spec.pod_ip:
            raise TakeoverError("the pod has no IP yet")
        pod_netns = attach_pod_network(self.cluster.netns, name, spec.pod_ip)
        state_dir = self.cluster.folder / "pods" / name
        argv = launcher_argv(self.cluster, spec, state_dir, pod_netns)
        self.supervisor.start(name, argv, as_service_user=False)
        state.uid = str(pod["metadata"].get("uid", ""))
        self.cluster.record_program(name, self.supervisor.processes[name].pid, spec.pod, state.uid)
        state.status, state.pod, state.command, state.message, state.replicas = "running", spec.pod, describe(spec), "", []
        state.starts += 1
        state.notes = spec.notes + ([rule.note] if rule.note else [])
        self.log(f"{state.key}: running {Path(spec.binary).name} as pod {spec.namespace}/{spec.pod} ({spec.pod_ip})")

    def update_hosts(self) -> None:
        """Point each Service that selects a taken-over pod at that pod's IP in the namespace's hosts file (the
        first such pod by name when several do), and a headless Service's per-pod names
        (``pod.service.namespace.svc``) at each pod's own IP."""
        entries: dict[str, str] = {}
        taken = sorted({(self.namespace_of[s.rule.application], s.pod) for s in self.states.values() if s.status == "running"})
        for namespace in sorted({ns for ns, _ in taken}):
            pods = {p["metadata"]["name"]: p for p in self._pods(namespace)}
            for service in self.client.list(SERVICES, namespace):
                spec = service.get("spec") or {}
                svc = service["metadata"]["name"]
                for ns, pod_name in taken:
                    pod = pods.get(pod_name)
                    ip = ((pod or {}).get("status") or {}).get("podIP")
                    # a StatefulSet's pod recreated under the same name (its node lost) has no IP until it is scheduled
                    if ns != namespace or pod is None or not ip or not _matches(pod["metadata"].get("labels") or {}, spec.get("selector") or {}):
                        continue
                    for host in _service_names(svc, namespace):
                        entries.setdefault(host, ip)
                    if spec.get("clusterIP") == "None":
                        for host in _service_names(f"{pod_name}.{svc}", namespace):
                            entries[host] = ip
        write_hosts(self.cluster.netns, entries)

    def unavailable(self) -> dict[str, str]:
        """Operators that cannot run here and why (the builds the proxy refuses)."""
        return dict(NOT_ON_PROXY)

    def report(self) -> list[dict[str, Any]]:
        """Every rule's outcome, for the sync report."""
        return [{"application": s.rule.application, "workload": s.key, "status": s.status, "pod": s.pod, "starts": s.starts,
                 "program": Path(s.rule.system_binary).name if s.rule.system_binary else s.rule.build,
                 "message": s.message, "notes": s.notes, "replicas_answered": list(s.replicas)} for s in self.states.values()]


def inside_root(root: Path, path: str, depth: int = 0) -> Path:
    """``path`` as the process whose root is ``root`` sees it: symbolic links (``/var/run`` -> ``/run``) are followed
    inside that root, never into the host's file system."""
    parts = [p for p in path.split("/") if p]
    current = Path("/")
    for index, part in enumerate(parts):
        candidate = current / part
        host = root / str(candidate).lstrip("/")
        if index < len(parts) - 1 and depth < 16 and host.is_symlink():
            target = os.readlink(host)
            resolved = os.path.normpath(target if target.startswith("/") else str(current / target))
            return inside_root(root, resolved + "/" + "/".join(parts[index + 1:]), depth + 1)
        current = candidate
    return root / str(current).lstrip("/")


def build_all(versions: dict[str, str], names: tuple[str, ...], log: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Build (or reuse) the named programs; return per program its path or error and the build time."""
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        if name not in OPERATORS:
            continue
        started = time.monotonic()
        try:
            path = ensure_operator(name, versions[name], log=log)
            results[name] = {"path": str(path), "seconds": round(time.monotonic() - started, 1)}
        except ToolchainError as exc:
            results[name] = {"error": str(exc), "seconds": round(time.monotonic() - started, 1)}
    return results
