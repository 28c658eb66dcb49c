"""The toolchain: wrapper modules generated from Kubernetes' own go.mod, pins, and the cached build."""

from __future__ import annotations

import time

import pytest

from plinth.sim.toolchain import (
    BINARIES,
    SimVersions,
    ToolchainError,
    bin_dir,
    ensure_binaries,
    pinned_etcd,
    pinned_versions,
    staging_modules,
    wrapper_modules,
)

GO_MOD = """module k8s.io/kubernetes

go 1.25.0

require (
	go.etcd.io/etcd/server/v3 v3.6.5 // indirect
	k8s.io/api v0.0.0
	k8s.io/utils v0.0.0-20251002143259-bc988d571ff4
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/component-base => ./staging/src/k8s.io/component-base
	k8s.io/kube-openapi => k8s.io/kube-openapi v0.0.0-1
)
"""


def test_staging_modules_are_read_from_the_release_go_mod() -> None:
    assert staging_modules(GO_MOD) == ["k8s.io/api", "k8s.io/component-base"]
    assert pinned_etcd(GO_MOD) == "v3.6.5"


def test_wrapper_module_replaces_each_staging_module_with_the_matching_v0_version() -> None:
    versions = SimVersions(minor="1.35", kubernetes="v1.35.8", etcd="v3.6.5", kwok="v0.8.0")
    modules = wrapper_modules(versions, GO_MOD, "go1.26.8")
    kube = modules["kubernetes"]["go_mod"]
    assert "require k8s.io/kubernetes v1.35.8" in kube
    assert "\tk8s.io/api => k8s.io/api v0.35.8\n" in kube
    assert "\tk8s.io/component-base => k8s.io/component-base v0.35.8\n" in kube
    assert "kube-openapi =>" not in kube  # only the ./staging replaces
    assert "go 1.26.0" in kube
    assert "-X k8s.io/component-base/version.gitVersion=v1.35.8" in modules["kubernetes"]["ldflags"]
    assert "-X k8s.io/component-base/version.gitMinor=35" in modules["kubernetes"]["ldflags"]
    assert "require go.etcd.io/etcd/server/v3 v3.6.5" in modules["etcd"]["go_mod"]
    assert "require sigs.k8s.io/kwok v0.8.0" in modules["kwok"]["go_mod"]


def test_an_unpinned_minor_is_a_clear_error() -> None:
    with pytest.raises(ToolchainError, match=r"no simulator versions pinned for Kubernetes 1\.20.*--resolve"):
        pinned_versions("1.20")


@pytest.mark.sim
def test_a_current_cache_is_reused_without_building(sim_versions: SimVersions) -> None:
    started = time.monotonic()
    report = ensure_binaries(sim_versions, log=lambda _line: None)
    assert report.built is False
    assert time.monotonic() - started < 30
    assert sorted(p.name for p in bin_dir(sim_versions).iterdir()) == sorted(BINARIES)
