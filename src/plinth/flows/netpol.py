"""What Kubernetes NetworkPolicies allow, computed from the policies and the endpoints, rule by rule.

The semantics are those of ``networking.k8s.io/v1`` as the upstream conformance tests
(kubernetes/kubernetes ``test/e2e/network/netpol``) probe them; ``tests/flows/test_truth_tables.py`` runs
those test cases against this module:

* A pod is *isolated* for a direction when a policy of its namespace selects it (``podSelector``) and lists that
  direction in ``policyTypes`` (defaulted as the API server does: Ingress, plus Egress when egress rules exist).
  A connection needs both sides: the source's egress (when isolated) and the destination's ingress (when
  isolated) must each be allowed by some rule; rules of all selecting policies add up (a union).
* A rule with no peers matches every peer; with no ports, every port. A peer is ``podSelector`` (pods of the
  policy's namespace), ``namespaceSelector`` (all pods of the matching namespaces; every namespace carries
  ``kubernetes.io/metadata.name``), both (the pods matching in the matching namespaces), or ``ipBlock`` (addresses
  in ``cidr`` and not in ``except``; it matches pods by their IPs too, as the conformance tests expect).
* A port is a protocol (TCP by default) and a number, a number range (``endPort``), a name (resolved against the
  destination pod's container ports, for ingress and egress alike), or absent (every port of the protocol).
* Endpoints that are not pods (the API server, nodes, the internet) have no policies: only the pod side of the
  connection decides. Pods on the host network are not selected by policies either.

Addresses are sets, not single IPs: a pod may get any address of its pod network, so an ``ipBlock`` may match
it *surely* (the whole pod network is inside the block) or only *possibly* (the block overlaps it). Each verdict
carries both: what is surely allowed (an intended flow must be) and what may be allowed (what an unintended flow
is judged by).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plinth.kube.objects import selector_matches

PROTOCOLS = ("TCP", "UDP", "SCTP")
MAX_PORT = 65535
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
Direction = Literal["ingress", "egress"]


class PolicyError(ValueError):
    """A NetworkPolicy the evaluator cannot read (a bad CIDR, a bad port)."""


# --------------------------------------------------------------------------- port sets


@dataclass(frozen=True)
class PortSet:
    """A set of (protocol, port) as sorted, disjoint, inclusive intervals per protocol."""

    ranges: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()

    @staticmethod
    def of(items: dict[str, Iterable[tuple[int, int]]]) -> PortSet:
        """A port set from intervals per protocol (merged and sorted)."""
        out = []
        for proto in PROTOCOLS:
            merged: list[list[int]] = []
            for lo, hi in sorted(items.get(proto, ())):
                if merged and lo <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            if merged:
                out.append((proto, tuple((a, b) for a, b in merged)))
        return PortSet(tuple(out))

    @staticmethod
    def all() -> PortSet:
        """Every port of every protocol."""
        return ALL_PORTS

    @staticmethod
    def single(port: int, protocol: str = "TCP") -> PortSet:
        """One port of one protocol."""
        return PortSet.of({protocol: [(port, port)]})

    def by_protocol(self) -> dict[str, tuple[tuple[int, int], ...]]:
        """Intervals per protocol."""
        return dict(self.ranges)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __or__(self, other: PortSet) -> PortSet:
        mine, theirs = self.by_protocol(), other.by_protocol()
        return PortSet.of({p: list(mine.get(p, ())) + list(theirs.get(p, ())) for p in PROTOCOLS})

    def __and__(self, other: PortSet) -> PortSet:
        mine, theirs = self.by_protocol(), other.by_protocol()
        result: dict[str, list[tuple[int, int]]] = {}
        for proto in PROTOCOLS:
            for lo, hi in mine.get(proto, ()):
                for lo2, hi2 in theirs.get(proto, ()):
                    a, b = max(lo, lo2), min(hi, hi2)
                    if a <= b:
                        result.setdefault(proto, []).append((a, b))
        return PortSet.of(result)

    def __sub__(self, other: PortSet) -> PortSet:
        mine, theirs = self.by_protocol(), other.by_protocol()
        result: dict[str, list[tuple[int, int]]] = {}
        for proto in PROTOCOLS:
            pieces = list(mine.get(proto, ()))
            for lo2, hi2 in theirs.get(proto, ()):
                nxt = []
                for lo, hi in pieces:
                    if hi < lo2 or lo > hi2:
                        nxt.append((lo, hi))
                        continue
                    if lo < lo2:
                        nxt.append((lo, lo2 - 1))
                    if hi > hi2:
                        nxt.append((hi2 + 1, hi))
                pieces = nxt
            if pieces:
                result[proto] = pieces
        return PortSet.of(result)

    def contains(self, port: int, protocol: str = "TCP") -> bool:
        """True when the set holds ``port``/``protocol``."""
        return any(lo <= port <= hi for lo, hi in self.by_protocol().get(protocol, ()))

    def covers(self, other: PortSet) -> bool:
        """True when every port of ``other`` is in this set."""
        return not (other - self)

    def count(self) -> int:
        """Number of (protocol, port) pairs."""
        return sum(hi - lo + 1 for _, intervals in self.ranges for lo, hi in intervals)

    def describe(self) -> str:
        """``TCP 443, 6443; UDP 53`` / ``TCP any`` (every port) / ``none``."""
        if not self.ranges:
            return "none"
        parts = []
        for proto, intervals in self.ranges:
            if intervals == ((1, MAX_PORT),):
                parts.append(f"{proto} any")
            else:
                parts.append(f"{proto} " + ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in intervals))
        return "; ".join(parts)


ALL_PORTS = PortSet(tuple((p, ((1, MAX_PORT),)) for p in PROTOCOLS))
NO_PORTS = PortSet()


# --------------------------------------------------------------------------- address sets


@dataclass(frozen=True)
class AddressSet:
    """A set of IP addresses as sorted, disjoint, inclusive integer intervals per IP version."""

    v4: tuple[tuple[int, int], ...] = ()
    v6: tuple[tuple[int, int], ...] = ()

    @staticmethod
    def _merge(items: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
        merged: list[list[int]] = []
        for lo, hi in sorted(items):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return tuple((a, b) for a, b in merged)

    @staticmethod
    def of(cidrs: Iterable[str]) -> AddressSet:
        """The union of CIDRs (``10.0.0.0/16``, ``2001:db8::/32``; host bits are ignored, as the API server's
        validation of ipBlock allows)."""
        v4, v6 = [], []
        for text in cidrs:
            try:
                net = ipaddress.ip_network(str(text), strict=False)
            except ValueError as exc:
                raise PolicyError(f"bad CIDR {text!r}: {exc}") from None
            (v4 if net.version == 4 else v6).append((int(net.network_address), int(net.broadcast_address)))
        return AddressSet(AddressSet._merge(v4), AddressSet._merge(v6))

    def __bool__(self) -> bool:
        return bool(self.v4 or self.v6)

    @staticmethod
    def _sub(mine: tuple[tuple[int, int], ...], theirs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        pieces = list(mine)
        for lo2, hi2 in theirs:
            nxt = []
            for lo, hi in pieces:
                if hi < lo2 or lo > hi2:
                    nxt.append((lo, hi))
                    continue
                if lo < lo2:
                    nxt.append((lo, lo2 - 1))
                if hi > hi2:
                    nxt.append((hi2 + 1, hi))
            pieces = nxt
        return AddressSet._merge(pieces)

    @staticmethod
    def _and(mine: tuple[tuple[int, int], ...], theirs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        out = []
        for lo, hi in mine:
            for lo2, hi2 in theirs:
                a, b = max(lo, lo2), min(hi, hi2)
                if a <= b:
                    out.append((a, b))
        return AddressSet._merge(out)

    def __sub__(self, other: AddressSet) -> AddressSet:
        return AddressSet(self._sub(self.v4, other.v4), self._sub(self.v6, other.v6))

    def __and__(self, other: AddressSet) -> AddressSet:
        return AddressSet(self._and(self.v4, other.v4), self._and(self.v6, other.v6))

    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet(self._merge(self.v4 + other.v4), self._merge(self.v6 + other.v6))

    def within(self, other: AddressSet) -> bool:
        """True when every address of this set is in ``other``."""
        return not (self - other)

    def overlaps(self, other: AddressSet) -> bool:
        """True when the sets share an address."""
        return bool(self & other)

    def cidrs(self) -> list[str]:
        """The set as the fewest CIDRs."""
        out = []
        for version, intervals in ((4, self.v4), (6, self.v6)):
            cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
            for lo, hi in intervals:
                out.extend(str(n) for n in ipaddress.summarize_address_range(cls(lo), cls(hi)))
        return out


ANY_ADDRESS = AddressSet.of(["0.0.0.0/0", "::/0"])


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Endpoint:
    """Something that sends or receives traffic: a group of identical pods, or addresses outside the pod network."""

    key: str
    """Unique name (``Deployment/platform-system/argocd-server`` for pods, ``external/kube-apiserver``)."""
    namespace: str | None
    """Namespace of a pod group; None for an endpoint that is not a pod."""
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Pod labels (policies' podSelectors match them)."""
    addresses: AddressSet = ANY_ADDRESS
    """Addresses it may have (ipBlock peers match them)."""
    named_ports: tuple[tuple[str, int, str], ...] = ()
    """(name, port, protocol) of its containers' ports (named ports in policies resolve against them)."""
    policed: bool = True
    """Selected by NetworkPolicies (a pod not on the host network)."""

    @property
    def is_pod(self) -> bool:
        """A pod group (not an external endpoint)."""
        return self.namespace is not None

    def named_port(self, name: str, protocol: str) -> list[int]:
        """Container ports with this name and protocol."""
        return [port for n, port, proto in self.named_ports if n == name and proto == protocol]


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Peer:
    """One entry of a rule's ``from``/``to``."""

    pod_selector: dict[str, Any] | None
    namespace_selector: dict[str, Any] | None
    block: AddressSet | None
    """``ipBlock``: cidr minus except."""


