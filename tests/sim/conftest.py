"""Fixtures of the simulated-cluster tests: the binaries (built or reused) and one cluster for the module.

These tests start a real control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kwok) in a private network namespace: they need root and `ip` (CI runs as root) and the binaries that
`scripts/setup.sh test` builds into the sim cache. Select them with `-m sim`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from plinth.sim.cluster import SimCluster
from plinth.sim.toolchain import SimVersions, default_minor, ensure_binaries, pinned_versions
from plinth.spec.model import Platform



def sim_prerequisites() -> str | None:
    """Why the simulated cluster cannot run here, or None."""
    if os.geteuid() != 0:
        return "the simulated cluster needs root (ip netns add)"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    if shutil.which("go") is None:
        return "`go` is not installed: the control plane is built from source"
    return None


@pytest.fixture(scope="session")
def sim_versions(prod: Platform) -> SimVersions:
    """The versions under test: the spec's minor when pinned, else the newest pinned; binaries built or reused."""
    reason = sim_prerequisites()
    if reason:
        pytest.skip(reason)
    versions = pinned_versions(default_minor(prod.cluster.kubernetes_version))
    ensure_binaries(versions, log=lambda _line: None)
    return versions


@pytest.fixture(scope="session")
def sim_cluster(sim_versions: SimVersions, prod: Platform) -> Iterator[SimCluster]:
    """One running cluster with prod's pools as nodes (the spec's counts, on the spec's cloud)."""
    from plinth.sim.cluster import running_cluster
    from plinth.sim.nodes import add_nodes, spec_nodes

    with running_cluster(f"t{os.getpid()}", sim_versions) as cluster:
        add_nodes(cluster, spec_nodes(prod))
        yield cluster


@pytest.fixture(scope="session")
def prod_charts(prod: Platform):
    """Prod rendered and its chart Applications hydrated from ../shared/charts (skips, saying so, without them)."""
    from plinth.charts.workflow import hydrate_spec
    from plinth.render.pipeline import render_platform
    from tests.conftest import CHART_DIR, DEFAULT_SPEC

    if not CHART_DIR.is_dir():
        pytest.skip("needs ../shared/charts (the pinned charts' CRDs and objects; CI always has them)")
    rendered = render_platform(prod)
    return rendered, hydrate_spec(DEFAULT_SPEC, {"prod": prod}, rendered, CHART_DIR)
