"""Node objects from the spec and the report of webhook backends, without a cluster."""

from __future__ import annotations

from collections import Counter

from plinth.catalog.nodes import node_shape
from plinth.kube.scheduling import POOL_LABEL, ZONE_KEY
from plinth.sim.apply import backends_not_running
from plinth.sim.nodes import spec_nodes
from plinth.spec.model import Platform


def test_node_counts_follow_the_spec_or_the_autoscaler_bounds(platforms: dict[str, Platform]) -> None:
    staging = platforms["staging"]
    for count, attribute in (("spec", "nodes"), ("min", "min_nodes"), ("max", "max_nodes")):
        nodes = spec_nodes(staging, count=count)
        per_pool = Counter(n["metadata"]["labels"][POOL_LABEL] for n in nodes)
        assert per_pool == {name: getattr(pool, attribute) for name, pool in staging.node_pools.items()}


def test_zones_are_dealt_round_robin_and_shapes_come_from_the_planner(prod: Platform) -> None:
    nodes = spec_nodes(prod, provider="gcp")
    apps = [n for n in nodes if n["metadata"]["labels"][POOL_LABEL] == "apps"]
    zones = prod.cluster.zones
    assert [n["metadata"]["labels"][ZONE_KEY] for n in apps] == [zones[i % len(zones)] for i in range(len(apps))]
    shape = node_shape("gcp", prod.node_pools["apps"])
    assert apps[0]["status"]["allocatable"]["cpu"] == f"{shape.allocatable_cpu_millicores}m"
    assert apps[0]["metadata"]["labels"]["node.kubernetes.io/instance-type"] == shape.instance.name
    data = next(n for n in nodes if n["metadata"]["labels"][POOL_LABEL] == "data")
    assert data["spec"]["taints"] == [{"key": t.key, "value": t.value, "effect": t.effect} for t in prod.node_pools["data"].taints]
    assert "taints" not in apps[0]["spec"]


def test_webhooks_and_api_services_without_backends_are_reported() -> None:
    objects = [
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "v"},
         "webhooks": [{"name": "a.example.com"}, {"name": "b.example.com", "failurePolicy": "Ignore"}]},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.metrics.k8s.io"},
         "spec": {"service": {"name": "metrics", "namespace": "kube-system"}}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "things.example.com"},
         "spec": {"conversion": {"strategy": "Webhook"}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}},
    ]
    found = backends_not_running(objects)
    assert [(b.what, b.failure_policy) for b in found] == [
        ("ValidatingWebhookConfiguration webhook a.example.com", "Fail"),
        ("ValidatingWebhookConfiguration webhook b.example.com", "Ignore"),
        ("APIService v1beta1.metrics.k8s.io", "-"),
        ("conversion webhook of things.example.com", "-"),
    ]
    assert "rejected" in found[0].consequence and "unchecked" in found[1].consequence


def test_a_scaled_environment_takes_the_planners_minimum_or_maximum_nodes(prod: Platform) -> None:
    from plinth.sim.run import SizedEnvironment

    sized = SizedEnvironment(prod, [], None, {"apps": (15, 22), "data": (3, 5)}, organisations=10_000)  # type: ignore[arg-type]
    assert sized.node_counts("spec") == sized.node_counts("min") == {"apps": 15, "data": 3}
    assert sized.node_counts("max") == {"apps": 22, "data": 5}
    unscaled = SizedEnvironment(prod, [], None, {"apps": (15, 22)}, organisations=None)  # type: ignore[arg-type]
    assert unscaled.node_counts("max") is None


def test_the_external_secrets_stand_in_renders_templates_as_external_secrets_does() -> None:
    import hashlib

    from plinth.sim.standin_controllers import target_values

    values = target_values({"password": "s3cret"}, {"password": "{{ .password }}", "sasl": "scram_sha512", "tls": "enable",
                                                    "url": "postgres://app:{{ .password }}@db:5432/app",
                                                    "acl": "user default on #{{ .password | sha256sum }} ~* +@all",
                                                    "other": "{{ .password | sha256 }}", "unknown": "{{ .missing }}"})
    assert set(values) == {"password", "sasl", "tls", "url", "acl", "other", "unknown"}
    assert (values["password"], values["sasl"], values["tls"]) == ("s3cret", "scram_sha512", "enable")
    assert values["url"] == "postgres://app:s3cret@db:5432/app"
    assert values["acl"] == f"user default on #{hashlib.sha256(b's3cret').hexdigest()} ~* +@all"
    assert "{{" not in values["other"] and "{{" not in values["unknown"]  # what it cannot render gets a random value
    assert set(target_values({"username": "u", "password": "p"}, {})) == {"username", "password"}
    assert set(target_values({"backup_password": "p"}, {"backup_api_username": "backup-api"}, merge=True)) == {"backup_password", "backup_api_username"}


def test_external_secrets_reading_one_remote_secret_agree() -> None:
    from plinth.sim.standin_controllers import remote_values

    store = {"kind": "ClusterSecretStore", "name": "platform"}
    password = remote_values({"secretStoreRef": store, "data": [{"secretKey": "password", "remoteRef": {"key": "redis/default", "property": "password"}}]})
    acl = remote_values({"secretStoreRef": {"kind": "ClusterSecretStore", "name": "identities"}, "data": [
        {"secretKey": "default_password", "remoteRef": {"key": "redis/default", "property": "password"}, "sourceRef": {"storeRef": store}},
        {"secretKey": "auth", "remoteRef": {"key": "auth/redis", "property": "password"}}]})
    assert acl["default_password"] == password["password"]
    assert acl["auth"] != password["password"] and len(acl["auth"]) >= 24
