"""NetworkPolicy building blocks: default deny per namespace, DNS egress, and explicit allowed flows."""

from __future__ import annotations

from typing import Any

from plinth.kube.objects import k8s_object, labels

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
