"""A real Kubernetes control plane on simulated nodes, inside a private network namespace.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok run in the network namespace
``plinth-sim-<name>`` with only loopback up: nothing they (or operators started later) do can reach
another address. Each process runs in its own process group (the drills' ``Supervisor``) and is stopped
by PID: when the ``running_cluster`` block ends, on Ctrl-C or SIGTERM of ``plinth sim up``, or when any
process fails to come up. Clients run in the namespace too (``SimCluster.kubectl``).

A long-lived cluster (``plinth sim up --detach``) is addressed by its state folder
``<state root>/<name>/`` (``$PLINTH_SIM_STATE``, default ``<sim cache>/clusters``) holding
``state.json`` (network namespace, ports, PIDs, versions), ``kubeconfig`` (admin), ``pki/``,
``etcd/`` and ``logs/``; ``plinth sim down`` stops the PIDs recorded there and deletes the namespace.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from plinth.procs import ProcessSetupError, Supervisor, pid_alive, wait_until
from plinth.kube.yamlio import dump_yaml
from plinth.sim.pki import GATEWAY_IP, make_pki
from plinth.sim.toolchain import SimVersions, binary, cache_root, kwok_stage_files

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.0.0.1/16"
"""kwok hands out pod IPs from here; nothing routes to them (the namespace has only loopback)."""
ISSUER = "https://kubernetes.default.svc.cluster.local"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
PLAYED_JOBS = ("envoy-gateway-gateway-helm-certgen",)
"""Jobs whose pods a real program plays (``plinth.sim.programs``): kwok leaves them Running instead of completing
them at once, and the program's exit code decides the pod's phase."""
START_TIMEOUT_SECONDS = 120.0


class SimError(RuntimeError):
    """The simulated cluster could not be started, reached or stopped."""


def state_root() -> Path:
    """Where clusters keep their state folders: ``$PLINTH_SIM_STATE`` or ``<sim cache>/clusters``."""
    explicit = os.environ.get("PLINTH_SIM_STATE")
    return Path(explicit).expanduser().resolve() if explicit else cache_root() / "clusters"


def netns_name(name: str) -> str:
    """The network namespace of a cluster."""
    return f"plinth-sim-{name}"


def _run(argv: list[str], *, check: bool = True, input_text: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, input=input_text, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise SimError(f"`{' '.join(argv)}` failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()}")
    return result


def netns_exists(netns: str) -> bool:
    """Whether a network namespace of that name exists."""
    return netns in _run(["ip", "netns", "list"]).stdout.split()


def netns_etc(netns: str) -> Path:
    """The folder whose files ``ip netns exec`` binds over /etc/ for processes of the namespace."""
    return Path("/etc/netns") / netns


def create_netns(netns: str) -> None:
    """Create a network namespace with only loopback up, and its own /etc/hosts and /etc/resolv.conf.

    The hosts file maps the cluster's Service names to the programs that stand in for their pods
    (``write_hosts``); resolv.conf points at 127.0.0.1, where nothing answers, so other names fail at once.
    """
    if os.geteuid() != 0:
        raise SimError("a simulated cluster needs root to create its network namespace (ip netns add)")
    if shutil.which("ip") is None:
        raise SimError("`ip` (Debian package iproute2) is not installed")
    etc = netns_etc(netns)
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "hosts").write_text(HOSTS_HEADER)
    (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    _run(["ip", "netns", "add", netns])
    _run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"])
    _run(["ip", "netns", "exec", netns, "ip", "addr", "add", f"{GATEWAY_IP}/32", "dev", "lo"])
    # Pod networks reach each other through this namespace, as nodes route between pods.
    _run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])


def pod_netns_names(netns: str, program: str) -> tuple[str, str]:
    """The network namespace of a program's pod and the name of its veth end in the cluster's namespace."""
    digest = hashlib.sha1(f"{netns}/{program}".encode()).hexdigest()[:10]
    return f"{netns}-pod-{digest}", f"vp{digest}"


def attach_pod_network(netns: str, program: str, ip: str) -> str:
    """A network namespace of the program's own holding its pod's IP, as a pod's sandbox does: a veth pair to the
    cluster's namespace, which routes the IP to it; default route via ``GATEWAY_IP``. Two programs may then listen on
    the same port (every operator's health probe on :8081). Replaces the program's earlier pod network. Returns the
    namespace's name."""
    pod_ns, host_if = pod_netns_names(netns, program)
    _run(["ip", "netns", "exec", netns, "ip", "link", "del", host_if], check=False)
    delete_netns(pod_ns)
    _run(["ip", "netns", "add", pod_ns])
    inside = ["ip", "netns", "exec", netns]
    _run([*inside, "ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", pod_ns])
    _run([*inside, "ip", "link", "set", host_if, "up"])
    _run([*inside, "ip", "route", "replace", f"{ip}/32", "dev", host_if])
    for argv in (["link", "set", "lo", "up"], ["link", "set", "eth0", "up"], ["addr", "add", f"{ip}/32", "dev", "eth0"],
                 ["route", "add", GATEWAY_IP, "dev", "eth0", "scope", "link"],
                 ["route", "add", "default", "via", GATEWAY_IP, "dev", "eth0"]):
        _run(["ip", "-n", pod_ns, *argv])
    return pod_ns


def alias_pod_ips(netns: str, program: str, add: list[str], remove: list[str]) -> None:
    """Let the program's pod network also hold other pods' IPs (``add``; ``remove``: no longer): the replicas of a
    workload whose one pod a program plays then answer through it, so a Service, webhook or APIService whose
    endpoints are all the replicas reaches a real server whichever endpoint the API server picks."""
    pod_ns, host_if = pod_netns_names(netns, program)
    for ip in remove:
        _run(["ip", "-n", pod_ns, "addr", "del", f"{ip}/32", "dev", "eth0"], check=False)
        _run(["ip", "netns", "exec", netns, "ip", "route", "del", f"{ip}/32", "dev", host_if], check=False)
    for ip in add:
        _run(["ip", "-n", pod_ns, "addr", "replace", f"{ip}/32", "dev", "eth0"])
        _run(["ip", "netns", "exec", netns, "ip", "route", "replace", f"{ip}/32", "dev", host_if])


def delete_pod_networks(netns: str) -> None:
    """Delete every pod network of the cluster's programs (their veth ends go with them)."""
    root = Path("/run/netns")
    for path in sorted(root.glob(f"{netns}-pod-*")) if root.is_dir() else []:
        # The veth goes with the namespace, but only once the kernel frees it: deleted here at once.
        host_if = "vp" + path.name.rsplit("-pod-", 1)[1]
        if netns_exists(netns):
            _run(["ip", "netns", "exec", netns, "ip", "link", "del", host_if], check=False)
        delete_netns(path.name)


HOSTS_HEADER = "127.0.0.1 localhost\n::1 localhost\n"


def write_hosts(netns: str, entries: dict[str, str]) -> None:
    """Rewrite the namespace's hosts file in place (running processes see it through their bind mount)."""
    lines = [HOSTS_HEADER] + [f"{ip} {name}\n" for name, ip in sorted(entries.items())]
    with (netns_etc(netns) / "hosts").open("r+") as handle:
        handle.seek(0)
        handle.write("".join(lines))
        handle.truncate()


def delete_netns(netns: str) -> None:
    """Delete a network namespace (and its /etc/netns folder) if it exists, with its programs' pod networks."""
    if "-pod-" not in netns:
        delete_pod_networks(netns)
    if netns_exists(netns):
        _run(["ip", "netns", "delete", netns])
    shutil.rmtree(netns_etc(netns), ignore_errors=True)


def _pid_runs(pid: int, program: Path) -> bool:
    """Whether ``pid`` is still the process we started (its executable is ``program``), not a recycled PID."""
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).resolve() == program.resolve()
    except OSError:
        return False