@dataclass(frozen=True)
class PolicyPort:
    """One entry of a rule's ``ports``."""

    protocol: str
    port: int | str | None
    end_port: int | None = None


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule."""

    ref: RuleRef
    peers: tuple[Peer, ...] | None
    """None: the rule has no peers and matches everything."""
    ports: tuple[PolicyPort, ...] | None
    """None: every port."""


@dataclass(frozen=True)
class RuleRef:
    """Where a rule is: the policy and the rule's index, for findings."""

    namespace: str
    policy: str
    direction: Direction
    index: int

    @property
    def policy_key(self) -> str:
        """``NetworkPolicy/<namespace>/<name>``."""
        return f"NetworkPolicy/{self.namespace}/{self.policy}"

    @property
    def field_path(self) -> str:
        """``spec.egress.1``."""
        return f"spec.{self.direction}.{self.index}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.policy} {self.field_path}"


@dataclass(frozen=True)
class Policy:
    """A NetworkPolicy as the evaluator reads it."""

    namespace: str
    name: str
    pod_selector: dict[str, Any]
    types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    obj: dict[str, Any] = field(hash=False, compare=False, repr=False, default_factory=dict)

    @property
    def key(self) -> str:
        """``NetworkPolicy/<namespace>/<name>``."""
        return f"NetworkPolicy/{self.namespace}/{self.name}"

    def selects(self, endpoint: Endpoint) -> bool:
        """True when the policy applies to the endpoint's pods."""
        return endpoint.is_pod and endpoint.policed and endpoint.namespace == self.namespace \
            and selector_matches(self.pod_selector, endpoint.labels)

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        """Rules of one direction (empty when the policy does not govern it)."""
        if direction == "ingress":
            return self.ingress if "Ingress" in self.types else ()
        return self.egress if "Egress" in self.types else ()


