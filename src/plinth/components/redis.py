"""Redis: the OT redis-operator, a RedisReplication (one primary, replicas) and a RedisSentinel
quorum for automatic failover, configured for the strongest guarantee Redis offers.

Redis replicates asynchronously. ``min-replicas-to-write`` / ``min-replicas-max-lag`` make the
primary refuse writes unless a replica acknowledged its stream within the lag, and AOF with
``appendfsync`` bounds loss on restart; acknowledged writes can still be lost in a failover, so the
spec records RPO = min-replicas-max-lag (docs/datastores.md), not the design's 0.
"""

from __future__ import annotations

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject, in_cluster_only
from plinth.kube import datastores as ds
from plinth.kube.conventions import DATASTORE_NAMES, REDIS_SENTINEL_APP
from plinth.kube.objects import k8s_object, labels
from plinth.kube.secrets import external_secret
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.access import REDIS_COMMANDS, identities
from plinth.spec.model import Platform
from plinth.kube.flows import Flow, Pods, flow, scrape, to_api_server

NAME = "redis"
STORE = "redis"
REPLICATION = DATASTORE_NAMES["redis"]
SENTINEL = DATASTORE_NAMES["redis-sentinel"]
SENTINEL_APP = REDIS_SENTINEL_APP
PASSWORD_SECRET = f"{REPLICATION}-password"
"""The ``default`` user's password: replication, Sentinel, the exporter and the operator use it; no service does."""
ACL_SECRET = f"{REPLICATION}-acl"
CONFIG_MAP = f"{REPLICATION}-config"
"""ConfigMap of the replication's extra redis.conf lines: the operator mounts the ConfigMap that
``redisConfig.additionalRedisConfig`` names at /etc/redis/external.conf.d and includes its ``CONFIG_KEY``."""
CONFIG_KEY = "redis-additional.conf"
"""Secret with ``user.acl`` (the operator mounts it at /etc/redis/user.acl and turns ACL mode on)."""
REDIS_API = "redis.redis.opstreelabs.in/v1beta2"
OPERATOR = "redis"
EXPORTER_PORT = 9121
REDIS_PORT = 6379
SENTINEL_PORT = 26379
FAILOVER_WINDOW = "10m"
"""How long after a failover the RedisFailoverHappened warning keeps firing."""

POD_REQUESTS: dict[str, tuple[int, int]] = {"redis-operator": (100, 256)}
"""CPU millicores and memory MiB of the operator pod, set in the chart values."""


def redis_directives(platform: Platform) -> dict[str, str]:
    """redis.conf directives from the spec: the write guard and AOF persistence (the drills run the same)."""
    r = platform.datastores.redis
    return {
        "min-replicas-to-write": str(r.min_replicas_to_write),
        "min-replicas-max-lag": str(int(r.min_replicas_max_lag_seconds)),
        "appendonly": "yes" if r.appendonly else "no",
        "appendfsync": r.appendfsync,
    }


def redis_config(platform: Platform) -> str:
    """redis.conf lines of ``redis_directives`` (the ``CONFIG_MAP`` the RedisReplication includes)."""
    return "".join(f"{key} {value}\n" for key, value in redis_directives(platform).items())


def config_map(platform: Platform) -> KubeObject:
    """The ConfigMap ``redisConfig.additionalRedisConfig`` names (a ConfigMap's name, not inline configuration: the
    operator mounts it as a volume, internal/k8sutils/statefulset.go getExternalConfig)."""
    return k8s_object("v1", "ConfigMap", CONFIG_MAP, ds.DATA_NAMESPACE, labels=labels(NAME, CONFIG_MAP),
                      data={CONFIG_KEY: redis_config(platform)})


def sentinel_timers(platform: Platform) -> dict[str, int]:
    """Sentinel's down-after and failover timeout in milliseconds, and parallel syncs, from the spec."""
    r = platform.datastores.redis
    return {"down-after-milliseconds": int(r.down_after_seconds) * 1000,
            "failover-timeout": int(r.failover_timeout_seconds) * 1000,
            "parallel-syncs": 1}


def sentinel_directives(platform: Platform, master_name: str) -> list[str]:
    """sentinel.conf lines for ``master_name`` after its ``sentinel monitor`` line (the drills run the same)."""
    return [f"sentinel {key} {master_name} {value}" for key, value in sentinel_timers(platform).items()]


def _common(platform: Platform, app: str) -> dict:
    selector = {"app": app}
    place = ds.placement(platform)
    return {
        **place,
        "affinity": ds.required_anti_affinity(selector),
        "topologySpreadConstraints": ds.zone_spread(selector),
        "podSecurityContext": {"runAsUser": 1000, "fsGroup": 1000},
        "pdb": {"enabled": True, "maxUnavailable": 1},
    }


def _exporter(platform: Platform) -> dict:
    return {"enabled": True, "image": platform.datastores.redis.exporter_image, "port": EXPORTER_PORT,
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}}


