"""platform-monitoring's NetworkPolicies, as rendered from the monitoring components' flows: Prometheus scrapes
exactly the declared metrics ports, Grafana reaches its data sources and nothing reaches Grafana, alerts and
object storage leave over HTTPS to public addresses only, Tempo takes OTLP from the services' namespace only."""

from __future__ import annotations

from plinth.components.prometheus_stack import POD_LABELS
from plinth.components.registry import ALL_COMPONENTS
from plinth.render import network

NS = "platform-monitoring"


def _policies(prod) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in network.network_policies(prod, ALL_COMPONENTS) if p["metadata"]["namespace"] == NS}


def _selecting(policies: dict[str, dict], pod_labels: dict[str, str]) -> dict:
    (policy,) = [p for p in policies.values() if p["spec"]["podSelector"].get("matchLabels") == pod_labels]
    return policy


def _egress_ports(policy: dict) -> set[int]:
    return {p["port"] for rule in policy["spec"].get("egress", []) for p in rule.get("ports", [])}


def _public(rule: dict) -> bool:
    return any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" and "10.0.0.0/8" in peer["ipBlock"].get("except", [])
               for peer in rule["to"])


def test_every_rule_names_its_ports(prod) -> None:
    for policy in _policies(prod).values():
        for direction in ("ingress", "egress"):
            for rule in policy["spec"].get(direction, []):
                assert rule.get("ports"), f"{policy['metadata']['name']} {direction}: a rule without ports allows every port"


def test_prometheus_scrapes_declared_ports_the_nodes_and_the_api_server(prod) -> None:
    prometheus = _selecting(_policies(prod), POD_LABELS["prometheus"])
    rules = prometheus["spec"]["egress"]
    nodes = [r for r in rules if any(p.get("ipBlock", {}).get("cidr") == "10.0.0.0/20" for p in r["to"])]
    assert nodes and {9100, 10250} <= {p["port"] for r in nodes for p in r["ports"]}
    assert all(peer.get("podSelector", {}).get("matchLabels") for r in rules for peer in r["to"] if "podSelector" in peer), \
        "Prometheus reaches named pods only, never every pod of a namespace"
    argocd = [r for r in rules if r["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "argocd-server"]
    assert [p["port"] for r in argocd for p in r["ports"]] == [8083]


def test_nothing_reaches_grafana_and_it_reaches_its_data_sources(prod) -> None:
    grafana = _selecting(_policies(prod), POD_LABELS["grafana"])
    sources = [r for r in grafana["spec"]["ingress"] if r["from"][0].get("podSelector", {}).get("matchLabels") != POD_LABELS["prometheus"]]
    assert sources == [], "Grafana has no route: only Prometheus' scrapes come in"
    assert {9090, 9093, 8080, 3200, 443} <= _egress_ports(grafana)


def test_alertmanager_reaches_pagerduty_and_its_peers(prod) -> None:
    policy = _selecting(_policies(prod), POD_LABELS["alertmanager"])
    assert any(_public(r) and [p["port"] for p in r["ports"]] == [443] for r in policy["spec"]["egress"])
    mesh = [p for rule in policy["spec"]["egress"] for p in rule.get("ports", []) if p["port"] == 9094]
    assert {p["protocol"] for p in mesh} == {"TCP", "UDP"}


def test_loki_and_tempo_reach_object_storage_and_accept_their_writers(prod) -> None:
    policies = _policies(prod)
    for name in ("loki", "tempo"):
        policy = _selecting(policies, {"app.kubernetes.io/instance": f"{name}-chart", "app.kubernetes.io/name": name})
        assert any(_public(r) for r in policy["spec"]["egress"]), name
    distributor = _selecting(policies, {"app.kubernetes.io/component": "distributor", "app.kubernetes.io/name": "tempo"})
    (otlp,) = [r for r in distributor["spec"]["ingress"] if {p["port"] for p in r["ports"]} == {4317, 4318}]
    assert otlp["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform-apps"}}, "podSelector": {}}]
    gateway = _selecting(policies, {"app.kubernetes.io/component": "gateway", "app.kubernetes.io/name": "loki"})
    callers = [peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name") for r in gateway["spec"]["ingress"] for peer in r["from"]]
    assert {"alloy", "grafana"} <= set(callers)
