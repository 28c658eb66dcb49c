"""The per-kind adapters read requests, replicas, volumes and scheduling rules from real-schema objects."""

from __future__ import annotations

import pytest

from plinth.kube.pods import PodGroup, PodReadError, pod_groups, pod_requests
from plinth.quantities import QuantityError, gibibytes, mebibytes, millicores
from plinth.validate.schemas import SchemaStore
from tests.conftest import CRD_DIR, needs_shared
from tests.plan import fixtures as fx


def by_name(workloads: list[PodGroup]) -> dict[str, PodGroup]:
    return {w.name: w for w in workloads}


@needs_shared
def test_fixtures_are_valid_against_the_real_schemas() -> None:
    store = SchemaStore("1.32", CRD_DIR)
    problems = [p for obj in fx.all_fixtures() for p in store.check(obj, obj["kind"])]
    assert problems == []


def test_quantities() -> None:
    assert millicores("250m") == 250 and millicores("2") == 2000 and millicores(0.5) == 500 and millicores("1.5") == 1500
    assert mebibytes("512Mi") == 512 and mebibytes("1Gi") == 1024 and mebibytes("1G") == 954 and mebibytes("100M") == 96
    assert gibibytes("2Ti") == 2048 and gibibytes("500Gi") == 500
    with pytest.raises(QuantityError):
        millicores("lots")


def test_pod_requests_follow_the_scheduler_rules() -> None:
    pod = {"containers": [fx.container("250m", "256Mi"), fx.container(None, None, name="no-requests"),
                          fx.container(None, None, name="limit-only", limits={"cpu": "1", "memory": "1Gi"})],
           "initContainers": [fx.container("3", "64Mi", name="migrate"),
                              {**fx.container("50m", "32Mi", name="sidecar"), "restartPolicy": "Always"}]}
    # app: 250 + default 100 + limit 1000 + sidecar 50 = 1400m, but the init container needs 3000m alone.
    # memory: 256 + 128 + 1024 + 32 = 1440 Mi > 64 Mi.
    assert pod_requests(pod, (100, 128)) == (3000, 1440)


def test_every_kind_is_read() -> None:
    found = by_name(pod_groups(fx.all_fixtures(), lambda ns: (100, 128)))
    assert found["Deployment/platform-apps/frontend"].replicas_min == 3
    assert found["Deployment/platform-apps/frontend"].replicas_max == 10
    workers = found["Deployment/platform-apps/data-workers"]
    assert (workers.replicas_min, workers.replicas_max, workers.cpu_millicores, workers.memory_mib) == (3, 20, 1000, 1024)
    loki = found["StatefulSet/platform-monitoring/loki"]
    assert (loki.replicas_max, loki.volume_gib) == (3, 100)
    exporter = found["DaemonSet/platform-monitoring/node-exporter"]
    assert exporter.per_node and exporter.tolerations == (("", "Exists", ""),)
    # A Rollout with workloadRef runs the Deployment's pods; the Deployment itself is not counted twice.
    assert "Deployment/platform-apps/auth" not in found
    assert (found["Rollout/platform-apps/auth"].replicas_max, found["Rollout/platform-apps/auth"].cpu_millicores) == (4, 250)
    pg = found["Cluster/platform-data/postgres"]
    assert (pg.replicas_max, pg.cpu_millicores, pg.memory_mib, pg.volume_gib, pg.one_per_node, pg.node_pool) == (3, 4000, 16384, 550, True, "data")
    pooler = found["Pooler/platform-data/postgres-pooler"]
    assert (pooler.replicas_max, pooler.cpu_millicores, pooler.node_pool) == (3, 250, "data")
    ch = found["ClickHouseInstallation/platform-data/clickhouse/main"]
    assert (ch.replicas_max, ch.cpu_millicores, ch.memory_mib, ch.volume_gib, ch.one_per_node) == (6, 4000, 16384, 1000, True)
    keeper = found["ClickHouseKeeperInstallation/platform-data/clickhouse-keeper/keeper"]
    assert (keeper.replicas_max, keeper.cpu_millicores, keeper.volume_gib, keeper.one_per_node) == (3, 500, 20, False)
    brokers = found["KafkaNodePool/platform-data/brokers"]
    assert (brokers.replicas_max, brokers.cpu_millicores, brokers.memory_mib, brokers.volume_gib, brokers.node_pool) == (3, 2000, 8192, 500, "data")
    entity = found["Kafka/platform-data/kafka/entity-operator"]
    assert (entity.replicas_max, entity.cpu_millicores, entity.memory_mib) == (1, 200, 512)
    redis = found["RedisReplication/platform-data/redis"]
    assert (redis.replicas_max, redis.cpu_millicores, redis.memory_mib, redis.volume_gib) == (3, 1050, 4160, 20)
    assert found["RedisSentinel/platform-data/redis-sentinel"].cpu_millicores == 100
    prom = found["Prometheus/platform-monitoring/prometheus"]
    assert (prom.replicas_max, prom.volume_gib, prom.memory_mib) == (2, 200, 8192)
    envoy = found["EnvoyProxy/platform-system/public"]
    assert (envoy.replicas_max, envoy.cpu_millicores) == (3, 500)


