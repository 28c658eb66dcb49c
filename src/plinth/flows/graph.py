"""The flow graph, drawn by Graphviz: pods grouped by namespace, the endpoints outside the pod network, one edge per
source and destination with the intended ports (green: allowed; red, dashed: intended but refused) and the ports the
policies allow that nothing intends (orange, dotted).

``namespace_graph`` draws one namespace's pods and every peer they talk to; ``environment_graph`` the whole
environment. ``dot`` text needs no binary; ``svg`` needs Debian's ``dot``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable

import graphviz

from plinth.flows.analysis import FlowReport
from plinth.flows.netpol import NO_PORTS, PortSet

ALLOWED, MISSING, UNINTENDED = "#1a7f37", "#cf222e", "#bc4c00"
NAMESPACE_COLOURS = {"platform-system": "#eef3fb", "platform-apps": "#eefbf1", "platform-data": "#fbf5ea",
                     "platform-monitoring": "#f5eefb", "kube-system": "#f2f2f2"}


class GraphError(Exception):
    """Graphviz's ``dot`` is missing or failed."""


def _node_id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", key)


def _edges(report: FlowReport, keep: set[str] | None, quiet: set[str]) -> dict[tuple[str, str], dict[str, PortSet]]:
    """(source, destination) -> {"allowed", "missing", "unintended"} ports, for the pairs touching ``keep``; allowed
    flows to or from ``quiet`` endpoints are left out (only their problems are drawn)."""
    missing: dict[tuple[str, str], PortSet] = {}
    for item in report.missing:
        missing[(item.source, item.destination)] = missing.get((item.source, item.destination), NO_PORTS) | item.ports
    extra: dict[tuple[str, str], PortSet] = {}
    for item in report.unintended:
        extra[(item.source, item.destination)] = extra.get((item.source, item.destination), NO_PORTS) | item.ports
    edges: dict[tuple[str, str], dict[str, PortSet]] = {}
    for pair in set(report.intended) | set(extra):
        if keep is not None and not (set(pair) & keep):
            continue
        intended = report.intended.get(pair, (NO_PORTS, []))[0]
        refused = missing.get(pair, NO_PORTS)
        allowed = NO_PORTS if set(pair) & quiet else intended - refused
        if allowed or refused or extra.get(pair):
            edges[pair] = {"allowed": allowed, "missing": refused, "unintended": extra.get(pair, NO_PORTS)}
    return edges


def _graph(report: FlowReport, title: str, keep: set[str] | None) -> graphviz.Digraph:
    inv = report.inventory
    quiet = set(inv.addons)
    if quiet:
        title += " (every pod's DNS to CoreDNS not drawn)"
    graph = graphviz.Digraph(_node_id(title), graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "11", "label": title,
                                                          "labelloc": "t", "nodesep": "0.15", "ranksep": "0.9"},
                             node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "white", "fontname": "Helvetica",
                                        "fontsize": "9", "height": "0.3"},
                             edge_attr={"fontname": "Helvetica", "fontsize": "8", "arrowsize": "0.6"})
    edges = _edges(report, keep, quiet)
    used = {k for pair in edges for k in pair}
    by_namespace: dict[str, list[str]] = {}
    for key in sorted(used):
        namespace = inv.namespace_of(key)
        if namespace is None:
            graph.node(_node_id(key), inv.label(key), shape="ellipse", fillcolor="#fff8e1")
        else:
            by_namespace.setdefault(namespace, []).append(key)
    for namespace, keys in sorted(by_namespace.items()):
        with graph.subgraph(name=f"cluster_{_node_id(namespace)}",
                            graph_attr={"label": namespace, "style": "filled", "fillcolor": NAMESPACE_COLOURS.get(namespace, "#f6f8fb"),
                                        "color": "#9aa4b2"}) as sub:
            for key in keys:
                group = inv.groups.get(key)
                sub.node(_node_id(key), inv.label(key), style="rounded,filled,dashed" if group is not None and group.transient else "rounded,filled")
    for (src, dst), ports in sorted(edges.items()):
        if ports["allowed"]:
            graph.edge(_node_id(src), _node_id(dst), ports["allowed"].describe(), color=ALLOWED, fontcolor=ALLOWED)
        if ports["missing"]:
            graph.edge(_node_id(src), _node_id(dst), ports["missing"].describe() + " refused", color=MISSING, fontcolor=MISSING, style="dashed")
        if ports["unintended"]:
            graph.edge(_node_id(src), _node_id(dst), ports["unintended"].describe() + " not intended", color=UNINTENDED,
                       fontcolor=UNINTENDED, style="dotted")
    return graph


def environment_graph(report: FlowReport) -> graphviz.Digraph:
    """Every flow of the environment."""
    return _graph(report, f"network flows ({report.environment})", None)


def namespace_graph(report: FlowReport, namespace: str) -> graphviz.Digraph:
    """The flows of one namespace's pods, with the peers they talk to."""
    keep = {k for k, e in report.inventory.pods.items() if e.namespace == namespace}
    return _graph(report, f"{namespace} ({report.environment})", keep)


def namespaces(report: FlowReport) -> list[str]:
    """The platform namespaces, in order."""
    return sorted(report.inventory.platform.namespaces)


def dot_text(graphs: Iterable[graphviz.Digraph]) -> str:
    """The graphs as Graphviz source, one after the other."""
    return "\n".join(g.source for g in graphs)


def svg(graph: graphviz.Digraph) -> str:
    """The graph drawn as SVG by ``dot`` (``GraphError`` when Graphviz is missing or fails)."""
    binary = shutil.which("dot")
    if binary is None:
        raise GraphError("Graphviz's dot is not installed (Debian package graphviz; make test installs it)")
    proc = subprocess.run([binary, "-Tsvg"], input=graph.source.encode(), capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise GraphError(f"dot failed: {proc.stderr.decode(errors='replace')[-500:]}")
    return proc.stdout.decode()
