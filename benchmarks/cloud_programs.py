"""Time each cloud's Pulumi program under mocks (import, then one run) and count the resources it registers.

Run: .venv/bin/python benchmarks/cloud_programs.py [--spec platform.yaml] [--env prod]
Prints one line per cloud; the spec's cluster is moved to each cloud's default region for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
from typing import Any

import sys
from pathlib import Path

import pulumi

from plinth.cloud.options import CloudOptions
from plinth.spec.loader import load_platform

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.cloud.conftest import Deployment, RecordingMocks  # noqa: E402  (the tests' mocks: same computed outputs)

SITES: dict[str, dict[str, Any]] = {
    "aws": {"provider": "aws", "region": "us-east-1", "dr_region": "us-west-2", "zones": ["us-east-1a", "us-east-1b", "us-east-1c"]},
    "gcp": {"provider": "gcp", "region": "us-central1", "dr_region": "us-east1", "zones": ["us-central1-a", "us-central1-b", "us-central1-c"]},
    "azure": {"provider": "azure", "region": "eastus", "dr_region": "westus2", "zones": ["1", "2", "3"]},
}
MODULES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure": "pulumi_azure_native"}


def main() -> None:
    """Print import and run seconds per cloud."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", default="platform.yaml")
    parser.add_argument("--env", default="prod")
    args = parser.parse_args()
    base = load_platform(args.spec, args.env)
    from plinth.cloud.program import build

    for cloud, site in SITES.items():
        platform = base.model_copy(update={"cluster": base.cluster.model_copy(update=site)})
        started = time.perf_counter()
        importlib.import_module(MODULES[cloud])
        imported = time.perf_counter()
        asyncio.set_event_loop(asyncio.new_event_loop())
        deployment = Deployment()
        pulumi.runtime.set_mocks(RecordingMocks(deployment), preview=False)
        pulumi.runtime.test(lambda: build(platform, CloudOptions(gcp_project="benchmark")))()
        done = time.perf_counter()
        print(f"{cloud:6} import {imported - started:5.2f} s  run {done - imported:5.2f} s  resources {len(deployment.resources)}")


if __name__ == "__main__":
    main()
