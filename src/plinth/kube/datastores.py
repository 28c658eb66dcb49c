"""Shared pieces of the data-store components: pod placement on the data pool, the data-pod labels,
and the NetworkPolicies of platform-data (where backups go is the spec layer's ``derived.backup_target``).

Every data store runs on the data node pool (taint + toleration + node selector), spread hard over
the zones, one pod per node (required anti-affinity), and carries ``plinth.dev/datastore=<store>``.
"""

from __future__ import annotations

from typing import Any

from plinth.kube.conventions import DATASTORE_LABEL, DATASTORE_PORTS, uses_label
from plinth.kube.network import NETPOL_API, peer, ports
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import HOST_KEY, ZONE_KEY, pool_placement, spread_constraints
from plinth.spec.model import ContainerResources, Platform

DATA_NAMESPACE = "platform-data"
APPS_NAMESPACE = "platform-apps"
OPERATOR_LABEL = "plinth.dev/operator"
"""Label the data operators' pods carry (set through each chart's pod labels); policies select on it."""
API_SERVER_PORTS = (443, 6443)
"""Ports of the Kubernetes API server (managed control planes answer on 443, self-run ones on 6443)."""
OBJECT_STORE_PORTS = (443,)
"""HTTPS to the cloud's object storage (backups, WAL archive)."""


def datastore_labels(store: str) -> dict[str, str]:
    """The label every pod of a data store carries (``plinth.dev/datastore``)."""
    return {DATASTORE_LABEL: store}


def placement(platform: Platform) -> dict[str, Any]:
    """nodeSelector + tolerations putting pods on the data pool."""
    return pool_placement(platform, DATA_NAMESPACE)


def zone_spread(match_labels: dict[str, str]) -> list[dict[str, Any]]:
    """Hard spread over zones (max skew 1) and soft over nodes."""
    return spread_constraints(match_labels)


def required_anti_affinity(match_labels: dict[str, str]) -> dict[str, Any]:
    """At most one pod of the set per node: losing a node loses one replica, never two."""
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": dict(match_labels)}, "topologyKey": HOST_KEY},
    ]}}


def operator_placement(platform: Platform) -> dict[str, Any]:
    """Values keys most operator charts share: nodeSelector and tolerations of the data pool."""
    return placement(platform)


def resources(res: ContainerResources) -> dict[str, Any]:
    """Kubernetes container resources from the spec."""
    return {"requests": {"cpu": res.requests_cpu, "memory": res.requests_memory},
            "limits": {"cpu": res.limits_cpu, "memory": res.limits_memory}}


def chart_resources(cpu_millicores: int, memory_mib: int) -> dict[str, Any]:
    """Requests (and a memory limit twice the request) of an operator pod, as set in chart values."""
    return {"requests": {"cpu": f"{cpu_millicores}m", "memory": f"{memory_mib}Mi"}, "limits": {"memory": f"{memory_mib * 2}Mi"}}


# --------------------------------------------------------------------------- NetworkPolicies


def _netpol(name: str, component: str, selector: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    return k8s_object(NETPOL_API, "NetworkPolicy", name, DATA_NAMESPACE, labels=labels(component, name),
                      spec={"podSelector": selector, **spec})


def store_policies(store: str, component: str, *, operator: str, extra_ports: tuple[int, ...] = (),
                   object_store_egress: bool = False, api_server_egress: bool = False) -> list[dict[str, Any]]:
    """NetworkPolicies of one data store.

    * ingress from platform-apps pods labelled ``plinth.dev/uses-<store>: "true"`` to the store's client ports;
    * ingress and egress between the store's own pods (replication, quorum, Sentinel), all ports;
    * ingress from the store's operator (it connects to manage, fail over and monitor);
    * egress to object storage (backups) and the API server, when the store's pods need them.
    """
    own = {"matchLabels": datastore_labels(store)}
    client_ports = DATASTORE_PORTS[store]
    ingress: list[dict[str, Any]] = [
        {"from": [peer(APPS_NAMESPACE, {uses_label(store): "true"})], "ports": ports(client_ports)},
        {"from": [{"podSelector": own}]},
        {"from": [{"podSelector": {"matchLabels": {OPERATOR_LABEL: operator}}}]},
    ]
    egress: list[dict[str, Any]] = [{"to": [{"podSelector": own}]}]
    external = sorted(set((OBJECT_STORE_PORTS if object_store_egress else ()) + (API_SERVER_PORTS if api_server_egress else ())))
    if external:
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": ports(external)})
    policies = [
        _netpol(f"{store}-ingress", component, own, {"policyTypes": ["Ingress"], "ingress": ingress}),
        _netpol(f"{store}-egress", component, own, {"policyTypes": ["Egress"], "egress": egress}),
    ]
    if extra_ports:
        policies[0]["spec"]["ingress"][0]["ports"] += ports(extra_ports)
    return policies


def operator_policy(operator: str, store: str, component: str, store_ports: tuple[int, ...]) -> dict[str, Any]:
    """An operator may reach the API server and its store's pods (on the ports it manages them through)."""
    return _netpol(f"{operator}-operator-egress", component, {"matchLabels": {OPERATOR_LABEL: operator}}, {
        "policyTypes": ["Egress"],
        "egress": [
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": ports(API_SERVER_PORTS)},
            {"to": [{"podSelector": {"matchLabels": datastore_labels(store)}}], "ports": ports(store_ports)},
        ],
    })


def webhook_ingress_policy(operator: str, component: str, webhook_ports: tuple[int, ...]) -> dict[str, Any]:
    """The API server calls an operator's admission webhook: allow ingress on the webhook port."""
    return _netpol(f"{operator}-operator-webhook", component, {"matchLabels": {OPERATOR_LABEL: operator}}, {
        "policyTypes": ["Ingress"],
        "ingress": [{"ports": ports(webhook_ports)}],
    })


__all__ = ["DATA_NAMESPACE", "ZONE_KEY", "datastore_labels", "placement", "zone_spread", "required_anti_affinity",
           "resources", "chart_resources", "store_policies",
           "operator_policy", "webhook_ingress_policy", "OPERATOR_LABEL"]

