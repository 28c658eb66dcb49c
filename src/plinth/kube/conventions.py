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
    "kafka": (9093,),  # the TLS listener (SCRAM-SHA-512 users); there is no plaintext listener
}
"""Client ports of each data store."""

MONITORING_NAMESPACE = "platform-monitoring"
"""Namespace Prometheus scrapes from (NetworkPolicies allow it in)."""

PROMETHEUS_FULLNAME = "kps"
"""kube-prometheus-stack's fullnameOverride: every object the chart renders is prefixed with it."""
PROMETHEUS_URL = f"http://{PROMETHEUS_FULLNAME}-prometheus.{MONITORING_NAMESPACE}.svc:9090"
"""Prometheus as Grafana, KEDA, the canary analysis and Tempo's metrics generator reach it: the chart's ClusterIP
Service in front of every Prometheus replica."""

DATASTORE_NAMES: dict[str, str] = {
    "postgres": "plinth-pg",  # CloudNativePG Cluster (services plinth-pg-rw/-ro/-r); Pooler plinth-pg-pooler-rw
    "postgres-objectstore": "plinth-pg-backups",  # barmancloud.cnpg.io ObjectStore
    "clickhouse": "plinth-ch",  # ClickHouseInstallation
    "clickhouse-keeper": "plinth-ch-keeper",  # ClickHouseKeeperInstallation
    "redis": "plinth-redis",  # RedisReplication
    "redis-sentinel": "plinth-redis-sentinel",  # RedisSentinel
    "kafka": "plinth-kafka",  # Strimzi Kafka
}
"""Object names of the data stores, shared by the data components, drills, checks and runbooks."""

REDIS_SENTINEL_APP = f"{DATASTORE_NAMES['redis-sentinel']}-sentinel"
"""The ``app`` label of the Sentinel pods (and their StatefulSet's name): the OT redis-operator names them
``<RedisSentinel>-sentinel`` (internal/k8sutils/redis-sentinel.go, CreateRedisSentinelSetup), unlike the
replication's pods, labelled with the RedisReplication's own name."""

DATASTORE_CLIENT_PODS: dict[str, tuple[tuple[dict[str, str], tuple[int, ...]], ...]] = {
    "postgres": (({"cnpg.io/poolerName": f"{DATASTORE_NAMES['postgres']}-pooler-rw"}, (5432,)),),  # through PgBouncer
    "clickhouse": (({"clickhouse.altinity.com/chi": DATASTORE_NAMES["clickhouse"]}, (8123, 9000)),),
    "redis": (({"app": DATASTORE_NAMES["redis"]}, (6379,)), ({"app": REDIS_SENTINEL_APP}, (26379,))),
    "kafka": (({"strimzi.io/cluster": DATASTORE_NAMES["kafka"], "strimzi.io/broker-role": "true"}, DATASTORE_PORTS["kafka"]),),
}
"""The pods a client of each data store connects to (labels in platform-data) and on which ports: applications go
through the PgBouncer pooler, to every ClickHouse replica, to Redis and its Sentinels, to the Kafka brokers."""

PROMETHEUS_POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": "prometheus"}
"""Labels of the Prometheus pods the Prometheus Operator runs (in MONITORING_NAMESPACE)."""
PROMETHEUS_PORT = 9090
"""Prometheus' web port: queries, remote write."""
