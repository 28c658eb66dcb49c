"""Names every component agrees on: labels that connect services to data stores, store ports,
the secret store, and the metrics port label. One place, so NetworkPolicies on both sides match."""

from __future__ import annotations

DATASTORE_LABEL = "plinth.dev/datastore"
"""Label on every data store pod: postgres | clickhouse | redis | kafka."""


def uses_label(store: str) -> str:
    """Label on an application pod that connects to ``store`` (value "true"); data-side policies allow it."""
    return f"plinth.dev/uses-{store}"


DATASTORE_PORTS: dict[str, tuple[int, ...]] = {
    "postgres": (5432,),  # CloudNativePG instances and the PgBouncer pooler
    "clickhouse": (8123, 9000),  # HTTP and native protocol
    "redis": (6379, 26379),  # Redis and Sentinel
    "kafka": (9092, 9093),  # plain and TLS listeners
}
"""Client ports of each data store."""

CLUSTER_SECRET_STORE = "platform-secrets"
"""Name of the ClusterSecretStore (External Secrets Operator) backed by the cloud's secret manager."""

MONITORING_NAMESPACE = "platform-monitoring"
"""Namespace Prometheus scrapes from (NetworkPolicies allow it in)."""
