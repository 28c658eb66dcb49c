"""NetworkPolicies rendered from flows: one policy per set of pods, one rule per peer with exactly the flows' ports,
the address classes as ipBlocks of the spec's cloud, a clear error when two sets of pods would share a name."""

from __future__ import annotations

import pytest

from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.flows import ACME, API_SERVER, INTERNET_CLIENTS, Pods, flow
from plinth.render.network import NetworkPolicyError, network_policies, pods_name, policies_from_flows
from plinth.spec.derived import cluster_addresses
from tests.cloud.conftest import platform_on

APP = Pods.of("platform-apps", {"app.kubernetes.io/name": "shop"})
DB = Pods.of("platform-data", {"app.kubernetes.io/name": "db"})


def _by_name(objects):
    return {(o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"] for o in objects}


def test_one_policy_per_set_of_pods_and_one_rule_per_peer(prod) -> None:
    flows = [flow(APP, DB, 5432, "queries"), flow(APP, DB, 5433, "replica queries"), flow(APP, API_SERVER, 443, "watches"),
             flow(INTERNET_CLIENTS, APP, 8080, "public traffic")]
    policies = _by_name(policies_from_flows(prod, flows))
    assert {k for k in policies if k[1] == "default-deny"} == {(ns, "default-deny") for ns in prod.namespaces}
    shop = policies[("platform-apps", "allow-shop")]
    assert shop["policyTypes"] == ["Ingress", "Egress"]
    to_db = [r for r in shop["egress"] if "podSelector" in r["to"][0]]
    assert to_db == [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform-data"}},
                              "podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}}}],
                      "ports": [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 5433}]}]
    api = [r for r in shop["egress"] if "ipBlock" in r["to"][0]]
    assert [p["ipBlock"]["cidr"] for p in api[0]["to"]] == list(cluster_addresses(prod).api_server)
    db = policies[("platform-data", "allow-db")]
    assert db["policyTypes"] == ["Ingress"] and db["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "platform-apps"}


@pytest.mark.parametrize("cloud, api", [("gcp", ["172.16.0.0/28"]), ("azure", ["10.0.0.0/20"])])
def test_the_api_server_is_named_by_the_cloud_s_address_plan(tmp_path, cloud, api) -> None:
    platform = platform_on(tmp_path, cloud)
    policies = _by_name(policies_from_flows(platform, [flow(APP, API_SERVER, 443, "watches"), flow(APP, ACME, 443, "orders")]))
    rules = policies[("platform-apps", "allow-shop")]["egress"]
    blocks = [[p["ipBlock"] for p in r["to"]] for r in rules]
    assert [{"cidr": c} for c in api] in blocks
    assert [{"cidr": "0.0.0.0/0", "except": list(cluster_addresses(platform).private)}] in blocks


def test_two_sets_of_pods_with_one_name_are_refused(prod) -> None:
    twin = Pods.of("platform-apps", {"app.kubernetes.io/name": "shop", "tier": "b"})
    assert pods_name(APP) == pods_name(twin) == "shop"
    with pytest.raises(NetworkPolicyError, match="would both get the policy allow-shop"):
        policies_from_flows(prod, [flow(APP, DB, 1, "a"), flow(twin, DB, 2, "b")])


def test_every_rendered_rule_names_its_peers_and_ports(platforms) -> None:
    for platform in platforms.values():
        for policy in network_policies(platform, ALL_COMPONENTS):
            for direction, key in (("ingress", "from"), ("egress", "to")):
                for rule in policy["spec"].get(direction, []):
                    assert rule.get(key) and rule.get("ports"), (policy["metadata"]["name"], direction, rule)
