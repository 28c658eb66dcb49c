"""Cluster drills (a real cluster; they cannot run on the build machine): the postgres restore drill as
manifests, and the zone-loss drill as a documented procedure.

The restore drill is the local drill's logic in CloudNativePG's terms: a Cluster bootstrapped by
``recovery`` from the production ObjectStore (the Barman Cloud Plugin reads the same barman-cloud
layout the local drill restores) into a scratch namespace, and a Job that waits until the restored
primary accepts writes and reports what it restored. Settings come from the same ``settings`` module.
"""

from __future__ import annotations

import copy
from typing import Any

from plinth.components import postgres
from plinth.drills.settings import postgres_settings, region_rto_seconds
from plinth.kube.conventions import DATASTORE_LABEL, DATASTORE_NAMES
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement
from plinth.spec import derived
from plinth.spec.derived import backup_target
from plinth.spec.model import Platform

SCRATCH_NAMESPACE = "plinth-restore-drill"
"""Namespace the restore drill creates and deletes; nothing else lives there."""
RESTORED_CLUSTER = f"{DATASTORE_NAMES['postgres']}-restore-drill"
"""Name of the restored CloudNativePG Cluster."""
RESTORE_IDENTITY = "postgres-restore-drill"
"""The scratch Cluster's workload identity (``derived.WORKLOAD_IDENTITIES``)."""
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
"""The Barman Cloud Plugin's name, as Clusters reference it."""
DATA_NAMESPACE = "platform-data"
"""Namespace the production Cluster lives in (its node pool hosts the drill too)."""
COMPONENT = "restore-drill"


def _scratch(obj: dict[str, Any], common: dict[str, str]) -> dict[str, Any]:
    """A production object moved into the scratch namespace with the drill's labels."""
    moved = copy.deepcopy(obj)
    moved["metadata"]["namespace"] = SCRATCH_NAMESPACE
    moved["metadata"]["labels"] = dict(common)
    return moved


def restore_drill_objects(platform: Platform) -> list[dict[str, Any]]:
    """Namespace, credentials, ObjectStore, recovered Cluster and verification Job of the cluster restore drill.

    The ObjectStore and its credentials are the postgres component's own, moved into the scratch namespace and
    pointed at the copy a region loss leaves: the backup bucket's copy in the DR region."""
    settings = postgres_settings(platform)
    pg = platform.datastores.postgres
    common = labels(COMPONENT, RESTORED_CLUSTER)
    target = backup_target(platform, "postgres")
    store = _scratch(postgres.object_store(platform, source=target.restore_source(region_lost=True)), common)
    # The scratch copy only reads: it must never expire or rewrite production backups.
    store["spec"].pop("retentionPolicy", None)
    placement = pool_placement(platform, DATA_NAMESPACE)
    affinity: dict[str, Any] = {"nodeSelector": placement["nodeSelector"]}
    if "tolerations" in placement:
        affinity["tolerations"] = placement["tolerations"]
    cluster = k8s_object(
        "postgresql.cnpg.io/v1", "Cluster", RESTORED_CLUSTER, SCRATCH_NAMESPACE,
        labels={**common, DATASTORE_LABEL: "postgres"},
        spec={
            "instances": 1,
            # The drill's own identity, which reads the backup bucket's copy in the DR region (no key).
            "serviceAccountTemplate": {"metadata": {"annotations": derived.identity_annotations(platform, RESTORE_IDENTITY)}},
            **({"inheritedMetadata": {"labels": derived.identity_pod_labels(platform)}} if derived.identity_pod_labels(platform) else {}),
            "imageName": f"ghcr.io/cloudnative-pg/postgresql:{pg.version}",
            "storage": {"size": f"{pg.storage.size_gib}Gi", "storageClass": pg.storage.storage_class},
            "walStorage": {"size": f"{pg.wal_storage.size_gib}Gi", "storageClass": pg.wal_storage.storage_class},
            "postgresql": {"parameters": dict(settings.server_parameters)},
            "affinity": affinity,
            "bootstrap": {"recovery": {"source": "origin", "database": "app", "owner": "app"}},
            # The scratch copy never archives: it must not write into the production WAL stream.
            "externalClusters": [{"name": "origin", "plugin": {"name": BARMAN_PLUGIN, "parameters": {
                "barmanObjectName": store["metadata"]["name"], "serverName": DATASTORE_NAMES["postgres"]}}}],
        },
    )
    deadline = region_rto_seconds(platform) or settings.rto_seconds
    verify_script = (
        'until pg_isready -q; do sleep 5; done; '
        'psql -v ON_ERROR_STOP=1 -Atc "SELECT CASE WHEN pg_is_in_recovery() THEN 1/0 END" && '
        'psql -v ON_ERROR_STOP=1 -c "SELECT datname, pg_size_pretty(pg_database_size(datname)) FROM pg_database '
        'WHERE NOT datistemplate" -c "SELECT now() AS verified_at, pg_postmaster_start_time() AS started_at" && '
        'echo "restore drill: restored primary accepts writes"'
    )
    secret = f"{RESTORED_CLUSTER}-app"
    env = [{"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
           for var, key in (("PGHOST", "host"), ("PGPORT", "port"), ("PGUSER", "username"), ("PGPASSWORD", "password"),
                            ("PGDATABASE", "dbname"))]
    job = k8s_object(
        "batch/v1", "Job", f"{RESTORED_CLUSTER}-verify", SCRATCH_NAMESPACE, labels=common,
        spec={
            # The promise: restored within the region-failover RTO, or the Job fails.
            "activeDeadlineSeconds": deadline,
            "backoffLimit": 20,
            "template": {"metadata": {"labels": common}, "spec": {
                "restartPolicy": "OnFailure",
                **placement,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 26, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "verify", "image": f"ghcr.io/cloudnative-pg/postgresql:{pg.version}",
                    "command": ["/bin/sh", "-c", verify_script], "env": env,
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "capabilities": {"drop": ["ALL"]}},
                }],
            }},
        },
    )
    return [
        k8s_object("v1", "Namespace", SCRATCH_NAMESPACE, labels=common),
        store,
        cluster,
        job,
    ]


