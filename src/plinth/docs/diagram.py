"""The architecture diagram, generated from the spec with Graphviz (the ``graphviz`` package drives
Debian's ``dot``): cloud -> cluster -> node pools -> namespaces -> components -> data stores and
buckets, with the DR region."""

from __future__ import annotations

import shutil

from plinth.spec.derived import backup_retention
from plinth.spec.model import Platform

DATASTORE_TITLES = {"postgres": "PostgreSQL", "clickhouse": "ClickHouse", "redis": "Redis", "kafka": "Kafka", "iceberg": "Iceberg"}


class DiagramError(Exception):
    """Graphviz is missing or failed."""


def dot_available() -> bool:
    """True when Graphviz's ``dot`` is on PATH (Debian package ``graphviz``)."""
    return shutil.which("dot") is not None


def architecture_graph(platform: Platform, components: list[tuple[str, str]]):
    """The diagram as a ``graphviz.Digraph``; ``components`` are (namespace, component name) pairs."""
    import graphviz

    c = platform.cluster
    g = graphviz.Digraph("plinth", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "11", "compound": "true",
                                                "label": f"{platform.name} ({platform.environment})", "labelloc": "t"},
                         node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "white", "fontname": "Helvetica", "fontsize": "10"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    with g.subgraph(name="cluster_cloud", graph_attr={"label": f"{c.provider.upper()} {c.region} (zones {', '.join(c.zones)})", "style": "dashed"}) as cloud:
        cloud.node("dns", f"DNS zone\n{platform.edge.domain}", fillcolor="#eeeeff")
        if platform.edge.cdn:
            cloud.node("cdn", "CDN", fillcolor="#eeeeff")
            cloud.edge("dns", "cdn")
        with cloud.subgraph(name="cluster_k8s", graph_attr={"label": f"Kubernetes {c.kubernetes_version}: {c.name}", "style": "solid"}) as k8s:
            cp = c.control_plane
            k8s.node("control_plane", f"Control plane\n{cp.nodes} x {cp.vcpu} vCPU / {cp.memory_gib} GiB" + (" (managed)" if cp.managed else ""), fillcolor="#f4f4f4")
            for pool_name, pool in platform.node_pools.items():
                with k8s.subgraph(name=f"cluster_pool_{pool_name}", graph_attr={"label": f"pool {pool_name}: {pool.nodes} x {pool.vcpu} vCPU / {pool.memory_gib} GiB / {pool.disk_gib} GiB", "style": "filled", "fillcolor": "#fafafa"}) as p:
                    for ns in pool.namespaces:
                        with p.subgraph(name=f"cluster_ns_{ns}", graph_attr={"label": ns, "style": "filled", "fillcolor": "#e8f4ea" if ns != "platform-data" else "#fdf0e0"}) as n:
                            names = sorted(name for space, name in components if space == ns)
                            if ns == "platform-data":
                                for store in ("postgres", "clickhouse", "redis", "kafka"):
                                    n.node(f"store_{store}", DATASTORE_TITLES[store], shape="cylinder", fillcolor="#fff7e6")
                            n.node(f"ns_{ns}", "\n".join(names) if names else "(none)", shape="note")
        with cloud.subgraph(name="cluster_buckets", graph_attr={"label": "object storage", "style": "dashed"}) as buckets:
            for backup in platform.backups:
                if backup.bucket:
                    buckets.node(f"bucket_{backup.data}", f"{backup.bucket}\n({backup.data}, {backup_retention(backup)})", shape="folder", fillcolor="#eef6ff")
    with g.subgraph(name="cluster_dr", graph_attr={"label": f"DR region {c.dr_region}", "style": "dashed", "color": "#cc0000"}) as dr:
        dr.node("dr_copy", "backup replicas\n(restore target on region loss)", shape="folder", fillcolor="#ffecec")
    for backup in platform.backups:
        if backup.location in ("cross-region", "multi-region") and backup.bucket:
            g.edge(f"bucket_{backup.data}", "dr_copy", label=backup.location, style="dashed", color="#cc0000")
    if platform.edge.cdn:
        g.edge("cdn", "ns_platform-system", label="HTTPS")
    else:
        g.edge("dns", "ns_platform-system", label="HTTPS")
    g.edge("ns_platform-system", "ns_platform-apps")
    for store in ("postgres", "clickhouse", "redis", "kafka"):
        users = sorted(name for name, svc in platform.services.items() if store in svc.uses)
        if users:
            g.edge("ns_platform-apps", f"store_{store}", label=", ".join(users))
    for data, store in (("postgres", "postgres"), ("clickhouse", "clickhouse")):
        g.edge(f"store_{store}", f"bucket_{data}", label=platform.backup_for(data).frequency)
    g.edge("ns_platform-monitoring", "ns_platform-apps", label="scrape", style="dotted")
    return g


def architecture_svg(platform: Platform, components: list[tuple[str, str]]) -> str:
    """The diagram as SVG text (needs Graphviz's ``dot``)."""
    if not dot_available():
        raise DiagramError("Graphviz 'dot' not found: install Debian's graphviz package (make test does)")
    svg = architecture_graph(platform, components).pipe(format="svg", encoding="utf-8")
    return svg