def process_start_time(pid: int) -> int | None:
    """The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or None if it is gone or has
    exited and waits to be reaped (a zombie runs nothing: the program must be started again)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def stop_process_group(pid: int, grace_seconds: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after the grace period."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and pid_alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sim", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": user}}],
        "current-context": "sim",
    }


@dataclass
class SimCluster:
    """A simulated cluster: where its state lives and how to reach it."""

    name: str
    folder: Path
    versions: SimVersions
    netns: str
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    programs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Processes started after the control plane (Argo CD, operators, servers): name -> pid and start time."""

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig (valid inside the network namespace)."""
        return self.folder / "kubeconfig"

    @property
    def server(self) -> str:
        """The API server's URL inside the namespace."""
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    def save(self) -> None:
        """Write state.json."""
        data = {"name": self.name, "netns": self.netns, "versions": asdict(self.versions), "ports": self.ports, "pids": self.pids,
                "programs": self.programs}
        (self.folder / "state.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, name: str) -> "SimCluster":
        """The cluster recorded in ``<state root>/<name>/state.json``."""
        folder = state_root() / name
        path = folder / "state.json"
        if not path.exists():
            raise SimError(f"no simulated cluster {name!r} ({path} does not exist): start one with `plinth sim up --detach`")
        data = json.loads(path.read_text())
        return cls(name=data["name"], folder=folder, versions=SimVersions(**data["versions"]), netns=data["netns"],
                   ports=data["ports"], pids={k: int(v) for k, v in data["pids"].items()}, programs=data.get("programs", {}))

    def in_netns(self, argv: list[str], *, input_text: str | None = None, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a command inside the cluster's network namespace."""
        return _run(["ip", "netns", "exec", self.netns, *argv], input_text=input_text, check=check, timeout=timeout)

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the cluster's own kubectl (same release as the API server) against it."""
        argv = [str(binary(self.versions, "kubectl")), f"--kubeconfig={self.kubeconfig}", *args]
        return self.in_netns(argv, input_text=input_text, check=check, timeout=timeout)

    def get_json(self, *args: str) -> dict[str, Any]:
        """``kubectl get ... -o json`` parsed."""
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def alive(self) -> dict[str, bool]:
        """Whether each recorded control-plane process is still the one started."""
        return {name: _pid_runs(pid, binary(self.versions, name)) for name, pid in self.pids.items()}

    def record_program(self, name: str, pid: int, pod: str = "", uid: str = "") -> None:
        """Remember a program started for this cluster (stopped by ``stop``; ``pod``, ``uid``: the pod it plays),
        and save the state."""
        start = process_start_time(pid)
        if start is not None:
            self.programs[name] = {"pid": pid, "start": start, **({"pod": pod} if pod else {}), **({"uid": uid} if uid else {})}
            self.save()

    def program_alive(self, name: str) -> bool:
        """Whether a recorded program is still the process started (same PID and start time)."""
        record = self.programs.get(name)
        return bool(record) and process_start_time(record["pid"]) == record["start"]

    def stop_program(self, name: str, grace_seconds: float = 5.0) -> None:
        """Stop one recorded program's process group by PID (if it is still the one started)."""
        if self.program_alive(name):
            stop_process_group(self.programs[name]["pid"], grace_seconds=grace_seconds)
        self.programs.pop(name, None)

    def stop(self) -> None:
        """Stop every recorded process (programs, then the control plane newest first) by PID and delete the
        network namespace."""
        for name in reversed(list(self.programs)):
            self.stop_program(name)
        for name in reversed(list(self.pids)):
            pid = self.pids[name]
            if _pid_runs(pid, binary(self.versions, name)):
                stop_process_group(pid, grace_seconds=5.0)
        self.pids.clear()
        delete_netns(self.netns)


def _http_ok(cluster: SimCluster, url: str) -> bool:
    """Whether a GET of ``url`` inside the namespace answers 200 (TLS not verified: a liveness probe)."""
    script = (
        "import ssl,sys,urllib.request\n"
        "ctx=ssl.create_default_context(); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE\n"
        "sys.exit(0 if urllib.request.urlopen(sys.argv[1], context=ctx, timeout=3).status == 200 else 1)\n"
    )
    return cluster.in_netns([sys.executable, "-c", script, url], check=False, timeout=30).returncode == 0


def _free_ports_in_netns(netns: str, count: int) -> list[int]:
    """Ports the kernel picks as free inside the namespace."""
    script = (
        "import socket\nsocks=[]\n"
        f"for _ in range({count}):\n s=socket.socket(); s.bind(('127.0.0.1',0)); socks.append(s)\n"
        "print(' '.join(str(s.getsockname()[1]) for s in socks))\n"
    )
    out = _run(["ip", "netns", "exec", netns, sys.executable, "-c", script]).stdout
    return [int(p) for p in out.split()]


def _argv(cluster: SimCluster, component: str) -> list[str]:
    pki = cluster.folder / "pki"
    ports = cluster.ports
    exe = str(binary(cluster.versions, component))
    kubeconfig = cluster.folder / f"{component}.kubeconfig"
    if component == "etcd":
        client, peer = f"http://127.0.0.1:{ports['etcd']}", f"http://127.0.0.1:{ports['etcd-peer']}"
        return [exe, "--name=sim", f"--data-dir={cluster.folder / 'etcd'}", f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}", f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=sim={peer}", "--initial-cluster-state=new", "--unsafe-no-fsync",
                "--quota-backend-bytes=8589934592", "--log-level=warn"]
    if component == "kube-apiserver":
        # Every address of the private namespace: 127.0.0.1 for the tools, GATEWAY_IP for the programs' pods.
        return [exe, f"--etcd-servers=http://127.0.0.1:{ports['etcd']}", "--bind-address=0.0.0.0",
                f"--secure-port={ports['kube-apiserver']}", "--advertise-address=127.0.0.1",
                # The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints refuse: nothing maintains them.
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}", "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction", f"--service-account-issuer={ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--api-audiences={ISSUER}", f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
                f"--requestheader-client-ca-file={pki / 'front-proxy-ca.crt'}", "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}", f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
                "--enable-aggregator-routing=true", "--profiling=false", "--event-ttl=2h"]
    if component == "kube-controller-manager":
        return [exe, f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1",
                f"--secure-port={ports['kube-controller-manager']}", "--leader-elect=false",
                "--use-service-account-credentials=true", f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}", f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}", f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allocate-node-cidrs=false", "--kube-api-qps=200", "--kube-api-burst=400", "--profiling=false"]
    if component == "kube-scheduler":
        return [exe, f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1",
                f"--secure-port={ports['kube-scheduler']}", "--leader-elect=false", "--profiling=false"]
    if component == "kwok":
        return [exe, f"--kubeconfig={kubeconfig}", "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", f"--cidr={POD_CIDR}",
                "--node-ip=10.0.0.1", f"--server-address=127.0.0.1:{ports['kwok']}", "--node-lease-duration-seconds=40",
                "--config=" + ",".join(str(p) for p in _stage_files(cluster))]
    raise ValueError(component)


def _stage_files(cluster: SimCluster) -> list[Path]:
    """kwok's fast stages, the pod-complete one narrowed to leave the played Jobs' pods Running."""
    files = []
    for path in kwok_stage_files(cluster.versions):
        if path.name.endswith("pod-complete.yaml") and PLAYED_JOBS:
            stage = yaml.safe_load(path.read_text())
            stage["spec"]["selector"]["matchExpressions"].append(
                {"key": '.metadata.labels["job-name"]', "operator": "NotIn", "values": list(PLAYED_JOBS)})
            path = cluster.folder / path.name
            path.write_text(yaml.safe_dump(stage, sort_keys=False))
        files.append(path)
    return files


def _health_url(cluster: SimCluster, component: str) -> str | None:
    port = cluster.ports[component]
    return {
        "kube-controller-manager": f"https://127.0.0.1:{port}/healthz",
        "kube-scheduler": f"https://127.0.0.1:{port}/healthz",
        "kwok": f"http://127.0.0.1:{port}/healthz",
    }.get(component)


def _prepare(name: str, versions: SimVersions) -> SimCluster:
    folder = state_root() / name
    netns = netns_name(name)
    if (folder / "state.json").exists():
        existing = SimCluster.load(name)
        if any(existing.alive().values()):
            raise SimError(f"simulated cluster {name!r} is already running (state in {folder}); `plinth sim down --name {name}` first")
        existing.stop()
    elif netns_exists(netns):
        delete_netns(netns)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "logs").mkdir(parents=True)
    for component in COMPONENTS:
        binary(versions, component)  # fail before anything starts when a binary is missing
    create_netns(netns)
    cluster = SimCluster(name=name, folder=folder, versions=versions, netns=netns)
    ports = _free_ports_in_netns(netns, 6)
    cluster.ports = dict(zip(("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"), ports))
    pki = make_pki(folder / "pki").folder
    users = {"kube-controller-manager": "controller-manager", "kube-scheduler": "scheduler", "kwok": "kwok"}
    for component, stem in users.items():
        config = _kubeconfig(cluster.server, pki / "ca.crt", pki / f"{stem}.crt", pki / f"{stem}.key", stem)
        (folder / f"{component}.kubeconfig").write_text(dump_yaml(config))
    admin = _kubeconfig(cluster.server, pki / "ca.crt", pki / "admin.crt", pki / "admin.key", "admin")
    cluster.kubeconfig.write_text(dump_yaml(admin))
    return cluster


