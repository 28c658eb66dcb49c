"""`plinth sim up --detach` / `status` / `down`: the processes are stopped by PID and the namespace removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from plinth.procs import pid_alive
from plinth.sim.cluster import SimCluster, netns_exists

pytestmark = pytest.mark.sim

REPO = Path(__file__).resolve().parents[2]


def _plinth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", "sim", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def test_detached_cluster_is_addressed_by_its_state_folder_and_stopped_by_pid(sim_versions, tmp_path: Path, monkeypatch) -> None:
    env = {**os.environ, "PLINTH_SIM_STATE": str(tmp_path)}
    monkeypatch.setenv("PLINTH_SIM_STATE", str(tmp_path))
    name = f"life{os.getpid()}"
    minor = sim_versions.minor
    up = _plinth("up", "--name", name, "--env", "staging", "--nodes", "min", "--kubernetes", minor, "--detach", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        cluster = SimCluster.load(name)
        assert set(cluster.pids) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
        assert all(cluster.alive().values())
        second = _plinth("up", "--name", name, "--kubernetes", minor, "--detach", env=env)
        assert second.returncode == 2 and "already running" in second.stderr
        assert all(cluster.alive().values()) and netns_exists(cluster.netns)
        status = _plinth("status", "--name", name, env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        nodes = _plinth("kubectl", "--name", name, "--", "get", "nodes", "-o", "name", env=env)
        assert nodes.returncode == 0, nodes.stderr
        assert len(nodes.stdout.split()) == 3 + 3  # staging: apps min_nodes 3, data min_nodes 3
    finally:
        down = _plinth("down", "--name", name, env=env)
    assert down.returncode == 0, down.stdout + down.stderr
    for pid in cluster.pids.values():
        # Stopped: gone, exited and waiting to be reaped by whoever adopted it (a zombie), or the PID reused by
        # another program.
        assert not pid_alive(pid) or _program(pid) not in {"etcd", "kube-apiserver"}
    assert not netns_exists(cluster.netns)
    assert not (tmp_path / name).exists()
    again = _plinth("status", "--name", name, env=env)
    assert again.returncode == 2 and "no simulated cluster" in again.stderr


def _program(pid: int) -> str | None:
    """The executable a PID runs, or None when it cannot be read (the process is gone or a zombie)."""
    try:
        return Path(f"/proc/{pid}/exe").resolve(strict=True).name
    except OSError:
        return None
