"""The cloud-neutral plan: pools, buckets and subnets read from the spec."""

from __future__ import annotations

import pytest

from plinth.catalog.instances import instance_for
from plinth.cloud import layout
from plinth.spec import derived
from plinth.spec.loader import SpecError, load_platform
from tests.conftest import spec_with


def test_pools_use_the_planner_instance_data(prod):
    pools = {p.name: p for p in layout.node_pools(prod)}
    assert set(pools) == set(prod.node_pools)
    for name, pool in prod.node_pools.items():
        assert pools[name].instance == instance_for(prod.cluster.provider, pool)
        assert (pools[name].min_nodes, pools[name].max_nodes, pools[name].desired_nodes) == (pool.min_nodes, pool.max_nodes, pool.nodes)


def test_buckets_follow_backup_rows_and_telemetry_retention(prod):
    plans = {p.key: p for p in derived.buckets(prod)}
    assert plans["postgres"].primary.bucket == prod.backup_for("postgres").bucket
    assert plans["postgres"].retention.days == 30 and plans["postgres"].replicated
    assert plans["clickhouse"].retention.days == 90
    assert plans["iceberg"].retention.days == 365 and plans["iceberg"].expire == "noncurrent-versions"
    assert plans["iceberg"].location == "multi-region" and plans["iceberg"].replicated
    assert plans["loki"].retention.days == prod.observability.loki.retention_days and not plans["loki"].replicated
    assert plans["loki"].primary.bucket == prod.observability.loki.bucket
    assert plans["tempo"].retention.days == prod.observability.tempo.retention_days


def test_iceberg_bucket_must_be_the_warehouse(tmp_path):
    with pytest.raises(SpecError, match=r"platform.yaml:\d+:\d+: backups.2.bucket: the iceberg row's bucket 'plinth-iceberg' differs"):
        load_platform(spec_with(tmp_path, [("datastores.iceberg.warehouse_bucket", "another-bucket")]), "prod")


def test_bucket_names_must_be_distinct(tmp_path):
    with pytest.raises(SpecError, match="bucket names used twice: \\['plinth-backups-postgres'\\]"):
        load_platform(spec_with(tmp_path, [("backups.1.bucket", "plinth-backups-postgres")]), "prod")


def test_subnets_are_disjoint_per_zone():
    subnets = layout.subnets(["a", "b", "c"])
    cidrs = [c for pair in subnets.values() for c in pair]
    assert len(set(cidrs)) == 6
    assert subnets["a"] == ("10.0.0.0/20", "10.0.48.0/20")


def test_make_run_path_does_not_import_pulumi():
    """`make run` installs no Pulumi: the CLI and the cloud layout must import without it."""
    import subprocess
    import sys

    code = "import sys, plinth.cli, plinth.cloud.layout, plinth.catalog.instances; print([m for m in sys.modules if m.startswith('pulumi')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
