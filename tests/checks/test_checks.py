"""Every registered check on a failing and a passing fixture: which object failed, and the message."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from plinth.charts.hydrate import HydratedObject
from plinth.checks import ALL_CHECKS, CheckContext
from plinth.checks.engine import run_checks
from plinth.components import iceberg_catalog as ic
from plinth.components import redis
from plinth.spec.model import Platform
from plinth.validate.schemas import SchemaStore
from tests.checks import fixtures as fx
from tests.conftest import needs_charts, needs_shared


@dataclass(frozen=True)
class Case:
    """A fixture: the healthy tree, one thing broken (objects and/or spec), and the finding expected."""

    expect_object: str
    """``Kind/namespace/name`` of the object the finding must name."""
    expect_message: str
    """Text the finding's message must contain."""
    break_objects: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None] = lambda objs: None
    spec: dict[str, Any] = field(default_factory=dict)
    expect_field: str | None = None
    break_hydrated: Callable[[Platform, list[HydratedObject]], list[HydratedObject]] | None = None
    """Changes the objects the fixture's chart Applications hydrate to."""
    expect_application: str | None = None
    """The chart Application a finding on a hydrated object must name."""
    not_hydrated: bool = False
    """Check the tree as if no chart directory had been found."""


def _set(kind: str, name: str, path: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def change(objects: list[dict[str, Any]]) -> None:
        node = fx.find(objects, kind, name)
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if value is DELETE:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    return change


DELETE = object()


def _both(*changes: Callable[[list[dict[str, Any]]], Any]) -> Callable[[list[dict[str, Any]]], None]:
    def change(objects: list[dict[str, Any]]) -> None:
        for c in changes:
            c(objects)
    return change


def _add(obj: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    return lambda objects: objects.append(obj)


def _add_all(*objs: dict[str, Any]) -> Callable[[list[dict[str, Any]]], None]:
    return lambda objects: objects.extend(objs)


def _plant(application: str, obj: dict[str, Any], wave: int = 0) -> Callable[[Platform, list[HydratedObject]], list[HydratedObject]]:
    """A fixture chart Application that also renders ``obj``."""
    return lambda platform, objs: [*objs, fx.hydrated(platform, application, obj, wave)]


def _drop(kind: str, name: str) -> Callable[[Platform, list[HydratedObject]], list[HydratedObject]]:
    return lambda platform, objs: [o for o in objs if not (o.obj["kind"] == kind and o.obj["metadata"]["name"] == name)]


OUT_OF_PROJECT = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kps-coredns", "namespace": "kube-system"},
                  "spec": {"selector": {"k8s-app": "kube-dns"}, "ports": [{"port": 9153}]}}
UNLISTED_KIND = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": {"name": "safe-upgrades"},
                 "spec": {"failurePolicy": "Fail", "validations": [{"expression": "true"}]}}
PLANTED_DASHBOARD = {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "dashboard-planted", "namespace": fx.MON, "labels": {"grafana_dashboard": "1"}},
                     "data": {"planted.json": json.dumps({"panels": [{
                         "title": "Orders", "datasource": {"type": "prometheus", "uid": "prometheus"},
                         "targets": [{"expr": "sum(rate(shop_orders_total[$__rate_interval]))"}]}]})}}
"""A dashboard whose only panel reads a metric nothing in the fixture produces."""
UNPINNED_PLUGIN = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argo-rollouts-config", "namespace": fx.DATA},
                   "data": {"trafficRouterPlugins": "- name: argoproj-labs/gatewayAPI\n  location: https://plugins.example/gatewayapi-plugin-linux-amd64\n"}}
"""The Argo Rollouts controller's plugin list with a plugin it would download and run unverified."""
ORPHAN_EXTERNAL_SECRET = {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "grafana-admin", "namespace": fx.MON},
                          "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "retired-secrets"}, "target": {"name": "grafana-admin"},
                                   "data": [{"secretKey": "password", "remoteRef": {"key": "grafana"}}]}}
ORPHAN_CERTIFICATE = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "grafana-tls", "namespace": fx.MON},
                      "spec": {"secretName": "grafana-tls", "dnsNames": ["grafana.platform-monitoring.svc"],
                               "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "retired-ca"}}}
"""A Certificate whose ClusterIssuer no Application applies."""

STRAY_POLICY = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-ghost", "namespace": fx.APPS},
                "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ghost"}}, "policyTypes": ["Ingress"], "ingress": []}}

