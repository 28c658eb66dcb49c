"""What one layer writes, the other must create: every backup writer of the rendered tree (CloudNativePG's
ObjectStore, clickhouse-backup, Velero's BackupStorageLocation), the cluster restore drill and the region
runbook name a bucket the cloud layer creates, in the region it creates it in, on every cloud and in every
environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from plinth.checks.promises import target_bucket, target_region
from plinth.drills.cluster import restore_drill_objects
from plinth.drills.runbooks import render_runbooks
from plinth.render.pipeline import render_platform
from plinth.spec.derived import backup_targets
from plinth.cloud.options import CloudOptions
from tests.cloud.conftest import CLOUD_SITES, Deployment, platform_on

ENVIRONMENTS = ("prod", "staging")
OPTIONS = {"aws": CloudOptions(), "gcp": CloudOptions(gcp_project="plinth-test"), "azure": CloudOptions()}
"""Stack settings each cloud's program needs (GCP names its project in the stack config)."""


@dataclass(frozen=True)
class Created:
    """A bucket (or Azure container) the cloud program registers, and the regions holding it."""

    bucket: str
    account: str | None
    regions: frozenset[str]
    """Regions (lower case); a GCS multi-region bucket holds its continent's code (us, eu, asia)."""

    def holds(self, region: str) -> bool:
        """True when a copy of the bucket lives in ``region``."""
        return region in self.regions or (region.split("-", 1)[0] in self.regions)


def created_buckets(cloud: str, run: Deployment) -> list[Created]:
    """Every bucket the program registers, with the region(s) it lives in."""
    if cloud == "aws":
        return [Created(b.inputs["bucket"], None, frozenset({b.inputs["region"]})) for b in run.of_type("aws:s3/bucket:Bucket")]
    if cloud == "gcp":
        result = []
        for b in run.of_type("gcp:storage/bucket:Bucket"):
            placement = (b.inputs.get("customPlacementConfig") or {}).get("dataLocations") or [b.inputs["location"]]
            result.append(Created(b.inputs["name"], None, frozenset(loc.lower() for loc in placement)))
        return result
    accounts = {a.inputs["accountName"]: a.inputs["location"] for a in run.of_type("azure-native:storage:StorageAccount")}
    return [Created(c.inputs["containerName"], c.inputs["accountName"], frozenset({accounts[c.inputs["accountName"]]}))
            for c in run.of_type("azure-native:storage:BlobContainer")]


def _created(cloud: str, run: Deployment, bucket: str, account: str | None) -> Created:
    matches = [c for c in created_buckets(cloud, run) if c.bucket == bucket and (cloud != "azure" or c.account == account)]
    assert matches, f"{cloud}: the cloud layer creates no bucket {bucket!r}" + (f" in storage account {account!r}" if account else "")
    return matches[0]


def _writers(platform: Any) -> dict[str, dict[str, Any]]:
    """The backup writers of the rendered tree, by data set."""
    objects = [r.obj for r in render_platform(platform)]
    find = lambda kind, name: next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)  # noqa: E731
    return {"postgres": find("ObjectStore", "plinth-pg-backups"),
            "clickhouse": find("ClickHouseInstallation", "plinth-ch"),
            "cluster-state": find("BackupStorageLocation", "dr-region")}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("cloud", sorted(CLOUD_SITES))
def test_every_backup_writer_names_a_bucket_the_cloud_layer_creates_in_its_region(
        deploy, tmp_path: Path, cloud: str, environment: str) -> None:
    platform = platform_on(tmp_path, cloud, environment=environment)
    run = deploy(platform, OPTIONS[cloud])
    region, dr_region = platform.cluster.region, platform.cluster.dr_region
    for data, writer in _writers(platform).items():
        bucket, account = target_bucket(writer)
        created = _created(cloud, run, bucket, account)
        assert created.holds(region), f"{data}: written to {bucket}, which the cloud layer creates in {sorted(created.regions)}"
        named = target_region(writer)
        if cloud == "aws":
            assert named == region, f"{data}: the writer names region {named}, the bucket lives in {region}"
        # The spec calls these backups cross-region: the cloud layer keeps a copy in the DR region.
        target = backup_targets(platform)[data]
        assert target.copy is not None
        copy = _created(cloud, run, target.copy.bucket, target.copy.account)
        assert copy.holds(dr_region)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("cloud", sorted(CLOUD_SITES))
def test_restores_after_a_region_loss_read_the_copy_in_the_dr_region(deploy, tmp_path: Path, cloud: str, environment: str) -> None:
    platform = platform_on(tmp_path, cloud, environment=environment)
    run = deploy(platform, OPTIONS[cloud])
    dr_region = platform.cluster.dr_region
    store = next(o for o in restore_drill_objects(platform) if o["kind"] == "ObjectStore")
    bucket, account = target_bucket(store)
    assert _created(cloud, run, bucket, account).holds(dr_region), "the cluster restore drill reads a copy outside the DR region"
    if cloud == "aws":
        assert target_region(store) == dr_region
    runbook = render_runbooks(platform)["region.md"]
    urls = re.findall(r"`((?:s3|gs)://[^/`]+|https://[a-z0-9]+\.blob\.core\.windows\.net/[^/`]+)[^`]*` \(([a-z0-9-]+)\)", runbook)
    assert urls, "the region runbook names no bucket to restore from"
    for url, where in urls:
        bucket, account = target_bucket({"spec": {"configuration": {"destinationPath": url}}})
        created = _created(cloud, run, bucket, account)
        assert where == dr_region and created.holds(dr_region), f"the region runbook restores from {url} ({where})"
