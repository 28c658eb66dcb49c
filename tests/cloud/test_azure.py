"""The Azure program under Pulumi mocks: zones, agent pools, Blob object replication, lifecycle, identity, DNS, Front Door."""

from __future__ import annotations

import json

import pytest

from plinth.catalog.instances import instance_for
from plinth.cloud import layout
from plinth.spec import derived
from plinth.cloud.azure import ROLE_IDS
from plinth.spec.derived import storage_account_name
from plinth.cloud.options import CloudOptions
from plinth.kube.scheduling import POOL_LABEL
from tests.cloud.conftest import MANAGED_STORES, external_secret_keys, platform_on, unsecret

CLUSTER = "azure-native:containerservice:ManagedCluster"
ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"


@pytest.fixture
def azure_platform(tmp_path):
    return platform_on(tmp_path, "azure")


@pytest.fixture
def azure_run(deploy, azure_platform):
    return azure_platform, deploy(azure_platform)


def _profiles(run):
    """The cluster and every node pool's settings: the system pool inline, the others as AgentPool resources."""
    (cluster,) = run.of_type(CLUSTER)
    profiles = {p["name"]: p for p in cluster.inputs["agentPoolProfiles"]}
    for pool in run.of_type("azure-native:containerservice:AgentPool"):
        assert pool.inputs["resourceName"] == cluster.inputs["resourceName"]
        profiles[pool.inputs["agentPoolName"]] = pool.inputs
    return cluster, profiles


def test_cluster_is_private_at_the_spec_version_with_workload_identity(azure_run):
    platform, run = azure_run
    cluster, _ = _profiles(run)
    assert cluster.inputs["kubernetesVersion"] == platform.cluster.kubernetes_version
    assert cluster.inputs["apiServerAccessProfile"] == {"enablePrivateCluster": True}
    assert cluster.inputs["oidcIssuerProfile"]["enabled"] is True
    assert cluster.inputs["securityProfile"]["workloadIdentity"]["enabled"] is True
    assert cluster.inputs["networkProfile"]["outboundType"] == "userAssignedNATGateway"
    (subnet,) = run.of_type("azure-native:network:Subnet")
    assert subnet.inputs["defaultOutboundAccess"] is False and subnet.inputs["natGateway"]["id"]


def test_public_api_only_from_configured_cidrs(deploy, azure_platform):
    run = deploy(azure_platform, CloudOptions(api_public_cidrs=("203.0.113.0/24",)))
    cluster, _ = _profiles(run)
    assert cluster.inputs["apiServerAccessProfile"] == {"enablePrivateCluster": False, "authorizedIPRanges": ["203.0.113.0/24"]}


def test_each_pool_spans_three_zones_with_its_spec_shape_bounds_labels_and_taints(azure_run):
    platform, run = azure_run
    _, profiles = _profiles(run)
    assert set(profiles) == set(platform.node_pools)
    assert len(platform.cluster.zones) == 3
    for name, pool in platform.node_pools.items():
        profile = profiles[name]
        assert profile["availabilityZones"] == platform.cluster.zones
        assert profile["vmSize"] == instance_for("azure", pool).name
        assert profile["osDiskSizeGB"] == pool.disk_gib
        assert (profile["minCount"], profile["maxCount"], profile["count"]) == (pool.min_nodes, pool.max_nodes, pool.nodes)
        assert profile["enableAutoScaling"] is True
        assert profile["nodeLabels"] == {POOL_LABEL: name}
        assert profile.get("nodeTaints", []) == [f"{t.key}={t.value}:{t.effect}" for t in pool.taints]
        assert profile["enableNodePublicIP"] is False
    assert profiles["apps"]["mode"] == "System" and profiles["data"]["mode"] == "User"
    (cluster, _) = _profiles(run)
    assert [p["name"] for p in cluster.inputs["agentPoolProfiles"]] == ["apps"]


