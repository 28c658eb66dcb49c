"""Every ``uses`` edge works and nothing more: walking each service's data stores in the rendered tree finds its own
identity, the grant or ACL that lets it do its job and the secret both sides read; and no service can use another's."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from plinth.checks import CheckContext
from plinth.checks.engine import run_checks
from plinth.checks.security import CHECKS as SECURITY_CHECKS
from plinth.kube.secrets import remote_entries, store_prefixes
from plinth.components.app_services import credentials_secret
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.render.pipeline import render_platform
from plinth.spec.access import IDENTITY_STORES, consumer_group, identities, store_identity
from plinth.spec.derived import remote_secret_name
from plinth.spec.loader import SpecError, load_platform
from plinth.spec.model import Platform
from tests.conftest import DEFAULT_SPEC, spec_with

DATA, APPS = "platform-data", "platform-apps"


@pytest.fixture(scope="module", params=["prod", "staging"])
def tree(request, platforms: dict[str, Platform]) -> tuple[Platform, list[dict[str, Any]]]:
    platform = platforms[request.param]
    return platform, [r.obj for r in render_platform(platform)]


def one(objects: list[dict[str, Any]], kind: str, namespace: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace]
    assert len(found) == 1, f"{kind}/{namespace}/{name}: {len(found)} found"
    return found[0]


def remote_keys(objects: list[dict[str, Any]], external_secret: dict[str, Any]) -> set[str]:
    """The full remote names an ExternalSecret reads (its stores' prefixes included)."""
    return {full for _, _, full in remote_entries(external_secret, store_prefixes(objects))}


def secret_writer(objects: list[dict[str, Any]], namespace: str, secret: str) -> dict[str, Any]:
    """The ExternalSecret that writes Secret ``namespace/secret``."""
    (writer,) = [o for o in objects if o["kind"] == "ExternalSecret" and o["metadata"]["namespace"] == namespace
                 and o["spec"]["target"]["name"] == secret]
    return writer


def kafka_acls(user: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(a["resource"]["type"], a["resource"]["name"], op) for a in user["spec"]["authorization"]["acls"] for op in a["operations"]}


def test_every_uses_edge_has_identity_grant_and_secret(tree) -> None:
    platform, objects = tree
    walked = 0
    for name, svc in sorted(platform.services.items()):
        rollout = one(objects, "Rollout", APPS, name)
        mounted = {v["secret"]["secretName"] for v in rollout["spec"]["template"]["spec"]["volumes"] if "secret" in v}
        for store in sorted(set(svc.uses) & set(IDENTITY_STORES)):
            identity = store_identity(platform, name, store)
            remote = remote_secret_name(platform, identity.remote_key)
            # The service's side: it mounts a Secret with its user name and the password from the secret store.
            client = credentials_secret(name, store)
            assert client in mounted
            writer = secret_writer(objects, APPS, client)
            assert remote_keys(objects, writer) == {remote}
            assert writer["spec"]["target"]["template"]["data"]["username"] == identity.user
            # The store's side: the identity, its grant, and the same remote password.
            if store == "postgres":
                cluster = one(objects, "Cluster", DATA, DATASTORE_NAMES["postgres"])
                (role,) = [r for r in cluster["spec"]["managed"]["roles"] if r["name"] == identity.user]
                assert role["login"] is True and not any(role[a] for a in ("superuser", "createdb", "createrole", "replication", "bypassrls"))
                assert remote in remote_keys(objects, secret_writer(objects, DATA, role["passwordSecret"]["name"]))
                database = one(objects, "Database", DATA, f"{DATASTORE_NAMES['postgres']}-{name}")
                assert (database["spec"]["name"], database["spec"]["owner"]) == (identity.database, identity.user)
                assert f"host {identity.database} {identity.user} all scram-sha-256" in cluster["spec"]["postgresql"]["pg_hba"]
            elif store == "clickhouse":
                users = one(objects, "ClickHouseInstallation", DATA, DATASTORE_NAMES["clickhouse"])["spec"]["configuration"]["users"]
                ns, secret, key = users[f"{identity.user}/k8s_secret_password"].split("/")
                assert (ns, key) == (DATA, "password") and remote in remote_keys(objects, secret_writer(objects, DATA, secret))
                assert users[f"{identity.user}/grants/query"] and all(f" ON {identity.database}.*" in g for g in users[f"{identity.user}/grants/query"])
            elif store == "kafka":
                user = one(objects, "KafkaUser", DATA, identity.user)
                assert user["spec"]["authentication"]["type"] == "scram-sha-512"
                secret = user["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]["name"]
                assert remote in remote_keys(objects, secret_writer(objects, DATA, secret))
                acls = kafka_acls(user)
                assert {("topic", t, op) for t in svc.produces for op in ("Describe", "Write")} <= acls
                assert {("topic", t, op) for t in svc.consumes for op in ("Describe", "Read")} <= acls
                if svc.consumes:
                    assert ("group", consumer_group(platform, name), "Read") in acls
            elif store == "redis":
                replication = one(objects, "RedisReplication", DATA, DATASTORE_NAMES["redis"])
                acl = secret_writer(objects, DATA, replication["spec"]["acl"]["secret"]["secretName"])
                assert remote in remote_keys(objects, acl)
                (line,) = [l for l in acl["spec"]["target"]["template"]["data"]["user.acl"].splitlines() if l.startswith(f"user {identity.user} ")]
                assert f"~{name}:*" in line.split() and "-@admin" in line.split() and " on " in line
            walked += 1
    assert walked == sum(len(set(s.uses) & set(IDENTITY_STORES)) for s in platform.services.values()) >= 8


def test_no_service_can_use_another_services_identity(tree) -> None:
    platform, objects = tree
    every = identities(platform)
    # Each identity has its own password: no two identities share a remote secret.
    assert len({i.remote_key for i in every}) == len(every)
    # PostgreSQL: a role is admitted to its own database only, and everything else is refused.
    hba = one(objects, "Cluster", DATA, DATASTORE_NAMES["postgres"])["spec"]["postgresql"]["pg_hba"]
    assert hba[-1] == "host all all all reject"
    for a in identities(platform, "postgres"):
        admitted = {line.split()[1] for line in hba if line.split()[2] == a.user}
        assert admitted == {a.database}
    # ClickHouse: grants name the user's own database only.
    users = one(objects, "ClickHouseInstallation", DATA, DATASTORE_NAMES["clickhouse"])["spec"]["configuration"]["users"]
    for a in identities(platform, "clickhouse"):
        scopes = {re.search(r" ON (\S+)", g).group(1) for g in users[f"{a.user}/grants/query"]}
        assert scopes == {f"{a.database}.*"}
    # Kafka: a user touches exactly its service's topics and group; the producer cannot read, nor use the workers' group.
    for a in identities(platform, "kafka"):
        svc = platform.services[a.service]
        resources = {(t, n) for t, n, _ in kafka_acls(one(objects, "KafkaUser", DATA, a.user))}
        expected = {("topic", t) for t in [*svc.produces, *svc.consumes]} | ({("group", consumer_group(platform, a.service))} if svc.consumes else set())
        assert resources == expected
        for _, topic, op in kafka_acls(one(objects, "KafkaUser", DATA, a.user)):
            assert op != "Read" or topic in svc.consumes or topic == consumer_group(platform, a.service)
            assert op != "Write" or topic in svc.produces
    # Redis: key prefixes of two services never overlap.
    prefixes = [i.redis_keys.rstrip("*") for i in identities(platform, "redis")]
    assert all(not p.startswith(q) for p in prefixes for q in prefixes if p != q)
    # A service's pods mount only its own identities.
    owners = {remote_secret_name(platform, i.remote_key): i.service for i in every}
    for name in platform.services:
        pod = one(objects, "Rollout", APPS, name)["spec"]["template"]["spec"]
        for volume in pod["volumes"]:
            if "secret" in volume and volume["secret"]["secretName"].endswith("-credentials"):
                keys = remote_keys(objects, secret_writer(objects, APPS, volume["secret"]["secretName"]))
                assert {owners.get(k, name) for k in keys} == {name}


def _security_findings(platform: Platform, objects: list[dict[str, Any]]) -> list[str]:
    ctx = CheckContext.from_objects(platform, objects)
    return [f"{f.check_id} {f.obj.key}: {f.message}" for f in run_checks(ctx, SECURITY_CHECKS)]


def test_the_rendered_tree_passes_the_security_checks(tree) -> None:
    platform, objects = tree
    assert _security_findings(platform, objects) == []


def test_mounting_another_services_credentials_is_found(tree) -> None:
    platform, objects = tree
    objects = copy.deepcopy(objects)
    rollout = one(objects, "Rollout", APPS, "config")
    rollout["spec"]["template"]["spec"]["volumes"].append(
        {"name": "stolen", "secret": {"secretName": credentials_secret("auth", "postgres")}})
    findings = _security_findings(platform, objects)
    assert any(f.startswith("PL-SEC-002 Rollout/platform-apps/config:") and "auth's postgres identity" in f for f in findings), findings


def test_a_wider_grant_is_found(tree) -> None:
    platform, objects = tree
    objects = copy.deepcopy(objects)
    users = one(objects, "ClickHouseInstallation", DATA, DATASTORE_NAMES["clickhouse"])["spec"]["configuration"]["users"]
    users["data_workers/grants/query"] = [*users["data_workers/grants/query"], "GRANT SELECT ON *.*"]
    cluster = one(objects, "Cluster", DATA, DATASTORE_NAMES["postgres"])
    cluster["spec"]["postgresql"]["pg_hba"].insert(0, "host all auth all scram-sha-256")
    findings = _security_findings(platform, objects)
    assert any("ClickHouse user data_workers is granted 'GRANT SELECT ON *.*'" in f for f in findings), findings
    assert any("admits auth to all" in f for f in findings), findings


@pytest.mark.parametrize(("changes", "message"), [
    ([("services.connector.produces", ["no-such-topic"])], "services.connector.produces: unknown Kafka topics ['no-such-topic']"),
    ([("services.data-workers.consumes", ["connector-ingest"])], "the queue_depth trigger reads the lag of 'pipeline-events'"),
    ([("services.auth.produces", ["pipeline-events"])], "services.auth.produces: the service does not use kafka"),
])
def test_topic_use_is_declared_and_checked(tmp_path, changes, message) -> None:
    with pytest.raises(SpecError) as raised:
        load_platform(spec_with(tmp_path, changes), "prod")
    assert message in str(raised.value)


def test_the_spec_loads_unchanged() -> None:
    assert load_platform(DEFAULT_SPEC, "prod").services["connector"].produces
