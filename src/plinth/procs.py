"""Processes Plinth runs itself (the drills' servers, the simulated cluster's control plane): each started in its own
process group, always stopped by PID, even on failure, Ctrl-C or SIGTERM.

Servers that refuse to run as root (PostgreSQL) run as an unprivileged user when the drill runs as root
(CI does): ``service_user()`` picks it and ``owned_tempdir()`` gives it a directory it can write.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_USER_CANDIDATES = ("postgres", "redis", "nobody")
"""Users a drill may run servers as when started by root, in order of preference."""


class ProcessSetupError(RuntimeError):
    """What a drill or the simulated cluster needs could not be started (missing binary, server that never came up)."""


def service_user() -> str | None:
    """The user servers run as: None when we are not root (run as ourselves), else an existing system user."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USER_CANDIDATES:
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ProcessSetupError("running as root but no unprivileged user (postgres, redis, nobody) exists to run servers as")


def chown_to_service_user(path: Path) -> None:
    """Give a path (recursively) to the service user, so servers started as that user can write it."""
    user = service_user()
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False)


@contextmanager
def owned_tempdir(prefix: str) -> Iterator[Path]:
    """A temporary directory the service user owns; removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path.chmod(0o755)
        chown_to_service_user(path)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _zombie(pid: int) -> bool:
    """Whether the process has exited and waits to be reaped (state Z or X in /proc/<pid>/stat)."""
    try:
        state = open(f"/proc/{pid}/stat", encoding="ascii", errors="replace").read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID runs (one owned by another user counts; an exited one nobody reaped yet
    does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (picked by the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> list[int]:
    """Several distinct free ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def require_binary(path: str) -> str:
    """The binary's path, or a clear setup error naming the Debian package to install."""
    found = shutil.which(path) or (path if Path(path).is_file() else None)
    if found is None:
        raise ProcessSetupError(f"{path} not found: install the drill packages (scripts/apt-test.txt; `make test` does it)")
    return found


def wait_until(check: Callable[[], bool], timeout_seconds: float, what: str, interval_seconds: float = 0.1) -> float:
    """Poll ``check`` until it is true; return the time it became true; raise after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return time.monotonic()
        except ProcessSetupError:
            raise  # a probe that knows the wait is hopeless (the process exited)
        except Exception as exc:  # noqa: BLE001 - any failure of a probe means "not yet"
            last_error = exc
        time.sleep(interval_seconds)
    detail = f" (last error: {last_error})" if last_error else ""
    raise ProcessSetupError(f"timed out after {timeout_seconds:.0f} s waiting for {what}{detail}")


@dataclass
class Supervisor:
    """Starts processes in their own process groups and stops every one of them by PID on ``close``."""

    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    """Processes stopped with SIGSTOP (resumed before they are stopped for good)."""

    def start(self, name: str, argv: list[str], *, as_service_user: bool = True, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start ``argv`` (logged to ``<log_dir>/<name>.log``) in a new session, as the service user if asked."""
        require_binary(argv[0])
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it open
        user = service_user() if as_service_user else None
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, **(env or {})}, cwd=cwd, user=user, group=(pwd.getpwnam(user).pw_gid if user else None),
        )
        log.close()
        self.processes[name] = proc
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL a process and its whole group (a server and its children), like losing the machine."""
        proc = self.processes.get(name)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.paused.discard(name)
        proc.wait(timeout=30)

    def pause(self, name: str) -> None:
        """SIGSTOP a process group: it keeps its sockets but answers nothing (a stalled or cut-off server)."""
        proc = self.processes.get(name)
        if proc is None:
            return
        os.killpg(proc.pid, signal.SIGSTOP)
        self.paused.add(name)

    def resume(self, name: str) -> None:
        """SIGCONT a paused process group."""
        proc = self.processes.get(name)
        if proc is None or name not in self.paused:
            return
        self.paused.discard(name)
        try:
            os.killpg(proc.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def stop(self, name: str, grace_seconds: float = 10.0) -> None:
        """SIGTERM a process group, then SIGKILL it if it has not exited after the grace period."""
        self.resume(name)  # a stopped process would not act on SIGTERM
        proc = self.processes.pop(name, None)
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace_seconds), (signal.SIGKILL, 30.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The group may outlive its leader (PostgreSQL backends): make sure none of it is left.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last lines of a process's log, for error messages."""
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """Stop every process still running, newest first."""
        for name in reversed(list(self.processes)):
            self.stop(name, grace_seconds=5.0)


@contextmanager
def supervised(log_dir: Path) -> Iterator[Supervisor]:
    """A ``Supervisor`` whose processes are all stopped when the block ends, however it ends."""
    supervisor = Supervisor(log_dir)
    try:
        yield supervisor
    finally:
        supervisor.close()


def run_checked(argv: list[str], *, as_service_user: bool = True, env: dict[str, str] | None = None,
                timeout_seconds: float = 1800, what: str = "") -> str:
    """Run a command to completion (as the service user if asked); raise with its output if it fails."""
    require_binary(argv[0])
    user = service_user() if as_service_user else None
    result = subprocess.run(
        argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout_seconds,
        user=user, group=(pwd.getpwnam(user).pw_gid if user else None), stdin=subprocess.DEVNULL, cwd="/",
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise ProcessSetupError(f"{what or argv[0]} failed (exit {result.returncode}):\n" + "\n".join(output))
    return result.stdout
