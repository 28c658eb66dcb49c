"""Run a real program as the container of a simulated pod: ``python -m plinth.sim.podrun SPEC.json``.

Started inside the cluster's network namespace (``ip netns exec`` gives it a private mount namespace), it
builds the container's file system view and then becomes the program (``execve``: the PID stays the one
the supervisor recorded):

1. a tmpfs under the pod's state folder holds the upper and work layers of an overlay whose lower layer is
   the host's root, so nothing the program (or the set-up) writes reaches the host;
2. /proc, /sys and /dev are bound in, and the namespace's own /etc/hosts and /etc/resolv.conf (the ones
   ``ip netns exec`` put in place) over the overlay's;
3. after ``chroot`` into the overlay, the pod's volumes are written at their mount paths (the service
   account token as ``/var/run/secrets/kubernetes.io/serviceaccount``, Secrets, ConfigMaps, downward API
   files) and empty dirs created, exactly as the spec lists them;
4. ``execve`` of the program with the container's resolved arguments and environment.

The spec (JSON) is written by ``plinth.sim.takeover``: ``{"state": dir, "binary": path, "argv": [...],
"env": {...}, "workdir": "/", "files": [{"path", "content" (base64), "mode"}], "dirs": [...]}``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def prepare_root(state: Path) -> Path:
    """Mount the overlay root for the pod; return its path."""
    layers = state / "root"
    layers.mkdir(parents=True, exist_ok=True)
    _mount("--make-rprivate", "/")
    _mount("-t", "tmpfs", "-o", "mode=0755", "podrun", str(layers))
    upper, work, merged = layers / "upper", layers / "work", layers / "merged"
    for folder in (upper, work, merged):
        folder.mkdir()
    _mount("-t", "overlay", "overlay", "-o", f"lowerdir=/,upperdir={upper},workdir={work}", str(merged))
    _mount("-t", "proc", "proc", str(merged / "proc"))
    for name in ("sys", "dev"):
        _mount("--rbind", f"/{name}", str(merged / name))
    for name in ("hosts", "resolv.conf"):
        if Path(f"/etc/{name}").exists():
            (merged / "etc" / name).touch(exist_ok=True)
            _mount("--bind", f"/etc/{name}", str(merged / "etc" / name))
    return merged


def write_volumes(spec: dict) -> None:
    """Create the pod's directories and files (run after chroot: paths are the container's)."""
    for folder in spec.get("dirs", []):
        os.makedirs(folder, exist_ok=True)
    for item in spec.get("files", []):
        path = Path(item["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(base64.b64decode(item["content"]))
        os.chmod(path, int(item.get("mode", 0o644)))
    for item in spec.get("links", []):
        path = Path(item["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(item["target"])


def main() -> None:
    """Set up the pod's view and exec its program."""
    spec = json.loads(Path(sys.argv[1]).read_text())
    merged = prepare_root(Path(spec["state"]))
    os.chroot(merged)
    os.chdir("/")
    write_volumes(spec)
    os.chdir(spec.get("workdir") or "/")
    sys.stdout.flush()
    os.execve(spec["binary"], spec["argv"], spec["env"])


if __name__ == "__main__":
    main()
