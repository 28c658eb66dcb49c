"""Namespace quotas grow with the organisations: the grown platform's ResourceQuotas admit what its namespaces run at
maximum replicas plus rollout surge (PL-QUOTA-001 on the grown tree, charts hydrated), with the spec's own headroom."""

from __future__ import annotations

import pytest

from plinth.charts.workflow import Hydrator
from plinth.checks.engine import CheckContext, run_checks
from plinth.checks.quotas import CHECKS as QUOTA_CHECKS
from plinth.plan import scale_platform
from plinth.plan.growth import QUOTA_DIMENSIONS, namespace_needs, scaled_quotas
from plinth.render.pipeline import render_platform
from tests.conftest import CHART_DIR, DEFAULT_SPEC, needs_charts


@pytest.fixture(scope="module")
def hydrator() -> Hydrator:
    if not CHART_DIR.is_dir():
        pytest.skip("needs ../shared/charts (the pinned chart archives; CI always has them, a user's clone may not)")
    return Hydrator(DEFAULT_SPEC, CHART_DIR)


def quota_findings(platform, hydrator: Hydrator) -> list[str]:
    """PL-QUOTA-001/002 on the platform's rendered tree and hydrated charts, as `plinth check` runs them."""
    rendered = render_platform(platform)
    ctx = CheckContext.for_hydration(platform, rendered, hydrator.hydrate({platform.environment: platform}, rendered))
    return [f"{f.check_id} {f.field_path}: {f.message}" for f in run_checks(ctx, QUOTA_CHECKS)]


def quota_figures(platform) -> dict[str, dict[str, int]]:
    """Each namespace's quota in the units the demand is counted in (millicores, MiB, GiB, pods, claims)."""
    return {name: {field: read(getattr(ns.quota, field)) for field, (_, read, _) in QUOTA_DIMENSIONS.items()}
            for name, ns in platform.namespaces.items()}


@needs_charts
@pytest.mark.parametrize("organisations", [10_000, 100_000])
def test_the_grown_platforms_quotas_admit_its_peak(prod, hydrator, organisations) -> None:
    grown = scale_platform(prod, organisations, hydrator)
    assert quota_findings(grown, hydrator) == []
    # the apps namespace's CPU limits (192 at 1000 organisations) grew about as its pods did
    assert float(grown.namespaces["platform-apps"].quota.limits_cpu) > 0.9 * 192 * organisations / 1000


@needs_charts
def test_the_spec_passes_and_its_quotas_hold_at_the_calibration_point(prod, hydrator) -> None:
    assert quota_findings(prod, hydrator) == []
    same = scale_platform(prod, prod.load.organisations, hydrator)
    assert same.model_dump() == prod.model_dump()


def test_quotas_never_shrink_and_keep_the_specs_headroom(prod) -> None:
    before = quota_figures(prod)
    calibration = namespace_needs(prod)
    for organisations in (100, 500, 2000, 10_000):
        grown = scale_platform(prod, organisations)
        after = quota_figures(grown)
        for name in before:
            for field in before[name]:
                assert after[name][field] >= before[name][field], (organisations, name, field)
        if organisations < prod.load.organisations:
            assert after == before, "a smaller platform keeps the spec's quotas"
    # the headroom: the apps namespace's CPU limits stand to its need as the spec's do at 1000 organisations
    need = namespace_needs(grown)["platform-apps"].limits_cpu
    spec_ratio = before["platform-apps"]["limits_cpu"] / calibration["platform-apps"].limits_cpu
    assert after["platform-apps"]["limits_cpu"] >= need * spec_ratio
    assert after["platform-apps"]["limits_cpu"] < need * spec_ratio + 1000, "rounded up to the next whole core"


def test_a_quota_with_no_need_at_calibration_grows_to_the_need(prod) -> None:
    calibration = namespace_needs(prod)
    grown = namespace_needs(scale_platform(prod, 10_000))
    calibration["platform-apps"].cpu = 0
    changes = scaled_quotas(prod, calibration, grown)
    assert changes["platform-apps"]["requests_cpu"] == str(-(-grown["platform-apps"].cpu // 1000))
    assert "requests_storage" not in changes.get("platform-apps", {}), "no storage needed: the quota stays 0"
