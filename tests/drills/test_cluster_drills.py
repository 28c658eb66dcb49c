"""The cluster drills (cannot run here): manifests valid against the Kubernetes and CRD schemas, settings
from the spec, and names shared with the data components."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from plinth.cli import app
from plinth.files import MARKER
from plinth.components import postgres
from plinth.spec import derived
from plinth.spec.derived import backup_target
from plinth.drills.cluster import RESTORED_CLUSTER, SCRATCH_NAMESPACE, restore_drill_objects, zone_loss_procedure
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.validate.schemas import SchemaStore
from tests.conftest import CRD_DIR, DEFAULT_SPEC, needs_shared, spec_with


@needs_shared
def test_restore_drill_manifests_are_schema_valid(platforms) -> None:
    for platform in platforms.values():
        store = SchemaStore(platform.cluster.kubernetes_version, CRD_DIR)
        for obj in restore_drill_objects(platform):
            assert store.check(obj, "restore-drill.yaml") == [], obj["kind"]


def test_restore_drill_recovers_from_the_production_object_store(prod) -> None:
    objects = {o["kind"]: o for o in restore_drill_objects(prod)}
    cluster = objects["Cluster"]["spec"]
    assert objects["Cluster"]["metadata"] == {**objects["Cluster"]["metadata"], "name": RESTORED_CLUSTER, "namespace": SCRATCH_NAMESPACE}
    assert cluster["bootstrap"]["recovery"]["source"] == "origin"
    origin = cluster["externalClusters"][0]["plugin"]["parameters"]
    assert origin == {"barmanObjectName": DATASTORE_NAMES["postgres-objectstore"], "serverName": DATASTORE_NAMES["postgres"]}
    # The scratch copy must never archive into the production WAL stream.
    assert "plugins" not in cluster
    # The production ObjectStore, moved into the scratch namespace and pointed at the copy a region loss leaves.
    production = postgres.object_store(prod)
    target = backup_target(prod, "postgres")
    store = objects["ObjectStore"]
    assert store["metadata"]["name"] == production["metadata"]["name"] and store["metadata"]["namespace"] == SCRATCH_NAMESPACE
    assert store["spec"]["configuration"]["destinationPath"] == target.copy.url(target.prefix) != production["spec"]["configuration"]["destinationPath"]
    assert store["spec"]["configuration"]["endpointURL"] == f"https://s3.{prod.cluster.dr_region}.amazonaws.com"
    assert "retentionPolicy" not in store["spec"], "the drill only reads: it must never expire production backups"
    assert "ExternalSecret" not in objects, "the drill reads the copy as its own workload identity, with no key"
    identity = derived.workload_identity(prod, "postgres-restore-drill")
    assert (identity.namespace, identity.service_account) == (SCRATCH_NAMESPACE, RESTORED_CLUSTER)
    assert identity.reads_copies and identity.buckets == ("postgres",)
    assert cluster["serviceAccountTemplate"]["metadata"]["annotations"] == derived.identity_annotations(prod, identity.name)
    assert cluster["postgresql"]["parameters"]["archive_timeout"] == f"{int(prod.datastores.postgres.archive_timeout_seconds)}s"
    # The verify Job fails when the restore is not done within the region-failover RTO.
    region = next(r for r in prod.recovery if r.failure == "region")
    assert objects["Job"]["spec"]["activeDeadlineSeconds"] == region.rto_seconds


def test_settings_come_from_the_spec(tmp_path: Path) -> None:
    changed = spec_with(tmp_path, [("datastores.postgres.archive_timeout_seconds", 300), ("cluster.provider", "gcp"),
                                     ("secrets.gcp_project_id", "plinth-prod"), ("cluster.account", "plinth-prod")])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["drill", "cluster-manifests", "--spec", str(changed), "--out", str(out),
                                      "--crd-dir", str(CRD_DIR)])
    text = (out / "restore-drill.yaml").read_text()
    assert "archive_timeout: 300s" in text
    assert "gs://" in text
    if CRD_DIR.is_dir():
        assert result.exit_code == 0, result.output


def test_zone_loss_procedure_names_a_spec_zone_and_the_promises(prod) -> None:
    text = zone_loss_procedure(prod)
    assert f"topology.kubernetes.io/zone={prod.cluster.zones[0]}" in text
    assert f"| PostgreSQL | {int(prod.datastores.postgres.ha.rto_seconds)} s | 0 s |" in text


def test_cli_writes_the_cluster_drills(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drill", "cluster-manifests", "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path),
                                      "--crd-dir", str(CRD_DIR)])
    if CRD_DIR.is_dir():
        assert result.exit_code == 0, result.output
        assert {p.name for p in tmp_path.iterdir()} == {"restore-drill.yaml", "restore-drill.md", "zone-loss.md", MARKER}


def test_no_restore_drill_for_a_cloud_managed_postgres(tmp_path: Path) -> None:
    """A managed PostgreSQL writes no CloudNativePG backups: the drill says so (bad input) and writes nothing."""
    changed = spec_with(tmp_path, [("datastores.postgres.managed_by", "cloud")])
    out = tmp_path / "drills"
    result = CliRunner().invoke(app, ["drill", "cluster-manifests", "--spec", str(changed), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "datastores.postgres.managed_by" in result.output and "point-in-time restore" in result.output
    assert not out.exists()