def _start_all(cluster: SimCluster, supervisor: Supervisor) -> None:
    def alive_check(component: str) -> None:
        process = supervisor.processes[component]
        if process.poll() is not None:
            raise ProcessSetupError(f"{component} exited with code {process.returncode}:\n{supervisor.log_tail(component)}")

    for component in COMPONENTS:
        supervisor.start(component, ["ip", "netns", "exec", cluster.netns, *_argv(cluster, component)], as_service_user=False)
        cluster.pids[component] = supervisor.processes[component].pid
        cluster.save()
        if component == "kube-apiserver":
            def ready() -> bool:
                alive_check("etcd")
                alive_check("kube-apiserver")
                return cluster.kubectl("get", "--raw=/readyz", check=False, timeout=30).returncode == 0
            wait_until(ready, START_TIMEOUT_SECONDS, "kube-apiserver /readyz", interval_seconds=0.5)
        url = _health_url(cluster, component)
        if url:
            def healthy(component: str = component, url: str = url) -> bool:
                alive_check(component)
                return _http_ok(cluster, url)
            wait_until(healthy, START_TIMEOUT_SECONDS, f"{component} {url}", interval_seconds=0.5)


def start_cluster(name: str, versions: SimVersions, supervisor: Supervisor) -> SimCluster:
    """Create the namespace, certificates and kubeconfigs, start the five processes, wait until healthy.

    The processes belong to ``supervisor``; the caller stops them (or detaches them, see ``detach``).
    """
    cluster = _prepare(name, versions)
    supervisor.log_dir = cluster.folder / "logs"
    try:
        _start_all(cluster, supervisor)
        wait_until(lambda: bool(cluster.get_json("serviceaccount", "default", "-n", "default")), START_TIMEOUT_SECONDS,
                   "the default ServiceAccount (controller-manager running)", interval_seconds=0.5)
    except ProcessSetupError as exc:
        raise SimError(str(exc)) from exc
    return cluster


