"""Intended flows against what the NetworkPolicies allow, over the real pods of one environment.

* **missing**: a port of an intended flow that the policies do not surely allow, with the side that refuses it
  (the source's egress or the destination's ingress) and the policies that isolate that side;
* **unintended**: ports the policies (possibly) allow between two endpoints that no flow intends, with every rule
  that allows them (an ``ipBlock`` of ``0.0.0.0/0`` reaches every pod and every external endpoint);
* **unmatched**: a declared flow whose source or destination is no pod of the tree (stale labels, a pod the
  chart labels differently);
* **late**: an intended flow cut during a sync: the namespace's isolation (default-deny) arrives, the workloads are
  up, and the allowing policy comes in a later sync wave (Argo CD waits for the earlier wave to be healthy: a
  deadlock).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from plinth.flows.derive import implied_flows
from plinth.flows.inventory import Inventory, Sourced, build_inventory
from plinth.flows.netpol import NO_PORTS, Contribution, Endpoint, Evaluator, PortSet, Side, Verdict
from plinth.kube.flows import External, Flow, Pods
from plinth.spec.model import Platform


@dataclass(frozen=True)
class Missing:
    """Ports of an intended flow the policies do not allow."""

    flow: Flow
    source: str
    destination: str
    ports: PortSet
    refused_by: tuple[tuple[str, tuple[str, ...]], ...]
    """(side, isolating policy keys) of each side that refuses."""


@dataclass(frozen=True)
class Unintended:
    """Ports allowed between two endpoints that no flow intends."""

    source: str
    destination: str
    ports: PortSet
    rules: tuple[Contribution, ...]
    open_sides: tuple[str, ...]
    """Sides no policy isolates (everything is allowed there)."""


@dataclass(frozen=True)
class Unmatched:
    """A declared flow one of whose ends is no endpoint of the tree."""

    flow: Flow
    side: str


@dataclass(frozen=True)
class Late:
    """An intended flow whose allowing policy arrives after the isolation and the workloads."""

    flow: Flow
    source: str
    destination: str
    side: str
    needed_wave: int
    cut_wave: int
    allowed_wave: int
    policies: tuple[str, ...]
    """The allowing policies of the late side."""


@dataclass
class FlowReport:
    """The analysis of one environment."""

    environment: str
    inventory: Inventory
    flows: list[Flow]
    intended: dict[tuple[str, str], tuple[PortSet, list[Flow]]]
    allowed: dict[tuple[str, str], PortSet]
    """Ports possibly allowed, per (source, destination) with any."""
    missing: list[Missing] = field(default_factory=list)
    unintended: list[Unintended] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    late: list[Late] = field(default_factory=list)
    pairs: int = 0
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """Nothing missing, unintended, unmatched or late."""
        return not (self.missing or self.unintended or self.unmatched or self.late)


def resolve(inventory: Inventory, end: Pods | External, *, as_destination: bool) -> list[str]:
    """Endpoint keys a flow's end stands for (a destination on the host network is the nodes)."""
    if isinstance(end, External):
        return list(inventory.external_of[end.name])
    platform_namespaces = set(inventory.platform.namespaces)
    keys: list[str] = []
    for key, group in sorted(inventory.groups.items()):
        if end.namespace is None and end.group is None and group.namespace not in platform_namespaces:
            continue
        if not end.matches(group.namespace, group.labels, group.name):
            continue
        if group.host_network:
            if as_destination:
                keys.extend(inventory.external_of["nodes"])
            continue
        keys.append(key)
    return sorted(set(keys))


def _covering_wave(side: Side, ports: PortSet, wave_of: dict[str, int]) -> int | None:
    """The earliest wave from which the side's rules (each arriving with its policy) surely allow ``ports``."""
    got = NO_PORTS
    for contribution in sorted((c for c in side.contributions if c.sure), key=lambda c: wave_of.get(c.ref.policy_key, 0)):
        got = got | contribution.ports
        if got.covers(ports):
            return wave_of.get(contribution.ref.policy_key, 0)
    return None


def _late(inventory: Inventory, flow: Flow, verdict: Verdict, ports: PortSet, wave_of: dict[str, int]) -> list[Late]:
    waves = [w for w in (inventory.wave_of(verdict.source.key), inventory.wave_of(verdict.destination.key)) if w is not None]
    if not waves:
        return []
    needed = max(waves)
    found = []
    for name, side in (("egress", verdict.egress), ("ingress", verdict.ingress)):
        if not side.isolated:
            continue
        cut = min(wave_of.get(p, 0) for p in side.policies)
        allowed = _covering_wave(side, ports, wave_of)
        if allowed is not None and allowed > max(needed, cut):
            found.append(Late(flow, verdict.source.key, verdict.destination.key, name, needed, cut, allowed,
                              tuple(sorted({c.ref.policy_key for c in side.contributions if c.ports & ports}))))
    return found


def analyse(platform: Platform, objects: Sequence[Sourced], declared: Sequence[Flow]) -> FlowReport:
    """Check the declared and implied flows of one environment against its policies."""
    started = time.perf_counter()
    inventory = build_inventory(platform, objects)
    evaluator = Evaluator(inventory.policies, inventory.namespace_labels)
    flows = list(declared) + implied_flows(inventory)
    report = FlowReport(platform.environment, inventory, flows, {}, {})
    wave_of = {key: source.wave for key, source in inventory.policy_source.items()}
    for flow in flows:
        sources = resolve(inventory, flow.source, as_destination=False)
        destinations = resolve(inventory, flow.destination, as_destination=True)
        for side, keys in (("source", sources), ("destination", destinations)):
            if not keys:
                report.unmatched.append(Unmatched(flow, side))
        ports = PortSet.of({flow.protocol: [(p, p) for p in flow.ports]})
        for src in sources:
            for dst in destinations:
                if src == dst and src in inventory.externals:
                    continue
                known, why = report.intended.get((src, dst), (NO_PORTS, []))
                report.intended[(src, dst)] = (known | ports, why + [flow])
                verdict = evaluator.verdict(inventory.endpoint(src), inventory.endpoint(dst))
                lacking = ports - verdict.sure
                if lacking:
                    refused = tuple((name, side.policies) for name, side in (("egress", verdict.egress), ("ingress", verdict.ingress))
                                    if side.isolated and not side.sure.covers(ports))
                    report.missing.append(Missing(flow, src, dst, lacking, refused))
                else:
                    report.late.extend(_late(inventory, flow, verdict, ports, wave_of))
    platform_namespaces = set(platform.namespaces)
    endpoints: list[Endpoint] = inventory.endpoints
    for src in endpoints:
        for dst in endpoints:
            if not src.is_pod and not dst.is_pod:
                continue
            if src.namespace not in platform_namespaces and dst.namespace not in platform_namespaces:
                continue
            report.pairs += 1
            verdict = evaluator.verdict(src, dst)
            allowed = verdict.maybe
            if not allowed:
                continue
            report.allowed[(src.key, dst.key)] = allowed
            extra = allowed - report.intended.get((src.key, dst.key), (NO_PORTS, []))[0]
            if extra:
                open_sides = tuple(name for name, side in (("egress", verdict.egress), ("ingress", verdict.ingress))
                                   if not side.isolated and (src if name == "egress" else dst).is_pod)
                report.unintended.append(Unintended(src.key, dst.key, extra, tuple(verdict.rules_for(extra)), open_sides))
    report.seconds = time.perf_counter() - started
    return report
