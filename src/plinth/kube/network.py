"""NetworkPolicy building blocks: default deny per namespace, DNS egress, and explicit allowed flows."""

from __future__ import annotations

from typing import Any

from plinth.kube.flows import AddressClass
from plinth.kube.objects import k8s_object, labels
from plinth.spec.derived import cluster_addresses, managed_store_cidrs
from plinth.spec.model import Platform

NETPOL_API = "networking.k8s.io/v1"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def namespace_selector(namespace: str) -> dict[str, Any]:
    """Selects a namespace by the name label Kubernetes sets on every namespace."""
    return {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}


def peer(namespace: str | None = None, pod_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A NetworkPolicy peer: pods with ``pod_labels`` (all when None) in ``namespace`` (own when None)."""
    result: dict[str, Any] = {}
    if namespace is not None:
        result["namespaceSelector"] = namespace_selector(namespace)
    result["podSelector"] = {"matchLabels": dict(pod_labels)} if pod_labels else {}
    return result


def ports(numbers: tuple[int, ...] | list[int], protocol: str = "TCP") -> list[dict[str, Any]]:
    """NetworkPolicy ports."""
    return [{"protocol": protocol, "port": n} for n in numbers]


def default_deny(namespace: str, component: str = "network") -> dict[str, Any]:
    """Deny all ingress and egress of every pod in the namespace; flows are then allowed one by one."""
    return k8s_object(NETPOL_API, "NetworkPolicy", "default-deny", namespace, labels=labels(component, "default-deny"),
                      spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow_dns(namespace: str, component: str = "network") -> dict[str, Any]:
    """Let every pod of the namespace resolve names through kube-dns/CoreDNS."""
    return k8s_object(NETPOL_API, "NetworkPolicy", "allow-dns-egress", namespace, labels=labels(component, "allow-dns-egress"), spec={
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [peer("kube-system", {"k8s-app": "kube-dns"})], "ports": ports([53], "UDP") + ports([53], "TCP")}],
    })


def allow(name: str, namespace: str, pod_labels: dict[str, str], *, component: str,
          ingress: list[dict[str, Any]] | None = None, egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A NetworkPolicy allowing the given ingress and/or egress rules for pods with ``pod_labels``."""
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(pod_labels)} if pod_labels else {}, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return k8s_object(NETPOL_API, "NetworkPolicy", name, namespace, labels=labels(component, name), spec=spec)


def address_peers(platform: Platform, address_class: AddressClass) -> list[dict[str, Any]]:
    """``ipBlock`` peers naming an address class on the spec's cloud (``plinth.spec.derived.cluster_addresses``).

    * ``api-server``: where the managed control plane answers (the ``kubernetes`` Service's endpoints);
    * ``nodes``: the node subnets (kubelets, host-network pods);
    * ``public``: every address but the private, carrier-grade-NAT, link-local and loopback ranges: the cloud's
      public APIs and object storage, the ACME CA, alert receivers and Git have no fixed published addresses, so
      this is the narrowest a NetworkPolicy can name them (it keeps the cluster's own networks out);
    * ``clients``: ``public`` plus the subnets the cloud load balancer connects from;
    * ``managed-stores``: the private addresses of the cloud-managed data stores (none when every store is in-cluster).
    """
    addresses = cluster_addresses(platform)
    public = {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(addresses.private)}}
    if address_class == "api-server":
        return [{"ipBlock": {"cidr": c}} for c in addresses.api_server]
    if address_class == "nodes":
        return [{"ipBlock": {"cidr": c}} for c in addresses.node_subnets]
    if address_class == "public":
        return [public]
    if address_class == "managed-stores":
        return [{"ipBlock": {"cidr": c}} for c in managed_store_cidrs(platform)]
    if address_class == "clients":
        return [public] + [{"ipBlock": {"cidr": c}} for c in addresses.load_balancers]
    raise ValueError(f"unknown address class {address_class!r}")
