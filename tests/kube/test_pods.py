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


def test_spec_workloads_are_planned_only_until_something_runs_them(prod) -> None:
    from plinth.plan.inventory import SPEC_SOURCE, inventory

    bare = {w.name for w in inventory(prod, []) if w.source == SPEC_SOURCE}
    assert {"Spec/platform-apps/frontend", "Spec/platform-data/postgres", "Spec/platform-monitoring/loki"} <= bare
    loki_write = fx.statefulset("loki-write", 3, "500m", "1Gi", "20Gi")
    objects = [fx.deployment("frontend", 3, [fx.container("250m", "256Mi")]), fx.cnpg_cluster(), loki_write]
    found = {w.name: w for w in inventory(prod, objects)}
    assert "Spec/platform-apps/frontend" not in found and "Deployment/platform-apps/frontend" in found
    assert "Spec/platform-data/postgres" not in found and "Cluster/platform-data/postgres" in found
    assert "Spec/platform-monitoring/loki" not in found and "StatefulSet/platform-monitoring/loki-write" in found  # a hydrated chart's pods
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


def test_jobs_and_cronjobs_are_transient_pods_selectors_see_but_the_planner_leaves_out(prod) -> None:
    from plinth.plan.capacity import plan_pools

    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": fx.meta("admission-create", fx.NS_MON),
           "spec": {"template": {"metadata": {"labels": {"app": "admission-create"}},
                                 "spec": {"restartPolicy": "OnFailure", "containers": [fx.container("8", "64Gi")]}}}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": fx.meta("backup", fx.NS_MON),
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"parallelism": 2, "template": {
                "metadata": {"labels": {"app": "backup"}}, "spec": {"restartPolicy": "OnFailure", "containers": [fx.container("100m", "64Mi")]}}}}}}
    groups = by_name(pod_groups([job, cron]))
    assert groups["Job/platform-monitoring/admission-create"].transient and groups["Job/platform-monitoring/admission-create"].labels == {"app": "admission-create"}
    assert groups["CronJob/platform-monitoring/backup"].replicas_min == 2 and groups["CronJob/platform-monitoring/backup"].transient
    plan = plan_pools(prod, list(groups.values()), "aws")
    assert all(p.at_max.pods == 0 for p in plan.pools) and not plan.problems, "a 64 GiB hook reserves no node"


def test_statefulset_pods_carry_their_pod_name_and_index() -> None:
    (group,) = pod_groups([fx.statefulset("redis-ha-server", 3, "100m", "64Mi", "1Gi")])
    assert group.selected_by({"matchLabels": {"app": "redis-ha-server", "statefulset.kubernetes.io/pod-name": "redis-ha-server-2"}})
    assert not group.selected_by({"matchLabels": {"statefulset.kubernetes.io/pod-name": "redis-ha-server-3"}})
    assert group.selected_by({"matchLabels": {"apps.kubernetes.io/pod-index": "0"}})


def test_prometheus_pods_get_the_operator_labels_and_its_config_reloader() -> None:
    operator = fx.deployment("kps-operator", 1, [{**fx.container("100m", "256Mi"),
                                                  "args": ["--config-reloader-cpu-request=10m", "--config-reloader-memory-request=32Mi"]}],
                             namespace=fx.NS_MON)
    prometheus = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": fx.meta("kps-prometheus", fx.NS_MON),
                  "spec": {"replicas": 2, "resources": {"requests": {"cpu": "1", "memory": "4Gi"}}}}
    groups = by_name(pod_groups([operator, prometheus]))
    prom = groups["Prometheus/platform-monitoring/kps-prometheus"]
    assert (prom.cpu_millicores, prom.memory_mib) == (1010, 4128)
    assert prom.labels["operator.prometheus.io/name"] == "kps-prometheus" and prom.labels["operator.prometheus.io/shard"] == "0"
    (alone,) = pod_groups([prometheus])
    assert (alone.cpu_millicores, alone.memory_mib) == (1000, 4096), "no operator, no reloader counted"