@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_storage_is_versioned_encrypted_and_expires_at_each_retention(deploy, tmp_path, environment):
    platform = platform_on(tmp_path, "azure", environment=environment)
    run = deploy(platform)
    accounts = run.of_type(ACCOUNT)
    assert len(accounts) == 2
    for account in accounts:
        encryption = account.inputs["encryption"]
        assert encryption["services"]["blob"]["enabled"] is True and encryption["requireInfrastructureEncryption"] is True
        assert account.inputs["allowBlobPublicAccess"] is False
    for properties in run.of_type("azure-native:storage:BlobServiceProperties"):
        assert properties.inputs["isVersioningEnabled"] is True and properties.inputs["changeFeed"] == {"enabled": True}
    policies = {p.name: p for p in run.of_type("azure-native:storage:ManagementPolicy")}
    rules = {r["definition"]["filters"]["prefixMatch"][0]: r for r in policies[f"{platform.cluster.name}-lifecycle"].inputs["policy"]["rules"]}
    retention = {
        "loki": platform.observability.loki.retention_days,
        "tempo": platform.observability.tempo.retention_days,
        "postgres": platform.backup_for("postgres").retention_days,
        "clickhouse": platform.backup_for("clickhouse").retention_days,
        "velero": platform.backup_for("cluster-state").retention_days,
        "iceberg": platform.backup_for("iceberg").retention_days,
    }
    containers = {c.inputs["containerName"] for c in run.of_type(CONTAINER)}
    for plan in derived.buckets(platform):
        assert plan.primary.bucket in containers
        actions = rules[f"{plan.primary.bucket}/"]["definition"]["actions"]
        days = retention[plan.key]
        assert actions["version"]["delete"]["daysAfterCreationGreaterThan"] == days
        if plan.key == "iceberg":
            assert "baseBlob" not in actions
        else:
            assert actions["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == days


def test_cross_region_containers_replicate_to_the_dr_region(azure_run):
    platform, run = azure_run
    cluster = platform.cluster
    accounts = {a.inputs["accountName"]: a for a in run.of_type(ACCOUNT)}
    primary, dr = storage_account_name(cluster.name, cluster.region), storage_account_name(cluster.name, cluster.dr_region)
    assert accounts[primary].inputs["location"] == cluster.region
    assert accounts[dr].inputs["location"] == cluster.dr_region != cluster.region
    policies = {p.name: p for p in run.of_type("azure-native:storage:ObjectReplicationPolicy")}
    source = policies[f"{cluster.name}-replication-source"]
    assert source.inputs["sourceAccount"] == primary and source.inputs["destinationAccount"] == dr
    assert source.inputs["objectReplicationPolicyId"] == "policy-1"
    replicated = {r["sourceContainer"] for r in source.inputs["rules"]}
    assert all(r["ruleId"] for r in source.inputs["rules"])
    expected = {p.primary.bucket for p in derived.buckets(platform) if p.replicated}
    assert replicated == expected == {p.primary.bucket for p in derived.buckets(platform) if p.location in ("cross-region", "multi-region")}
    dr_containers = {c.inputs["containerName"] for c in run.of_type(CONTAINER) if c.inputs["accountName"] == dr}
    assert dr_containers == expected


def test_workload_identity_federates_each_service_account(azure_run):
    platform, run = azure_run
    credentials = run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    subjects = {c.inputs["subject"] for c in credentials}
    assert subjects == {f"system:serviceaccount:{i.namespace}:{i.service_account}" for i in derived.workload_identities(platform)}
    assert all(c.inputs["issuer"].startswith("https://") and c.inputs["audiences"] == ["api://AzureADTokenExchange"] for c in credentials)
    assignments = {a.name: a for a in run.of_type("azure-native:authorization:RoleAssignment")}
    for identity in derived.workload_identities(platform):
        for key in identity.buckets:
            assignment = assignments[f"{platform.cluster.name}-{identity.name}-blob-{key}"]
            assert assignment.inputs["roleDefinitionId"].endswith(ROLE_IDS["Storage Blob Data Contributor"])
            assert assignment.inputs["principalId"] == f"principal-{platform.cluster.name}-{identity.name}"
    assert assignments[f"{platform.cluster.name}-external-dns-dns"].inputs["roleDefinitionId"].endswith(ROLE_IDS["DNS Zone Contributor"])


def test_dns_zone_and_front_door(azure_run):
    platform, run = azure_run
    (zone,) = run.of_type("azure-native:dns:Zone")
    assert zone.inputs["zoneName"] == platform.edge.domain
    (origin,) = run.of_type("azure-native:cdn:AFDOrigin")
    assert origin.inputs["hostName"] == f"origin.{platform.edge.domain}"
    domains = {d.inputs["hostName"] for d in run.of_type("azure-native:cdn:AFDCustomDomain")}
    assert domains == set(layout.public_hosts(platform))
    (route,) = run.of_type("azure-native:cdn:Route")
    assert route.inputs["httpsRedirect"] == "Enabled" and len(route.inputs["customDomains"]) == len(domains)


def test_no_front_door_when_the_spec_turns_it_off(deploy, tmp_path):
    run = deploy(platform_on(tmp_path, "azure", [("edge.cdn", False)]))
    assert run.of_type("azure-native:cdn:Profile") == []


def test_cloud_managed_postgres_and_redis(deploy, tmp_path):
    platform = platform_on(tmp_path, "azure", MANAGED_STORES)
    run = deploy(platform)
    (db,) = run.of_type("azure-native:dbforpostgresql:Server")
    assert db.inputs["version"] == str(platform.datastores.postgres.version)
    assert db.inputs["highAvailability"] == {"mode": "ZoneRedundant"}
    assert db.inputs["storage"]["storageSizeGB"] == platform.datastores.postgres.storage.size_gib
    assert db.inputs["backup"]["geoRedundantBackup"] == "Enabled"
    assert db.inputs["network"]["publicNetworkAccess"] == "Disabled"
    (cache,) = run.of_type("azure-native:redisenterprise:RedisEnterprise")
    assert cache.inputs["highAvailability"] == "Enabled"


def test_stores_stay_in_cluster_by_default(azure_run):
    _, run = azure_run
    assert run.of_type("azure-native:dbforpostgresql:Server") == []
    assert run.of_type("azure-native:redisenterprise:RedisEnterprise") == []


def test_storage_account_names_fit_azure_rules():
    name = storage_account_name("plinth-production-cluster-long", "southeastasia")
    assert len(name) <= 24 and name.isalnum() and name.islower() and name.endswith("southeastasia")


def test_managed_stores_write_the_secrets_their_clients_read(deploy, tmp_path):
    """Every remote key a client's ExternalSecret reads is a secret of the environment's Key Vault, whose JSON holds the
    private endpoint's address and the store's credentials; the endpoints sit in the managed stores' subnet."""
    platform = platform_on(tmp_path, "azure", MANAGED_STORES)
    run = deploy(platform)
    written = {r.inputs["secretName"]: r for r in run.of_type("azure-native:keyvault:Secret")}
    for store, port, password in (("postgres", "5432", None), ("redis", "10000", "mock-redis-key")):
        read = external_secret_keys(platform, store)
        assert read and read <= set(written)
        for key in read:
            value = json.loads(unsecret(written[key].inputs["properties"]["value"]))
            assert (value["host"], value["port"]) == ("10.0.112.4", port)
            assert value["password"] == (password or f"mock-password-{platform.cluster.name}-postgres")
    (subnet,) = [s for s in run.of_type("azure-native:network:Subnet") if s.name.endswith("-data")]
    assert (subnet.inputs["addressPrefix"],) == derived.managed_store_cidrs(platform)
    assert len(run.of_type("azure-native:network:PrivateEndpoint")) == 2