CASES: dict[str, Case] = {
    "PL-TREE-001": Case("HorizontalPodAutoscaler/platform-apps/frontend", "scales Rollout platform-apps/ghost, which no Application applies",
                        _set("HorizontalPodAutoscaler", "frontend", "spec.scaleTargetRef.name", "ghost"), expect_field="spec.scaleTargetRef"),
    "PL-TREE-002": Case("ScaledObject/platform-apps/data-workers", "scales Rollout platform-apps/workers",
                        _set("ScaledObject", "data-workers", "spec.scaleTargetRef.name", "workers")),
    "PL-TREE-003": Case("PodDisruptionBudget/platform-apps/auth", "selector {app.kubernetes.io/name=authn} matches no pod in platform-apps",
                        _set("PodDisruptionBudget", "auth", "spec.selector.matchLabels", {"app.kubernetes.io/name": "authn"})),
    "PL-TREE-004": Case("Service/platform-apps/config", "selector {app=config} matches no pod in platform-apps",
                        _set("Service", "config", "spec.selector", {"app": "config"})),
    "PL-TREE-005": Case("ServiceMonitor/platform-apps/connector", "matches no Service in platform-apps: nothing is scraped",
                        _set("ServiceMonitor", "connector", "spec.selector.matchLabels", {"app": "connector"})),
    "PL-TREE-006": Case("NetworkPolicy/platform-apps/allow-ghost", "podSelector {app.kubernetes.io/name=ghost} matches no pod", _add(STRAY_POLICY)),
    "PL-TREE-007": Case("PodDisruptionBudget/platform-apps/frontend", "minAvailable 3 >= the 3 replica(s) it selects",
                        _set("PodDisruptionBudget", "frontend", "spec.minAvailable", 3), expect_field="spec.minAvailable"),
    "PL-TREE-008": Case("Cluster/platform-data/plinth-pg", "pods of plinth-pg in platform-data are selected by no NetworkPolicy",
                        lambda objs: fx.without(objs, "NetworkPolicy", "default-deny", fx.DATA)),
    "PL-TREE-009": Case("Application/platform-system/apps", "path 'kubernetes/prod/nowhere' is not a folder of the rendered tree",
                        _set("Application", "apps", "spec.source.path", "kubernetes/prod/nowhere")),
    "PL-HA-001": Case("Rollout/platform-apps/frontend", "3 replica(s) over 3 zones (no hard zone spread or zone anti-affinity) leave 0 after losing one zone; it needs 2",
                      _set("Rollout", "frontend", "spec.template.spec.topologySpreadConstraints", DELETE)),
    "PL-HA-002": Case("Rollout/platform-apps/auth", "RTO 0 needs 2 ready replicas after a zone loss, but 2 replica(s) over 3 zones",
                      _both(_set("HorizontalPodAutoscaler", "auth", "spec.minReplicas", 2), _set("PodDisruptionBudget", "auth", "spec.minAvailable", 1))),
    "PL-HA-003": Case("Cluster/platform-data/plinth-pg", "leave 0 after losing one zone; writes need 2 (primary + 1 synchronous standby)",
                      _set("Cluster", "plinth-pg", "spec.affinity.podAntiAffinityType", "preferred")),
    "PL-HA-004": Case("KafkaNodePool/platform-data/brokers", "3 broker(s) over 3 zones leave 0 after losing one zone, below min.insync.replicas 2",
                      _set("KafkaNodePool", "brokers", "spec.template.pod", {})),
    "PL-HA-005": Case("ClickHouseKeeperInstallation/platform-data/plinth-ch-keeper", "leave 0 after losing one zone, below a Keeper majority (2)",
                      _set("ClickHouseKeeperInstallation", "plinth-ch-keeper", "spec.templates.podTemplates.0.spec.topologySpreadConstraints", DELETE)),
    "PL-HA-007": Case("EnvoyProxy/platform-system/public-proxy", "3 proxies of public-proxy/platform-system/public over 3 zones (no hard zone spread or zone anti-affinity) leave 0 after losing one zone; the gateway needs 2",
                      _set("EnvoyProxy", "public-proxy", "spec.provider.kubernetes.envoyDeployment.pod", {})),
    "PL-HA-006": Case("RedisSentinel/platform-data/plinth-redis-sentinel", "below a Sentinel majority (2)",
                      _set("RedisSentinel", "plinth-redis-sentinel", "spec.topologySpreadConstraints.0.whenUnsatisfiable", "ScheduleAnyway")),
    "PL-RPO-001": Case("Cluster/platform-data/plinth-pg", "RPO 0 needs >= 1 synchronous standby(s), the Cluster has 0",
                       _set("Cluster", "plinth-pg", "spec.postgresql", {}), expect_field="spec.postgresql.synchronous.number"),
    "PL-RPO-002": Case("Kafka/platform-data/plinth-kafka", "min.insync.replicas 1 < 2: an acks=all write acknowledged by one broker is lost with it",
                       _set("Kafka", "plinth-kafka", "spec.kafka.config", {"default.replication.factor": 3, "min.insync.replicas": 1})),
    "PL-RPO-003": Case("Spec/datastores.redis.ha", "promises RPO 0, but Redis replication is asynchronous",
                       spec={"datastores.redis.ha.rpo_seconds": 0}, expect_field="datastores.redis.ha.rpo_seconds"),
    "PL-RPO-004": Case("Spec/datastores.clickhouse.ha", "clickhouse promises RPO 1m after region loss, but a region loss loses up to 1d 15m: daily backup",
                       spec={"datastores.clickhouse.ha.covers": ["pod", "node", "zone", "region"]}),
    "PL-BAK-001": Case("ObjectStore/platform-data/plinth-pg-backups",
                       "the postgres backup is written through region us-west-2, but its bucket plinth-backups-postgres lives in us-east-1",
                       _set("ObjectStore", "plinth-pg-backups", "spec.instanceSidecarConfiguration.env.0.value", "us-west-2")),
    "PL-BAK-002": Case("ScheduledBackup/platform-data/plinth-pg-hourly", "schedule '0 0 0 * * *' (every 1d) differs from the spec's hourly schedule '0 0 * * * *'",
                       _set("ScheduledBackup", "plinth-pg-hourly", "spec.schedule", "0 0 0 * * *")),
    "PL-BAK-003": Case("Schedule/platform-system/cluster-state", "keeps cluster-state backups 7 days, the spec says 30 days",
                       _set("Schedule", "cluster-state", "spec.template.ttl", "168h0m0s"), expect_field="spec.template.ttl"),
    "PL-MGD-001": Case("Spec/datastores.postgres.ha", "postgres promises RTO 30s, but a RDS for PostgreSQL failover takes up to 2m",
                       spec={"datastores.postgres.managed_by": "cloud", "datastores.postgres.ha.rto_seconds": 30},
                       expect_field="datastores.postgres.ha.rto_seconds"),
    "PL-MGD-002": Case("Spec/backups.0", "the postgres backup row keeps 90 days, but RDS for PostgreSQL keeps automated backups at most 35 days",
                       spec={"datastores.postgres.managed_by": "cloud", "backups.0.retention_days": 90},
                       expect_field="backups.0.retention_days"),
    "PL-BAK-004": Case("Spec/backups.0", "the postgres backup is hourly (every 1h), but its schedule '0 0 3 * * *' runs every 1d",
                       spec={"backups.0.schedule": "0 0 3 * * *"}, expect_field="backups.0.schedule"),
    "PL-RET-001": Case("Application/platform-system/loki", "loki has retention 168h, the spec says 30 days (720h)",
                       _set("Application", "loki", "spec.source.helm.valuesObject.loki.limits_config.retention_period", "168h")),
    "PL-CAP-001": Case("Spec/node_pools.data", "pods at minimum replicas need at least 3 m6i.4xlarge nodes",
                       spec={"node_pools.data.nodes": 1, "node_pools.data.min_nodes": 1}),
    "PL-CAP-004": Case("Spec/node_pools.apps", "at minimum replicas onto",
                       spec={"node_pools.apps.nodes": 2, "node_pools.apps.min_nodes": 2}),
    "PL-CAP-002": Case("Spec/design_totals", "the Total row says vcpu 148, but control plane + pools add up to 172",
                       spec={"design_totals.vcpu": 148}, expect_field="design_totals.vcpu"),
    "PL-CAP-003": Case("Spec/node_pools.apps", "pool apps: at maximum replicas pods request",
                       _set("ScaledObject", "data-workers", "spec.maxReplicaCount", 100)),
    "PL-QUOTA-001": Case("Spec/namespaces.platform-apps.quota", "of pods at maximum replicas plus rollout surge, the quota allows 5",
                         spec={"namespaces.platform-apps.quota.pods": 5}, expect_field="namespaces.platform-apps.quota.pods"),
    "PL-QUOTA-002": Case("Rollout/platform-apps/frontend", "has a cpu limit of 64, above the 4 the platform-apps LimitRange allows",
                         _set("Rollout", "frontend", "spec.template.spec.containers.0.resources.limits.cpu", "64"),
                         expect_field="spec.template.spec.containers.0.resources.limits.cpu"),
    "PL-GITOPS-001": Case("Application/platform-system/loki", "automated sync without selfHeal: drift in the cluster is not reverted",
                          _set("Application", "loki", "spec.syncPolicy.automated.selfHeal", False)),
    "PL-ICE-001": Case("CronJob/platform-data/iceberg-maintenance", "expires Iceberg history after 30 days, the iceberg backup row keeps 365 days",
                       _set("CronJob", "iceberg-maintenance", "spec.jobTemplate.spec.template.spec.containers.0.args",
                            ["/opt/plinth/maintenance.py", "--retention-days", "30"]),
                       expect_field="spec.jobTemplate.spec.template.spec.containers.0.args"),
    "PL-ICE-002": Case("Rollout/platform-apps/data-workers", "the NetworkPolicies do not let data-workers reach the catalog servers",
                       lambda objs: fx.without(objs, "NetworkPolicy", "data-workers-flows", fx.APPS)),
    "PL-NET-001": Case("NetworkPolicy/platform-apps/default-deny", "webhook (ValidatingWebhookConfiguration/frontend-check): API server -> frontend TCP 8443 is refused",
                       _add_all(*fx.webhook("frontend-check", "frontend-webhook", {"app.kubernetes.io/name": "frontend"})), expect_field="spec.ingress"),
    "PL-NET-002": Case("NetworkPolicy/platform-apps/allow-web", "no flow intends: api-gateway -> API server TCP 443",
                       _add(fx.policy("allow-web", fx.APPS, {"podSelector": {}, "policyTypes": ["Egress"],
                                                              "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]})),
                       expect_field="spec.egress.0"),
    "PL-NET-003": Case("ValidatingWebhookConfiguration/ghost-check", "Service platform-apps/ghost, which selects no pod",
                       _add(fx.webhook("ghost-check", "ghost", None)[0])),
    "PL-NET-004": Case("NetworkPolicy/platform-data/allow-migrate", "is needed from sync wave -6 and isolated from wave -8, but allowed only at wave 0",
                       lambda objs: [*fx.without(objs, "NetworkPolicy", "default-deny", fx.DATA), fx.api_egress_policy("allow-migrate", fx.DATA, {"app": "migrate"})],
                       break_hydrated=lambda platform, objs: [*objs, *fx.hydrated_hook_behind_a_deny(platform, fx.DATA, {"app": "migrate"})]),
    "PL-NET-005": Case("Flow/all", "the chart Applications were not hydrated", not_hydrated=True),
    "PL-IMG-001": Case("Rollout/platform-apps/frontend", "image ghcr.io/org/frontend:1.0.0 has no digest",
                       _set("Rollout", "frontend", "spec.template.spec.containers.0.image", "ghcr.io/org/frontend:1.0.0"),
                       expect_field="spec.template.spec.containers.0.image"),
    "PL-ARGO-001": Case("Service/kube-system/kps-coredns", "puts it in namespace kube-system, which AppProject platform-monitoring does not allow",
                        break_hydrated=_plant("kube-prometheus-stack", OUT_OF_PROJECT), expect_application="kube-prometheus-stack",
                        expect_field="metadata.namespace"),
    "PL-ARGO-002": Case("ValidatingAdmissionPolicy/safe-upgrades",
                        "syncs admissionregistration.k8s.io/ValidatingAdmissionPolicy, which AppProject platform-monitoring does not allow",
                        break_hydrated=_plant("loki", UNLISTED_KIND), expect_application="loki"),
    "PL-ARGO-003": Case("ServiceMonitor/platform-monitoring/loki",
                        "is applied at Application wave -6, Sync wave 0, but its CRD servicemonitors.monitoring.coreos.com comes from "
                        "Application kube-prometheus-stack at Application wave -5",
                        _set("Application", "loki", "metadata.annotations", {"argocd.argoproj.io/sync-wave": "-6"}), expect_application="loki"),
    "PL-ARGO-004": Case("Deployment/platform-monitoring/loki-read",
                        "needs Secret platform-monitoring/loki-object-storage, which no Application applies and nothing known creates",
                        break_hydrated=_drop("Secret", "loki-object-storage"), expect_application="loki",
                        expect_field="spec.template.spec.containers.0.envFrom.0.secretRef.name"),
    "PL-ARGO-005": Case("ExternalSecret/platform-monitoring/grafana-admin", "ClusterSecretStore retired-secrets is not applied by any Application",
                        _add(ORPHAN_EXTERNAL_SECRET)),
    "PL-ARGO-006": Case("Application/platform-system/loki", "comes from OCI registry registry.example/charts, but no repository Secret",
                        _set("Application", "loki", "spec.source.repoURL", "registry.example/charts")),
    "PL-ARGO-007": Case("Application/platform-system/tempo", "chart tempo-distributed 1.0.0 was not hydrated", not_hydrated=True),
    "PL-ARGO-008": Case("Application/platform-system/apps", "the Application manages itself",
                        _set("Application", "apps", "spec.source.path", "kubernetes/prod/apps"), expect_field="spec.source.path"),
    "PL-ARGO-009": Case("Certificate/platform-monitoring/grafana-tls", "ClusterIssuer retired-ca is not applied by any Application",
                        _add(ORPHAN_CERTIFICATE), expect_field="spec.issuerRef"),
    "PL-OBS-001": Case("ConfigMap/platform-monitoring/dashboard-planted", "panel 'Orders' reads shop_orders_total, which nothing in prod produces",
                       break_hydrated=_plant("kube-prometheus-stack", PLANTED_DASHBOARD), expect_application="kube-prometheus-stack",
                       expect_field="data.planted.json:panels.0.targets.0.expr"),
    "PL-SEC-001": Case("Rollout/platform-apps/connector", "connector uses kafka: no KafkaUser connector",
                       lambda objs: fx.without(objs, "KafkaUser", "connector"), expect_field="uses.kafka"),
    "PL-SEC-002": Case("KafkaUser/platform-data/connector", "KafkaUser connector may Read on topic pipeline-events",
                       _set("KafkaUser", "connector", "spec.authorization.acls.1.operations", ["Describe", "Read", "Write"]),
                       expect_field="spec.authorization.acls.1"),
    "PL-SEC-003": Case("Kafka/platform-data/plinth-kafka", "listener tls on 9093 has no TLS and no authentication",
                       lambda objs: fx.find(objs, "Kafka", "plinth-kafka")["spec"]["kafka"].update(
                           listeners=[{"name": "tls", "port": 9093, "type": "internal", "tls": False}]),
                       expect_field="spec.kafka.listeners.0"),
    "PL-SEC-004": Case("Namespace/platform-apps", "enforces privileged, but its pods need only baseline",
                       _add({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": fx.APPS, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}),
                       expect_field="metadata.labels.pod-security.kubernetes.io/enforce"),
    "PL-SEC-005": Case("ExternalSecret/platform-apps/data-workers-iceberg-credentials",
                       "reads through store secrets-platform-data, which namespace platform-apps may not use",
                       _set("ExternalSecret", "data-workers-iceberg-credentials", "spec.data.0.sourceRef.storeRef.name", "secrets-platform-data"),
                       expect_field="spec.data.0"),
    "PL-SEC-006": Case("ConfigMap/platform-data/argo-rollouts-config",
                       "plugin argoproj-labs/gatewayAPI is downloaded from https://plugins.example/gatewayapi-plugin-linux-amd64 without a sha256",
                       break_hydrated=_plant("polaris", UNPINNED_PLUGIN), expect_application="polaris",
                       expect_field="data.trafficRouterPlugins.0"),
    "PL-SEC-007": Case("Namespace/platform-monitoring", "enforces privileged with no binding of plinth-host-access-platform-monitoring",
                       _add({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": fx.MON, "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}),
                       expect_field="metadata.labels.pod-security.kubernetes.io/enforce"),
    # Judged on tests.conftest.TEST_TODAY (2026-06-01).
    "PL-VER-001": Case("Spec/cluster", "Kubernetes 1.32 reached upstream end of life on 2026-02-28",
                       spec={"cluster.kubernetes_version": "1.32"}, expect_field="cluster.kubernetes_version"),
    "PL-VER-002": Case("Spec/cluster", "Kubernetes 1.32 left EKS standard support on 2026-03-23",
                       spec={"cluster.kubernetes_version": "1.32"}, expect_field="cluster.kubernetes_version"),
    "PL-VER-003": Case("Spec/cluster", "Kubernetes 1.33 reaches upstream end of life in 27 days, on 2026-06-28",
                       spec={"cluster.kubernetes_version": "1.33"}, expect_field="cluster.kubernetes_version"),
}
"""One failing case per check (the passing case is the healthy tree itself, checked per check below)."""

CHECKS = {c.id: c for c in ALL_CHECKS}


def _findings(platform: Platform, objects: list[dict[str, Any]], check_id: str, hydrated: list[HydratedObject] | None = None,
              not_hydrated: bool = False):
    ctx = CheckContext.from_objects(platform, objects, hydrated=fx.healthy_hydrated(platform) if hydrated is None else hydrated,
                                    flows=fx.healthy_flows(platform))
    if not_hydrated:
        ctx = CheckContext(platform, ctx.rendered, ctx.spec_file, None)
    return run_checks(ctx, [CHECKS[check_id]])


def test_every_registered_check_has_fixtures() -> None:
    missing = sorted(set(CHECKS) - set(CASES))
    assert not missing, f"checks without a failing/passing fixture: {missing}"
    assert not sorted(set(CASES) - set(CHECKS)), "fixtures for checks that are not registered"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_check_passes_on_the_healthy_tree(prod: Platform, check_id: str) -> None:
    findings = _findings(prod, fx.healthy_tree(prod), check_id)
    assert findings == [], [f"{f.obj.key} {f.field_path}: {f.message}" for f in findings]


@pytest.mark.parametrize("check_id", sorted(CASES))
def test_check_fails_on_its_broken_fixture(prod: Platform, check_id: str) -> None:
    case = CASES[check_id]
    platform = fx.spec_changed(prod, case.spec) if case.spec else prod
    objects = fx.edited(fx.healthy_tree(platform))
    replaced = case.break_objects(objects)
    if replaced is not None:
        objects = replaced
    hydrated = fx.healthy_hydrated(platform)
    if case.break_hydrated is not None:
        hydrated = case.break_hydrated(platform, hydrated)
    findings = _findings(platform, objects, check_id, hydrated, case.not_hydrated)
    assert findings, f"{check_id} found nothing on its broken fixture"
    matching = [f for f in findings if f.obj.key == case.expect_object and case.expect_message in f.message]
    assert matching, [f"{f.obj.key} {f.field_path}: {f.message}" for f in findings]
    assert all(f.check_id == check_id and f.severity == CHECKS[check_id].severity for f in findings)
    if case.expect_field:
        assert matching[0].field_path == case.expect_field
    assert matching[0].obj.application == case.expect_application
    if case.expect_application:
        assert matching[0].obj.file.startswith(f"{platform.environment}/hydrated/{case.expect_application}/"), matching[0].obj.file
        assert case.expect_application in matching[0].message or case.expect_application in str(matching[0].obj.application)


def test_a_promise_without_its_object_is_a_finding_not_a_pass(prod: Platform) -> None:
    objects = fx.without(fx.healthy_tree(prod), "Cluster", "plinth-pg")
    findings = _findings(prod, objects, "PL-RPO-001")
    assert [(f.obj.key, f.obj.file) for f in findings] == [("Cluster/platform-data/plinth-pg", "platform.yaml")]
    assert "no Cluster plinth-pg rendered" in findings[0].message


def test_rendered_finding_carries_the_file_and_the_message_uses_the_params(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    fx.find(objects, "Kafka", "plinth-kafka")["spec"]["kafka"]["config"]["default.replication.factor"] = 2
    (finding,) = _findings(prod, objects, "PL-RPO-002")
    assert finding.obj.file == "kubernetes/prod/platform-data/fixture/kafka-plinth-kafka.yaml"
    assert finding.message == f"default.replication.factor 2 < {CHECKS['PL-RPO-002'].params['replication_factor']}: RPO 0 needs 3 copies"


def test_percentage_pdb_and_max_unavailable_zero(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    fx.find(objects, "PodDisruptionBudget", "auth")["spec"] = {"maxUnavailable": 0, "selector": {"matchLabels": {"app.kubernetes.io/name": "auth"}}}
    fx.find(objects, "PodDisruptionBudget", "config")["spec"]["minAvailable"] = "100%"
    keys = {(f.obj.key, f.field_path) for f in _findings(prod, objects, "PL-TREE-007")}
    assert keys == {("PodDisruptionBudget/platform-apps/auth", "spec.maxUnavailable"), ("PodDisruptionBudget/platform-apps/config", "spec.minAvailable")}


def test_selectors_see_chart_pods_once_the_charts_are_hydrated(prod: Platform) -> None:
    """A selector in a chart's namespace is judged against the chart's hydrated pods; only when the chart was not
    hydrated is it left unjudged (its pods are unknown, and PL-ARGO-007 says so)."""
    loki = {**STRAY_POLICY, "metadata": {"name": "allow-loki", "namespace": fx.MON},
            "spec": {**STRAY_POLICY["spec"], "podSelector": {"matchLabels": {"app.kubernetes.io/name": "loki"}}}}
    ghost = {**STRAY_POLICY, "metadata": {"name": "allow-ghost", "namespace": fx.MON}}
    findings = _findings(prod, [*fx.healthy_tree(prod), loki, ghost], "PL-TREE-006")
    assert [f.obj.key for f in findings] == ["NetworkPolicy/platform-monitoring/allow-ghost"]
    assert _findings(prod, [*fx.healthy_tree(prod), loki, ghost], "PL-TREE-006", not_hydrated=True) == []


def test_the_healthy_tree_passes_every_check_together(prod: Platform) -> None:
    findings = run_checks(CheckContext.from_objects(prod, fx.healthy_tree(prod), hydrated=fx.healthy_hydrated(prod),
                                                    flows=fx.healthy_flows(prod)), ALL_CHECKS)
    assert findings == [], [f"{f.check_id} {f.obj.key}: {f.message}" for f in findings]


@needs_shared
@needs_charts
def test_fixtures_have_the_real_object_shapes(prod: Platform, chart_crd_dir) -> None:
    """The fixtures the checks are tested on validate against the Kubernetes and CRD schemas, the pinned charts' CRDs
    first (so the checks read real fields)."""
    store = SchemaStore(prod.cluster.kubernetes_version, chart_crd_dir)
    problems = [str(p) for obj in fx.healthy_tree(prod) for p in store.check(obj, f"{obj['kind']}/{obj['metadata']['name']}")]
    assert problems == []


def test_kafka_without_zone_rack_awareness_is_a_zone_loss_finding(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    del fx.find(objects, "Kafka", "plinth-kafka")["spec"]["kafka"]["rack"]
    (finding,) = _findings(prod, objects, "PL-HA-004")
    assert (finding.obj.key, finding.field_path) == ("Kafka/platform-data/plinth-kafka", "spec.kafka.rack.topologyKey")
    assert finding.message.startswith("rack awareness is off: without racks = zones (topology.kubernetes.io/zone)")


def test_a_check_that_cannot_read_an_object_reports_instead_of_crashing(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    fx.find(objects, "Rollout", "frontend")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "lots"
    findings = _findings(prod, objects, "PL-CAP-001")
    assert [(f.check_id, f.obj.key, f.severity) for f in findings] == [("PL-CAP-001", "Check/PL-CAP-001", "error")]
    assert "could not evaluate this tree (PodReadError: Rollout/platform-apps/frontend: expected a Kubernetes quantity" in findings[0].message


def test_percentage_min_available_sets_the_minimum_healthy_replicas(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    fx.find(objects, "PodDisruptionBudget", "frontend")["spec"]["minAvailable"] = "100%"
    (finding,) = _findings(prod, objects, "PL-HA-001")
    assert finding.obj.key == "Rollout/platform-apps/frontend"
    assert finding.message.endswith("it needs 3 (PDB frontend minAvailable 100%)")


def test_clickhouse_backup_settings_are_read_from_the_clickhouse_backup_sidecar(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    sidecar = fx.find(objects, "ClickHouseInstallation", "plinth-ch")["spec"]["templates"]["podTemplates"][0]["spec"]["containers"][1]
    env = {v["name"]: v for v in sidecar["env"]}
    env["S3_REGION"]["value"] = "us-west-2"
    env["BACKUPS_TO_KEEP_REMOTE"]["value"] = "30"
    (region,) = _findings(prod, objects, "PL-BAK-001")
    (retention,) = _findings(prod, objects, "PL-BAK-003")
    assert region.obj.key == retention.obj.key == "ClickHouseInstallation/platform-data/plinth-ch"
    assert "written through region us-west-2, but its bucket plinth-backups-clickhouse lives in us-east-1" in region.message
    assert retention.message == "keeps clickhouse backups 30 days, the spec says 90 days"


def test_loki_retention_needs_the_compactor_switch(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    del fx.find(objects, "Application", "loki")["spec"]["source"]["helm"]["valuesObject"]["loki"]["compactor"]
    (finding,) = _findings(prod, objects, "PL-RET-001")
    assert (finding.obj.key, finding.field_path) == ("Application/platform-system/loki", "spec.source.helm.valuesObject.loki.compactor.retention_enabled")


def test_a_truncated_digest_is_not_a_pin(prod: Platform) -> None:
    objects = fx.edited(fx.healthy_tree(prod))
    fx.find(objects, "RedisSentinel", "plinth-redis-sentinel")["spec"]["kubernetesConfig"]["image"] = "quay.io/opstree/redis-sentinel@sha256:abc"
    (finding,) = _findings(prod, objects, "PL-IMG-001")
    assert (finding.obj.key, finding.field_path) == ("RedisSentinel/platform-data/plinth-redis-sentinel", "spec.kubernetesConfig.image")


def test_a_service_credential_the_catalog_does_not_hold_is_reported(prod: Platform) -> None:
    objects = fx.healthy_tree(prod)
    copy = fx.find(objects, "ExternalSecret", ic.principal_secret("data-workers"))
    copy["spec"]["data"][0]["remoteRef"]["property"] = "another-client-id"
    findings = _findings(prod, objects, "PL-ICE-002")
    assert [f.obj.key for f in findings] == ["ExternalSecret/platform-apps/data-workers-iceberg-credentials"]
    assert "never gets the credentials data-workers presents" in findings[0].message


def test_the_catalog_flow_is_judged_on_both_sides_by_the_flow_analysis(prod: Platform) -> None:
    """PL-ICE-002 reads the flow analysis over the pods: without the catalog servers' ingress rule the servers' side
    (isolated by the namespace's default-deny) refuses data-workers, and the finding names that side and policy."""
    objects = fx.without(fx.healthy_tree(prod), "NetworkPolicy", "iceberg-catalog-server", fx.DATA)
    (finding,) = _findings(prod, objects, "PL-ICE-002")
    assert finding.obj.key == "Rollout/platform-apps/data-workers"
    assert "on 8181: the catalog's ingress isolated by platform-data/default-deny" in finding.message, finding.message
    assert "its egress" not in finding.message


def test_a_managed_store_is_judged_by_the_managed_checks_not_the_operator_ones(prod: Platform) -> None:
    """With PostgreSQL and Redis handed to the cloud and none of their objects rendered, the in-cluster store checks stay
    silent (nothing to find is no finding), and the managed checks pass the example's configuration."""
    platform = fx.spec_changed(prod, {"datastores.postgres.managed_by": "cloud", "datastores.redis.managed_by": "cloud"})
    store_kinds = {"Cluster", "Pooler", "ScheduledBackup", "ObjectStore", "RedisReplication", "RedisSentinel"}
    objects = [o for o in fx.healthy_tree(platform) if o["kind"] not in store_kinds]
    for check_id in ("PL-HA-003", "PL-HA-006", "PL-RPO-001", "PL-BAK-001", "PL-BAK-002", "PL-BAK-003", "PL-MGD-001", "PL-MGD-002"):
        findings = _findings(platform, objects, check_id)
        assert findings == [], [f"{check_id} {f.obj.key}: {f.message}" for f in findings]


def test_a_managed_postgres_without_a_dr_copy_or_pitr_is_a_backup_finding(prod: Platform) -> None:
    from plinth.catalog import managed_stores

    platform = fx.spec_changed(prod, {"datastores.postgres.managed_by": "cloud", "backups.0.retention_days": "forever"})
    messages = [f.message for f in _findings(platform, fx.healthy_tree(platform), "PL-MGD-002")]
    assert any("keeps forever" in m for m in messages), messages
    data = managed_stores.managed_store_data()
    saved = dict(data["aws"]["postgres"]["backups"])
    try:
        data["aws"]["postgres"]["backups"].update(pitr=False, cross_region_copy=None)
        messages = [f.message for f in _findings(prod.model_copy(update={"datastores": platform.datastores, "backups": prod.backups}),
                                                 fx.healthy_tree(platform), "PL-MGD-002")]
    finally:
        data["aws"]["postgres"]["backups"].clear()
        data["aws"]["postgres"]["backups"].update(saved)
    assert any("has no point-in-time recovery" in m for m in messages), messages
    assert any("a region loss takes them with it" in m for m in messages), messages


def test_a_managed_store_no_size_holds_is_a_finding_not_a_crash(prod: Platform) -> None:
    platform = fx.spec_changed(prod, {"datastores.postgres.managed_by": "cloud", "datastores.postgres.resources.limits_cpu": "64"})
    findings = _findings(platform, fx.healthy_tree(platform), "PL-MGD-001")
    assert [f.message for f in findings] == [
        "no RDS for PostgreSQL size holds 64 vCPU and 16 GiB (the limits of datastores.postgres.resources); the largest Plinth "
        "knows is db.r6i.4xlarge"]


def test_an_issuer_synced_after_its_certificates_is_found_on_the_real_tree(prod: Platform) -> None:
    """The internal CA one wave after the stores whose certificates it issues: the app-of-apps would wait forever."""
    from plinth.render.pipeline import render_platform

    rendered = render_platform(prod)
    for item in rendered:
        if item.obj["kind"] == "Application" and item.obj["metadata"]["name"] == "internal-pki":
            item.obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "1"
    ctx = CheckContext.for_hydration(prod, rendered, None)
    findings = run_checks(ctx, [CHECKS["PL-ARGO-009"]])
    assert {f"{f.obj.kind}/{f.obj.namespace}/{f.obj.name}" for f in findings} == {"Certificate/platform-data/plinth-kafka-listener-tls"}
    assert "its ClusterIssuer platform-internal-ca only at Application wave 1" in findings[0].message


def test_inline_redis_configuration_where_the_operator_wants_a_config_map_name_is_found(prod: Platform) -> None:
    """The OT redis-operator mounts the ConfigMap that ``additionalRedisConfig`` names: inline redis.conf lines
    there make a volume no kubelet can mount (the simulated cluster showed the pod spec the operator wrote)."""
    objects = fx.healthy_tree(prod)
    _set("RedisReplication", "plinth-redis", "spec.redisConfig.additionalRedisConfig", "min-replicas-to-write 1\nappendonly yes\n")(objects)
    findings = _findings(prod, objects, "PL-ARGO-004")
    assert [(f.obj.key, f.field_path) for f in findings] == [("RedisReplication/platform-data/plinth-redis", "spec.redisConfig.additionalRedisConfig")]
    assert "ConfigMap" in findings[0].message
    objects = fx.healthy_tree(prod)
    _set("RedisReplication", "plinth-redis", "spec.redisConfig.additionalRedisConfig", redis.CONFIG_MAP)(objects)
    findings = _findings(prod, objects, "PL-ARGO-004")
    assert [(f.obj.key, f.field_path) for f in findings] == [("RedisReplication/platform-data/plinth-redis", "spec.redisConfig.additionalRedisConfig")]
    assert _findings(prod, [*objects, redis.config_map(prod)], "PL-ARGO-004") == []


def test_sentinels_spread_on_the_custom_resources_name_are_not_spread(prod: Platform) -> None:
    """The OT redis-operator labels Sentinel pods ``app: <RedisSentinel>-sentinel``: a spread on ``app: <RedisSentinel>``
    selects none of them, and the real scheduler put all three Sentinels on one node (simulated sync)."""
    objects = fx.healthy_tree(prod)
    spec = fx.find(objects, "RedisSentinel", redis.SENTINEL)["spec"]
    for constraint in spec["topologySpreadConstraints"]:
        constraint["labelSelector"] = {"matchLabels": {"app": redis.SENTINEL}}
    findings = _findings(prod, objects, "PL-HA-006")
    assert [(f.obj.key, f.field_path) for f in findings] == [(f"RedisSentinel/platform-data/{redis.SENTINEL}", "spec.topologySpreadConstraints")]
    assert "below a Sentinel majority" in findings[0].message
