"""Promise checks: the spec's RPO, backups and retention against what the rendered objects really configure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.checks.kube import barman_retention_days, cron_interval_seconds, duration_seconds, normalise_cron
from plinth.kube.conventions import DATASTORE_NAMES
from plinth.kube.objects import get
from plinth.render.pipeline import RenderedObject
from plinth.spec.derived import FOREVER, Retention, backup_retention, backup_targets, managed_stores, region_loss
from plinth.spec.model import Backup
from plinth.spec.types import format_duration

DATA_NAMESPACE = "platform-data"
REGION_ANNOTATION = "plinth.dev/region"
"""Annotation naming a backup target's region when no field of the object says it."""
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION", "S3_REGION", "GCS_REGION", "REGION")
_ENDPOINT_REGION = re.compile(r"(?:s3[.-]|storage\.)([a-z]{2}-[a-z]+-\d)\.")


def _missing(check: Check, ctx: CheckContext, kind: str, name: str, what: str, namespace: str = DATA_NAMESPACE) -> Finding:
    return check.finding(ctx, ctx.expected_ref(kind, namespace, name), "spec", f"no {kind} {name} rendered: {what} cannot be verified")


# --------------------------------------------------------------------------- RPO


def postgres_rpo_zero_is_synchronous(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """RPO 0 for PostgreSQL needs synchronous replication with required durability in the CNPG Cluster."""
    pg = ctx.platform.datastores.postgres
    if pg.ha.rpo_seconds != 0:
        return
    if pg.managed_by != "in-cluster":
        return  # the cloud's standby: PL-MGD-001
    name = DATASTORE_NAMES["postgres"]
    item = ctx.find("Cluster", DATA_NAMESPACE, name)
    if item is None:
        yield _missing(check, ctx, "Cluster", name, "the RPO 0 promise (synchronous replication)")
        return
    sync = get(item.obj, "spec.postgresql.synchronous")
    wanted = max(1, pg.synchronous_standbys)
    if not isinstance(sync, dict) or int(sync.get("number", 0)) < wanted:
        got = 0 if not isinstance(sync, dict) else int(sync.get("number", 0))
        yield check.finding(ctx, item, "spec.postgresql.synchronous.number",
                            f"RPO 0 needs >= {wanted} synchronous standby(s), the Cluster has {got}: a failover can lose acknowledged commits")
    elif sync.get("dataDurability", "required") != "required":
        yield check.finding(ctx, item, "spec.postgresql.synchronous.dataDurability",
                            f"dataDurability {sync['dataDurability']!r} drops to asynchronous commits when standbys are missing: RPO 0 needs 'required'")


def kafka_rpo_zero_settings(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """RPO 0 for Kafka needs replication factor >= 3, min.insync.replicas >= 2 and no unclean leader election."""
    kafka = ctx.platform.datastores.kafka
    if kafka.ha.rpo_seconds != 0:
        return
    rf_min, isr_min = check.params["replication_factor"], check.params["min_insync_replicas"]
    name = DATASTORE_NAMES["kafka"]
    item = ctx.find("Kafka", DATA_NAMESPACE, name)
    if item is None:
        yield _missing(check, ctx, "Kafka", name, "the RPO 0 promise (replication settings)")
        return
    config = get(item.obj, "spec.kafka.config", {}) or {}
    rf = int(config.get("default.replication.factor", 1))
    isr = int(config.get("min.insync.replicas", 1))
    if rf < rf_min:
        yield check.finding(ctx, item, "spec.kafka.config.default.replication.factor", f"default.replication.factor {rf} < {rf_min}: RPO 0 needs {rf_min} copies")
    if isr < isr_min:
        yield check.finding(ctx, item, "spec.kafka.config.min.insync.replicas",
                            f"min.insync.replicas {isr} < {isr_min}: an acks=all write acknowledged by one broker is lost with it")
    if str(config.get("unclean.leader.election.enable", False)).lower() == "true":
        yield check.finding(ctx, item, "spec.kafka.config.unclean.leader.election.enable",
                            "unclean.leader.election.enable is true: an out-of-sync replica can become leader and drop acknowledged writes")
    for topic in ctx.of_kind("KafkaTopic"):
        if (topic.obj["metadata"].get("labels") or {}).get("strimzi.io/cluster") != name:
            continue
        replicas = int(get(topic.obj, "spec.replicas", rf))
        t_isr = int((get(topic.obj, "spec.config", {}) or {}).get("min.insync.replicas", isr))
        if replicas < rf_min or t_isr < isr_min:
            yield check.finding(ctx, topic, "spec.replicas" if replicas < rf_min else "spec.config.min.insync.replicas",
                                f"topic has replicas {replicas} and min.insync.replicas {t_isr}: RPO 0 needs >= {rf_min} and >= {isr_min}")


def redis_rpo_is_honest(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Redis replicates asynchronously: the spec must record the loss it really allows, not RPO 0."""
    redis = ctx.platform.datastores.redis
    lag = redis.rpo_floor_seconds
    if redis.ha.rpo_seconds == 0:
        yield check.finding(ctx, ctx.spec_ref("datastores.redis.ha.rpo_seconds"), "datastores.redis.ha.rpo_seconds",
                            "promises RPO 0, but Redis replication is asynchronous (Sentinel does not keep acknowledged writes "
                            f"across a failover): record the real bound, min-replicas-max-lag {format_duration(lag)}")
    elif redis.ha.rpo_seconds < lag:
        yield check.finding(ctx, ctx.spec_ref("datastores.redis.ha.rpo_seconds"), "datastores.redis.ha.rpo_seconds",
                            f"promises RPO {format_duration(redis.ha.rpo_seconds)}, below the replica lag Redis tolerates "
                            f"(min-replicas-max-lag {format_duration(lag)})")


def region_rpo_within_backup_interval(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A store whose RPO covers region loss must get its data out of the region at least that often (a daily
    backup cannot give < 24 h), counting the replication to the DR region."""
    stores = ctx.platform.datastores
    for store in ("postgres", "clickhouse", "redis", "kafka"):
        ha = getattr(stores, store).ha
        if "region" not in ha.covers:
            continue
        loss = region_loss(ctx.platform, store)
        if loss.seconds is None or ha.rpo_seconds < loss.seconds:
            yield check.finding(ctx, ctx.spec_ref(f"datastores.{store}.ha.rpo_seconds"), f"datastores.{store}.ha.rpo_seconds",
                                f"{store} promises RPO {format_duration(ha.rpo_seconds)} after region loss, but a region loss "
                                f"loses {loss.describe()}")


# --------------------------------------------------------------------------- backup targets


def _backup_target(ctx: CheckContext, backup: Backup) -> tuple[str, str, RenderedObject | None]:
    """(kind, name, object) holding the backup's destination for a data set."""
    if backup.data == "postgres":
        name = DATASTORE_NAMES["postgres-objectstore"]
        return "ObjectStore", name, ctx.find("ObjectStore", DATA_NAMESPACE, name)
    if backup.data == "cluster-state":
        locations = ctx.of_kind("BackupStorageLocation")
        chosen = next((b for b in locations if get(b.obj, "spec.objectStorage.bucket") == backup.bucket), locations[0] if locations else None)
        return "BackupStorageLocation", chosen.obj["metadata"]["name"] if chosen else "default", chosen
    if backup.data == "clickhouse":
        holder = _clickhouse_backup_config(ctx)
        if holder is None:
            return "CronJob", f"{DATASTORE_NAMES['clickhouse']}-backup", None
        return holder.obj["kind"], holder.obj["metadata"]["name"], holder
    return "", "", None


def _clickhouse_backup_job(ctx: CheckContext) -> RenderedObject | None:
    prefix = DATASTORE_NAMES["clickhouse"]
    return next((j for j in ctx.of_kind("CronJob") if j.obj["metadata"].get("namespace") == DATA_NAMESPACE
                 and j.obj["metadata"]["name"].startswith(prefix) and "backup" in j.obj["metadata"]["name"]), None)


def _clickhouse_backup_config(ctx: CheckContext) -> RenderedObject | None:
    """The object whose clickhouse-backup container holds the remote storage settings: a sidecar in the
    ClickHouseInstallation's pod template (the API the CronJob calls), else the backup CronJob itself."""
    chi = ctx.find("ClickHouseInstallation", DATA_NAMESPACE, DATASTORE_NAMES["clickhouse"])
    if chi is not None and any(var.get("name") == "REMOTE_STORAGE" or var.get("name", "").startswith("S3_")
                               for var in _container_env_vars(chi.obj)):
        return chi
    return _clickhouse_backup_job(ctx)


def _container_env_vars(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pods = ["spec.jobTemplate.spec.template.spec"] + [f"spec.templates.podTemplates.{i}.spec"
                                                      for i, _ in enumerate(get(obj, "spec.templates.podTemplates", []) or [])]
    return [var for pod in pods for container in get(obj, f"{pod}.containers", []) or [] for var in container.get("env") or []]


def in_cluster_backups(ctx: CheckContext) -> list[Backup]:
    """The backup rows the rendered tree writes: a cloud-managed store's backups are the cloud's (PL-MGD-002 judges them)."""
    managed = set(managed_stores(ctx.platform))
    return [b for b in ctx.platform.backups if b.data not in managed]


def _env(obj: dict[str, Any]) -> dict[str, str]:
    """Literal environment variables of every container (CronJob, ClickHouse pod templates) and the ObjectStore's sidecar."""
    env: dict[str, str] = {}
    for var in _container_env_vars(obj) + list(get(obj, "spec.instanceSidecarConfiguration.env", []) or []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
    return env


def target_region(obj: dict[str, Any]) -> str | None:
    """The region a backup target writes to, from its fields (config.region, endpoint, env) or the plinth.dev/region annotation."""
    region = get(obj, "spec.config.region")
    if region:
        return str(region)
    env = _env(obj)
    for key in REGION_ENV:
        if env.get(key):
            return env[key]
    endpoint = str(get(obj, "spec.configuration.endpointURL", "") or env.get("S3_ENDPOINT", ""))
    match = _ENDPOINT_REGION.search(endpoint)
    if match:
        return match.group(1)
    return (obj.get("metadata", {}).get("annotations") or {}).get(REGION_ANNOTATION)


_URL = re.compile(r"^(?:s3|gs)://([^/]+)|^https://([a-z0-9]+)\.blob\.core\.windows\.net/([^/]+)")


def target_bucket(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(bucket or container, Azure storage account or None) a backup writer names: an ObjectStore's destinationPath,
    clickhouse-backup's S3_BUCKET / GCS_BUCKET / AZBLOB_CONTAINER, a BackupStorageLocation's objectStorage.bucket."""
    path = get(obj, "spec.configuration.destinationPath")
    if path:
        match = _URL.match(str(path))
        if not match:
            return None, None
        return (match.group(1), None) if match.group(1) else (match.group(3), match.group(2))
    bucket = get(obj, "spec.objectStorage.bucket")
    if bucket:
        return str(bucket), get(obj, "spec.config.storageAccount")
    env = _env(obj)
    for key in ("S3_BUCKET", "GCS_BUCKET", "AZBLOB_CONTAINER"):
        if env.get(key):
            return env[key], env.get("AZBLOB_ACCOUNT_NAME")
    return None, None


def backups_write_where_the_cloud_creates_them(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every backup writer names the bucket the cloud layer creates for its data set, in that bucket's region (and
    storage account on Azure), and a cross-region backup's bucket has a copy outside the cluster's region."""
    home = ctx.platform.cluster.region
    targets = backup_targets(ctx.platform)
    for backup in in_cluster_backups(ctx):
        target = targets.get(backup.data)
        if target is None:
            continue  # kept in Git
        kind, name, item = _backup_target(ctx, backup)
        if not kind:
            continue
        if item is None:
            yield _missing(check, ctx, kind, name, f"where the {backup.data} backup is written")
            continue
        bucket, account = target_bucket(item.obj)
        where = target.primary
        if bucket != where.bucket:
            yield check.finding(ctx, item, "spec", f"the {backup.data} backup is written to bucket {bucket!r}, but the cloud layer "
                                f"creates {where.bucket!r} for it")
        if where.account is not None and account is not None and account != where.account:
            yield check.finding(ctx, item, "spec", f"the {backup.data} backup is written to storage account {account!r}, but the cloud "
                                f"layer creates its container in {where.account!r}")
        region = target_region(item.obj)
        if region is not None and region != where.region:
            yield check.finding(ctx, item, "spec", f"the {backup.data} backup is written through region {region}, but its bucket "
                                f"{where.bucket} lives in {where.region}")
        if region is None and ctx.platform.cluster.provider == "aws":
            yield check.finding(ctx, item, "spec", f"the {backup.data} backup names no region (config.region, a region env var, the "
                                f"endpoint, or annotation {REGION_ANNOTATION}); S3 needs the bucket's region {where.region}")
        if backup.location in ("cross-region", "multi-region") and (target.copy is None or target.copy.region == home):
            yield check.finding(ctx, item, "spec", f"the {backup.data} backup is {backup.location} in the spec, but its bucket has no "
                                f"copy outside {home}")


# --------------------------------------------------------------------------- backup schedule and retention


def _schedule_object(ctx: CheckContext, backup: Backup) -> tuple[str, str, RenderedObject | None, str]:
    """(kind, name, object, schedule field) that runs a periodic backup."""
    if backup.data == "postgres":
        cluster = DATASTORE_NAMES["postgres"]
        item = next((s for s in ctx.of_kind("ScheduledBackup") if get(s.obj, "spec.cluster.name") == cluster), None)
        return "ScheduledBackup", item.obj["metadata"]["name"] if item else cluster, item, "spec.schedule"
    if backup.data == "cluster-state":
        items = ctx.of_kind("Schedule")
        return "Schedule", items[0].obj["metadata"]["name"] if items else "cluster-state", items[0] if items else None, "spec.schedule"
    if backup.data == "clickhouse":
        job = _clickhouse_backup_job(ctx)
        return "CronJob", job.obj["metadata"]["name"] if job else f"{DATASTORE_NAMES['clickhouse']}-backup", job, "spec.schedule"
    return "", "", None, ""


def backup_frequency_matches_spec(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each periodic backup's rendered schedule is the spec's schedule."""
    for backup in in_cluster_backups(ctx):
        if backup.schedule is None:
            continue
        kind, name, item, field_path = _schedule_object(ctx, backup)
        if not kind:
            continue
        if item is None:
            yield _missing(check, ctx, kind, name, f"the {backup.frequency} {backup.data} backup")
            continue
        rendered = normalise_cron(get(item.obj, field_path))
        if rendered != normalise_cron(backup.schedule):
            interval = cron_interval_seconds(rendered)
            every = f" (every {format_duration(interval)})" if interval else ""
            yield check.finding(ctx, item, field_path, f"schedule {rendered!r}{every} differs from the spec's {backup.frequency} "
                                f"schedule {backup.schedule!r} for {backup.data}")


def spec_schedules_match_frequency(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A backup the spec calls hourly or daily has a cron schedule that runs that often (the RPO arithmetic trusts the word)."""
    for index, backup in enumerate(ctx.platform.backups):
        if backup.schedule is None:
            continue
        interval = cron_interval_seconds(backup.schedule)
        if interval != backup.interval_seconds:
            runs = f"runs every {format_duration(interval)}" if interval else "is not a simple periodic schedule"
            yield check.finding(ctx, ctx.spec_ref(f"backups.{index}.schedule"), f"backups.{index}.schedule",
                                f"the {backup.data} backup is {backup.frequency} (every {format_duration(backup.interval_seconds)}), "
                                f"but its schedule {backup.schedule!r} {runs}")


def _rendered_retention(ctx: CheckContext, backup: Backup) -> tuple[str, str, RenderedObject | None, str, Retention | str]:
    """(kind, name, object, field, retention) a backup's objects configure; the retention is a text saying why
    when the value cannot be read (an unreadable value is never taken for "forever")."""
    if backup.data == "postgres":
        kind, name, item = _backup_target(ctx, backup)
        value = get(item.obj, "spec.retentionPolicy") if item else None
        if value is None:
            return kind, name, item, "spec.retentionPolicy", FOREVER
        days = barman_retention_days(value)
        return kind, name, item, "spec.retentionPolicy", Retention(days) if days is not None else f"an unreadable retentionPolicy {value!r}"
    if backup.data == "cluster-state":
        kind, name, item, _ = _schedule_object(ctx, backup)
        value = get(item.obj, "spec.template.ttl") if item else None
        seconds = duration_seconds(value)
        found: Retention | str = Retention(seconds // 86400) if seconds else (
            "no ttl (Velero's default applies)" if value is None else f"an unreadable ttl {value!r}")
        return kind, name, item, "spec.template.ttl", found
    if backup.data == "clickhouse":
        kind, name, item = _backup_target(ctx, backup)
        keep = _env(item.obj).get("BACKUPS_TO_KEEP_REMOTE") if item else None
        where = "spec.templates.podTemplates" if kind == "ClickHouseInstallation" else "spec.jobTemplate.spec.template.spec.containers"
        if keep == "0":
            found = FOREVER  # clickhouse-backup keeps every remote backup
        elif keep and keep.isdigit():
            found = Retention(int(keep) * backup.interval_seconds // 86400)
        else:
            found = f"an unreadable BACKUPS_TO_KEEP_REMOTE {keep!r}"
        return kind, name, item, f"{where}.env.BACKUPS_TO_KEEP_REMOTE", found
    return "", "", None, "", FOREVER


def backup_retention_matches_spec(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Each backup's rendered retention is the spec's retention_days (forever: nothing is ever expired)."""
    for backup in in_cluster_backups(ctx):
        kind, name, item, field_path, found = _rendered_retention(ctx, backup)
        if not kind:
            continue
        wanted = backup_retention(backup)
        if item is None:
            yield _missing(check, ctx, kind, name, f"the {backup.data} backup retention")
        elif found != wanted:
            got = found if isinstance(found, str) else f"{found}"
            yield check.finding(ctx, item, field_path, f"keeps {backup.data} backups {got}, the spec says {wanted}")


# --------------------------------------------------------------------------- telemetry retention

TELEMETRY: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    ("prometheus", ("kube-prometheus-stack",), (("Prometheus", "spec.retention"),)),
    ("loki", ("loki",), ()),
    ("tempo", ("tempo", "tempo-distributed"), ()),
)
VALUES_PATHS: dict[str, tuple[str, ...]] = {
    "kube-prometheus-stack": ("prometheus.prometheusSpec.retention",),
    "loki": ("loki.limits_config.retention_period", "loki.structuredConfig.limits_config.retention_period"),
    "tempo": ("tempo.retention", "tempo.structuredConfig.compactor.compaction.block_retention"),
    "tempo-distributed": ("compactor.config.compaction.block_retention", "tempo.structuredConfig.compactor.compaction.block_retention"),
}
"""Where each chart's values may hold the retention (kube-prometheus-stack, grafana/loki, grafana/tempo[-distributed] values;
``structuredConfig`` is merged into the generated config). The first path is the one a missing retention is reported at."""
LOKI_RETENTION_SWITCH = "loki.compactor.retention_enabled"
"""Loki deletes nothing past retention_period unless the compactor's retention is enabled."""


def _retention_sources(ctx: CheckContext, store: str) -> list[tuple[RenderedObject, list[tuple[str, Any]], str]]:
    """(object, [(field, value) set], chart) for each chart Application (or CR) that sets the store's retention."""
    charts, objects = next((c, o) for s, c, o in TELEMETRY if s == store)
    found: list[tuple[RenderedObject, list[tuple[str, Any]], str]] = []
    for app in ctx.chart_applications():
        source = app.obj["spec"]["source"]
        chart = source.get("chart")
        if chart in charts:
            values = get(source, "helm.valuesObject", {}) or {}
            if get(values, f"{store}.enabled") is False:
                continue  # a release of the chart without the store (e.g. only its CRDs)
            paths = VALUES_PATHS[chart]
            found.append((app, [(f"spec.source.helm.valuesObject.{p}", get(values, p)) for p in paths], chart))
    for kind, path in objects:
        found.extend((item, [(path, get(item.obj, path))], kind) for item in ctx.of_kind(kind))
    return found


def telemetry_retention_matches_spec(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Prometheus, Loki and Tempo keep data exactly the spec's retention_days."""
    for store in ("prometheus", "loki", "tempo"):
        days = getattr(ctx.platform.observability, store).retention_days
        sources = _retention_sources(ctx, store)
        if not sources:
            charts = next(c for s, c, _ in TELEMETRY if s == store)
            yield check.finding(ctx, ctx.expected_ref("Application", ctx.platform.argocd.namespace, charts[0]), "spec",
                                f"no {' or '.join(charts)} chart Application rendered: {store} retention ({days} days) cannot be verified")
            continue
        for item, fields, chart in sources:
            set_fields = [(path, value) for path, value in fields if value is not None]
            if not set_fields:
                yield check.finding(ctx, item, fields[0][0], f"{store} has no retention set (the chart default applies), "
                                    f"the spec says {days} days ({days * 24}h)")
            for path, value in set_fields:
                if duration_seconds(value) != days * 86400:
                    yield check.finding(ctx, item, path, f"{store} has retention {value}, the spec says {days} days ({days * 24}h)")
            if chart == "loki" and get(item.obj, f"spec.source.helm.valuesObject.{LOKI_RETENTION_SWITCH}") is not True:
                yield check.finding(ctx, item, f"spec.source.helm.valuesObject.{LOKI_RETENTION_SWITCH}",
                                    "loki's compactor retention is not enabled: logs are never deleted, whatever retention_period says")


CHECKS = (
    Check("PL-RPO-001", "error", "promise", "PostgreSQL RPO 0 is backed by synchronous replication",
          "Set the CNPG Cluster's spec.postgresql.synchronous {method: any, number: >= 1, dataDurability: required}.",
          postgres_rpo_zero_is_synchronous),
    Check("PL-RPO-002", "error", "promise", "Kafka RPO 0 is backed by RF 3, min.insync.replicas 2, no unclean election",
          "Set spec.kafka.config default.replication.factor 3, min.insync.replicas 2, unclean.leader.election.enable false.",
          kafka_rpo_zero_settings, {"replication_factor": 3, "min_insync_replicas": 2}),
    Check("PL-RPO-003", "error", "promise", "Redis does not promise RPO 0",
          "Record the real RPO in datastores.redis.ha.rpo_seconds (>= min_replicas_max_lag_seconds).", redis_rpo_is_honest),
    Check("PL-RPO-004", "error", "promise", "A region-loss RPO is not shorter than the backup interval",
          "Back up more often (or stream: WAL archiving, replication) or limit ha.covers to pod/node/zone and state the region RPO.",
          region_rpo_within_backup_interval, {"daily_backup_seconds": 86400}),
    Check("PL-BAK-001", "error", "promise", "Backups are written to the bucket the cloud layer creates, with a copy outside the region",
          "Render the writer's bucket, region and account from plinth.spec.derived.backup_target (the cloud layer creates the same).",
          backups_write_where_the_cloud_creates_them),
    Check("PL-BAK-002", "error", "promise", "Backup schedules in the objects equal the spec",
          "Render the schedule from backups[].schedule (ScheduledBackup, Velero Schedule, ClickHouse backup CronJob).",
          backup_frequency_matches_spec),
    Check("PL-BAK-004", "error", "promise", "A backup's cron schedule runs as often as its frequency says",
          "Make backups[].schedule match backups[].frequency (hourly: a fixed minute every hour; daily: a fixed hour).",
          spec_schedules_match_frequency),
    Check("PL-BAK-003", "error", "promise", "Backup retention in the objects equals the spec",
          "Render retention from backups[].retention_days (ObjectStore retentionPolicy, Velero ttl, clickhouse-backup BACKUPS_TO_KEEP_REMOTE).",
          backup_retention_matches_spec),
    Check("PL-RET-001", "error", "promise", "Metric, log and trace retention equal the spec",
          "Render retention from observability.<store>.retention_days into the chart values (or the Prometheus CR).",
          telemetry_retention_matches_spec),
)