def replication(platform: Platform) -> KubeObject:
    """RedisReplication: ``nodes`` pods (one primary), AOF and the write guard from the spec."""
    r = platform.datastores.redis
    return k8s_object(REDIS_API, "RedisReplication", REPLICATION, ds.DATA_NAMESPACE,
                      labels=labels(NAME, REPLICATION, r.version, **ds.datastore_labels(STORE)), spec={
        "clusterSize": r.nodes,
        "kubernetesConfig": {
            "image": f"quay.io/opstree/redis:{r.image_tag}",
            "imagePullPolicy": "IfNotPresent",
            "resources": ds.resources(r.resources),
            "redisSecret": {"name": PASSWORD_SECRET, "key": "password"},
        },
        "redisConfig": {"additionalRedisConfig": CONFIG_MAP},
        "acl": {"secret": {"secretName": ACL_SECRET}},
        "redisExporter": _exporter(platform),
        "storage": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": r.storage.storage_class,
            "resources": {"requests": {"storage": f"{r.storage.size_gib}Gi"}}}}},
        **_common(platform, REPLICATION),
    })


def sentinel(platform: Platform) -> KubeObject:
    """RedisSentinel: ``sentinels`` pods, quorum, down-after and failover timeout from the spec."""
    r = platform.datastores.redis
    timers = sentinel_timers(platform)
    return k8s_object(REDIS_API, "RedisSentinel", SENTINEL, ds.DATA_NAMESPACE,
                      labels=labels(NAME, SENTINEL, r.version, **ds.datastore_labels(STORE)), spec={
        "clusterSize": r.sentinels,
        "kubernetesConfig": {
            "image": f"quay.io/opstree/redis-sentinel:{r.image_tag}",
            "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            "redisSecret": {"name": PASSWORD_SECRET, "key": "password"},
        },
        "redisSentinelConfig": {
            "redisReplicationName": REPLICATION,
            "redisReplicationPassword": {"secretKeyRef": {"name": PASSWORD_SECRET, "key": "password"}},
            "masterGroupName": "mymaster",
            "quorum": str(r.sentinel_quorum),
            "downAfterMilliseconds": str(timers["down-after-milliseconds"]),
            "failoverTimeout": str(timers["failover-timeout"]),
            "parallelSyncs": str(timers["parallel-syncs"]),
        },
        "redisExporter": _exporter(platform),
        **_common(platform, SENTINEL_APP),
    })


def pod_monitor(platform: Platform, name: str = REPLICATION, app: str = REPLICATION) -> KubeObject:
    """Scrapes redis_exporter on the pods of one Redis resource (the replication's or the Sentinels', ``app``)."""
    return k8s_object("monitoring.coreos.com/v1", "PodMonitor", name, ds.DATA_NAMESPACE, labels=labels(NAME, name), spec={
        "selector": {"matchLabels": {"app": app}},
        "podMetricsEndpoints": [{"port": "redis-exporter"}],
    })



def acl_lines(platform: Platform) -> list[str]:
    """The ACL file as External Secrets template lines: ``default`` (the operator's, replication's and Sentinel's
    user) keeps every right; each service user may touch only keys and channels ``<service>:*`` and run no admin
    or dangerous command. Passwords appear as SHA-256 hashes, never in clear."""
    lines = ['user default on #{{ .default_password | sha256sum }} ~* &* +@all']
    for identity in identities(platform, STORE):
        key = identity.user.replace("-", "_")
        lines.append(f"user {identity.user} on #{{{{ .{key} | sha256sum }}}} resetkeys ~{identity.redis_keys} "
                     f"resetchannels &{identity.redis_keys} {REDIS_COMMANDS}")
    return lines


def password_secret(platform: Platform) -> KubeObject:
    """ExternalSecret of the default user's password (the replication's and the Sentinels' ``redisSecret``)."""
    return external_secret(platform, PASSWORD_SECRET, ds.DATA_NAMESPACE, NAME, {"password": "redis/default:password"})


def acl_secret(platform: Platform) -> KubeObject:
    """ExternalSecret writing ``user.acl`` from the default password and every service user's password (the same
    remote secrets the services read)."""
    data = {"default_password": "redis/default:password"}
    for identity in identities(platform, STORE):
        data[identity.user.replace("-", "_")] = f"{identity.remote_key}:password"
    obj = external_secret(platform, ACL_SECRET, ds.DATA_NAMESPACE, NAME, data)
    obj["spec"]["target"]["template"] = {"engineVersion": "v2", "data": {"user.acl": "\n".join(acl_lines(platform)) + "\n"}}
    return obj


def objects(platform: Platform) -> list[KubeObject]:
    """Every Redis object of platform-data."""
    return [password_secret(platform), acl_secret(platform), config_map(platform), replication(platform), sentinel(platform), pod_monitor(platform), pod_monitor(platform, SENTINEL, SENTINEL_APP)]