def restore_drill_procedure(platform: Platform) -> str:
    """How to run the cluster restore drill and read its RTO (Markdown)."""
    deadline = region_rto_seconds(platform)
    return "\n".join([
        "# Cluster drill: restore PostgreSQL from its backups", "",
        "Not run on the build machine (no cluster there); `plinth drill postgres-restore` runs the same restore locally.", "",
        f"1. `kubectl apply -f restore-drill.yaml` (namespace `{SCRATCH_NAMESPACE}`, ObjectStore "
        f"`{DATASTORE_NAMES['postgres-objectstore']}` on the production bucket, Cluster `{RESTORED_CLUSTER}` with "
        "`bootstrap.recovery` from it, Job `" + RESTORED_CLUSTER + "-verify`).",
        f"2. `kubectl -n {SCRATCH_NAMESPACE} wait --for=condition=complete job/{RESTORED_CLUSTER}-verify "
        f"--timeout={deadline or 14400}s`; the Job fails itself after {deadline} s (the region-failover RTO).",
        f"3. RTO = the Job's completionTime - the Cluster's creationTimestamp; compare with "
        f"datastores.postgres.ha.rto_seconds ({int(platform.datastores.postgres.ha.rto_seconds)} s) and the region RTO.",
        f"4. `kubectl delete namespace {SCRATCH_NAMESPACE}` (the restored copy never archives to the bucket).", "",
    ])


def zone_loss_procedure(platform: Platform) -> str:
    """The zone-loss drill, step by step, with the promises to watch (Markdown)."""
    ds = platform.datastores
    zone = platform.cluster.zones[0]
    rows = [("API services", platform.api_services.ha), ("PostgreSQL", ds.postgres.ha), ("ClickHouse", ds.clickhouse.ha),
            ("Redis", ds.redis.ha), ("Kafka", ds.kafka.ha)]
    lines = [
        "# Cluster drill: zone loss", "",
        "Not run on the build machine (no cluster there). Run it in staging first, in a change window.", "",
        "## Promises to watch", "", "| store | RTO | RPO |", "|---|---|---|",
        *[f"| {name} | {int(ha.rto_seconds)} s | {int(ha.rpo_seconds)} s |" for name, ha in rows if "zone" in ha.covers],
        "", "## Steps", "",
        "1. Start a recorded write load against the API (every acknowledged id logged with its time), and watch the "
        "alerts and the availability SLO dashboard.",
        f"2. Pick a zone (e.g. `{zone}`) and cordon its nodes: `kubectl cordon -l topology.kubernetes.io/zone={zone}`.",
        f"3. Drain them: `kubectl drain -l topology.kubernetes.io/zone={zone} --ignore-daemonsets --delete-emptydir-data "
        "--timeout=15m` (PodDisruptionBudgets keep quorum; a blocked drain is a finding).",
        f"4. Record, per store, the time from the drain's start to the first acknowledged write on the new primary: "
        f"`kubectl cnpg status {DATASTORE_NAMES['postgres']} -n {DATA_NAMESPACE}`, Sentinel "
        f"`SENTINEL get-master-addr-by-name {DATASTORE_NAMES['redis']}`, Kafka under-replicated partitions, ClickHouse "
        "`system.replicas`.",
        "5. Count acknowledged ids missing afterwards (RPO) and the longest error window (RTO); compare with the table.",
        f"6. Uncordon: `kubectl uncordon -l topology.kubernetes.io/zone={zone}`; check the synchronous standby is back.", "",
    ]
    return "\n".join(lines)
