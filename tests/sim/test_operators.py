"""Operator wrapper modules: the operator's own version-pinning replaces are kept, local ones dropped."""

from __future__ import annotations

from plinth.sim.operators import OPERATORS, copied_replaces, operator_version, proxy_path, wrapper_go_mod
from plinth.spec.model import Platform

UPSTREAM = """module github.com/argoproj/argo-rollouts

go 1.24.9

require k8s.io/api v0.34.1

replace (
	github.com/go-check/check => github.com/go-check/check v0.0.0-20180628173108-788fd7840127 // pinned
	k8s.io/api => k8s.io/api v0.34.1
	example.com/local => ../local
)

replace k8s.io/kms => k8s.io/kms v0.34.1
replace example.com/here => ./here
"""


def test_version_replaces_are_copied_and_local_ones_dropped() -> None:
    assert copied_replaces(UPSTREAM) == [
        "github.com/go-check/check => github.com/go-check/check v0.0.0-20180628173108-788fd7840127",
        "k8s.io/api => k8s.io/api v0.34.1",
        "k8s.io/kms => k8s.io/kms v0.34.1",
    ]
    text = wrapper_go_mod(OPERATORS["argo-rollouts"], "v1.9.1", UPSTREAM, "go1.26.8")
    assert "require github.com/argoproj/argo-rollouts v1.9.1" in text
    assert "\tk8s.io/kms => k8s.io/kms v0.34.1\n" in text and "../local" not in text
    assert text.rstrip().endswith("tool github.com/argoproj/argo-rollouts/cmd/rollouts-controller")


def test_versions_come_from_the_spec_charts(prod: Platform) -> None:
    assert operator_version(prod, "cloudnative-pg") == "v" + prod.charts["cloudnative-pg"].app_version.removeprefix("v")
    assert operator_version(prod, "argo-rollouts") == prod.charts["argo-rollouts"].app_version
    assert proxy_path("github.com/OT-CONTAINER-KIT/redis-operator") == "github.com/!o!t-!c!o!n!t!a!i!n!e!r-!k!i!t/redis-operator"
