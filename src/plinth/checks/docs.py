"""Generate docs/checks.md from the check registry (committed; a test fails when it is stale).

Written by ``plinth generate checks``.
"""

from __future__ import annotations

import json

from plinth.checks.registry import ALL_CHECKS
from plinth.checks.waivers import WAIVER_CHECKS

SCOPES = {
    "object": "one object",
    "tree": "relations between objects",
    "promise": "the spec's promises (RTO/RPO/capacity/retention) against what the configuration delivers",
}


FINDING_OBJECTS = [
    "## How the promise checks find their objects",
    "",
    "A promise whose object is not rendered is a finding of that check (on the object expected), never a pass.",
    "",
    "- Data stores by the names in `render/conventions.py` `DATASTORE_NAMES`, in `platform-data`: CloudNativePG `Cluster`",
    "  (`spec.postgresql.synchronous`, `spec.affinity`, `spec.topologySpreadConstraints`), barman-cloud `ObjectStore`",
    "  (`spec.retentionPolicy`), `ScheduledBackup` whose `spec.cluster.name` is the Cluster, Strimzi `Kafka` (`spec.kafka.config`)",
    "  and its `KafkaNodePool`s/`KafkaTopic`s (label `strimzi.io/cluster`), Altinity `ClickHouseInstallation` and",
    "  `ClickHouseKeeperInstallation` (`podTemplates` spread/affinity/`podDistribution`), OT `RedisReplication`/`RedisSentinel`.",
    "- ClickHouse backups: a `CronJob` in `platform-data` named `<clickhouse name>…backup…` (`spec.schedule`); the",
    "  clickhouse-backup settings (env `S3_REGION`, `BACKUPS_TO_KEEP_REMOTE` × interval = retention) from a sidecar in the",
    "  ClickHouseInstallation's pod template, else from the CronJob. Cluster state: Velero `Schedule` (`spec.schedule`,",
    "  `spec.template.ttl`) and `BackupStorageLocation` (`spec.config.region`).",
    "- Backup region: `spec.config.region`, a literal env var (`AWS_REGION`, `AWS_DEFAULT_REGION`, `S3_REGION`…) of the",
    "  ObjectStore's `instanceSidecarConfiguration` or the CronJob, the endpoint host, or annotation `plinth.dev/region`.",
    "- Telemetry retention: chart Applications `kube-prometheus-stack` (`prometheus.prometheusSpec.retention`, or a",
    "  `Prometheus` CR's `spec.retention`), `loki` (`loki.limits_config.retention_period`, with `loki.compactor.retention_enabled`),",
    "  `tempo` (`tempo.retention`) or `tempo-distributed` (`compactor.config.compaction.block_retention`); `structuredConfig`",
    "  equivalents count too.",
    "- Application services: the Deployment/Rollout/StatefulSet named after the spec's service in `platform-apps`; its",
    "  minimum replicas come from its HPA/ScaledObject, its minimum healthy pods from its PodDisruptionBudget.",
    "- Pods of Helm charts are the objects their Applications hydrate to: selectors, NetworkPolicy coverage and capacity",
    "  see them like rendered pods. Only when a chart Application was not hydrated (no chart directory; PL-ARGO-007) are",
    "  selectors in its namespace left unjudged.",
    "",
    "## Argo CD's rules (PL-ARGO-*)",
    "",
    "The checks read each object's place in a first sync as Argo CD orders it (`plinth.charts.union`): the bootstrap",
    "(`helm install argocd`, then the root Application) first; then the root app-of-apps wave by wave, each child",
    "Application healthy before the next wave; inside an Application, PreSync hooks, the sync by wave, PostSync hooks.",
    "",
    "- Projects: an object's namespace must be a destination of its Application's AppProject, and a cluster-scoped kind",
    "  must be in the project's `clusterResourceWhitelist`. Argo CD cannot limit one destination to some kinds; where a",
    "  chart must write outside its namespace the project names the namespace and annotates the only kinds allowed there",
    "  (`plinth.dev/kinds-in.<namespace>`, with the reason in `plinth.dev/why-in.<namespace>`), and PL-ARGO-001 refuses",
    "  any other kind.",
    "- CRDs: a custom resource's CRD must come from the same Application in an earlier-or-same phase and wave (gitops-engine",
    "  applies CRDs first and skips the custom resources' dry run), from an Application in an earlier wave of the root, or",
    "  from the bootstrap.",
    "- References: every Secret, ConfigMap, ServiceAccount, StorageClass and PriorityClass a pod or volume claim names",
    "  (not `optional`) must be applied, made by an ExternalSecret whose store is synced no later, issued by a cert-manager",
    "  Certificate, or made at run time by a known operator or hook (`plinth/checks/cluster_made.py`, each entry with its",
    "  source), in the same or an earlier wave. Every namespace has ServiceAccount `default` and ConfigMap `kube-root-ca.crt`.",
    "- Self-management: no Application's source folder, read as Argo CD reads it (recurse, include and exclude globs), holds",
    "  the Application's own file; the root Application lives in `bootstrap/`, applied once by hand.",
    "",
]


def checks_markdown() -> str:
    """The checks reference page."""
    lines = [
        "# Checks",
        "",
        "<!-- Generated by `plinth generate checks` from src/plinth/checks/registry.py; do not edit. -->",
        "",
        "`plinth check` runs every check below on every environment of the spec and exits 1 when an error-severity",
        "finding is not waived (2 on bad input). Scopes: " + "; ".join(f"**{k}**: {v}" for k, v in SCOPES.items()) + ".",
        "",
        "Waivers live in `check-waivers.yaml` (`waivers: [{check, object, environments?, reason, expires}]`), keyed by",
        "check ID and object (`Kind/namespace/name`; `Spec/<dotted parent>` for findings about the spec itself), or by",
        "check ID and `application` (every object one chart Application hydrates to, for a decision about the whole chart).",
        "A finding on a hydrated object names its Application and its pseudo-path `<env>/hydrated/<application>/<kind>-<name>.yaml`.",
        "",
        "| ID | Severity | Scope | Check | Remediation | Params |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for check in (*ALL_CHECKS, *WAIVER_CHECKS):
        params = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in sorted(check.params.items())) or "-"
        lines.append(f"| {check.id} | {check.severity} | {check.scope} | {check.title} | {check.remediation} | {params} |")
    lines += ["", f"{len(ALL_CHECKS)} checks, plus {len(WAIVER_CHECKS)} findings the waiver file itself produces.", "", *FINDING_OBJECTS]
    return "\n".join(lines)
