"""What the flow analysis looks at: every object Argo CD applies (the rendered tree and the hydrated charts) with
the sync wave it arrives in, every pod those objects run (the shared pod model, Jobs and ACME solvers included),
the cluster add-ons the platform relies on, and the endpoints outside the pod network.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from plinth.charts.hydrate import HydratedObject
from plinth.charts.union import BOOTSTRAP
from plinth.flows.netpol import AddressSet, Endpoint, Policy, parse_policy
from plinth.kube.flows import EXTERNALS, External
from plinth.kube.network import address_peers
from plinth.kube.pods import PodGroup, pod_groups
from plinth.render.gitops import BOOTSTRAP_FOLDER
from plinth.render.pipeline import RenderedObject
from plinth.spec.derived import cluster_addresses
from plinth.spec.model import Platform

DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
"""CoreDNS's pods on EKS, GKE and AKS alike (the ``kube-dns`` Service selects them)."""


@dataclass(frozen=True)
class Sourced:
    """An object Argo CD applies, where it comes from and when."""

    obj: dict[str, Any]
    path: str
    """The rendered file, or the hydrated pseudo-path ``<env>/hydrated/<application>/<kind>-<name>.yaml``."""
    application: str
    """The Application that applies it; ``BOOTSTRAP`` (as the union says) for the ``bootstrap/`` files, which the README's
    bootstrap applies once by hand; ``UNSYNCED`` when nothing syncs its folder."""
    wave: int
    """Sync wave of the Application that applies it (hooks run in their Application's sync); 0 when no Application does."""
    hook: bool = False

    @property
    def kind(self) -> str:
        """The object's kind."""
        return str(self.obj.get("kind", ""))

    @property
    def key(self) -> str:
        """``Kind/namespace/name``."""
        meta = self.obj.get("metadata") or {}
        return f"{self.kind}/{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else f"{self.kind}/{meta.get('name')}"


UNSYNCED = "no Application"
"""What applies a rendered folder no Application's source path names."""


def application_waves(platform: Platform, rendered: Iterable[RenderedObject]) -> dict[str, tuple[str, int]]:
    """Folder of the rendered tree (``<env>/<namespace>/<component>``) -> (Application, wave) that syncs it."""
    prefix = platform.git.rendered_path.rstrip("/") + "/"
    result: dict[str, tuple[str, int]] = {}
    for item in rendered:
        obj = item.obj
        if item.environment != platform.environment or obj.get("kind") != "Application":
            continue
        source = (obj.get("spec") or {}).get("source") or {}
        path = source.get("path")
        if not path or source.get("chart"):
            continue
        wave = int(((obj.get("metadata") or {}).get("annotations") or {}).get("argocd.argoproj.io/sync-wave", 0))
        result[path[len(prefix):] if path.startswith(prefix) else path] = (obj["metadata"]["name"], wave)
    return result


def sourced_objects(platform: Platform, rendered: Iterable[RenderedObject], hydrated: Iterable[HydratedObject]) -> list[Sourced]:
    """Every object of one environment that reaches the cluster, with its Application and wave."""
    rendered = [r for r in rendered if r.environment == platform.environment]
    waves = application_waves(platform, rendered)
    result: list[Sourced] = []
    for item in rendered:
        folder = item.path.rsplit("/", 1)[0]
        by_hand = folder == f"{platform.environment}/{BOOTSTRAP_FOLDER}"
        application, wave = (BOOTSTRAP, 0) if by_hand else waves.get(folder, (UNSYNCED, 0))
        result.append(Sourced(item.obj, item.path, application, wave))
    for item in hydrated:
        if item.environment == platform.environment:
            result.append(Sourced(item.obj, item.path, item.application, item.application_wave, item.is_hook))
    return sorted(result, key=lambda s: s.path)


REGION_NAMES = {"api-server": "API server", "nodes": "nodes", "public": "internet", "clients": "load balancers",
                "managed-stores": "managed stores"}
"""How an address region outside the pod network is called, by the address class that covers it."""


@dataclass(frozen=True)
class ExternalEndpoint:
    """A region of addresses outside the pod network that NetworkPolicies can only treat as a whole: the addresses
    covered by exactly the same address classes (on EKS the API server's endpoints and the nodes share the node
    subnets, so they are one region)."""

    endpoint: Endpoint
    classes: tuple[str, ...]
    """Address classes that cover the region."""
    members: tuple[External, ...]
    """External endpoints whose addresses include the region."""

    @property
    def label(self) -> str:
        """``API server``, ``nodes``, ``internet``, ``load balancers`` (joined when one region is several)."""
        if set(self.classes) == {"clients", "public"}:
            return "internet"
        return " + ".join(REGION_NAMES.get(c, c) for c in self.classes)


