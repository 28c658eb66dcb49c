"""``managed_by: cloud``: nothing of the in-cluster store is rendered; its clients reach the managed service through the
secrets the cloud layer writes and NetworkPolicies naming the managed stores' addresses (examples/aws-managed.yaml)."""

from __future__ import annotations

import ipaddress

import pytest

from plinth.kube.secrets import remote_entries, store_prefixes
from plinth.components import app_services, iceberg_catalog
from plinth.render.pipeline import render_platform
from plinth.spec import derived
from plinth.spec.loader import load_platform
from tests.conftest import REPO, spec_with

CNPG_KINDS = {"Cluster", "Pooler", "ScheduledBackup", "ObjectStore", "Database"}
REDIS_KINDS = {"RedisReplication", "RedisSentinel"}
STORE_APPLICATIONS = {"cloudnative-pg": "postgres", "plugin-barman-cloud": "postgres", "redis-operator": "redis"}


@pytest.fixture(scope="module")
def managed():
    return load_platform(REPO / "examples" / "aws-managed.yaml", "prod")


@pytest.fixture(scope="module")
def managed_objects(managed):
    return [r.obj for r in render_platform(managed)]


def _chart_applications(objects) -> set[str]:
    return {o["metadata"]["name"] for o in objects if o["kind"] == "Application" and "chart" in o["spec"].get("source", {})}


def test_the_managed_example_hands_both_stores_to_the_cloud(managed) -> None:
    assert derived.managed_stores(managed) == ("postgres", "redis")


def test_no_in_cluster_postgres_or_redis_object_is_rendered(managed_objects) -> None:
    kinds = {o["kind"] for o in managed_objects}
    assert not kinds & (CNPG_KINDS | REDIS_KINDS)
    assert not [o for o in managed_objects if "cnpg.io" in o["apiVersion"] or "opstreelabs" in o["apiVersion"]]
    names = {o["metadata"]["name"] for o in managed_objects}
    assert not {n for n in names if n.startswith(("plinth-pg", "plinth-redis"))}, "a PodMonitor, policy or Secret of the stores"
    assert not _chart_applications(managed_objects) & set(STORE_APPLICATIONS)


def test_in_cluster_stores_still_render_their_operators(prod) -> None:
    objects = [r.obj for r in render_platform(prod)]
    assert {"Cluster", "Pooler", "RedisReplication", "RedisSentinel"} <= {o["kind"] for o in objects}
    assert set(STORE_APPLICATIONS) <= _chart_applications(objects)


def test_only_the_operator_of_the_managed_store_goes(tmp_path) -> None:
    platform = load_platform(spec_with(tmp_path, [("datastores.postgres.managed_by", "cloud")]), "prod")
    objects = [r.obj for r in render_platform(platform)]
    kinds = {o["kind"] for o in objects}
    assert not kinds & CNPG_KINDS and REDIS_KINDS <= kinds
    assert _chart_applications(objects) & set(STORE_APPLICATIONS) == {"redis-operator"}


def test_services_read_the_managed_address_and_credentials_the_cloud_layer_writes(managed, managed_objects) -> None:
    secrets = {o["metadata"]["name"]: o for o in managed_objects if o["kind"] == "ExternalSecret"}
    users = [(name, store) for name, svc in sorted(managed.services.items()) for store in ("postgres", "redis") if store in svc.uses]
    assert {store for _, store in users} == {"postgres", "redis"}, "the example must exercise both stores"
    for name, store in users:
        es = secrets[app_services.credentials_secret(name, store)]
        # In the service's own namespace subtree: the name the cloud layer writes (derived.managed_store_secrets).
        scoped = f"{app_services.NAMESPACE}/{derived.store_credentials_secret(name, store)}"
        assert scoped in derived.managed_store_secrets(managed, store)
        remote = derived.remote_secret_name(managed, scoped)
        read = {(d["secretKey"], full) for (_, _, full), d in zip(remote_entries(es, store_prefixes(managed_objects)), es["spec"]["data"])}
        assert read == {(key, remote) for key in ("host", "port", *app_services.STORE_CREDENTIAL_KEYS[store])}
        assert {d["remoteRef"]["property"] for d in es["spec"]["data"]} == {key for key, _ in read}
    rollout = next(o for o in managed_objects if o["kind"] == "Rollout" and o["metadata"]["name"] == users[0][0])
    env = {e["name"] for c in rollout["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    assert "POSTGRES_ADDRESS" not in env and "REDIS_ADDRESS" not in env, "an in-cluster address for a managed store"


def test_the_iceberg_catalog_builds_its_jdbc_url_from_the_managed_address(managed, managed_objects) -> None:
    db = next(o for o in managed_objects if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == iceberg_catalog.DB_SECRET)
    remote = derived.remote_secret_name(managed, f"{iceberg_catalog.NAMESPACE}/{derived.ICEBERG_CATALOG_DB_SECRET}")
    assert {full for _, _, full in remote_entries(db, store_prefixes(managed_objects))} == {remote}
    assert {d["secretKey"] for d in db["spec"]["data"]} == {"host", "port", "username", "password"}
    template = db["spec"]["target"]["template"]
    assert template["mergePolicy"] == "Merge"
    assert template["data"][iceberg_catalog.JDBC_URL_KEY].startswith("jdbc:postgresql://{{ .host }}:{{ .port }}/")
    assert iceberg_catalog.values(managed)["persistence"]["relationalJdbc"]["secret"]["jdbcUrl"] == iceberg_catalog.JDBC_URL_KEY
    assert "quarkus.datasource.jdbc.url" not in iceberg_catalog.values(managed)["advancedConfig"]
    assert f"{iceberg_catalog.NAMESPACE}/{derived.ICEBERG_CATALOG_DB_SECRET}" in derived.managed_store_secrets(managed, "postgres")


def test_clients_egress_to_the_managed_stores_subnets_only(managed, managed_objects) -> None:
    cidrs = set(derived.managed_store_cidrs(managed))
    assert cidrs == set(derived.managed_store_subnets(managed.cluster.zones).values())
    nodes = [ipaddress.ip_network(c) for pair in derived.zone_subnets(managed.cluster.zones).values() for c in pair]
    assert not any(ipaddress.ip_network(c).overlaps(n) for c in cidrs for n in nodes), "store addresses shared with nodes or pods"
    name = next(n for n, s in sorted(managed.services.items()) if "postgres" in s.uses)
    policy = next(o for o in managed_objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == f"allow-{name}-app-services")
    to_stores = [rule for rule in policy["spec"]["egress"] if {p.get("ipBlock", {}).get("cidr") for p in rule["to"]} == cidrs]
    wanted = sorted(derived.managed_store_port(managed, store) for store in ("postgres", "redis") if store in managed.services[name].uses)
    assert [[p["port"] for p in rule["ports"]] for rule in to_stores] == [wanted]
