"""The AWS program under Pulumi mocks: zones, node groups, buckets, replication, lifecycle, identity, DNS, CDN."""

from __future__ import annotations

import ipaddress
import json

import pytest

from plinth.catalog.instances import instance_for
from plinth.cloud import layout
from plinth.spec import derived
from plinth.cloud.aws import elasticache_engine
from plinth.cloud.options import CloudOptions
from plinth.kube.scheduling import POOL_LABEL
from tests.cloud.conftest import MANAGED_STORES, external_secret_keys, platform_on, unsecret

SUBNET = "aws:ec2/subnet:Subnet"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
BUCKET = "aws:s3/bucket:Bucket"


@pytest.fixture
def prod_run(deploy, prod):
    return prod, deploy(prod)


def test_nodes_sit_in_three_private_zones(prod_run):
    platform, run = prod_run
    assert len(platform.cluster.zones) == 3
    nodes = [s for s in run.of_type(SUBNET) if s.name.startswith(f"{platform.cluster.name}-nodes-")]
    assert sorted(s.inputs["availabilityZone"] for s in nodes) == sorted(platform.cluster.zones)
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in run.of_type(SUBNET))
    node_subnet_ids = {f"{s.name}-id" for s in nodes}
    for group in run.of_type(NODE_GROUP):
        assert set(group.inputs["subnetIds"]) == node_subnet_ids
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3


def test_network_policies_are_enforced(prod_run):
    """EKS ignores NetworkPolicies unless the VPC CNI runs its network policy agent."""
    _, run = prod_run
    (addon,) = [a for a in run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert json.loads(addon.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_control_plane_endpoints_have_their_own_subnets(prod_run):
    """EKS puts the API server's ENIs in the cluster's subnets: dedicated /28s, disjoint from the node subnets (where
    pods get their addresses), are what the NetworkPolicies' ipBlock for the API server names."""
    platform, run = prod_run
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    subnets = {f"{s.name}-id": s for s in run.of_type(SUBNET)}
    chosen = [subnets[i] for i in cluster.inputs["vpcConfig"]["subnetIds"]]
    assert sorted(s.inputs["cidrBlock"] for s in chosen) == sorted(derived.cluster_addresses(platform).api_server)
    assert sorted(s.inputs["availabilityZone"] for s in chosen) == sorted(platform.cluster.zones)
    nodes = [ipaddress.ip_network(c) for c in derived.cluster_addresses(platform).node_subnets]
    for subnet in chosen:
        network = ipaddress.ip_network(subnet.inputs["cidrBlock"])
        assert network.prefixlen == 28 and not any(network.overlaps(n) for n in nodes)


def test_each_pool_has_its_spec_shape_bounds_labels_and_taints(prod_run):
    platform, run = prod_run
    groups = {g.inputs["nodeGroupName"]: g for g in run.of_type(NODE_GROUP)}
    assert set(groups) == set(platform.node_pools)
    for name, pool in platform.node_pools.items():
        group = groups[name]
        assert group.inputs["instanceTypes"] == [instance_for("aws", pool).name]
        assert group.inputs["scalingConfig"] == {"minSize": pool.min_nodes, "maxSize": pool.max_nodes, "desiredSize": pool.nodes}
        assert group.inputs["labels"] == {POOL_LABEL: name}
        expected_taints = [{"key": t.key, "value": t.value, "effect": t.effect.upper().replace("NOSCHEDULE", "NO_SCHEDULE").replace("PREFERNO_SCHEDULE", "PREFER_NO_SCHEDULE").replace("NOEXECUTE", "NO_EXECUTE")} for t in pool.taints]
        assert group.inputs.get("taints", []) == expected_taints
        template = run.named(LAUNCH_TEMPLATE, f"{platform.cluster.name}-{name}")
        assert template.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == pool.disk_gib
        assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
        assert group.inputs["launchTemplate"]["id"] == f"{template.name}-id"
    assert platform.node_pools["data"].taints, "the default spec taints the data pool; this test must see a taint"


def test_no_node_gets_a_public_address(prod_run):
    platform, run = prod_run
    subnets = {f"{s.name}-id": s for s in run.of_type(SUBNET)}
    routes = {r.name: r for r in run.of_type("aws:ec2/routeTable:RouteTable")}
    groups = run.of_type(NODE_GROUP)
    assert groups
    for group in groups:
        for subnet_id in group.inputs["subnetIds"]:
            subnet = subnets[subnet_id]
            assert subnet.inputs["mapPublicIpOnLaunch"] is False
            # The node subnet's default route is a NAT gateway, never the internet gateway.
            (route,) = routes[subnet.name].inputs["routes"]
            assert "natGatewayId" in route and "gatewayId" not in route
    for template in run.of_type(LAUNCH_TEMPLATE):
        for interface in template.inputs.get("networkInterfaces", []):
            assert interface.get("associatePublicIpAddress") != "true"
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"


def test_cluster_runs_the_spec_version_with_a_private_api(prod_run):
    platform, run = prod_run
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["version"] == platform.cluster.kubernetes_version
    vpc = cluster.inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is False
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]


def test_public_api_access_only_from_configured_cidrs(deploy, prod):
    run = deploy(prod, CloudOptions(api_public_cidrs=("203.0.113.0/24",)))
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]


