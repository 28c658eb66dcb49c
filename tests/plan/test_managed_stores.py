"""The planner prices the cloud-managed PostgreSQL and Redis (``managed_by: cloud``) on every cloud: instance-hours of the
primary and its standby or replicas, storage and backups, from the prices in plan/data; the in-cluster stores' pods and
volumes leave the plan."""

from __future__ import annotations

import pytest

from plinth.catalog.managed_stores import managed_store, managed_store_data, managed_store_list
from plinth.catalog.nodes import PROVIDERS
from plinth.plan.planner import plan_point
from plinth.plan.pricing import pricing
from plinth.render.pipeline import render_platform
from plinth.spec.loader import load_platform
from tests.conftest import REPO


@pytest.fixture(scope="module")
def managed():
    return load_platform(REPO / "examples" / "aws-managed.yaml", "prod")


@pytest.fixture(scope="module")
def plans(prod, managed):
    """Plans of the default spec and of the managed example (rendered tree only: the stores' pods are rendered ones)."""
    return {name: plan_point(platform, rendered=render_platform(platform)) for name, platform in (("in-cluster", prod), ("managed", managed))}


def _lines(plan, provider: str, group: str):
    return [line for line in plan.clouds[provider].cost.lines_by_scenario["max_replicas"] if line.group == group]


def test_every_managed_size_has_a_price_with_its_source() -> None:
    data = managed_store_data()
    for provider in PROVIDERS:
        prices = pricing(provider).data["managed_stores"]
        for store in ("postgres", "redis"):
            assert prices[store]["source"].startswith("https://"), (provider, store)
            for entry in data[provider][store].get("classes", []):
                assert entry["name"] in prices[store]["instances"], (provider, store, entry["name"])
            assert data[provider][store]["standby"]["source"].startswith("https://")


def test_the_managed_services_are_priced_on_every_cloud(plans, managed) -> None:
    aws = pricing("aws")
    for provider in PROVIDERS:
        lines = _lines(plans["managed"], provider, "managed stores")
        items = " | ".join(line.item for line in lines)
        for store in managed_store_list(managed, provider):
            assert f"{store.store}: {store.service} {store.instance_class}" in items, (provider, items)
        assert all(line.usd_per_month > 0 for line in lines), lines
        assert _lines(plans["in-cluster"], provider, "managed stores") == []
    # AWS by hand: a Multi-AZ db.m6i.xlarge bills two instances, each with its 500 GiB of gp3; three cache.r7g.large nodes.
    pg, redis = managed_store(managed, "postgres"), managed_store(managed, "redis")
    hours = aws.hours_per_month
    prices = aws.data["managed_stores"]
    by_item = {line.item: line.usd_per_month for line in _lines(plans["managed"], "aws", "managed stores")}
    assert by_item["postgres: RDS for PostgreSQL db.m6i.xlarge (primary + standby)"] == pytest.approx(
        2 * prices["postgres"]["instances"]["db.m6i.xlarge"]["usd_per_hour"] * hours)
    assert by_item["postgres: RDS for PostgreSQL storage"] == pytest.approx(2 * pg.storage_gib * prices["postgres"]["storage"]["usd_per_gib_month"])
    assert by_item["redis: ElastiCache cache.r7g.large (primary + replicas)"] == pytest.approx(
        redis.nodes * prices["redis"]["instances"]["cache.r7g.large"]["usd_per_hour"] * hours)
    backups = next(item for item in by_item if item.startswith("postgres: automated backups"))
    assert "30 d; automated backup replication to the DR region" in backups and by_item[backups] > 0


def test_the_in_cluster_stores_leave_the_plan(plans) -> None:
    for provider in PROVIDERS:
        managed, in_cluster = plans["managed"].clouds[provider], plans["in-cluster"].clouds[provider]
        assert managed.cost.total() != in_cluster.cost.total()
        volumes = {line.item: line.quantity for line in _lines(plans["managed"], provider, "disks")}
        in_cluster_volumes = {line.item: line.quantity for line in _lines(plans["in-cluster"], provider, "disks")}
        key = "persistent volumes (data stores, telemetry)"
        assert int(volumes[key].split()[0].replace(",", "")) < int(in_cluster_volumes[key].split()[0].replace(",", ""))
        assert not [l for l in _lines(plans["managed"], provider, "object storage") if l.item.startswith("postgres backups")]
        data_pods = {w.name for pool in managed.capacity.pools for w in pool.workloads}
        assert not {n for n in data_pods if "plinth-pg" in n or "plinth-redis" in n}, data_pods
