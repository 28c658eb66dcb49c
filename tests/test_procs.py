"""The process probes the safe writes and the simulated cluster rely on."""

from __future__ import annotations

import os
import subprocess
import time

from plinth.procs import pid_alive
from plinth.sim.cluster import process_start_time


def test_a_running_process_is_alive_and_an_exited_unreaped_one_is_not() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert pid_alive(child.pid) and process_start_time(child.pid) is not None
    finally:
        child.kill()
    # Killed but not reaped yet: the PID still exists (a zombie) and must not count as a running program.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.05)
    os.kill(child.pid, 0)  # the PID is still taken
    assert not pid_alive(child.pid)
    assert process_start_time(child.pid) is None
    child.wait()
    assert not pid_alive(child.pid)
