"""docs/architecture.md and its diagram are generated from the spec, committed, and fresh."""

from __future__ import annotations

import html

import pytest

from plinth.docs.build import generated_docs
from plinth.docs.diagram import dot_available
from plinth.spec.loader import load_all
from tests.conftest import spec_with

pytestmark = pytest.mark.skipif(not dot_available(), reason="Graphviz 'dot' missing: `make test` installs Debian's graphviz")


def test_a_changed_number_in_the_spec_shows_in_the_doc(tmp_path) -> None:
    spec = spec_with(tmp_path, [("observability.loki.retention_days", 45), ("node_pools.apps.nodes", 12)])
    docs = generated_docs(load_all(spec)["prod"])
    assert "| Loki | Logs | 45 days |" in docs["architecture.md"]
    assert "| Worker Pool (apps) | 12 | 8 |" in docs["architecture.md"]
    # the Total row is computed: 3x4 + 12x8 + 5x16 = 188 vCPU
    assert "**188**" in docs["architecture.md"]
    assert "pool apps: 12 x 8 vCPU" in html.unescape(docs["architecture.svg"])


def test_diagram_names_every_namespace_and_data_store(prod) -> None:
    svg = html.unescape(generated_docs(prod)["architecture.svg"])
    for ns in prod.namespaces:
        assert f">{ns}<" in svg, ns
    for store in ("PostgreSQL", "ClickHouse", "Redis", "Kafka"):
        assert f">{store}<" in svg, store
    for backup in prod.backups:
        if backup.bucket:
            assert backup.bucket in svg
    assert prod.cluster.dr_region in svg
