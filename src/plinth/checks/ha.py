"""HA checks: with the spec's zones and the rendered spread/anti-affinity, what survives losing one zone."""

from __future__ import annotations

from collections.abc import Iterator

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.checks.kube import majority, survivors_after_zone_loss
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.kube.objects import get, selector_matches
from plinth.kube.pods import SCALABLE_KINDS, PodGroup
from plinth.kube.scheduling import ZONE_KEY
from plinth.render.pipeline import RenderedObject

APPS_NAMESPACE = "platform-apps"
GATEWAY_NAMESPACE = "platform-system"
DATA_NAMESPACE = "platform-data"
APP_WORKLOAD_KIND = "Rollout"
"""Kind the app services are rendered as (findings about a missing one name it)."""


def _zones(ctx: CheckContext) -> int:
    return len(ctx.platform.cluster.zones)


def _service_group(ctx: CheckContext, name: str) -> PodGroup | None:
    for group in ctx.pod_groups():
        if group.namespace == APPS_NAMESPACE and group.kind in SCALABLE_KINDS and group.short_name == name:
            return group
    return None


def min_healthy(ctx: CheckContext, group: PodGroup) -> tuple[int, str]:
    """Pods a workload must keep: what its PodDisruptionBudget declares (1 when it has none)."""
    for pdb in ctx.of_kind("PodDisruptionBudget"):
        spec = pdb.obj.get("spec", {})
        if pdb.obj["metadata"].get("namespace") != group.namespace or not selector_matches(spec.get("selector"), group.labels):
            continue
        min_available = spec.get("minAvailable")
        if isinstance(min_available, int):
            return min_available, f"PDB {pdb.obj['metadata']['name']} minAvailable"
        if isinstance(min_available, str) and min_available.endswith("%"):
            return -(-group.replicas_min * int(min_available[:-1]) // 100), f"PDB {pdb.obj['metadata']['name']} minAvailable {min_available}"
        if isinstance(spec.get("maxUnavailable"), int):
            return max(group.replicas_min - spec["maxUnavailable"], 1), f"PDB {pdb.obj['metadata']['name']} (replicas - maxUnavailable)"
    return 1, "no PDB: at least one pod"


def services_survive_zone_loss(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each application service keeps at least its minimum healthy replicas after losing any one zone (when
    ``api_services.ha.covers`` promises surviving a zone)."""
    if "zone" not in ctx.platform.api_services.ha.covers:
        return
    for name in sorted(ctx.platform.services):
        group = _service_group(ctx, name)
        if group is None:
            yield check.finding(ctx, ctx.expected_ref(APP_WORKLOAD_KIND, APPS_NAMESPACE, name), "spec",
                                f"service {name} of the spec has no rendered workload: its zone-loss promise cannot be verified")
            continue
        survivors, why = survivors_after_zone_loss(group, _zones(ctx))
        needed, source = min_healthy(ctx, group)
        if survivors < needed:
            yield check.finding(ctx, ctx.item_of(group), group.spread_path,
                                f"{group.replicas_min} replica(s) over {_zones(ctx)} zones ({why}) leave {survivors} after losing one zone; "
                                f"it needs {needed} ({source})")


def rto_zero_keeps_two_ready(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A promised RTO of 0 for the API services needs >= 2 ready replicas of each after a zone loss."""
    promise = ctx.platform.api_services.ha
    needed = check.params["ready_after_zone_loss"]
    if promise.rto_seconds != 0 or "zone" not in promise.covers:
        return
    for name in sorted(ctx.platform.services):
        group = _service_group(ctx, name)
        if group is None:
            yield check.finding(ctx, ctx.expected_ref(APP_WORKLOAD_KIND, APPS_NAMESPACE, name), "spec",
                                f"service {name} promises RTO 0 but has no rendered workload to verify it")
            continue
        survivors, why = survivors_after_zone_loss(group, _zones(ctx))
        if survivors < needed:
            yield check.finding(ctx, ctx.item_of(group), group.spread_path,
                                f"RTO 0 needs {needed} ready replicas after a zone loss, but {group.replicas_min} replica(s) "
                                f"over {_zones(ctx)} zones ({why}) leave {survivors}")


def _store(ctx: CheckContext, kind: str, key: str) -> RenderedObject | None:
    return ctx.find(kind, DATA_NAMESPACE, DATASTORE_NAMES[key])


def _missing(check: Check, ctx: CheckContext, kind: str, key: str, what: str) -> Finding:
    return check.finding(ctx, ctx.expected_ref(kind, DATA_NAMESPACE, DATASTORE_NAMES[key]), "spec",
                         f"no {kind} {DATASTORE_NAMES[key]} rendered in {DATA_NAMESPACE}: {what} cannot be verified")


def _groups_of(ctx: CheckContext, item: RenderedObject) -> list[PodGroup]:
    return [g for g in ctx.pod_groups() if g.obj is item.obj]


def postgres_survives_zone_loss(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """After a zone loss the PostgreSQL cluster keeps a primary plus the synchronous standbys commits wait for."""
    pg = ctx.platform.datastores.postgres
    if pg.managed_by != "in-cluster" or "zone" not in pg.ha.covers:
        return
    item = _store(ctx, "Cluster", "postgres")
    if item is None:
        yield _missing(check, ctx, "Cluster", "postgres", "its zone-loss promise")
        return
    group = _groups_of(ctx, item)[0]
    sync = get(item.obj, "spec.postgresql.synchronous", {}) or {}
    required = sync.get("dataDurability", "required") == "required"
    needed = 1 + int(sync.get("number", 0)) if required else 1
    survivors, why = survivors_after_zone_loss(group, _zones(ctx))
    if survivors < needed:
        yield check.finding(ctx, item, group.spread_path,
                            f"{group.replicas_min} instances over {_zones(ctx)} zones ({why}) leave {survivors} after losing one zone; "
                            f"writes need {needed} (primary + {needed - 1} synchronous standby)")


def kafka_survives_zone_loss(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """After a zone loss Kafka keeps min.insync.replicas brokers and a KRaft controller majority."""
    kafka = ctx.platform.datastores.kafka
    if "zone" not in kafka.ha.covers:
        return
    item = _store(ctx, "Kafka", "kafka")
    if item is None:
        yield _missing(check, ctx, "Kafka", "kafka", "its zone-loss promise")
        return
    rack = get(item.obj, "spec.kafka.rack.topologyKey")
    if rack != ZONE_KEY:
        yield check.finding(ctx, item, "spec.kafka.rack.topologyKey",
                            f"rack awareness is {'off' if rack is None else f'on {rack}'}: without racks = zones ({ZONE_KEY}) all "
                            "replicas of a partition may sit in one zone and go down with it")
    cluster = DATASTORE_NAMES["kafka"]
    pools = [p for p in ctx.of_kind("KafkaNodePool") if (p.obj["metadata"].get("labels") or {}).get("strimzi.io/cluster") == cluster]
    if not pools:
        yield check.finding(ctx, item, "metadata.name", f"no KafkaNodePool labelled strimzi.io/cluster={cluster}: Kafka has no nodes")
        return
    min_isr = int((get(item.obj, "spec.kafka.config", {}) or {}).get("min.insync.replicas", 1))
    for role, needed_of in (("broker", lambda n: min_isr), ("controller", majority)):
        members = [g for p in pools if role in (p.obj["spec"].get("roles") or []) for g in _groups_of(ctx, p)]
        total = sum(g.replicas_min for g in members)
        survivors = sum(survivors_after_zone_loss(g, _zones(ctx))[0] for g in members)
        needed = needed_of(total)
        if survivors < needed:
            reasons = "; ".join(f"{g.short_name}: {survivors_after_zone_loss(g, _zones(ctx))[1]}" for g in members)
            target = ctx.item_of(members[0]) if members else item
            what = f"min.insync.replicas {min_isr}" if role == "broker" else f"a controller majority of {needed}"
            yield check.finding(ctx, target, members[0].spread_path if members else "spec",
                                f"{total} {role}(s) over {_zones(ctx)} zones leave {survivors} after losing one zone, "
                                f"below {what} ({reasons})")


def clickhouse_survives_zone_loss(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """After a zone loss ClickHouse keeps insert_quorum replicas and a Keeper majority."""
    ch = ctx.platform.datastores.clickhouse
    if "zone" not in ch.ha.covers:
        return
    for kind, key, needed_of, what in (
        ("ClickHouseInstallation", "clickhouse", lambda n: ch.insert_quorum, f"insert_quorum {ch.insert_quorum}"),
        ("ClickHouseKeeperInstallation", "clickhouse-keeper", majority, "a Keeper majority"),
    ):
        item = _store(ctx, kind, key)
        if item is None:
            yield _missing(check, ctx, kind, key, "its zone-loss promise")
            continue
        for group in _groups_of(ctx, item):
            survivors, why = survivors_after_zone_loss(group, _zones(ctx))
            needed = needed_of(group.replicas_min)
            if survivors < needed:
                yield check.finding(ctx, item, group.spread_path,
                                    f"{group.replicas_min} replicas of {group.short_name} over {_zones(ctx)} zones ({why}) leave {survivors} "
                                    f"after losing one zone, below {what} ({needed})")


def redis_survives_zone_loss(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """After a zone loss Redis keeps a writable primary (min-replicas-to-write) and a Sentinel majority."""
    redis = ctx.platform.datastores.redis
    if redis.managed_by != "in-cluster" or "zone" not in redis.ha.covers:
        return
    for kind, key, needed, what in (
        ("RedisReplication", "redis", 1 + redis.min_replicas_to_write, f"a primary + min-replicas-to-write {redis.min_replicas_to_write}"),
        ("RedisSentinel", "redis-sentinel", max(redis.sentinel_quorum, majority(redis.sentinels)), "a Sentinel majority"),
    ):
        item = _store(ctx, kind, key)
        if item is None:
            yield _missing(check, ctx, kind, key, "its zone-loss promise")
            continue
        group = _groups_of(ctx, item)[0]
        survivors, why = survivors_after_zone_loss(group, _zones(ctx))
        if survivors < needed:
            yield check.finding(ctx, item, group.spread_path,
                                f"{group.replicas_min} pods over {_zones(ctx)} zones ({why}) leave {survivors} after losing one zone, "
                                f"below {what} ({needed})")


def gateway_survives_zone_loss(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """The public gateway's Envoy proxies keep serving after losing one zone (one proxy per zone, two left), when
    ``api_services.ha.covers`` promises surviving a zone (the gateway is the API services' way in)."""
    if "zone" not in ctx.platform.api_services.ha.covers:
        return
    needed = check.params["ready_after_zone_loss"]
    proxies = [g for g in ctx.pod_groups() if g.kind == "EnvoyProxy"]
    if not proxies:
        yield check.finding(ctx, ctx.expected_ref("EnvoyProxy", GATEWAY_NAMESPACE, "public-proxy"), "spec",
                            "no EnvoyProxy rendered: the public gateway's zone-loss promise cannot be verified")
        return
    for group in proxies:
        survivors, why = survivors_after_zone_loss(group, _zones(ctx))
        if survivors < needed:
            yield check.finding(ctx, ctx.item_of(group), group.spread_path,
                                f"{group.replicas_min} proxies of {group.short_name} over {_zones(ctx)} zones ({why}) leave {survivors} "
                                f"after losing one zone; the gateway needs {needed}")


CHECKS = (
    Check("PL-HA-001", "error", "promise", "Each service keeps its minimum healthy replicas after losing one zone",
          "Spread replicas over zones with a hard topologySpreadConstraint (maxSkew 1, DoNotSchedule) and enough replicas.",
          services_survive_zone_loss),
    Check("PL-HA-002", "error", "promise", "RTO 0 keeps at least 2 ready replicas after a zone loss",
          "Run >= 3 replicas spread hard over >= 3 zones, or promise an RTO above 0.",
          rto_zero_keeps_two_ready, {"ready_after_zone_loss": 2}),
    Check("PL-HA-003", "error", "promise", "PostgreSQL keeps primary + synchronous standbys after a zone loss",
          "Set spec.affinity {topologyKey: topology.kubernetes.io/zone, podAntiAffinityType: required} with instances >= zones.",
          postgres_survives_zone_loss),
    Check("PL-HA-004", "error", "promise", "Kafka keeps min.insync.replicas brokers, a controller majority and partition replicas in distinct zones after a zone loss",
          "Spread each KafkaNodePool over zones (template.pod.topologySpreadConstraints) and set spec.kafka.rack.topologyKey to the zone label.",
          kafka_survives_zone_loss),
    Check("PL-HA-005", "error", "promise", "ClickHouse keeps insert_quorum replicas and a Keeper majority after a zone loss",
          "Spread replicas and Keeper nodes over zones (podTemplates topologySpreadConstraints or zone podDistribution).",
          clickhouse_survives_zone_loss),
    Check("PL-HA-006", "error", "promise", "Redis keeps a writable primary and a Sentinel majority after a zone loss",
          "Spread RedisReplication and RedisSentinel pods over zones (spec.topologySpreadConstraints).",
          redis_survives_zone_loss),
    Check("PL-HA-007", "error", "promise", "The public gateway keeps two Envoy proxies after a zone loss",
          "Spread the EnvoyProxy's pods over zones (envoyDeployment.pod.topologySpreadConstraints, maxSkew 1, DoNotSchedule) "
          "with edge.gateway_replicas >= 3 and >= the zone count.",
          gateway_survives_zone_loss, {"ready_after_zone_loss": 2}),
)