def charts(platform: Platform) -> list[HelmRelease]:
    """OT redis-operator chart (not Bitnami: maintained, and its CRDs are what the schemas check)."""
    return [HelmRelease("redis-operator", "redis-operator", ds.DATA_NAMESPACE, {
        "redisOperator": {"podLabels": {ds.OPERATOR_LABEL: OPERATOR}},
        "resources": ds.chart_resources(*POD_REQUESTS["redis-operator"]),
        "replicas": 1,
        **ds.operator_placement(platform),
    }, sync_wave=-5)]


def alerts(platform: Platform) -> list[RuleGroup]:
    """No primary for longer than Sentinel's failover should take; a failover happened (possible loss)."""
    r = platform.datastores.redis
    no_primary_after = r.down_after_seconds + r.failover_timeout_seconds
    return [RuleGroup("redis", (
        AlertRule(
            name="RedisNoPrimary",
            expr=f'(sum(redis_instance_info{{namespace="{ds.DATA_NAMESPACE}",role="master"}}) or vector(0)) < 1',
            for_=f"{no_primary_after}s", severity="critical", labels={"datastore": STORE},
            summary="Redis has no primary",
            description=f"No Redis pod has been primary for {no_primary_after} s (down-after {r.down_after_seconds} s + failover timeout {r.failover_timeout_seconds} s): Sentinel did not fail over and writes fail (RTO {r.ha.rto_seconds} s).",
        ),
        AlertRule(
            name="RedisFailoverHappened",
            expr=(f'max by (namespace, pod) (max_over_time(redis_instance_info{{namespace="{ds.DATA_NAMESPACE}",role="master"}}[{FAILOVER_WINDOW}])) '
                  f'unless on (namespace, pod) redis_instance_info{{namespace="{ds.DATA_NAMESPACE}",role="master"}}'),
            for_="0m", severity="warning", labels={"datastore": STORE},
            summary="Redis primary {{ $labels.pod }} was replaced",
            description=f"{{{{ $labels.pod }}}} was primary within the last {FAILOVER_WINDOW} and is not any more: Sentinel failed over. Writes acknowledged in the last {r.min_replicas_max_lag_seconds} s before it may be lost (replication is asynchronous).",
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the Redis alerts."""
    ns = ds.DATA_NAMESPACE
    info = lambda pod, role, values: {"series": f'redis_instance_info{{namespace="{ns}",pod="{pod}",role="{role}"}}', "values": values}
    p0, p1 = f"{REPLICATION}-0", f"{REPLICATION}-1"
    return [
        AlertTest("RedisNoPrimary", (info(p0, "slave", "1x30"), info(p1, "slave", "1x30")),
                  (info(p0, "master", "1x30"), info(p1, "slave", "1x30")), "20m", {}),
        # p0 was primary for 10 min, then p1 took over; evaluated 2 min after the switch.
        AlertTest("RedisFailoverHappened",
                  (info(p0, "master", "1x10 stale"), info(p1, "slave", "1x10 stale"), info(p1, "master", "_x10 1x10")),
                  (info(p0, "master", "1x20"), info(p1, "slave", "1x20")),
                  "12m", {"namespace": ns, "pod": p0}),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Platform-health panels: primaries (must be 1) and connected replicas."""
    return [
        Panel("platform-health", "Redis primaries", (f'sum(redis_instance_info{{namespace="{ds.DATA_NAMESPACE}",role="master"}})',), kind="stat"),
        Panel("platform-health", "Redis connected replicas", (f'max(redis_connected_slaves{{namespace="{ds.DATA_NAMESPACE}"}})',)),
    ]


def flows(platform: Platform) -> list[Flow]:
    """Redis: replicas follow the master, Sentinels watch the replicas and each other, the operator configures both."""
    ns = ds.DATA_NAMESPACE
    replicas, sentinels = Pods.of(ns, {"app": REPLICATION}), Pods.of(ns, {"app": SENTINEL_APP})
    operator = Pods.of(ns, {"name": "redis-operator", ds.OPERATOR_LABEL: OPERATOR})
    return [
        flow(replicas, replicas, REDIS_PORT, "replication from the master"),
        flow(sentinels, replicas, REDIS_PORT, "Sentinels monitor the replicas and promote one"),
        flow(sentinels, sentinels, SENTINEL_PORT, "Sentinel quorum"),
        to_api_server(operator, "the redis-operator reconciles replications and sentinels"),
        flow(operator, replicas, REDIS_PORT, "the operator sets up replication"),
        flow(operator, sentinels, SENTINEL_PORT, "the operator registers the master with the Sentinels"),
        scrape(replicas, EXPORTER_PORT), scrape(sentinels, EXPORTER_PORT, "Prometheus scrapes the Sentinels' redis_exporter"),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=ds.DATA_NAMESPACE,
    objects=in_cluster_only(STORE, objects),
    charts=in_cluster_only(STORE, charts),
    alerts=in_cluster_only(STORE, alerts),
    alert_tests=in_cluster_only(STORE, alert_tests),
    panels=in_cluster_only(STORE, panels),
    sync_wave=0,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=in_cluster_only(STORE, flows),
)