def test_required_host_anti_affinity_is_one_pod_per_node() -> None:
    spread = by_name(pod_groups([fx.deployment("api", 3, [fx.container("1", "1Gi")], anti_affinity=True)]))
    plain = by_name(pod_groups([fx.deployment("api", 3, [fx.container("1", "1Gi")])]))
    assert spread["Deployment/platform-apps/api"].one_per_node
    assert not plain["Deployment/platform-apps/api"].one_per_node


def test_a_bad_quantity_is_reported_with_its_value() -> None:
    with pytest.raises(PodReadError, match="Deployment/platform-apps/api: .*'four'"):
        pod_groups([fx.deployment("api", 1, [fx.container("four", "1Gi")])])


def test_spec_workloads_are_planned_only_until_something_renders_them(prod) -> None:
    from plinth.components.base import Component, PodFootprint
    from plinth.plan.inventory import SPEC_SOURCE, inventory

    bare = {w.name for w in inventory(prod, [], components=()) if w.source == SPEC_SOURCE}
    assert {"Spec/platform-apps/frontend", "Spec/platform-data/postgres", "Spec/platform-monitoring/loki"} <= bare
    loki_chart = Component("loki", "platform-monitoring", footprints=lambda p: [PodFootprint("write", "platform-monitoring", 3, 500, 1024)])
    objects = [fx.deployment("frontend", 3, [fx.container("250m", "256Mi")]), fx.cnpg_cluster()]
    found = {w.name: w for w in inventory(prod, objects, components=(loki_chart,))}
    assert "Spec/platform-apps/frontend" not in found and "Deployment/platform-apps/frontend" in found
    assert "Spec/platform-data/postgres" not in found and "Cluster/platform-data/postgres" in found
    assert "Spec/platform-monitoring/loki" not in found and "Chart/platform-monitoring/loki/write" in found
    assert "Spec/platform-apps/auth" in found  # still declared, still unrendered


def test_rendered_rollouts_count_each_service_once_with_its_autoscaler_range(platforms) -> None:
    """The app services are Rollouts scaled by HPAs/ScaledObjects: one workload each, the spec's min/max."""
    from plinth.render.pipeline import render_platform

    for env, platform in platforms.items():
        apps = [w for w in pod_groups(r.obj for r in render_platform(platform)) if w.namespace == "platform-apps"]
        assert sorted(w.name for w in apps) == sorted(f"Rollout/platform-apps/{n}" for n in platform.services), env
        for w in apps:
            scaling = platform.services[w.name.rsplit("/", 1)[-1]].scaling
            assert (w.replicas_min, w.replicas_max) == (scaling.min_replicas, scaling.max_replicas), (env, w.name)
