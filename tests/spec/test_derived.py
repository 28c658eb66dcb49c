"""Facts derived once in the spec layer: retention, staleness, zone survivors, bucket targets, region loss."""

from __future__ import annotations

import pytest

from plinth.spec import derived
from plinth.spec.derived import FOREVER, Retention, retention
from plinth.spec.loader import SpecError, load_platform
from plinth.spec.zones import min_serving_after_zone_loss, replicas_in_fullest_zone, zone_loss_survivors
from tests.conftest import spec_with


def test_forever_means_no_expiry_in_one_value() -> None:
    assert retention("forever") == FOREVER and FOREVER.forever and FOREVER.seconds is None and str(FOREVER) == "forever"
    assert retention(30) == Retention(30) and Retention(30).seconds == 30 * 86400 and str(Retention(30)) == "30 days"


def test_retained_backup_count_covers_the_retention(prod) -> None:
    assert derived.retained_backup_count(prod.backup_for("clickhouse")) == 90  # daily, 90 days
    assert derived.retained_backup_count(prod.backup_for("postgres")) == 30 * 24  # hourly, 30 days


def test_a_forever_postgres_backup_renders_no_retention_policy(tmp_path) -> None:
    from plinth.components import postgres

    platform = load_platform(spec_with(tmp_path, [("backups.0.retention_days", "forever")]), "prod")
    store = postgres.object_store(platform)
    assert "retentionPolicy" not in store["spec"]  # not "foreverd": nothing is ever expired


def test_velero_cannot_keep_backups_forever(tmp_path) -> None:
    with pytest.raises(SpecError, match=r"backups.4.retention_days: Velero expires every backup after its TTL"):
        load_platform(spec_with(tmp_path, [("backups.4.retention_days", "forever")]), "prod")


def test_a_backup_is_stale_after_two_intervals(prod) -> None:
    assert derived.backup_stale_after_seconds(prod.backup_for("postgres")) == 2 * 3600
    assert derived.backup_stale_after_seconds(prod.backup_for("iceberg")) is None


@pytest.mark.parametrize(("replicas", "zones", "skew", "fullest"), [(3, 3, 1, 1), (4, 3, 1, 2), (6, 3, 1, 2), (3, 3, 2, 2), (3, 1, 1, 3)])
def test_zone_arithmetic(replicas: int, zones: int, skew: int, fullest: int) -> None:
    assert replicas_in_fullest_zone(replicas, zones, skew) == fullest
    assert zone_loss_survivors(replicas, zones, skew) == replicas - fullest


def test_two_thirds_of_the_minimum_keep_serving() -> None:
    assert [min_serving_after_zone_loss(n) for n in (3, 4, 6, 9)] == [2, 3, 4, 6]


def test_backups_are_written_in_the_cluster_region_and_copied_to_the_dr_region(prod) -> None:
    target = derived.backup_target(prod, "postgres")
    assert target.primary.describe() == "s3://plinth-backups-postgres (us-east-1)"
    assert target.primary.url(target.prefix) == "s3://plinth-backups-postgres/plinth-prod/postgres"
    assert target.primary.endpoint == "https://s3.us-east-1.amazonaws.com"
    assert target.copy is not None and target.copy.describe() == "s3://plinth-backups-postgres-us-west-2 (us-west-2)"
    assert target.restore_source(region_lost=True) == target.copy and target.restore_source(region_lost=False) == target.primary


def test_azure_targets_name_the_storage_account_of_their_region(tmp_path) -> None:
    from tests.cloud.conftest import CLOUD_SITES

    platform = load_platform(spec_with(tmp_path, CLOUD_SITES["azure"]), "prod")
    target = derived.backup_target(platform, "clickhouse")
    assert target.primary.account == derived.storage_account_name("plinth-prod", "eastus") == "plinthprodeastus"
    assert target.copy is not None and target.copy.account == "plinthprodwestus2" and target.copy.bucket == target.primary.bucket
    assert target.primary.url("x") == "https://plinthprodeastus.blob.core.windows.net/plinth-backups-clickhouse/x"
    assert target.primary.resource_group == "plinth-prod" and target.copy.resource_group == "plinth-prod-dr"


def test_region_loss_has_a_bound_and_a_reason(prod) -> None:
    postgres = derived.region_loss(prod, "postgres")
    assert postgres.seconds == 60 + 900  # archive_timeout + S3 Replication Time Control
    assert "archive_timeout" in postgres.reason and "us-west-2" in postgres.reason
    assert derived.region_loss(prod, "clickhouse").seconds == 86400 + 900
    assert derived.region_loss(prod, "redis").seconds is None
    assert derived.region_loss(prod, "configs").describe().startswith("nothing:")


def test_secret_names_are_per_environment(platforms) -> None:
    assert derived.secret_name_prefix(platforms["prod"]) == "plinth/prod"
    assert derived.secret_name_prefix(platforms["staging"]) == "plinth/staging"
