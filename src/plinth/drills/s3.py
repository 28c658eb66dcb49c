"""An S3-compatible endpoint on 127.0.0.1 (moto's server) for backup drills."""

from __future__ import annotations

import shutil
import sys
import urllib.request
from pathlib import Path

from plinth.procs import ProcessSetupError, Supervisor, free_port, wait_until

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "plinth-drill",
    "AWS_SECRET_ACCESS_KEY": "plinth-drill-not-a-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Credentials moto accepts (it checks none); only ever sent to the loopback endpoint."""


def moto_server_binary() -> str:
    """Path of ``moto_server`` (installed by the ``drills`` extra, next to this Python)."""
    beside = Path(sys.executable).parent / "moto_server"
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if not found:
        raise ProcessSetupError("moto_server not found: install the drills extra (pip install -e '.[drills]'; `make test` does it)")
    return found


def start_s3(supervisor: Supervisor, bucket: str) -> str:
    """Start moto on a free loopback port, create ``bucket``; return the endpoint URL."""
    port = free_port()
    supervisor.start("s3", [moto_server_binary(), "-H", "127.0.0.1", "-p", str(port)], as_service_user=False)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: urllib.request.urlopen(url + "/", timeout=1).status < 500, 30, "moto S3 server")
    request = urllib.request.Request(f"{url}/{bucket}", method="PUT")
    urllib.request.urlopen(request, timeout=10).close()
    return url