def _port(entry: dict[str, Any], where: str) -> PolicyPort:
    protocol = entry.get("protocol") or "TCP"
    if protocol not in PROTOCOLS:
        raise PolicyError(f"{where}: protocol {protocol!r} (expected TCP, UDP or SCTP)")
    port = entry.get("port")
    end = entry.get("endPort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if port is not None and not isinstance(port, (int, str)):
        raise PolicyError(f"{where}: port {port!r}")
    if end is not None and not isinstance(port, int):
        raise PolicyError(f"{where}: endPort needs a numeric port")
    return PolicyPort(protocol, port, int(end) if end is not None else None)


def _peer(entry: dict[str, Any], where: str) -> Peer:
    block = entry.get("ipBlock")
    if block is not None:
        allowed = AddressSet.of([block["cidr"]]) - AddressSet.of(block.get("except") or [])
        return Peer(None, None, allowed)
    if "podSelector" not in entry and "namespaceSelector" not in entry:
        raise PolicyError(f"{where}: a peer needs podSelector, namespaceSelector or ipBlock")
    return Peer(entry.get("podSelector"), entry.get("namespaceSelector"), None)


def parse_policy(obj: dict[str, Any]) -> Policy:
    """Read a NetworkPolicy object (``PolicyError`` on what the API server would reject)."""
    meta = obj.get("metadata") or {}
    namespace, name = meta.get("namespace") or "default", meta.get("name") or "?"
    spec = obj.get("spec") or {}
    types = spec.get("policyTypes")
    if not types:
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    rules: dict[str, list[Rule]] = {"ingress": [], "egress": []}
    for direction, peer_key in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(spec.get(direction) or []):
            where = f"NetworkPolicy/{namespace}/{name} spec.{direction}.{index}"
            rule = rule or {}
            peers = rule.get(peer_key)
            ports = rule.get("ports")
            rules[direction].append(Rule(
                RuleRef(namespace, name, direction, index),  # type: ignore[arg-type]
                tuple(_peer(p, f"{where}.{peer_key}.{i}") for i, p in enumerate(peers)) if peers else None,
                tuple(_port(p, f"{where}.ports.{i}") for i, p in enumerate(ports)) if ports else None,
            ))
    return Policy(namespace, name, spec.get("podSelector") or {}, frozenset(types), tuple(rules["ingress"]),
                  tuple(rules["egress"]), obj)


# --------------------------------------------------------------------------- evaluation


FULL, PARTIAL = 2, 1
"""How a peer matches an endpoint: surely (all its addresses / it is selected) or possibly (some addresses)."""


@dataclass(frozen=True)
class Contribution:
    """A rule that allows (part of) a connection: the ports it allows, surely or only possibly."""

    ref: RuleRef
    ports: PortSet
    sure: bool


@dataclass(frozen=True)
class Side:
    """One side of a connection (the source's egress or the destination's ingress)."""

    isolated: bool
    """Policies govern this side; otherwise everything is allowed."""
    policies: tuple[str, ...]
    """Keys of the policies that isolate it."""
    sure: PortSet
    maybe: PortSet
    contributions: tuple[Contribution, ...]


@dataclass(frozen=True)
class Verdict:
    """What the policies allow from one endpoint to another."""

    source: Endpoint
    destination: Endpoint
    egress: Side
    ingress: Side

    @property
    def sure(self) -> PortSet:
        """Ports surely allowed (both sides surely allow them)."""
        return self.egress.sure & self.ingress.sure

    @property
    def maybe(self) -> PortSet:
        """Ports possibly allowed (for some addresses the endpoints may have)."""
        return self.egress.maybe & self.ingress.maybe

    def rules_for(self, ports: PortSet) -> list[Contribution]:
        """The rules (either side) that allow some of ``ports``."""
        return [c for side in (self.egress, self.ingress) for c in side.contributions if c.ports & ports]


OPEN_SIDE = Side(False, (), ALL_PORTS, ALL_PORTS, ())


class Evaluator:
    """Evaluates connections between endpoints under a set of policies (caching per policy and endpoint)."""

    def __init__(self, policies: Sequence[Policy], namespace_labels: dict[str, dict[str, str]] | None = None):
        self.policies = list(policies)
        self.namespace_labels = dict(namespace_labels or {})
        self._selecting: dict[tuple[str, Direction], list[Policy]] = {}
        self._side: dict[tuple[str, str, Direction], Side] = {}

    def labels_of_namespace(self, namespace: str) -> dict[str, str]:
        """A namespace's labels (always with ``kubernetes.io/metadata.name``)."""
        return {**self.namespace_labels.get(namespace, {}), NAMESPACE_NAME_LABEL: namespace}

    def selecting(self, endpoint: Endpoint, direction: Direction) -> list[Policy]:
        """Policies that isolate the endpoint for a direction."""
        key = (endpoint.key, direction)
        if key not in self._selecting:
            wanted = "Ingress" if direction == "ingress" else "Egress"
            self._selecting[key] = [p for p in self.policies if wanted in p.types and p.selects(endpoint)]
        return self._selecting[key]

    def peer_match(self, peer: Peer, policy_namespace: str, endpoint: Endpoint) -> int:
        """FULL, PARTIAL or 0: how a peer matches an endpoint."""
        if peer.block is not None:
            if endpoint.addresses.within(peer.block):
                return FULL
            return PARTIAL if endpoint.addresses.overlaps(peer.block) else 0
        if not endpoint.is_pod:
            return 0
        if peer.namespace_selector is None:
            if endpoint.namespace != policy_namespace:
                return 0
        elif not selector_matches(peer.namespace_selector, self.labels_of_namespace(endpoint.namespace or "")):
            return 0
        return FULL if selector_matches(peer.pod_selector or {}, endpoint.labels) else 0

    def rule_match(self, rule: Rule, policy_namespace: str, endpoint: Endpoint) -> int:
        """FULL, PARTIAL or 0: how a rule's peers together match an endpoint (an address matches when any peer does,
        so the ``ipBlock`` peers of one rule count as their union)."""
        best = max((self.peer_match(p, policy_namespace, endpoint) for p in rule.peers or () if p.block is None), default=0)
        if best == FULL:
            return FULL
        blocks = [p.block for p in rule.peers or () if p.block is not None]
        if blocks:
            union = blocks[0]
            for block in blocks[1:]:
                union = union | block
            if endpoint.addresses.within(union):
                return FULL
            if endpoint.addresses.overlaps(union):
                return PARTIAL
        return best

    @staticmethod
    def rule_ports(rule: Rule, destination: Endpoint) -> PortSet:
        """The ports a rule allows towards ``destination`` (named ports resolved against its containers)."""
        if rule.ports is None:
            return ALL_PORTS
        items: dict[str, list[tuple[int, int]]] = {}
        for port in rule.ports:
            if port.port is None:
                items.setdefault(port.protocol, []).append((1, MAX_PORT))
            elif isinstance(port.port, int):
                items.setdefault(port.protocol, []).append((port.port, port.end_port or port.port))
            else:
                for number in destination.named_port(port.port, port.protocol):
                    items.setdefault(port.protocol, []).append((number, number))
        return PortSet.of(items)

    def side(self, owner: Endpoint, peer: Endpoint, direction: Direction, destination: Endpoint) -> Side:
        """The egress side of ``owner`` towards ``peer`` or the ingress side of ``owner`` from ``peer``."""
        key = (owner.key, peer.key, direction)
        cached = self._side.get(key)
        if cached is not None:
            return cached
        if not owner.is_pod or not owner.policed:
            result = OPEN_SIDE
        else:
            policies = self.selecting(owner, direction)
            if not policies:
                result = OPEN_SIDE
            else:
                sure, maybe, contributions = NO_PORTS, NO_PORTS, []
                for policy in policies:
                    for rule in policy.rules(direction):
                        match = FULL if rule.peers is None else self.rule_match(rule, policy.namespace, peer)
                        if not match:
                            continue
                        ports = self.rule_ports(rule, destination)
                        if not ports:
                            continue
                        maybe = maybe | ports
                        if match == FULL:
                            sure = sure | ports
                        contributions.append(Contribution(rule.ref, ports, match == FULL))
                result = Side(True, tuple(p.key for p in policies), sure, maybe, tuple(contributions))
        self._side[key] = result
        return result

    def verdict(self, source: Endpoint, destination: Endpoint) -> Verdict:
        """What the policies allow from ``source`` to ``destination``."""
        return Verdict(source, destination, self.side(source, destination, "egress", destination),
                       self.side(destination, source, "ingress", destination))

    def allowed(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
        """True when a connection to ``port``/``protocol`` is surely allowed."""
        return self.verdict(source, destination).sure.contains(port, protocol)


def policies_of(objects: Iterable[dict[str, Any]]) -> list[Policy]:
    """Every NetworkPolicy among the objects, parsed."""
    return [parse_policy(o) for o in objects
            if o.get("kind") == "NetworkPolicy" and str(o.get("apiVersion", "")).startswith("networking.k8s.io/")]
