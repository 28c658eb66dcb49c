"""`plinth charts pull` with the real `helm pull` against a chart repository served on loopback over HTTPS:
a copy of the mirror's archives, indexed with `helm repo index`, behind a self-signed certificate."""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plinth.charts.chartdir import ChartDir, file_digest, pin_statuses
from tests.charts.conftest import CHARTS, needs_charts
from tests.conftest import DEFAULT_SPEC

pytestmark = needs_charts


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def loopback_repo(tmp_path_factory, helm, platforms):
    """An HTTPS chart repository on 127.0.0.1 holding the archive of every pin: (url, CA file, repo folder)."""
    root = tmp_path_factory.mktemp("chart-repo")
    repo = root / "charts"
    repo.mkdir()
    for status in pin_statuses(platforms["prod"], ChartDir(CHARTS)):
        shutil.copy(status.archive.path, repo / status.archive.path.name)
    cert, key = _self_signed(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = f"https://127.0.0.1:{server.server_address[1]}/charts"
    helm.repo_index(repo, url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, cert, repo
    server.shutdown()
    server.server_close()


def _plinth(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_charts_pull_fills_the_cache_from_each_pins_repository(tmp_path, loopback_repo, platforms) -> None:
    url, cert, repo = loopback_repo
    spec = tmp_path / "platform.yaml"
    # Every pin's repository is the loopback one (https, as the spec requires).
    spec.write_text(re.sub(r'repo_url: "(https|oci)://[^"]+"', f'repo_url: "{url}"', DEFAULT_SPEC.read_text()))
    done = _plinth("charts", "pull", "--spec", str(spec), "--ca-file", str(cert), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    pulled = tmp_path / ".cache" / "charts"
    pins = platforms["prod"].charts
    assert sorted(p.name for p in pulled.glob("*.tgz")) == sorted(p.name for p in repo.glob("*.tgz"))
    assert len(list(pulled.glob("*.tgz"))) == len({(p.chart, p.version) for p in pins.values()})
    for archive in pulled.glob("*.tgz"):
        assert file_digest(archive) == file_digest(repo / archive.name)
    listed = _plinth("charts", "list", "--spec", str(spec), "--chart-dir", str(pulled), "--format", "json", cwd=tmp_path)
    assert all(p["present"] for p in json.loads(listed.stdout)["pins"])
    again = _plinth("charts", "pull", "--spec", str(spec), "--ca-file", str(cert), cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.count("already in") == len(pins)


def test_charts_pull_from_a_mirror_and_a_failed_pull(tmp_path, loopback_repo) -> None:
    url, cert, _ = loopback_repo
    out = tmp_path / "mirror-pull"
    done = _plinth("charts", "pull", "--spec", str(DEFAULT_SPEC), "--mirror", url, "--ca-file", str(cert), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ChartDir(out).find("argo-cd", "9.5.4") is not None
    # Without the CA the TLS handshake fails: a finding per chart (exit 1), not a traceback.
    failed = _plinth("charts", "pull", "--spec", str(DEFAULT_SPEC), "--mirror", url, "--out", str(tmp_path / "no-ca"), cwd=tmp_path)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr and "not pulled" in failed.stderr
