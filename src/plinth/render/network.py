"""Every NetworkPolicy of the platform, rendered from the components' declared flows (``Component.flows``).

Each namespace of the spec gets a default-deny; then every set of pods a flow names gets one policy with the egress
its outgoing flows need and the ingress its incoming flows need, rule by rule: one rule per peer, with exactly the
flows' ports. Pods are named by the labels the flows select them with; the API server, the nodes and public endpoints
by the ``ipBlock`` of their address class on the spec's cloud (``plinth.kube.network.address_peers``).

All of them are synced by one Application at one wave, after the namespaces and before every workload they admit
(Argo CD itself excepted: the bootstrap installs it before any policy exists), so an allow never arrives after the
isolation or the pods it is for. A new component declares its flows; nothing here changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from plinth.components.base import Component, KubeObject
from plinth.kube.flows import External, Flow, Pods
from plinth.kube.network import NETPOL_API, address_peers, default_deny, namespace_selector
from plinth.kube.objects import dns_label, k8s_object, labels
from plinth.spec.model import Platform

NAME = "network-policies"
SYNC_WAVE = -9
"""After the namespaces (-10), before the operators (-6/-5) and everything after them."""
NAME_KEYS = ("gateway.envoyproxy.io/owning-gateway-name", "app.kubernetes.io/name", "app", "name", "cnpg.io/poolerName", "cnpg.io/cluster", "strimzi.io/name",
             "strimzi.io/kind", "clickhouse.altinity.com/chi", "clickhouse-keeper.altinity.com/chk", "k8s-app")
"""Labels whose value names a set of pods, in order of preference."""
QUALIFIER_KEYS = ("app.kubernetes.io/component", "strimzi.io/broker-role", "strimzi.io/controller-role", "cnpg.io/podRole")


class NetworkPolicyError(ValueError):
    """Flows that cannot be rendered (pods both sides of nothing, a flow between two external endpoints)."""


def declared_flows(platform: Platform, components: Sequence[Component]) -> list[Flow]:
    """Every component's flows, each marked with its owner."""
    return [replace(f, owner=c.name) for c in components for f in c.flows(platform)]


def pods_name(pods: Pods) -> str:
    """A short name for a set of pods: the value of its naming label, qualified by its component or role."""
    found = dict(pods.labels)
    if not found:
        return "all-pods"
    head = next((found[k] for k in NAME_KEYS if k in found), next(iter(sorted(found.values()))))
    qualifiers = []
    for key in QUALIFIER_KEYS:
        if key in found:
            qualifiers.append(key.split("/")[1].removesuffix("-role") if found[key] == "true" else found[key])
    return dns_label(head, *[q for q in qualifiers if q not in head])


def _pod_peer(pods: Pods, here: str) -> dict[str, Any]:
    selector: dict[str, Any] = {"matchLabels": dict(pods.labels)} if pods.labels else {}
    if pods.namespace == here:
        return {"podSelector": selector}
    return {"namespaceSelector": namespace_selector(pods.namespace) if pods.namespace else {}, "podSelector": selector}


def _peers(platform: Platform, end: Pods | External, here: str) -> list[dict[str, Any]]:
    if isinstance(end, External):
        return address_peers(platform, end.address_class)
    return [_pod_peer(end, here)]


def _namespaces_of(platform: Platform, pods: Pods) -> list[str]:
    namespaces = sorted(platform.namespaces)
    return namespaces if pods.namespace is None else [pods.namespace] if pods.namespace in platform.namespaces else []


def _rules(entries: dict[str, dict[str, set[int]]], peer_key: str) -> list[dict[str, Any]]:
    rules = []
    for peers_json, by_protocol in sorted(entries.items()):
        rules.append({peer_key: json.loads(peers_json),
                      "ports": [{"protocol": proto, "port": port} for proto in sorted(by_protocol) for port in sorted(by_protocol[proto])]})
    return rules


def policies_from_flows(platform: Platform, flows: Sequence[Flow]) -> list[KubeObject]:
    """Default-deny in every namespace and, per set of pods, the rules its flows need."""
    egress: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, dict[str, set[int]]]] = {}
    ingress: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, dict[str, set[int]]]] = {}
    owners: dict[tuple[str, tuple[tuple[str, str], ...]], set[str]] = {}
    for flow in flows:
        if isinstance(flow.source, Pods):
            for ns in _namespaces_of(platform, flow.source):
                key = (ns, flow.source.labels)
                peers = json.dumps(_peers(platform, flow.destination, ns), sort_keys=True)
                egress.setdefault(key, {}).setdefault(peers, {}).setdefault(flow.protocol, set()).update(flow.ports)
                owners.setdefault(key, set()).add(flow.owner)
        if isinstance(flow.destination, Pods):
            for ns in _namespaces_of(platform, flow.destination):
                key = (ns, flow.destination.labels)
                peers = json.dumps(_peers(platform, flow.source, ns), sort_keys=True)
                ingress.setdefault(key, {}).setdefault(peers, {}).setdefault(flow.protocol, set()).update(flow.ports)
                owners.setdefault(key, set()).add(flow.owner)
    result = [default_deny(ns, NAME) for ns in sorted(platform.namespaces)]
    names: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
    for key in sorted(set(egress) | set(ingress)):
        ns, selector = key
        name = dns_label("allow", pods_name(Pods(ns, selector)))
        if (ns, name) in names:
            raise NetworkPolicyError(f"{ns}: pods {dict(selector)} and {dict(names[(ns, name)])} would both get the policy {name}; "
                                     "select them with a distinguishing label")
        names[(ns, name)] = selector
        spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(selector)} if selector else {}, "policyTypes": []}
        if key in ingress:
            spec["policyTypes"].append("Ingress")
            spec["ingress"] = _rules(ingress[key], "from")
        if key in egress:
            spec["policyTypes"].append("Egress")
            spec["egress"] = _rules(egress[key], "to")
        result.append(k8s_object(NETPOL_API, "NetworkPolicy", name, ns, labels=labels(NAME, name),
                                 annotations={"plinth.dev/flows-of": ", ".join(sorted(o for o in owners[key] if o))}, spec=spec))
    return result


def network_policies(platform: Platform, components: Sequence[Component]) -> list[KubeObject]:
    """The platform's NetworkPolicies, from every component's flows."""
    return policies_from_flows(platform, declared_flows(platform, components))
