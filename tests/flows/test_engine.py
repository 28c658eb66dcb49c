"""The engine's own arithmetic and the parts of NetworkPolicy the conformance cases do not probe: port and address
sets, sure versus possible matches of address sets, ipBlock unions within a rule, endPort, defaulted policyTypes,
the rules each verdict names, external endpoints without policies, host-network pods."""

from __future__ import annotations

import pytest

from plinth.flows.netpol import (
    ALL_PORTS,
    AddressSet,
    Endpoint,
    Evaluator,
    PolicyError,
    PortSet,
    parse_policy,
)


def policy(name: str, namespace: str, spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod(key: str, namespace: str, labels: dict, cidr: str = "10.1.0.0/16", ports=()) -> Endpoint:
    return Endpoint(key, namespace, labels, AddressSet.of([cidr]), tuple(ports))


def test_port_sets_merge_intersect_subtract_and_describe() -> None:
    a = PortSet.of({"TCP": [(80, 80), (81, 90)], "UDP": [(53, 53)]})
    assert a.describe() == "TCP 80-90; UDP 53"
    assert (a & PortSet.single(85)).describe() == "TCP 85"
    assert (a - PortSet.single(85)).describe() == "TCP 80-84, 86-90; UDP 53"
    assert a.covers(PortSet.single(53, "UDP")) and not a.covers(PortSet.single(53))
    assert ALL_PORTS.describe() == "TCP any; UDP any; SCTP any" and (ALL_PORTS - ALL_PORTS).describe() == "none"


def test_address_sets_subtract_and_summarise() -> None:
    public = AddressSet.of(["0.0.0.0/0"]) - AddressSet.of(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])
    assert AddressSet.of(["8.8.8.8/32"]).within(public)
    assert not AddressSet.of(["10.1.2.3/32"]).overlaps(public)
    assert AddressSet.of(["10.0.0.0/24", "10.0.1.0/24"]).cidrs() == ["10.0.0.0/23"]
    with pytest.raises(PolicyError):
        AddressSet.of(["10.0.0.300/8"])


def test_an_address_range_is_matched_surely_only_when_the_rule_covers_all_of_it() -> None:
    """A pod may take any address of its pod network: a block covering part of it only possibly matches."""
    client = pod("client", "x", {"app": "client"})
    server = pod("server", "y", {"app": "server"}, "10.2.0.0/16")
    half = policy("half", "x", {"podSelector": {"matchLabels": {"app": "client"}}, "policyTypes": ["Egress"],
                                "egress": [{"to": [{"ipBlock": {"cidr": "10.2.0.0/17"}}], "ports": [{"port": 443}]}]})
    verdict = Evaluator([parse_policy(half)]).verdict(client, server)
    assert not verdict.sure and verdict.maybe.describe() == "TCP 443"
    both = policy("both", "x", {"podSelector": {"matchLabels": {"app": "client"}}, "policyTypes": ["Egress"],
                                "egress": [{"to": [{"ipBlock": {"cidr": "10.2.0.0/17"}}, {"ipBlock": {"cidr": "10.2.128.0/17"}}],
                                            "ports": [{"port": 443}]}]})
    assert Evaluator([parse_policy(both)]).verdict(client, server).sure.describe() == "TCP 443", "the peers of one rule add up"


def test_end_port_ranges_and_defaulted_policy_types() -> None:
    client, server = pod("client", "x", {"app": "c"}), pod("server", "x", {"app": "s"})
    ranged = policy("ranged", "x", {"podSelector": {"matchLabels": {"app": "s"}}, "ingress": [{"ports": [{"port": 8000, "endPort": 8010}]}]})
    parsed = parse_policy(ranged)
    assert parsed.types == frozenset({"Ingress"}), "no policyTypes and no egress rules: Ingress only"
    assert Evaluator([parsed]).verdict(client, server).sure.describe() == "TCP 8000-8010"
    egress_only = parse_policy(policy("e", "x", {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}))
    assert egress_only.types == frozenset({"Ingress", "Egress"}), "egress rules present: both directions isolated"
    with pytest.raises(PolicyError):
        parse_policy(policy("bad", "x", {"podSelector": {}, "ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}))


def test_a_verdict_names_the_rules_that_allow_it_on_each_side() -> None:
    client, server = pod("client", "x", {"app": "c"}), pod("server", "y", {"app": "s"}, ports=(("http", 8080, "TCP"),))
    out = policy("out", "x", {"podSelector": {"matchLabels": {"app": "c"}}, "policyTypes": ["Egress"],
                              "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "s"}}}], "ports": [{"port": "http"}]}]})
    into = policy("in", "y", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}]})
    evaluator = Evaluator([parse_policy(out), parse_policy(into)], {"x": {"team": "a"}})
    verdict = evaluator.verdict(client, server)
    assert verdict.sure.describe() == "TCP 8080", "the named port resolves against the destination's containers"
    assert sorted(str(c.ref) for c in verdict.rules_for(verdict.sure)) == ["x/out spec.egress.0", "y/in spec.ingress.0"]
    assert not Evaluator([parse_policy(out), parse_policy(into)], {"x": {"team": "b"}}).verdict(client, server).sure


def test_endpoints_outside_the_pod_network_and_host_network_pods_have_no_policies() -> None:
    api = Endpoint("external/api-server", None, {}, AddressSet.of(["10.0.96.0/28"]), policed=False)
    node_pod = Endpoint("node-exporter", "x", {"app": "n"}, AddressSet.of(["10.0.0.0/20"]), policed=False)
    client = pod("client", "x", {"app": "c"})
    deny = policy("deny", "x", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    allow = policy("api", "x", {"podSelector": {"matchLabels": {"app": "c"}}, "policyTypes": ["Egress"],
                                "egress": [{"to": [{"ipBlock": {"cidr": "10.0.96.0/28"}}], "ports": [{"port": 443}]}]})
    evaluator = Evaluator([parse_policy(deny), parse_policy(allow)])
    assert evaluator.verdict(client, api).sure.describe() == "TCP 443"
    assert evaluator.verdict(api, client).sure.describe() == "none", "the client's ingress is isolated"
    assert evaluator.verdict(node_pod, api).sure == ALL_PORTS, "a host-network pod is not selected by the deny"