def _by_bucket(run, type_):
    return {r.inputs["bucket"].removesuffix("-id"): r for r in run.of_type(type_)}


@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_buckets_are_versioned_encrypted_and_expire_at_their_retention(deploy, platforms, environment):
    platform = platforms[environment]
    run = deploy(platform)
    buckets = {b.inputs["bucket"]: b for b in run.of_type(BUCKET)}
    versioning = _by_bucket(run, "aws:s3/bucketVersioning:BucketVersioning")
    encryption = _by_bucket(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    lifecycle = _by_bucket(run, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    blocks = _by_bucket(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    expected = {
        "postgres": platform.backup_for("postgres").retention_days,
        "clickhouse": platform.backup_for("clickhouse").retention_days,
        "velero": platform.backup_for("cluster-state").retention_days,
        "iceberg": platform.backup_for("iceberg").retention_days,
        "loki": platform.observability.loki.retention_days,
        "tempo": platform.observability.tempo.retention_days,
    }
    plans = {p.key: p for p in derived.buckets(platform)}
    assert set(plans) == set(expected)
    for key, days in expected.items():
        plan = plans[key]
        names = [plan.primary.bucket] + ([plan.copy.bucket] if plan.replicated else [])
        for name in names:
            assert name in buckets
            assert versioning[name].inputs["versioningConfiguration"]["status"] == "Enabled"
            sse = encryption[name].inputs["rules"][0]["applyServerSideEncryptionByDefault"]
            assert sse["sseAlgorithm"] == "aws:kms" and sse["kmsMasterKeyId"]
            assert blocks[name].inputs["blockPublicAcls"] is True and blocks[name].inputs["restrictPublicBuckets"] is True
            (rule,) = lifecycle[name].inputs["rules"]
            assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == days
            if key == "iceberg":
                assert "expiration" not in rule, "the live warehouse must never expire, only its old versions"
            else:
                assert rule["expiration"]["days"] == days
    if environment == "staging":
        assert expected["loki"] == 7 and expected["tempo"] == 3


def test_cross_region_buckets_replicate_out_of_the_cluster_region(prod_run):
    platform, run = prod_run
    cluster = platform.cluster
    buckets = {b.inputs["bucket"]: b for b in run.of_type(BUCKET)}
    replications = _by_bucket(run, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    replicated = [p for p in derived.buckets(platform) if p.replicated]
    assert {p.key for p in replicated} == {"postgres", "clickhouse", "velero", "iceberg"}
    for plan in replicated:
        assert buckets[plan.primary.bucket].inputs["region"] == cluster.region
        (rule,) = replications[plan.primary.bucket].inputs["rules"]
        target_name = rule["destination"]["bucket"].rsplit(":", 1)[1]
        target_region = buckets[target_name].inputs["region"]
        assert target_region == cluster.dr_region != cluster.region
    for plan in derived.buckets(platform):
        if not plan.replicated:
            assert plan.primary.bucket not in replications


def test_bucket_names_come_from_the_backup_rows(prod_run):
    platform, run = prod_run
    names = {b.inputs["bucket"] for b in run.of_type(BUCKET)}
    for row in platform.backups:
        if row.bucket:
            assert row.bucket in names


def test_each_workload_identity_is_trusted_only_by_its_service_account(prod_run):
    platform, run = prod_run
    roles = {r.name: r for r in run.of_type("aws:iam/role:Role")}
    policies = {r.name: r for r in run.of_type("aws:iam/rolePolicy:RolePolicy")}
    for identity in derived.WORKLOAD_IDENTITIES:
        name = f"{platform.cluster.name}-{identity.name}"
        trust = json.loads(roles[name].inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        conditions = statement["Condition"]["StringEquals"]
        subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
        assert subjects == [f"system:serviceaccount:{identity.namespace}:{identity.service_account}"]
        granted = json.dumps(json.loads(policies[name].inputs["policy"]))
        for key in identity.buckets:
            assert f"Bucket:{next(p.primary.bucket for p in derived.buckets(platform) if p.key == key)}" in granted
        assert ("route53:ChangeResourceRecordSets" in granted) == identity.manages_dns
        assert ("secretsmanager:GetSecretValue" in granted) == identity.reads_secrets


def test_dns_zone_and_cdn_serve_the_public_hosts(prod_run):
    platform, run = prod_run
    (zone,) = run.of_type("aws:route53/zone:Zone")
    assert zone.inputs["name"] == platform.edge.domain
    (cdn,) = run.of_type("aws:cloudfront/distribution:Distribution")
    assert cdn.inputs["aliases"] == layout.public_hosts(platform) != []
    assert cdn.inputs["origins"][0]["domainName"] == f"origin.{platform.edge.domain}"
    assert cdn.inputs["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
    (certificate,) = run.of_type("aws:acm/certificate:Certificate")
    assert certificate.inputs["region"] == "us-east-1"
    aliases = {r.inputs["name"] for r in run.of_type("aws:route53/record:Record") if r.inputs.get("aliases")}
    assert aliases == set(layout.public_hosts(platform))


def test_no_cdn_when_the_spec_turns_it_off(deploy, tmp_path):
    run = deploy(platform_on(tmp_path, "aws", [("edge.cdn", False)]))
    assert run.of_type("aws:cloudfront/distribution:Distribution") == []
    assert len(run.of_type("aws:route53/zone:Zone")) == 1


def test_stores_stay_in_cluster_by_default(prod_run):
    _, run = prod_run
    assert run.of_type("aws:rds/instance:Instance") == []
    assert run.of_type("aws:elasticache/replicationGroup:ReplicationGroup") == []


def test_cloud_managed_postgres_and_redis(deploy, tmp_path):
    platform = platform_on(tmp_path, "aws", MANAGED_STORES)
    run = deploy(platform)
    (db,) = run.of_type("aws:rds/instance:Instance")
    assert db.inputs["engineVersion"] == str(platform.datastores.postgres.version)
    assert db.inputs["allocatedStorage"] == platform.datastores.postgres.storage.size_gib
    assert db.inputs["multiAz"] is True and db.inputs["storageEncrypted"] is True
    assert db.inputs["publiclyAccessible"] is False
    assert db.inputs["backupRetentionPeriod"] == min(platform.backup_for("postgres").retention_days, 35)
    (cache,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.inputs["numCacheClusters"] == platform.datastores.redis.nodes
    assert cache.inputs["engineVersion"] == platform.datastores.redis.version
    assert cache.inputs["engine"] == elasticache_engine(platform.datastores.redis.version)
    assert cache.inputs["automaticFailoverEnabled"] is True and cache.inputs["transitEncryptionEnabled"] is True


def test_only_the_store_handed_to_the_cloud_is_managed(deploy, tmp_path):
    run = deploy(platform_on(tmp_path, "aws", MANAGED_STORES[:1]))
    assert len(run.of_type("aws:rds/instance:Instance")) == 1
    assert run.of_type("aws:elasticache/replicationGroup:ReplicationGroup") == []



def test_pulumi_entry_point_builds_the_stack_environment(deploy_stack, platforms):
    run = deploy_stack({"plinth:environment": "staging", "plinth:apiPublicCidrs": '["198.51.100.0/24"]'})
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["name"] == "plinth-staging"
    assert cluster.inputs["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.0/24"]
    groups = {g.inputs["nodeGroupName"]: g.inputs["scalingConfig"] for g in run.of_type(NODE_GROUP)}
    apps = platforms["staging"].node_pools["apps"]  # the staging overlay's numbers, not prod's
    assert groups["apps"] == {"minSize": apps.min_nodes, "maxSize": apps.max_nodes, "desiredSize": apps.nodes}
    assert (apps.nodes, apps.max_nodes) != (platforms["prod"].node_pools["apps"].nodes, platforms["prod"].node_pools["apps"].max_nodes)


def test_pulumi_entry_point_reports_spec_problems(deploy_stack):
    with pytest.raises(Exception, match=r"environment|staging-typo"):
        deploy_stack({"plinth:environment": "staging-typo"})


def test_elasticache_engine_follows_the_redis_version():
    assert elasticache_engine("7.0") == "redis"
    assert elasticache_engine("7.1") == "redis"
    assert elasticache_engine("7.2") == "valkey"
    assert elasticache_engine("8.0") == "valkey"


def test_managed_stores_write_the_secrets_their_clients_read(deploy, tmp_path):
    """Every remote key a client's ExternalSecret reads is a Secrets Manager secret the program writes, whose JSON holds
    the managed store's address and the credentials the store was created with."""
    platform = platform_on(tmp_path, "aws", MANAGED_STORES)
    run = deploy(platform)
    written = {r.inputs["name"]: r for r in run.of_type("aws:secretsmanager/secret:Secret")}
    versions = {r.name: r for r in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
    (db,) = run.of_type("aws:rds/instance:Instance")
    (cache,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    for store, host, port, user in (("postgres", "pg.mock.rds.amazonaws.com", "5432", db.inputs["username"]),
                                    ("redis", "redis.mock.cache.amazonaws.com", "6379", "default")):
        read = external_secret_keys(platform, store)
        assert read and read == {derived.remote_secret_name(platform, n) for n in derived.managed_store_secrets(platform, store)}
        assert read <= set(written), f"{store}: read but never written: {sorted(read - set(written))}"
        for key in read:
            assert key.startswith(derived.secret_name_prefix(platform) + "/"), "outside what External Secrets may read"
            value = json.loads(unsecret(versions[key].inputs["secretString"]))
            assert value["host"] == host and value["port"] == port and value["username"] == user
            assert value["password"] == f"mock-password-{platform.cluster.name}-{store}"
    assert unsecret(cache.inputs["authToken"]) == f"mock-password-{platform.cluster.name}-redis"
    assert unsecret(db.inputs["password"]) == f"mock-password-{platform.cluster.name}-postgres"


def test_managed_stores_sit_in_their_own_subnets_with_the_catalog_sizes(deploy, tmp_path):
    from plinth.catalog.managed_stores import managed_store

    platform = platform_on(tmp_path, "aws", MANAGED_STORES)
    run = deploy(platform)
    data = {s.inputs["cidrBlock"]: s for s in run.of_type(SUBNET) if "-data-" in s.name}
    assert set(data) == set(derived.managed_store_cidrs(platform)) == set(derived.managed_store_subnets(platform.cluster.zones).values())
    assert {s.inputs["availabilityZone"] for s in data.values()} == set(platform.cluster.zones)
    for group in (run.named("aws:rds/subnetGroup:SubnetGroup", f"{platform.cluster.name}-postgres"),
                  run.named("aws:elasticache/subnetGroup:SubnetGroup", f"{platform.cluster.name}-redis")):
        assert sorted(group.inputs["subnetIds"]) == sorted(f"{s.name}-id" for s in data.values())
    (db,) = run.of_type("aws:rds/instance:Instance")
    (cache,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert db.inputs["instanceClass"] == managed_store(platform, "postgres").instance_class == "db.m6i.xlarge"
    assert cache.inputs["nodeType"] == managed_store(platform, "redis").instance_class == "cache.r7g.large"
    (copy,) = run.of_type("aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication")
    assert copy.inputs["region"] == platform.cluster.dr_region != platform.cluster.region
    assert copy.inputs["retentionPeriod"] == db.inputs["backupRetentionPeriod"] == platform.backup_for("postgres").retention_days
