"""The GCP program under Pulumi mocks: zones, node pools, buckets (dual/multi-region), lifecycle, identity, DNS, CDN."""

from __future__ import annotations

import json

import pytest

from plinth.catalog.instances import instance_for
from plinth.cloud import layout
from plinth.spec import derived
from plinth.cloud.gcp import multi_region_of
from plinth.cloud.options import CloudOptions
from plinth.kube.scheduling import POOL_LABEL
from tests.cloud.conftest import MANAGED_STORES, external_secret_keys, platform_on, unsecret

OPTIONS = CloudOptions(gcp_project="plinth-test")
NODE_POOL = "gcp:container/nodePool:NodePool"
BUCKET = "gcp:storage/bucket:Bucket"


@pytest.fixture
def gcp_platform(tmp_path):
    return platform_on(tmp_path, "gcp")


@pytest.fixture
def gcp_run(deploy, gcp_platform):
    return gcp_platform, deploy(gcp_platform, OPTIONS)


def test_cluster_and_pools_span_three_zones_with_private_nodes(gcp_run):
    platform, run = gcp_run
    (cluster,) = run.of_type("gcp:container/cluster:Cluster")
    assert len(platform.cluster.zones) == 3
    assert cluster.inputs["nodeLocations"] == platform.cluster.zones
    assert cluster.inputs["location"] == platform.cluster.region
    assert cluster.inputs["minMasterVersion"] == platform.cluster.kubernetes_version
    assert cluster.inputs["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
    assert cluster.inputs["workloadIdentityConfig"]["workloadPool"] == "plinth-test.svc.id.goog"
    pools = run.of_type(NODE_POOL)
    assert pools
    for pool in pools:
        assert pool.inputs["nodeLocations"] == platform.cluster.zones
        assert pool.inputs["networkConfig"]["enablePrivateNodes"] is True
    assert len(run.of_type("gcp:compute/routerNat:RouterNat")) == 1


def test_public_endpoint_only_with_configured_cidrs(deploy, gcp_platform):
    run = deploy(gcp_platform, CloudOptions(gcp_project="plinth-test", api_public_cidrs=("203.0.113.0/24",)))
    (cluster,) = run.of_type("gcp:container/cluster:Cluster")
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is False
    cidrs = [b["cidrBlock"] for b in cluster.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
    assert "203.0.113.0/24" in cidrs


def test_each_pool_has_its_spec_shape_bounds_labels_and_taints(gcp_run):
    platform, run = gcp_run
    pools = {p.inputs["name"]: p for p in run.of_type(NODE_POOL)}
    assert set(pools) == set(platform.node_pools)
    for name, spec_pool in platform.node_pools.items():
        inputs = pools[name].inputs
        node = inputs["nodeConfig"]
        assert node["machineType"] == instance_for("gcp", spec_pool).name
        assert node["diskSizeGb"] == spec_pool.disk_gib
        assert node["labels"] == {POOL_LABEL: name}
        assert node.get("taints", []) == [
            {"key": t.key, "value": t.value, "effect": {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}[t.effect]}
            for t in spec_pool.taints
        ]
        assert inputs["autoscaling"]["totalMinNodeCount"] == spec_pool.min_nodes
        assert inputs["autoscaling"]["totalMaxNodeCount"] == spec_pool.max_nodes
        assert inputs["initialNodeCount"] * 3 >= spec_pool.nodes
        assert node["workloadMetadataConfig"]["mode"] == "GKE_METADATA"


def _rules(bucket):
    return bucket.inputs.get("lifecycleRules", [])


@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_buckets_are_versioned_encrypted_and_expire_at_their_retention(deploy, tmp_path, environment):
    platform = platform_on(tmp_path, "gcp", environment=environment)
    run = deploy(platform, OPTIONS)
    buckets = {b.inputs["name"]: b for b in run.of_type(BUCKET)}
    plans = derived.buckets(platform)
    assert {p.primary.bucket for p in plans} == set(buckets)
    retention = {
        "loki": platform.observability.loki.retention_days,
        "tempo": platform.observability.tempo.retention_days,
        "postgres": platform.backup_for("postgres").retention_days,
        "clickhouse": platform.backup_for("clickhouse").retention_days,
        "velero": platform.backup_for("cluster-state").retention_days,
        "iceberg": platform.backup_for("iceberg").retention_days,
    }
    for plan in plans:
        bucket = buckets[plan.primary.bucket]
        assert bucket.inputs["versioning"] == {"enabled": True}
        assert bucket.inputs["encryption"]["defaultKmsKeyName"].endswith("-id")
        assert bucket.inputs["publicAccessPrevention"] == "enforced"
        days = retention[plan.key]
        conditions = [r["condition"] for r in _rules(bucket)]
        assert {"daysSinceNoncurrentTime": days, "withState": "ARCHIVED"} in conditions
        live = [c for c in conditions if c.get("withState") == "LIVE"]
        assert live == ([] if plan.key == "iceberg" else [{"age": days, "withState": "LIVE"}])


def test_cross_region_buckets_hold_a_copy_outside_the_cluster_region(gcp_run):
    platform, run = gcp_run
    region, dr_region = platform.cluster.region, platform.cluster.dr_region
    buckets = {b.inputs["name"]: b for b in run.of_type(BUCKET)}
    for plan in derived.buckets(platform):
        bucket = buckets[plan.primary.bucket]
        if plan.location == "cross-region":
            locations = bucket.inputs["customPlacementConfig"]["dataLocations"]
            assert dr_region.upper() in locations and dr_region != region
            assert bucket.inputs["rpo"] == "ASYNC_TURBO"
        elif plan.location == "multi-region":
            assert bucket.inputs["location"] == multi_region_of(region) == "US"
        else:
            assert bucket.inputs["location"] == region.upper()
            assert "customPlacementConfig" not in bucket.inputs


def test_workload_identity_binds_each_service_account(gcp_run):
    platform, run = gcp_run
    bindings = {m.inputs["member"] for m in run.of_type("gcp:serviceaccount/iAMMember:IAMMember")}
    expected = {f"serviceAccount:plinth-test.svc.id.goog[{i.namespace}/{i.service_account}]" for i in derived.workload_identities(platform)}
    assert bindings == expected
    grants = {(g.inputs["bucket"], g.inputs["member"].split(":")[1].split("@")[0]) for g in run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")}
    names = {p.key: p.primary.bucket for p in derived.buckets(platform)}
    for identity in derived.workload_identities(platform):
        for key in identity.buckets:
            assert (names[key], derived.gcp_service_account_id(platform, identity)) in grants
    assert len(run.of_type("gcp:dns/dnsManagedZoneIamMember:DnsManagedZoneIamMember")) == 1


def test_dns_zone_and_cdn(gcp_run):
    platform, run = gcp_run
    (zone,) = run.of_type("gcp:dns/managedZone:ManagedZone")
    assert zone.inputs["dnsName"] == f"{platform.edge.domain}."
    (backend,) = run.of_type("gcp:compute/backendService:BackendService")
    assert backend.inputs["enableCdn"] is True
    (endpoint,) = run.of_type("gcp:compute/globalNetworkEndpoint:GlobalNetworkEndpoint")
    assert endpoint.inputs["fqdn"] == f"origin.{platform.edge.domain}"
    (certificate,) = run.of_type("gcp:compute/managedSslCertificate:ManagedSslCertificate")
    assert certificate.inputs["managed"]["domains"] == layout.public_hosts(platform)
    records = {r.inputs["name"] for r in run.of_type("gcp:dns/recordSet:RecordSet")}
    assert records == {f"{h}." for h in layout.public_hosts(platform)}


def test_no_cdn_when_the_spec_turns_it_off(deploy, tmp_path):
    run = deploy(platform_on(tmp_path, "gcp", [("edge.cdn", False)]), OPTIONS)
    assert run.of_type("gcp:compute/backendService:BackendService") == []


def test_cloud_managed_postgres_and_redis(deploy, tmp_path):
    platform = platform_on(tmp_path, "gcp", MANAGED_STORES)
    run = deploy(platform, OPTIONS)
    (db,) = run.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert db.inputs["databaseVersion"] == f"POSTGRES_{platform.datastores.postgres.version}"
    settings = db.inputs["settings"]
    assert settings["availabilityType"] == "REGIONAL" and settings["ipConfiguration"]["ipv4Enabled"] is False
    assert settings["diskSize"] == platform.datastores.postgres.storage.size_gib
    assert settings["backupConfiguration"]["location"] == platform.cluster.dr_region
    (cache,) = run.of_type("gcp:redis/instance:Instance")
    assert cache.inputs["tier"] == "STANDARD_HA" and cache.inputs["replicaCount"] == platform.datastores.redis.nodes - 1


def test_stores_stay_in_cluster_by_default(gcp_run):
    _, run = gcp_run
    assert run.of_type("gcp:sql/databaseInstance:DatabaseInstance") == []
    assert run.of_type("gcp:redis/instance:Instance") == []


def test_the_stack_project_must_be_the_spec_account(deploy, gcp_platform):
    """The ServiceAccount annotations name Google accounts in cluster.account: a stack building elsewhere is refused."""
    with pytest.raises(Exception, match="gcp:project"):
        deploy(gcp_platform, CloudOptions(gcp_project="another-project"))
    run = deploy(gcp_platform, CloudOptions())
    assert {a.inputs["project"] for a in run.of_type("gcp:serviceaccount/account:Account")} == {gcp_platform.cluster.account}


def test_managed_stores_write_the_secrets_their_clients_read(deploy, tmp_path):
    """Every remote key a client's ExternalSecret reads is a Secret Manager secret the program writes (in the secrets
    project), whose JSON holds the managed store's private address and credentials."""
    platform = platform_on(tmp_path, "gcp", MANAGED_STORES)
    run = deploy(platform, OPTIONS)
    written = {r.inputs["secretId"]: r for r in run.of_type("gcp:secretmanager/secret:Secret")}
    versions = {r.name: r for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    assert {r.inputs["project"] for r in written.values()} == {platform.secrets.gcp_project_id}
    for store, host, port in (("postgres", "10.0.112.3", "5432"), ("redis", "10.0.112.8", "6378")):
        read = external_secret_keys(platform, store)
        assert read and read <= set(written)
        for key in read:
            value = json.loads(unsecret(versions[key].inputs["secretData"]))
            assert (value["host"], value["port"]) == (host, port) and value["password"]
    peering = run.named("gcp:compute/globalAddress:GlobalAddress", f"{platform.cluster.name}-services")
    assert f"{peering.inputs['address']}/{int(peering.inputs['prefixLength'])}" == derived.managed_store_range(platform.cluster.zones)
    assert derived.managed_store_cidrs(platform) == (derived.managed_store_range(platform.cluster.zones),)
