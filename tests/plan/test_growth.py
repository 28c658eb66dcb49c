"""The load model: replicas and volumes grow with organisations, and nodes and cost never shrink as they do."""

from __future__ import annotations

import pytest

from plinth.plan import plan_curve, plan_point, scale_platform
from plinth.plan.growth import scaled_replicas, split_volume


def test_the_calibration_point_is_the_spec_itself(prod, platforms) -> None:
    assert prod.load.organisations == prod.load.calibration_organisations == 1000
    same = scale_platform(prod, prod.load.organisations)
    assert same.model_dump() == prod.model_dump()
    # staging's overlay sizes it for its own 50 organisations: twice that doubles its (smaller) volumes.
    staging = platforms["staging"]
    assert scale_platform(staging, 100).datastores.postgres.storage.size_gib == 2 * staging.datastores.postgres.storage.size_gib


def test_five_times_the_organisations(prod) -> None:
    big = scale_platform(prod, 5000)
    frontend = big.services["frontend"].scaling
    assert (frontend.min_replicas, frontend.max_replicas) == (15, 50)
    assert big.datastores.postgres.storage.size_gib == 2500
    assert big.observability.loki.storage_gib == 10_000
    assert big.load.organisations == 5000


def test_fewer_organisations_keep_the_ha_floor(prod) -> None:
    small = scale_platform(prod, 100)
    frontend = small.services["frontend"].scaling
    assert (frontend.min_replicas, frontend.max_replicas) == (3, 3)
    assert scaled_replicas(3, 10, 0.5, 1.0) == (3, 5)


def test_volumes_past_the_limit_become_more_shards_and_brokers(prod) -> None:
    huge = scale_platform(prod, 100_000)
    ch = huge.datastores.clickhouse
    assert ch.shards == 7 and ch.storage.size_gib * ch.shards >= 100_000 and ch.storage.size_gib <= prod.load.max_volume_gib
    assert huge.datastores.kafka.brokers == 10
    assert split_volume(100, 3, 16384) == (3, 34)


def test_postgres_beyond_one_volume_is_noted(prod) -> None:
    point = plan_point(prod, 100_000, ("aws",))
    assert any("PostgreSQL" in note for note in point.notes)


def test_more_organisations_never_plan_fewer_nodes_or_less_money(prod) -> None:
    points = plan_curve(prod, [50, 100, 500, 1000, 2000, 5000, 10_000, 30_000, 100_000])
    for provider in ("aws", "gcp", "azure"):
        for before, after in zip(points, points[1:]):
            b, a = before.clouds[provider], after.clouds[provider]
            for pool_b, pool_a in zip(b.capacity.pools, a.capacity.pools):
                assert pool_a.at_min.nodes >= pool_b.at_min.nodes, (provider, after.organisations, pool_a.name)
                assert pool_a.at_max.nodes >= pool_b.at_max.nodes, (provider, after.organisations, pool_a.name)
                assert pool_a.at_max.lower_bound <= pool_a.at_max.nodes
            assert a.cost.total("max_replicas") >= b.cost.total("max_replicas")


def test_the_designs_1000_organisations_fit_the_designs_pools(prod) -> None:
    """The design's pool sizes (10 apps, 5 data nodes) hold what 1000 organisations run, on every cloud,
    and the computed monthly cost is below the design's estimate (the report explains the gap)."""
    point = plan_point(prod)
    for provider, cloud in point.clouds.items():
        for pool in cloud.capacity.pools:
            assert pool.holds, (provider, pool.name, pool.at_min.nodes, pool.at_max.nodes)
            assert pool.at_max.lower_bound <= pool.at_max.nodes
        design = cloud.cost.design_usd_per_month
        assert design is not None
        assert 0.4 * design < cloud.cost.total("spec_pools") < design, provider
    assert point.clouds["aws"].cost.region == "us-east-1"
    assert point.clouds["gcp"].cost.region == "us-central1"
    assert point.clouds["azure"].cost.region == "eastus"


def test_a_bad_orgs_count_is_rejected(prod) -> None:
    with pytest.raises(ValueError):
        scale_platform(prod, 0)
