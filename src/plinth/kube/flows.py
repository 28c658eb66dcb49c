"""Intended network flows, declared next to the component that owns them.

A ``Flow`` says that pods (``Pods``: labels in a namespace) or an endpoint outside the pod network
(``External``: the Kubernetes API server, the nodes, a cloud API, the internet) open connections to other pods
or to an external endpoint, on which ports and protocol, and why. Components return theirs from
``Component.flows``; ``plinth.flows`` adds the ones the objects themselves imply (scrapes of every
ServiceMonitor/PodMonitor, the gateway's routes, the API server's calls to webhooks, every pod's DNS, chart hook
Jobs) and checks them all against what the NetworkPolicies allow over the real pods.

External endpoints are named by what they are; several share one *address class* because a NetworkPolicy can
only tell them apart by address (``ipBlock``): the cloud's object storage, DNS, secret and identity APIs, the ACME
CA and the alerting webhooks are all public HTTPS endpoints without fixed published addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from plinth.kube.conventions import MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS

AddressClass = Literal["api-server", "nodes", "public", "clients", "managed-stores"]


@dataclass(frozen=True)
class External:
    """An endpoint outside the pod network."""

    name: str
    address_class: AddressClass
    """Which addresses it has (``plinth.flows.addresses`` gives each class its CIDRs per cloud)."""
    description: str


API_SERVER = External("kube-apiserver", "api-server", "the Kubernetes API server (managed control plane)")
NODES = External("nodes", "nodes", "the nodes: kubelets and host-network exporters")
CLOUD_OBJECT_STORAGE = External("cloud-object-storage", "public", "the cloud's object storage (S3 / GCS / Blob)")
CLOUD_DNS_API = External("cloud-dns-api", "public", "the cloud's DNS API (Route 53 / Cloud DNS / Azure DNS)")
CLOUD_SECRETS_API = External("cloud-secrets-api", "public", "the cloud's secret manager (Secrets Manager / Secret Manager / Key Vault)")
CLOUD_IDENTITY = External("cloud-identity", "public", "the cloud's token service for workload identity (STS / Google STS / Entra ID)")
ACME = External("acme-ca", "public", "the ACME certificate authority (Let's Encrypt)")
ALERT_RECEIVERS = External("alert-receivers", "public", "PagerDuty's Events API, the chat webhook and the heartbeat service")
GIT = External("git", "public", "Git and Helm repositories, the GitHub API")
PRICE_API = External("cloud-pricing", "public", "the cloud's public price list")
INTERNET_CLIENTS = External("internet-clients", "clients", "clients on the internet and the cloud load balancer")
PUBLIC_GATEWAY = External("public-gateway", "public", "the platform's own public load balancer, reached from inside (hairpin)")
CLOUD_COMPUTE_API = External("cloud-compute-api", "public", "the cloud's compute API (disk snapshots)")
IDENTITY_PROVIDER = External("identity-provider", "public", "the organisation's OIDC identity provider (Argo CD single sign-on)")
MANAGED_STORES = External("managed-stores", "managed-stores",
                          "the cloud-managed PostgreSQL and Redis (RDS / Cloud SQL / Azure Database; ElastiCache / Memorystore / "
                          "Azure Managed Redis) at their private addresses")

EXTERNALS: tuple[External, ...] = (API_SERVER, NODES, CLOUD_OBJECT_STORAGE, CLOUD_DNS_API, CLOUD_SECRETS_API, CLOUD_IDENTITY,
                                   CLOUD_COMPUTE_API, IDENTITY_PROVIDER, ACME, ALERT_RECEIVERS, GIT, PRICE_API, PUBLIC_GATEWAY,
                                   INTERNET_CLIENTS, MANAGED_STORES)
"""Every external endpoint flows may name."""


@dataclass(frozen=True)
class Pods:
    """Pods that carry ``labels`` in ``namespace`` (None: in any namespace)."""

    namespace: str | None
    labels: tuple[tuple[str, str], ...] = ()
    group: str | None = None
    """Only the pods of this one group (``Kind/namespace/name`` of the pod model): flows implied by one object."""

    @staticmethod
    def of(namespace: str | None, labels: dict[str, str] | None = None, group: str | None = None) -> Pods:
        """Pods with these labels (all pods of the namespace when empty)."""
        return Pods(namespace, tuple(sorted((labels or {}).items())), group)

    @property
    def label_dict(self) -> dict[str, str]:
        """The labels as a dict (a NetworkPolicy's matchLabels)."""
        return dict(self.labels)

    def matches(self, namespace: str, labels: dict[str, str], group: str | None = None) -> bool:
        """True when a pod of ``namespace`` with ``labels`` (of the pod group ``group``) is one of these."""
        if self.group is not None:
            return group == self.group
        return (self.namespace is None or self.namespace == namespace) and all(labels.get(k) == v for k, v in self.labels)

    def __str__(self) -> str:
        if self.group is not None:
            return self.group
        where = self.namespace or "*"
        return f"{where}/{{{', '.join(f'{k}={v}' for k, v in self.labels)}}}" if self.labels else f"{where}/*"


Endpoint = Pods | External


@dataclass(frozen=True)
class Flow:
    """Connections the platform intends: from ``source`` to ``destination`` on ``ports``/``protocol``, and why."""

    source: Endpoint
    destination: Endpoint
    ports: tuple[int, ...]
    why: str
    protocol: str = "TCP"
    owner: str = field(default="", compare=False)
    """The component (or object) that declares it; filled in when the flows are gathered."""

    def __post_init__(self) -> None:
        if isinstance(self.source, External) and isinstance(self.destination, External):
            raise ValueError(f"flow {self.why!r}: one side must be pods")
        if not self.ports:
            raise ValueError(f"flow {self.why!r}: no ports")


def flow(source: Endpoint, destination: Endpoint, ports: tuple[int, ...] | list[int] | int, why: str, protocol: str = "TCP") -> Flow:
    """A Flow (``ports`` may be one number)."""
    numbers = (ports,) if isinstance(ports, int) else tuple(ports)
    return Flow(source, destination, tuple(sorted(set(numbers))), why, protocol)


API_SERVER_PORT = 443
"""The managed control planes (EKS, GKE, AKS) serve the API on 443: the ``kubernetes`` Service's endpoints."""
HTTPS = 443


def to_api_server(pods: Pods, why: str) -> Flow:
    """Pods that watch or change Kubernetes objects."""
    return flow(pods, API_SERVER, API_SERVER_PORT, why)


KUBE_DNS = Pods("kube-system", (("k8s-app", "kube-dns"),))
"""CoreDNS (the ``kube-dns`` Service's pods on EKS, GKE and AKS)."""
PROMETHEUS = Pods(MONITORING_NAMESPACE, tuple(sorted(PROMETHEUS_POD_LABELS.items())))
"""The Prometheus pods (every ServiceMonitor and PodMonitor in every namespace is theirs)."""


def scrape(pods: Pods | External, ports: tuple[int, ...] | int, why: str = "Prometheus scrapes its metrics") -> Flow:
    """Prometheus scrapes ``pods`` on ``ports`` (the analysis checks it against the ServiceMonitors/PodMonitors)."""
    return flow(PROMETHEUS, pods, ports, why)


def webhook(pods: Pods, ports: tuple[int, ...] | int, why: str) -> Flow:
    """The API server calls pods (an admission webhook, an aggregated API)."""
    return flow(API_SERVER, pods, ports, why)