@contextmanager
def running_cluster(name: str, versions: SimVersions, *, keep_state: bool = False) -> Iterator[SimCluster]:
    """A simulated cluster for the duration of a block: every process stopped by PID, namespace deleted,
    state folder removed (kept with ``keep_state``, e.g. to read the logs)."""
    supervisor = Supervisor(state_root())
    try:
        yield start_cluster(name, versions, supervisor)
    finally:
        supervisor.close()
        delete_netns(netns_name(name))
        if not keep_state:
            shutil.rmtree(state_root() / name, ignore_errors=True)


def discard_state(name: str, *, keep_logs: bool = True) -> None:
    """Remove a stopped cluster's etcd data, keys and state file (its logs stay unless ``keep_logs`` is False)."""
    folder = state_root() / name
    if not keep_logs:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in ("etcd", "pki"):
        shutil.rmtree(folder / child, ignore_errors=True)
    (folder / "state.json").unlink(missing_ok=True)


def detach(cluster: SimCluster, supervisor: Supervisor) -> None:
    """Leave the processes running after this Python process exits; ``SimCluster.load(name).stop()`` ends them."""
    cluster.save()
    supervisor.processes.clear()


def watch(cluster: SimCluster, supervisor: Supervisor, poll_seconds: float = 1.0) -> str:
    """Block until a process exits, Ctrl-C or SIGTERM; return why. The caller then stops everything."""
    stop_reason: list[str] = []

    def on_term(signum: int, _frame: Any) -> None:
        stop_reason.append(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while not stop_reason:
            for component, process in supervisor.processes.items():
                if process.poll() is not None:
                    return f"{component} exited with code {process.returncode}:\n{supervisor.log_tail(component)}"
            time.sleep(poll_seconds)
        return stop_reason[0]
    except KeyboardInterrupt:
        return "SIGINT"
    finally:
        signal.signal(signal.SIGTERM, previous)
