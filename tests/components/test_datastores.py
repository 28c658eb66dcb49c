"""platform-data: the rendered objects carry the spec's HA, replication and backup numbers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from plinth.spec.derived import backup_target

from plinth.components import clickhouse, iceberg_catalog, kafka, postgres, redis, velero
from plinth.kube.conventions import DATASTORE_CLIENT_PODS, DATASTORE_LABEL, DATASTORE_NAMES, DATASTORE_PORTS
from plinth.kube.scheduling import POOL_LABEL, ZONE_KEY
from plinth.components.registry import ALL_COMPONENTS
from plinth.render import network
from plinth.render.pipeline import render_platform
from plinth.spec.loader import SpecError, load_all
from tests.conftest import REPO, chart_pods, spec_with


def _objects(platform) -> dict[tuple[str, str], dict]:
    return {(r.obj["kind"], r.obj["metadata"]["name"]): r.obj for r in render_platform(platform)}


@pytest.fixture(scope="module")
def prod_objects(prod):
    return _objects(prod)


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "<secret>") for e in container["env"]}


def test_postgres_instances_and_synchronous_standbys(prod, prod_objects) -> None:
    pg = prod.datastores.postgres
    cluster = prod_objects[("Cluster", DATASTORE_NAMES["postgres"])]["spec"]
    assert cluster["instances"] == pg.instances == 3
    assert cluster["postgresql"]["synchronous"] == {"method": "any", "number": pg.synchronous_standbys, "dataDurability": "required",
                                                    "failoverQuorum": True}
    assert cluster["postgresql"]["parameters"]["archive_timeout"] == f"{pg.archive_timeout_seconds}s"
    assert cluster["walStorage"]["size"] == f"{pg.wal_storage.size_gib}Gi"
    assert "backup" not in cluster, "in-tree barmanObjectStore is deprecated: backups go through the plugin"
    assert cluster["plugins"] == [{"name": postgres.BARMAN_PLUGIN, "isWALArchiver": True,
                                   "parameters": {"barmanObjectName": DATASTORE_NAMES["postgres-objectstore"]}}]
    pooler = prod_objects[("Pooler", postgres.POOLER)]["spec"]
    assert (pooler["instances"], pooler["pgbouncer"]["poolMode"]) == (pg.pooler_instances, pg.pooler_mode)


def test_postgres_backup_schedule_and_retention(prod, prod_objects) -> None:
    row = prod.backup_for("postgres")
    store = prod_objects[("ObjectStore", DATASTORE_NAMES["postgres-objectstore"])]["spec"]
    assert store["retentionPolicy"] == "30d" == f"{row.retention_days}d"
    assert store["configuration"]["destinationPath"].startswith(f"s3://{row.bucket}/")
    scheduled = [o for (k, _), o in prod_objects.items() if k == "ScheduledBackup"]
    assert len(scheduled) == 1
    assert scheduled[0]["spec"]["schedule"] == row.schedule == "0 0 * * * *"
    assert scheduled[0]["spec"]["method"] == "plugin"
    assert scheduled[0]["spec"]["cluster"]["name"] == DATASTORE_NAMES["postgres"]


def test_clickhouse_replicas_keeper_nodes_and_quorum(prod, prod_objects) -> None:
    ch = prod.datastores.clickhouse
    chi = prod_objects[("ClickHouseInstallation", DATASTORE_NAMES["clickhouse"])]["spec"]
    chk = prod_objects[("ClickHouseKeeperInstallation", DATASTORE_NAMES["clickhouse-keeper"])]["spec"]
    layout = chi["configuration"]["clusters"][0]["layout"]
    assert (layout["shardsCount"], layout["replicasCount"]) == (ch.shards, ch.replicas) == (1, 3)
    assert chk["configuration"]["clusters"][0]["layout"]["replicasCount"] == ch.keeper_nodes == 3
    assert chi["configuration"]["zookeeper"]["nodes"] == [{"host": f"keeper-{DATASTORE_NAMES['clickhouse-keeper']}", "port": clickhouse.KEEPER_PORT}]
    assert chi["configuration"]["profiles"]["default/insert_quorum"] == str(ch.insert_quorum)


def test_clickhouse_daily_backup_keeps_ninety_days(prod, prod_objects) -> None:
    row = prod.backup_for("clickhouse")
    job = prod_objects[("CronJob", clickhouse.BACKUP_JOB)]["spec"]
    assert job["schedule"] == row.schedule
    pod = prod_objects[("ClickHouseInstallation", DATASTORE_NAMES["clickhouse"])]["spec"]["templates"]["podTemplates"][0]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "clickhouse-backup")
    env = _env(sidecar)
    assert sidecar["image"].startswith("altinity/clickhouse-backup:")
    assert env["BACKUPS_TO_KEEP_REMOTE"] == "90"  # daily x 90 days
    assert env["S3_BUCKET"] == row.bucket


def test_redis_topology_and_settings(prod, prod_objects) -> None:
    r = prod.datastores.redis
    repl = prod_objects[("RedisReplication", DATASTORE_NAMES["redis"])]["spec"]
    sent = prod_objects[("RedisSentinel", DATASTORE_NAMES["redis-sentinel"])]["spec"]
    assert repl["clusterSize"] == r.nodes == 3
    assert sent["clusterSize"] == r.sentinels == 3
    assert repl["redisConfig"]["additionalRedisConfig"] == "plinth-redis-config"  # a ConfigMap's name: the operator mounts it
    config = prod_objects[("ConfigMap", "plinth-redis-config")]["data"]["redis-additional.conf"].splitlines()
    assert "min-replicas-to-write 1" in config and "min-replicas-max-lag 10" in config
    assert "appendonly yes" in config and "appendfsync everysec" in config
    sc = sent["redisSentinelConfig"]
    assert sc["redisReplicationName"] == DATASTORE_NAMES["redis"]
    assert (sc["quorum"], sc["downAfterMilliseconds"], sc["failoverTimeout"]) == (
        str(r.sentinel_quorum), str(r.down_after_seconds * 1000), str(r.failover_timeout_seconds * 1000))
    assert prod.datastores.redis.ha.rpo_seconds == r.min_replicas_max_lag_seconds  # the honest RPO, not the design's 0


def test_kafka_replication_settings_and_rack_awareness(prod, prod_objects) -> None:
    k = prod.datastores.kafka
    spec = prod_objects[("Kafka", DATASTORE_NAMES["kafka"])]["spec"]["kafka"]
    assert spec["config"]["default.replication.factor"] == 3
    assert spec["config"]["min.insync.replicas"] == 2
    assert spec["config"]["unclean.leader.election.enable"] is False
    assert spec["rack"] == {"topologyKey": ZONE_KEY}
    brokers = prod_objects[("KafkaNodePool", kafka.BROKERS)]["spec"]
    controllers = prod_objects[("KafkaNodePool", kafka.CONTROLLERS)]["spec"]
    assert (brokers["replicas"], brokers["roles"]) == (k.brokers, ["broker"])
    assert (controllers["replicas"], controllers["roles"]) == (k.controllers, ["controller"])
    for topic in k.topics:
        rendered = prod_objects[("KafkaTopic", topic.name)]["spec"]
        assert rendered["partitions"] == topic.partitions
        assert rendered["replicas"] == k.default_replication_factor
        assert rendered["config"]["retention.ms"] == topic.retention_hours * 3_600_000


def test_every_backup_is_written_to_its_bucket_in_the_cluster_region(platforms) -> None:
    """Writers write where the cloud layer creates the bucket (the cluster's region); the cloud copies it to the DR region
    (tests/cloud/test_backup_targets.py checks the other side)."""
    for platform in platforms.values():
        objs = _objects(platform)
        here, dr = platform.cluster.region, platform.cluster.dr_region
        pg = objs[("ObjectStore", DATASTORE_NAMES["postgres-objectstore"])]["spec"]["configuration"]
        assert pg["endpointURL"] == f"https://s3.{here}.amazonaws.com"
        assert pg["destinationPath"] == f"s3://{platform.backup_for('postgres').bucket}/{platform.cluster.name}/postgres"
        ch_pod = objs[("ClickHouseInstallation", DATASTORE_NAMES["clickhouse"])]["spec"]["templates"]["podTemplates"][0]["spec"]
        ch_env = _env(next(c for c in ch_pod["containers"] if c["name"] == "clickhouse-backup"))
        bsl = objs[("BackupStorageLocation", velero.BSL)]["spec"]
        regions = {"postgres": pg["endpointURL"].split(".")[1], "clickhouse": ch_env["S3_REGION"], "cluster-state": bsl["config"]["region"]}
        for data, region in regions.items():
            assert region == here != dr, f"{platform.environment}: {data} backups are written through {region}, the bucket is in {here}"
            assert backup_target(platform, data).copy.region == dr
        assert ch_env["S3_BUCKET"] == platform.backup_for("clickhouse").bucket
        assert bsl["objectStorage"]["bucket"] == platform.backup_for("cluster-state").bucket


def test_velero_schedule_covers_platform_namespaces(prod, prod_objects) -> None:
    row = prod.backup_for("cluster-state")
    schedule = prod_objects[("Schedule", velero.SCHEDULE)]["spec"]
    assert schedule["schedule"] == row.schedule
    assert schedule["template"]["includedNamespaces"] == sorted(prod.namespaces)
    assert schedule["template"]["ttl"] == f"{row.retention_days * 24}h0m0s"


def _pod_templates(objs: dict) -> dict[str, dict]:
    """Pod templates (metadata + spec) of every data pod, by object."""
    found: dict[str, dict] = {}
    for (kind, name), o in objs.items():
        s = o.get("spec", {})
        if kind == "Cluster":
            found[name] = {"labels": s["inheritedMetadata"]["labels"], "nodeSelector": s["affinity"]["nodeSelector"], "tolerations": s["affinity"]["tolerations"]}
        elif kind == "Pooler":
            found[name] = {"labels": s["template"]["metadata"]["labels"], **s["template"]["spec"]}
        elif kind in ("ClickHouseInstallation", "ClickHouseKeeperInstallation"):
            t = s["templates"]["podTemplates"][0]
            found[name] = {"labels": t["metadata"]["labels"], **t["spec"]}
        elif kind in ("RedisReplication", "RedisSentinel"):
            found[name] = {"labels": o["metadata"]["labels"], **s}
        elif kind == "KafkaNodePool":
            pod = s["template"]["pod"]
            term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]
            found[name] = {"labels": pod["metadata"]["labels"], "nodeSelector": {term["key"]: term["values"][0]}, "tolerations": pod["tolerations"],
                           "topologySpreadConstraints": pod["topologySpreadConstraints"], "affinity": pod["affinity"]}
        elif kind == "CronJob" and o["metadata"]["labels"]["app.kubernetes.io/component"] != iceberg_catalog.NAME:
            t = s["jobTemplate"]["spec"]["template"]
            found[name] = {"labels": t["metadata"]["labels"], **t["spec"]}
    return found


def test_every_data_pod_is_labelled_and_placed_on_the_data_pool(prod, prod_objects) -> None:
    templates = _pod_templates(prod_objects)
    assert len(templates) == 9
    toleration = {"key": "plinth.dev/pool", "operator": "Equal", "value": "data", "effect": "NoSchedule"}
    for name, t in templates.items():
        assert t["labels"][DATASTORE_LABEL] in DATASTORE_PORTS, name
        assert t["nodeSelector"] == {POOL_LABEL: "data"}, name
        assert toleration in t["tolerations"], name


def test_replicated_pods_spread_hard_over_zones_with_anti_affinity(prod_objects) -> None:
    templates = _pod_templates(prod_objects)
    for name, t in templates.items():
        if name in (DATASTORE_NAMES["postgres"], clickhouse.BACKUP_JOB):
            continue
        zone = [c for c in t["topologySpreadConstraints"] if c["topologyKey"] == ZONE_KEY]
        assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule", name
        if name != postgres.POOLER:
            assert t["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"], name
    cluster = prod_objects[("Cluster", DATASTORE_NAMES["postgres"])]["spec"]
    assert cluster["affinity"]["podAntiAffinityType"] == "required"
    assert cluster["affinity"]["topologyKey"] == ZONE_KEY


def test_pdbs_are_enabled_for_every_store(prod_objects) -> None:
    assert prod_objects[("Cluster", DATASTORE_NAMES["postgres"])]["spec"]["enablePDB"] is True
    assert prod_objects[("ClickHouseInstallation", DATASTORE_NAMES["clickhouse"])]["spec"]["configuration"]["clusters"][0]["pdbMaxUnavailable"] == 1
    assert prod_objects[("ClickHouseKeeperInstallation", DATASTORE_NAMES["clickhouse-keeper"])]["spec"]["configuration"]["clusters"][0]["pdbMaxUnavailable"] == 1
    for kind, name in (("RedisReplication", "redis"), ("RedisSentinel", "redis-sentinel")):
        assert prod_objects[(kind, DATASTORE_NAMES[name])]["spec"]["pdb"] == {"enabled": True, "maxUnavailable": 1}


def test_each_store_admits_exactly_the_services_that_use_it(prod) -> None:
    """The client pods of each store (PgBouncer, ClickHouse, Redis and Sentinel, the Kafka brokers) accept, from
    platform-apps, exactly the services whose ``uses`` names the store, on its client ports."""
    policies = [p for p in network.network_policies(prod, ALL_COMPONENTS) if p["metadata"]["namespace"] == "platform-data"]
    apps = {"kubernetes.io/metadata.name": "platform-apps"}
    for store, clients in DATASTORE_CLIENT_PODS.items():
        users = {name for name, svc in prod.services.items() if store in svc.uses}
        for labels, ports in clients:
            policy = next(p for p in policies if p["spec"]["podSelector"] == {"matchLabels": labels})
            rules = [r for r in policy["spec"]["ingress"] if r["from"][0].get("namespaceSelector", {}).get("matchLabels") == apps]
            assert {r["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for r in rules} == users, store
            assert all({p["port"] for p in r["ports"]} <= set(ports) for r in rules), store


def test_operators_are_pinned_charts_before_their_custom_resources(prod) -> None:
    apps = {r.obj["metadata"]["name"]: r.obj for r in render_platform(prod) if r.obj["kind"] == "Application"}
    for release, folder in (("cloudnative-pg", "postgres"), ("plugin-barman-cloud", "postgres"), ("clickhouse-operator", "clickhouse"),
                            ("redis-operator", "redis"), ("strimzi-kafka-operator", "kafka"), ("velero", "velero-backups")):
        chart = apps[release]["spec"]["source"]
        wave = lambda a: int(a["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        assert wave(apps[release]) < wave(apps[folder]), release
        assert chart["targetRevision"][0].isdigit(), release


def test_operator_pods_request_what_the_values_set(prod, hydration) -> None:
    """The operators' hydrated pods request the numbers of each component's table, on the data pool they tolerate."""
    values = {r.name: r.values for c in (postgres, redis, kafka, velero) for r in c.charts(prod)}
    assert values["cloudnative-pg"]["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    for release, workload, table in (("cloudnative-pg", "Deployment/cloudnative-pg", postgres.POD_REQUESTS["cnpg-operator"]),
                                     ("plugin-barman-cloud", "Deployment/plugin-barman-cloud", postgres.POD_REQUESTS["barman-cloud-plugin"]),
                                     ("redis-operator", "Deployment/redis-operator", redis.POD_REQUESTS["redis-operator"]),
                                     ("strimzi-kafka-operator", "Deployment/strimzi-cluster-operator", kafka.POD_REQUESTS["strimzi-cluster-operator"]),
                                     ("velero", "Deployment/velero", velero.POD_REQUESTS["velero"])):
        pods = chart_pods(hydration, "prod", release)
        assert (pods[workload].cpu_millicores, pods[workload].memory_mib) == table, release
        requests = values[release]["resources"]["requests"]
        assert requests == {"cpu": f"{table[0]}m", "memory": f"{table[1]}Mi"}, release


@pytest.mark.parametrize("changes, expected", [
    ([("datastores.postgres.instances", 1)], "instances (1) must lie between scaling.min_replicas"),
    ([("datastores.postgres.scaling.min_replicas", 1)], "must be >= 3: the HA strategy is one primary"),
    ([("datastores.postgres.synchronous_standbys", 0)], "synchronous_standbys must be >= 1 when ha.rpo_seconds is 0"),
    ([("datastores.clickhouse.keeper_nodes", 2)], "keeper_nodes (2) must be odd and >= 3"),
    ([("datastores.clickhouse.insert_quorum", 1)], "insert_quorum (1) must be >= 2"),
    ([("datastores.redis.nodes", 2), ("datastores.redis.min_replicas_to_write", 1)], "nodes (2) must be >= 3"),
    ([("datastores.redis.ha.rpo_seconds", 0)], "cannot be below min_replicas_max_lag_seconds"),
    ([("datastores.kafka.min_insync_replicas", 1)], "min_insync_replicas (1) must be >= 2 for ha.rpo_seconds 0"),
    ([("datastores.kafka.unclean_leader_election", True)], "unclean_leader_election must be false"),
])
def test_a_spec_weaker_than_its_ha_promise_is_rejected(tmp_path, changes, expected) -> None:
    path = spec_with(tmp_path, changes)
    with pytest.raises(SpecError) as caught:
        load_all(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value), "the error names the file"


def test_cli_reports_a_weak_spec_as_bad_input_without_traceback(tmp_path) -> None:
    path = spec_with(tmp_path, [("datastores.postgres.instances", 1)])
    result = subprocess.run([sys.executable, "-m", "plinth.cli", "render", "--spec", str(path), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=REPO)
    if "No module named plinth.cli.__main__" in result.stderr or result.returncode not in (1, 2):
        result = subprocess.run([str(REPO / ".venv" / "bin" / "plinth"), "render", "--spec", str(path), "--out", str(tmp_path / "out")],
                                capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "instances" in result.stderr


def test_every_scheduled_backup_has_a_paging_freshness_alert_at_twice_its_interval(prod) -> None:
    from plinth.monitoring.rules import AlertRule

    by_data = {"postgres": "PostgresBackupTooOld", "clickhouse": "ClickHouseBackupTooOld", "cluster-state": "ClusterStateBackupTooOld"}
    rules = {r.name: r for c in (postgres, clickhouse, velero) for g in c.alerts(prod) for r in g.rules if isinstance(r, AlertRule)}
    scheduled = [b for b in prod.backups if b.schedule is not None]
    assert {b.data for b in scheduled} == set(by_data)
    for backup in scheduled:
        rule = rules[by_data[backup.data]]
        threshold = str(2 * backup.interval_seconds)
        assert rule.severity == "critical"
        assert rule.expr.endswith(f"> {threshold}") and threshold in rule.description, rule.name
        missing = rules[by_data[backup.data].replace("TooOld", "Missing")]
        assert missing.expr.startswith("absent(") and missing.for_ == f"{threshold}s" and missing.severity == "critical"


def test_data_panels_are_valid_promql_on_the_platform_health_dashboard(prod) -> None:
    from plinth.monitoring.promtool import check_expressions, promtool_path

    if promtool_path() is None:
        pytest.skip("promtool missing: `make test` installs Debian's prometheus package")
    panels = [p for c in (postgres, clickhouse, redis, kafka, velero) for p in c.panels(prod)]
    assert {p.dashboard_uid for p in panels} == {"platform-health", "pipeline-execution"}
    assert {p.dashboard_uid for p in panels} <= {d.uid for d in prod.observability.dashboards}
    from plinth.monitoring.promql import expand_grafana_variables

    result = check_expressions([expand_grafana_variables(q, {"service": "auth"}) for p in panels for q in p.queries])
    assert result.ok, result.output
