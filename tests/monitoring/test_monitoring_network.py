"""platform-monitoring's NetworkPolicies: Prometheus scrapes every namespace, the UI is reachable from
the gateway, alerts and object storage leave over HTTPS; the default-deny baseline is not duplicated."""

from __future__ import annotations

from plinth.components import monitoring_network
from plinth.components.prometheus_stack import POD_LABELS


def _policies(prod) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in monitoring_network.objects(prod)}


def _selects(policy: dict, pod_labels: dict[str, str]) -> bool:
    wanted = policy["spec"]["podSelector"].get("matchLabels", {})
    return all(pod_labels.get(k) == v for k, v in wanted.items())


def _egress_ports(policy: dict) -> set[int]:
    return {p["port"] for rule in policy["spec"].get("egress", []) for p in rule.get("ports", [])}


def test_all_in_the_monitoring_namespace_and_no_baseline_duplicate(prod) -> None:
    policies = _policies(prod)
    assert all(p["metadata"]["namespace"] == "platform-monitoring" for p in policies.values())
    assert "default-deny" not in policies and "allow-dns-egress" not in policies
    assert all(p["spec"]["podSelector"] or p["metadata"]["name"] == "accept-scrapes-from-prometheus" for p in policies.values())


def test_prometheus_may_scrape_every_namespace_and_the_nodes(prod) -> None:
    policy = _policies(prod)["prometheus-scrape-egress"]
    assert _selects(policy, POD_LABELS["prometheus"])
    peers = [peer for rule in policy["spec"]["egress"] for peer in rule["to"]]
    assert {"namespaceSelector": {}, "podSelector": {}} in peers
    assert {9100, 10250} <= _egress_ports(policy)


def test_every_monitoring_pod_accepts_scrapes_from_prometheus(prod) -> None:
    policy = _policies(prod)["accept-scrapes-from-prometheus"]
    assert policy["spec"]["podSelector"] == {}
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"][0]["podSelector"]["matchLabels"] == POD_LABELS["prometheus"]


def test_grafana_is_reached_from_the_gateway_and_reaches_its_data_sources(prod) -> None:
    policy = _policies(prod)["grafana"]
    assert _selects(policy, POD_LABELS["grafana"])
    (ingress,) = policy["spec"]["ingress"]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == monitoring_network.GATEWAY_NAMESPACE
    assert ingress["ports"] == [{"protocol": "TCP", "port": 3000}]
    assert {9090, 9093, 8080, 3200} <= _egress_ports(policy)


def test_alertmanager_reaches_pagerduty_and_its_peers(prod) -> None:
    policy = _policies(prod)["alertmanager"]
    assert 443 in _egress_ports(policy)
    mesh = [p for rule in policy["spec"]["egress"] for p in rule.get("ports", []) if p["port"] == 9094]
    assert {p["protocol"] for p in mesh} == {"TCP", "UDP"}


def test_loki_and_tempo_reach_object_storage_and_accept_their_writers(prod) -> None:
    policies = _policies(prod)
    assert 443 in _egress_ports(policies["loki"]) and 443 in _egress_ports(policies["tempo"])
    otlp = policies["tempo-otlp-ingress"]["spec"]["ingress"][0]
    assert {p["port"] for p in otlp["ports"]} == {4317}  # OTLP gRPC, from the collector only
    assert [f["podSelector"]["matchLabels"] for f in otlp["from"]] == [monitoring_network.ALLOY]
    collector = policies["alloy"]["spec"]["ingress"][0]
    assert {p["port"] for p in collector["ports"]} == {4317, 4318}
    assert [f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for f in collector["from"]] == ["platform-apps"]
    gateway = policies["loki-gateway-ingress"]["spec"]["ingress"][0]
    assert monitoring_network.ALLOY in [f["podSelector"]["matchLabels"] for f in gateway["from"]]