@dataclass
class Inventory:
    """The endpoints and policies of one environment."""

    platform: Platform
    objects: list[Sourced]
    groups: dict[str, PodGroup]
    """Pod groups by endpoint key (host-network groups included)."""
    pods: dict[str, Endpoint]
    """Pod endpoints by key (host-network groups are the nodes', not here)."""
    externals: dict[str, ExternalEndpoint]
    """By endpoint key."""
    external_of: dict[str, tuple[str, ...]]
    """External name -> keys of the address regions it covers."""
    policies: list[Policy]
    policy_source: dict[str, Sourced]
    """Policy key -> where it comes from."""
    group_source: dict[str, Sourced]
    namespace_labels: dict[str, dict[str, str]]
    addons: tuple[str, ...] = field(default=())
    """Keys of the cluster add-on endpoints (not the platform's pods)."""

    @property
    def endpoints(self) -> list[Endpoint]:
        """Every endpoint: pods and external address classes."""
        return list(self.pods.values()) + [e.endpoint for e in self.externals.values()]

    def endpoint(self, key: str) -> Endpoint:
        """The endpoint with this key."""
        return self.pods.get(key) or self.externals[key].endpoint

    def external(self, external: External) -> list[Endpoint]:
        """The evaluator endpoints (address regions) of an external endpoint."""
        return [self.externals[k].endpoint for k in self.external_of[external.name]]

    def label(self, key: str) -> str:
        """A short label for graphs and tables."""
        if key in self.externals:
            return self.externals[key].label
        group = self.groups.get(key)
        return group.short_name if group else key.split("/", 1)[-1]

    def namespace_of(self, key: str) -> str | None:
        """The namespace of a pod endpoint (None for external ones)."""
        return self.pods[key].namespace if key in self.pods else None

    def wave_of(self, key: str) -> int | None:
        """The wave a pod group's workload arrives in (None for add-ons and external endpoints)."""
        source = self.group_source.get(key)
        return source.wave if source else None


def addon_groups() -> list[PodGroup]:
    """The cluster add-ons the platform's pods talk to: CoreDNS in kube-system."""
    return [PodGroup("Deployment", DNS_NAMESPACE, "coredns", labels=dict(DNS_LABELS), replicas_min=2, replicas_max=2,
                     ports=(("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")), source="cluster add-on")]


def _addresses(peers: Sequence[dict[str, Any]]) -> AddressSet:
    total = AddressSet()
    for peer in peers:
        block = peer["ipBlock"]
        total = total | (AddressSet.of([block["cidr"]]) - AddressSet.of(block.get("except") or []))
    return total


def _regions(classes: dict[str, AddressSet]) -> list[tuple[tuple[str, ...], AddressSet]]:
    """The address classes cut into disjoint regions, each with the classes that cover it."""
    regions: list[tuple[tuple[str, ...], AddressSet]] = []
    for name, addresses in sorted(classes.items()):
        nxt: list[tuple[tuple[str, ...], AddressSet]] = []
        rest = addresses
        for covering, region in regions:
            inside, outside = region & addresses, region - addresses
            if inside:
                nxt.append((covering + (name,), inside))
            if outside:
                nxt.append((covering, outside))
            rest = rest - region
        if rest:
            nxt.append(((name,), rest))
        regions = nxt
    return sorted(((tuple(sorted(c)), r) for c, r in regions), key=lambda item: item[0])


def build_inventory(platform: Platform, objects: Sequence[Sourced]) -> Inventory:
    """Endpoints and policies of one environment's objects."""
    by_id = {id(s.obj): s for s in objects}
    pod_addresses = AddressSet.of(cluster_addresses(platform).pods)
    groups: dict[str, PodGroup] = {}
    pods: dict[str, Endpoint] = {}
    group_source: dict[str, Sourced] = {}
    found = pod_groups([s.obj for s in objects], transient=True)
    for group in found + addon_groups():
        groups[group.name] = group
        if group.obj is not None and id(group.obj) in by_id:
            group_source[group.name] = by_id[id(group.obj)]
        if not group.host_network:
            pods[group.name] = Endpoint(group.name, group.namespace, dict(group.labels), pod_addresses, group.ports)
    classes: dict[str, AddressSet] = {}
    for external in EXTERNALS:
        classes.setdefault(external.address_class, _addresses(address_peers(platform, external.address_class)))
    externals: dict[str, ExternalEndpoint] = {}
    external_of: dict[str, tuple[str, ...]] = {}
    for covering, region in _regions(classes):
        members = tuple(e for e in EXTERNALS if e.address_class in covering)
        key = "external/" + "+".join(covering)
        externals[key] = ExternalEndpoint(Endpoint(key, None, {}, region, (), policed=False), covering, members)
    for external in EXTERNALS:
        external_of[external.name] = tuple(k for k, e in sorted(externals.items()) if external.address_class in e.classes)
    policies, policy_source = [], {}
    for item in objects:
        if item.kind == "NetworkPolicy" and str(item.obj.get("apiVersion", "")).startswith("networking.k8s.io/"):
            policy = parse_policy(item.obj)
            policies.append(policy)
            policy_source[policy.key] = item
    namespace_labels = {s.obj["metadata"]["name"]: dict(s.obj["metadata"].get("labels") or {})
                        for s in objects if s.kind == "Namespace"}
    return Inventory(platform, list(objects), groups, pods, externals, external_of, policies, policy_source, group_source,
                     namespace_labels, tuple(g.name for g in addon_groups()))
