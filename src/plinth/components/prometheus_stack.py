"""kube-prometheus-stack: the Prometheus Operator, Prometheus, Alertmanager, Grafana, node-exporter and
kube-state-metrics, from one pinned chart whose values come from ``platform.observability``.

Prometheus keeps the spec's retention on a volume of the spec's size and selects every
ServiceMonitor, PodMonitor, Probe, ScrapeConfig and PrometheusRule in every namespace, so each
component's monitors and the rules the mixins component renders are picked up without labels to
agree on. Alertmanager runs the spec's replicas as a gossip cluster with the configuration of
``monitoring.alertmanager`` and mounts the PagerDuty key and chat webhook from ExternalSecrets.
Grafana gets Prometheus, Alertmanager, Loki and Tempo as data sources and loads dashboards from
ConfigMaps labelled ``grafana_dashboard``.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.admission import HostAccess
from plinth.kube.conventions import MONITORING_NAMESPACE, PROMETHEUS_FULLNAME
from plinth.kube.scheduling import pool_placement
from plinth.kube.secrets import external_secret
from plinth.monitoring import alertmanager
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Platform
from plinth.kube.flows import ALERT_RECEIVERS, HTTPS, KUBE_DNS, NODES, Flow, Pods, flow, scrape, to_api_server, webhook

NAME = "kube-prometheus-stack"
CHART_RELEASE = f"{NAME}-chart"
"""Application and Helm release of the chart (the component's own objects are synced by the Application ``NAME``)."""
RELEASE = PROMETHEUS_FULLNAME
"""The chart's fullnameOverride: short, because the chart prefixes every object with it."""
CRDS_RELEASE = "prometheus-operator-crds"
"""Application and release of the same chart with only its CRDs (monitoring.coreos.com)."""
CRDS_WAVE = -25
"""Before Argo CD's own Application (-20): the ServiceMonitors and PodMonitors every chart renders, Argo CD's
included, find their CRDs in the cluster when their Application syncs."""
CHART_WAVE = -2
"""After the ExternalSecrets of this component (-3): Grafana's admin and Alertmanager's receiver Secrets exist when
their pods start."""
SECRETS_WAVE = -3
"""The component's folder (its ExternalSecrets): after the secret store (-4)."""

POD_REQUESTS: dict[str, tuple[int, int]] = {
    "prometheus": (1000, 4096),
    "alertmanager": (100, 256),
    "grafana": (200, 512),
    "operator": (100, 256),
    "kube-state-metrics": (100, 256),
    "node-exporter": (50, 64),
}
"""CPU millicores and memory MiB requested by the main container of each pod, set in the values."""

SIDECAR_REQUESTS: dict[str, tuple[int, int]] = {
    "config-reloader": (10, 32),
    "grafana-sidecar": (50, 96),
}
"""Requests of the sidecars: the operator's config reloader (in Prometheus and Alertmanager pods) and
Grafana's two k8s-sidecars (dashboards, data sources)."""

ALERTMANAGER_VOLUME_GIB = 10
"""Alertmanager's volume (silences and notification log)."""
PROMETHEUS_RETENTION_SIZE_PERCENT = 90
"""Share of the Prometheus volume the TSDB may fill before it drops old blocks early (the rest is WAL headroom)."""

DASHBOARD_LABEL = "grafana_dashboard"
"""Label (value "1") of ConfigMaps the Grafana sidecar loads as dashboards."""
GRAFANA_ADMIN_SECRET = "grafana-admin"

DATASOURCE_UIDS = {"prometheus": "prometheus", "loki": "loki", "tempo": "tempo", "alertmanager": "alertmanager"}
"""Stable data source UIDs the dashboards reference."""
TRACE_ID_LABEL = "trace_id"
"""Exemplar label (and log field) holding the trace id: what links metrics and logs to Tempo."""

LOKI_URL = f"http://loki-gateway.{MONITORING_NAMESPACE}.svc"
TEMPO_URL = f"http://tempo-query-frontend.{MONITORING_NAMESPACE}.svc:3200"
"""Where other components (OpenCost, KEDA, Argo Rollouts analysis) query Prometheus."""

POD_LABELS = {
    "prometheus": {"app.kubernetes.io/name": "prometheus"},
    "alertmanager": {"app.kubernetes.io/name": "alertmanager"},
    "grafana": {"app.kubernetes.io/name": "grafana"},
    "operator": {"app": "kube-prometheus-stack-operator"},  # chart name, not fullname
    "kube-state-metrics": {"app.kubernetes.io/name": "kube-state-metrics"},
}
"""Pod labels the chart sets (NetworkPolicies select on them)."""


def _resources(part: str) -> dict[str, Any]:
    cpu, mem = POD_REQUESTS[part]
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}}


def _sidecar_resources(sidecar: str) -> dict[str, Any]:
    # The chart passes the reloader's CPU limit to the operator as a flag: it must be set.
    cpu, mem = SIDECAR_REQUESTS[sidecar]
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"cpu": f"{cpu * 10}m", "memory": f"{mem * 2}Mi"}}


def _replicas(platform: Platform) -> dict[str, int]:
    obs = platform.observability
    return {"prometheus": obs.prometheus.replicas, "alertmanager": obs.alerting.alertmanager_replicas,
            "grafana": obs.grafana_replicas, "operator": 1, "kube-state-metrics": 1}


def _all_namespaces_selector() -> dict[str, Any]:
    return {}


def prometheus_spec(platform: Platform) -> dict[str, Any]:
    """``prometheus.prometheusSpec``: retention and volume from the spec, every monitor and rule selected."""
    prom = platform.observability.prometheus
    spec: dict[str, Any] = {
        "replicas": prom.replicas,
        "retention": f"{prom.retention_days}d",
        "retentionSize": f"{prom.storage_gib * PROMETHEUS_RETENTION_SIZE_PERCENT // 100}GiB",
        "storageSpec": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{prom.storage_gib}Gi"}},
        }}},
        "resources": _resources("prometheus"),
        "externalLabels": {"cluster": platform.cluster.name},
        "enableRemoteWriteReceiver": True,  # Tempo's metrics-generator writes span metrics here
        "enableFeatures": ["exemplar-storage"],  # keeps the trace ids of exemplars (metrics -> traces in Grafana)
        **pool_placement(platform, MONITORING_NAMESPACE),
    }
    for kind in ("serviceMonitor", "podMonitor", "probe", "scrapeConfig", "rule"):
        spec[f"{kind}SelectorNilUsesHelmValues"] = False
        spec[f"{kind}Selector"] = _all_namespaces_selector()
        spec[f"{kind}NamespaceSelector"] = _all_namespaces_selector()
    return spec


def grafana_values(platform: Platform) -> dict[str, Any]:
    """Values of the Grafana subchart: data sources, dashboard sidecar, admin from an ExternalSecret."""
    return {
        "enabled": True,
        "replicas": platform.observability.grafana_replicas,
        "resources": _resources("grafana"),
        **pool_placement(platform, MONITORING_NAMESPACE),
        "admin": {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
        "podDisruptionBudget": {"minAvailable": 1},
        "sidecar": {
            "resources": _sidecar_resources("grafana-sidecar"),
            "dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": "1", "searchNamespace": MONITORING_NAMESPACE},
            "datasources": {"enabled": True, "defaultDatasourceEnabled": True, "uid": DATASOURCE_UIDS["prometheus"],
                            # metrics -> traces: an exemplar's trace_id opens the trace in Tempo
                            "exemplarTraceIdDestinations": {"datasourceUid": DATASOURCE_UIDS["tempo"],
                                                            "traceIdLabelName": TRACE_ID_LABEL},
                            "alertmanager": {"enabled": True, "uid": DATASOURCE_UIDS["alertmanager"]}},
        },
        "additionalDataSources": [
            {"name": "Loki", "type": "loki", "uid": DATASOURCE_UIDS["loki"], "access": "proxy", "url": LOKI_URL,
             "jsonData": {"derivedFields": [{"name": "TraceID", "matcherRegex": f"{TRACE_ID_LABEL}=(\\w+)",
                                             "datasourceUid": DATASOURCE_UIDS["tempo"], "url": "$${__value.raw}"}]}},
            {"name": "Tempo", "type": "tempo", "uid": DATASOURCE_UIDS["tempo"], "access": "proxy", "url": TEMPO_URL,
             "jsonData": {
                 # traces -> logs: the span's service's pods' logs around the span, filtered by its trace id
                 "tracesToLogsV2": {"datasourceUid": DATASOURCE_UIDS["loki"], "filterByTraceID": True,
                                    "spanStartTimeShift": "-5m", "spanEndTimeShift": "5m",
                                    "tags": [{"key": "service.name", "value": "app"}]},
                 # traces -> metrics: the span's service's request rate and errors (span metrics)
                 "tracesToMetrics": {"datasourceUid": DATASOURCE_UIDS["prometheus"],
                                     "spanStartTimeShift": "-5m", "spanEndTimeShift": "5m",
                                     "tags": [{"key": "service.name", "value": "service"}],
                                     "queries": [
                                         {"name": "Request rate", "query": "sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))"},
                                         {"name": "Error rate",
                                          "query": 'sum(rate(traces_spanmetrics_calls_total{$__tags,status_code="STATUS_CODE_ERROR"}[5m]))'},
                                     ]},
                 "serviceMap": {"datasourceUid": DATASOURCE_UIDS["prometheus"]},
                 "lokiSearch": {"datasourceUid": DATASOURCE_UIDS["loki"]},
                 "nodeGraph": {"enabled": True}}},
        ],
        "serviceMonitor": {"enabled": True},
    }


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of kube-prometheus-stack, from the spec."""
    placement = pool_placement(platform, MONITORING_NAMESPACE)
    replicas = _replicas(platform)
    return {
        "fullnameOverride": RELEASE,
        "crds": {"enabled": False},  # the prometheus-operator-crds Application installs them, earlier
        # The managed cluster runs DNS in kube-system, which the platform-monitoring project does not write to: no
        # CoreDNS/kube-dns Service (the chart would put one in kube-system) and no scrape of it.
        "coreDns": {"enabled": False},
        "kubeDns": {"enabled": False},
        # The managed control plane (EKS/GKE/AKS) exposes no etcd, scheduler, controller-manager or kube-proxy metrics.
        "kubeEtcd": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeProxy": {"enabled": False},
        # Upstream kubernetes-mixin rules stay on, except the control-plane groups (not scrapable on a
        # managed control plane) and the Prometheus/Alertmanager groups, which alerts() below replaces
        # with unit-tested rules routed by the platform's severities (no duplicate pages).
        "defaultRules": {"create": True, "rules": {"etcd": False, "kubeSchedulerAlerting": False,
                                                   "kubeSchedulerRecording": False, "kubeControllerManager": False,
                                                   "kubeProxy": False, "prometheus": False, "alertmanager": False},
                         # node-exporter runs without its systemd collector (off by default, needs the host's D-Bus):
                         # these two alerts would read node_systemd_* series that never exist (plinth check PL-OBS-001).
                         "disabled": {alert: True for alert in DISABLED_DEFAULT_ALERTS}},
        # Every node is Linux: the chart's Node Exporter dashboards for AIX and macOS read series no node produces.
        "nodeExporter": {"operatingSystems": {"aix": {"enabled": False}, "darwin": {"enabled": False}}},
        "prometheusOperator": {
            "resources": _resources("operator"),
            "prometheusConfigReloader": {"resources": _sidecar_resources("config-reloader")},
            # The admission webhook's serving certificate is issued by cert-manager (the chart's own self-signed root
            # and CA Issuer; cert-manager's CA injector fills the webhooks' caBundle) instead of the chart's certgen
            # Jobs: no cluster-wide Jobs that patch webhook configurations, and the certificate is renewed.
            "admissionWebhooks": {"certManager": {"enabled": True}},
            **placement,
        },
        "prometheus": {"prometheusSpec": prometheus_spec(platform)},
        "alertmanager": {
            "config": alertmanager.alertmanager_config(platform),
            "alertmanagerSpec": {
                "replicas": replicas["alertmanager"],
                "secrets": alertmanager.mounted_secrets(),
                "resources": _resources("alertmanager"),
                "storage": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": f"{ALERTMANAGER_VOLUME_GIB}Gi"}},
                }}},
                **placement,
            },
            "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        },
        "grafana": grafana_values(platform),
        # Pod and node labels dashboards group by (service name on pods, pool on nodes).
        "kube-state-metrics": {"resources": _resources("kube-state-metrics"), **placement,
                               "metricLabelsAllowlist": ["pods=[app.kubernetes.io/name]", "nodes=[plinth.dev/pool]"]},
        # node-exporter runs on every node of every pool: it tolerates every pool's taints.
        "prometheus-node-exporter": {"resources": _resources("node-exporter"), "tolerations": _all_pool_tolerations(platform)},
    }


def _all_pool_tolerations(platform: Platform) -> list[dict[str, str]]:
    return [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
            for pool in platform.node_pools.values() for t in pool.taints]


DISABLED_DEFAULT_ALERTS = ("NodeSystemdServiceFailed", "NodeSystemdServiceCrashlooping")
"""Upstream kubernetes-mixin alerts left out: they read node-exporter's systemd collector, which is not switched on."""

CRD_ONLY_OFF = ("alertmanager", "grafana", "kubernetesServiceMonitors", "kubeApiServer", "kubelet", "kubeControllerManager",
                "coreDns", "kubeDns", "kubeEtcd", "kubeScheduler", "kubeProxy", "kubeStateMetrics", "nodeExporter",
                "prometheusOperator", "prometheus", "thanosRuler", "windowsMonitoring")
"""Parts of kube-prometheus-stack switched off in the CRD-only release."""


def crd_values() -> dict[str, Any]:
    """Values of the CRD-only release: the chart's ``crds`` subchart and nothing else."""
    values: dict[str, Any] = {"fullnameOverride": RELEASE, "crds": {"enabled": True}, "defaultRules": {"create": False}}
    values.update({part: {"enabled": False} for part in CRD_ONLY_OFF})
    return values


def charts(platform: Platform) -> list[HelmRelease]:
    """The prometheus-operator CRDs first (a CRD-only release of the pinned chart, before Argo CD itself: a platform
    team installs monitoring CRDs before anything that ships ServiceMonitors, rather than switching monitors off where
    the CRDs are missing), then kube-prometheus-stack in platform-monitoring."""
    return [
        HelmRelease(name=CRDS_RELEASE, chart_key="kube-prometheus-stack", namespace=MONITORING_NAMESPACE, values=crd_values(),
                    sync_wave=CRDS_WAVE),
        HelmRelease(name=CHART_RELEASE, chart_key="kube-prometheus-stack", namespace=MONITORING_NAMESPACE,
                    values=values(platform), sync_wave=CHART_WAVE),
    ]


def objects(platform: Platform) -> list[KubeObject]:
    """ExternalSecrets: PagerDuty routing key, chat webhook URL, heartbeat token, Grafana admin credentials."""
    return [
        external_secret(platform, alertmanager.PAGERDUTY_SECRET, MONITORING_NAMESPACE, NAME,
                        {alertmanager.PAGERDUTY_SECRET_KEY: "monitoring/pagerduty:routing_key"}),
        external_secret(platform, alertmanager.CHAT_SECRET, MONITORING_NAMESPACE, NAME,
                        {alertmanager.CHAT_SECRET_KEY: "monitoring/chat-webhook:url"}),
        external_secret(platform, alertmanager.HEARTBEAT_SECRET, MONITORING_NAMESPACE, NAME,
                        {alertmanager.HEARTBEAT_SECRET_KEY: "monitoring/heartbeat:token"}),
        external_secret(platform, GRAFANA_ADMIN_SECRET, MONITORING_NAMESPACE, NAME,
                        {"admin-user": "monitoring/grafana-admin:user", "admin-password": "monitoring/grafana-admin:password"}),
    ]


NOTIFICATION_FAILURE_FOR = "10m"
"""How long notifications may keep failing before someone is told (through the other path, see below)."""


def alerts(platform: Platform) -> list[RuleGroup]:
    """The monitoring stack watching itself: alerts that cannot be sent, rules that fail, a broken Alertmanager cluster."""
    am_replicas = platform.observability.alerting.alertmanager_replicas
    return [RuleGroup("monitoring-stack", (
        AlertRule(
            name="AlertmanagerNotificationsFailing",
            expr='sum by (namespace, service, integration) (rate(alertmanager_notifications_failed_total[5m])) > 0',
            for_=NOTIFICATION_FAILURE_FOR,
            severity="critical",
            summary="Alertmanager cannot deliver {{ $labels.integration }} notifications",
            description=f"Alertmanager has failed to send notifications through {{{{ $labels.integration }}}} for {NOTIFICATION_FAILURE_FOR}: alerts may not reach anyone. Check the routing key / webhook secret and egress.",
        ),
        AlertRule(
            name="PrometheusNotificationsFailing",
            expr='sum by (namespace, service) (rate(prometheus_notifications_errors_total[5m])) > 0',
            for_=NOTIFICATION_FAILURE_FOR,
            severity="critical",
            summary="Prometheus cannot send alerts to Alertmanager",
            description=f"Prometheus {{{{ $labels.service }}}} has failed to send alerts to Alertmanager for {NOTIFICATION_FAILURE_FOR}: firing alerts are not delivered.",
        ),
        AlertRule(
            name="PrometheusRuleEvaluationFailures",
            expr='sum by (namespace, service, rule_group) (rate(prometheus_rule_evaluation_failures_total[5m])) > 0',
            for_="15m",
            severity="warning",
            summary="Prometheus rule group {{ $labels.rule_group }} fails to evaluate",
            description="Rules of group {{ $labels.rule_group }} have failed to evaluate for 15 minutes: their alerts cannot fire.",
        ),
        AlertRule(
            name="AlertmanagerClusterDegraded",
            expr=f'min by (namespace, service) (alertmanager_cluster_members) < {am_replicas}',
            for_="15m",
            severity="warning",
            summary="Alertmanager cluster has fewer than {am} members".format(am=am_replicas),
            description=f"Alertmanager {{{{ $labels.service }}}} sees fewer than {am_replicas} cluster members for 15 minutes: duplicate or lost notifications are possible.",
        ),
        AlertRule(
            name="PrometheusNotConnectedToAlertmanager",
            expr='max by (namespace, service) (prometheus_notifications_alertmanagers_discovered) < 1',
            for_="10m",
            severity="critical",
            summary="Prometheus has discovered no Alertmanager",
            description="Prometheus {{ $labels.service }} has had no Alertmanager to send alerts to for 10 minutes: no alert reaches anyone.",
        ),
        AlertRule(
            name="PrometheusTSDBCompactionsFailing",
            expr='sum by (namespace, service) (increase(prometheus_tsdb_compactions_failed_total[3h])) > 0',
            for_="30m",
            severity="warning",
            summary="Prometheus fails to compact its TSDB",
            description=f"Prometheus {{{{ $labels.service }}}} has failed to compact blocks: its volume ({platform.observability.prometheus.storage_gib} GiB) fills faster than {platform.observability.prometheus.retention_days} days of retention allow.",
        ),
        AlertRule(
            name="PrometheusConfigReloadFailed",
            expr='max by (namespace, service) (prometheus_config_last_reload_successful) == 0',
            for_="10m",
            severity="warning",
            summary="Prometheus configuration reload failed",
            description="Prometheus {{ $labels.service }} could not load its latest configuration for 10 minutes: new monitors and rules are ignored.",
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the monitoring stack's alerts."""
    am = 'namespace="platform-monitoring",service="kps-alertmanager"'
    prom = 'namespace="platform-monitoring",service="kps-prometheus"'
    members = platform.observability.alerting.alertmanager_replicas
    return [
        AlertTest.one_series("AlertmanagerNotificationsFailing", f'alertmanager_notifications_failed_total{{{am},integration="pagerduty",pod="a-0"}}',
                  "0+2x30", "0x30", "20m", {"namespace": "platform-monitoring", "service": "kps-alertmanager", "integration": "pagerduty"}),
        AlertTest.one_series("PrometheusNotificationsFailing", f'prometheus_notifications_errors_total{{{prom},pod="p-0"}}',
                  "0+1x30", "0x30", "20m", {"namespace": "platform-monitoring", "service": "kps-prometheus"}),
        AlertTest.one_series("PrometheusRuleEvaluationFailures", f'prometheus_rule_evaluation_failures_total{{{prom},rule_group="slo"}}',
                  "0+1x30", "0x30", "25m", {"namespace": "platform-monitoring", "service": "kps-prometheus", "rule_group": "slo"}),
        AlertTest.one_series("AlertmanagerClusterDegraded", f'alertmanager_cluster_members{{{am},pod="a-0"}}',
                  f"{members - 1}x30", f"{members}x30", "20m", {"namespace": "platform-monitoring", "service": "kps-alertmanager"}),
        AlertTest.one_series("PrometheusNotConnectedToAlertmanager", f'prometheus_notifications_alertmanagers_discovered{{{prom},pod="p-0"}}',
                  "0x30", f"{members}x30", "15m", {"namespace": "platform-monitoring", "service": "kps-prometheus"}),
        AlertTest.one_series("PrometheusTSDBCompactionsFailing", f'prometheus_tsdb_compactions_failed_total{{{prom},pod="p-0"}}',
                  "0+1x60", "0x60", "45m", {"namespace": "platform-monitoring", "service": "kps-prometheus"}),
        AlertTest.one_series("PrometheusConfigReloadFailed", f'prometheus_config_last_reload_successful{{{prom},pod="p-0"}}',
                  "0x30", "1x30", "15m", {"namespace": "platform-monitoring", "service": "kps-prometheus"}),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Platform health: scrape targets down, firing alerts, node and pod health, notification failures."""
    return [
        Panel("platform-health", "Scrape targets up (share per job)",
              ("avg by (job) (up)",), unit="percentunit", legend=("{{job}}",)),
        Panel("platform-health", "Firing alerts by severity",
              ('sum by (severity) (ALERTS{alertstate="firing"})',), kind="stat", legend=("{{severity}}",)),
        Panel("platform-health", "Pods not ready by namespace",
              ('sum by (namespace) (kube_pod_status_ready{condition="false"})',), legend=("{{namespace}}",)),
        Panel("platform-health", "Nodes not ready",
              ('sum(kube_node_status_condition{condition="Ready",status!="true"})',), kind="stat"),
        Panel("platform-health", "Node CPU busy",
              ('1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))',),
              unit="percentunit", legend=("{{instance}}",)),
        Panel("platform-health", "Node memory available",
              ("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",), unit="percentunit", legend=("{{instance}}",)),
        Panel("platform-health", "Alert notifications failing",
              ("sum by (integration) (rate(alertmanager_notifications_failed_total[$__rate_interval]))",),
              legend=("{{integration}}",)),
        Panel("platform-health", "Container restarts (1h) by namespace",
              ("sum by (namespace) (increase(kube_pod_container_status_restarts_total[1h]))",), legend=("{{namespace}}",)),
    ]


KUBELET_PORT = 10250
ALERTMANAGER_PORT = 9093
ALERTMANAGER_MESH_PORT = 9094
PROMETHEUS_WEB_PORT = 9090
GRAFANA_PORT = 3000
LOKI_GATEWAY_PORT = 8080
TEMPO_QUERY_PORT = 3200
RELOADER_PORT = 8080
KSM_PORT = 8080
OPERATOR_PORT = 10250
NODE_EXPORTER_PORT = 9100
NODE_EXPORTER = f"{CHART_RELEASE}-prometheus-node-exporter"
"""node-exporter's DaemonSet and ServiceAccount (the subchart's full name under the chart's release)."""
NODE_EXPORTER_HOST_ACCESS = HostAccess(MONITORING_NAMESPACE, daemonset=NODE_EXPORTER, service_account=NODE_EXPORTER,
                                       host_network=True, host_pid=True, host_paths=("/", "/proc", "/sys"),
                                       host_ports=(NODE_EXPORTER_PORT,))
"""The host's network and PID namespaces and its /, /proc and /sys read-only: what node-exporter reads node metrics
from; with host network its metrics port is a host port."""
COREDNS_METRICS_PORT = 9153


def flows(platform: Platform) -> list[Flow]:
    """The monitoring stack: Prometheus discovers targets through the API server, scrapes the API server and the
    kubelets (every other target is implied by its ServiceMonitor/PodMonitor) and alerts Alertmanager; Alertmanager
    gossips and notifies PagerDuty and chat; Grafana reads every data source; the operator and kube-state-metrics watch
    the API."""
    ns = MONITORING_NAMESPACE
    prometheus, alertmanager, grafana = (Pods.of(ns, POD_LABELS[p]) for p in ("prometheus", "alertmanager", "grafana"))
    return [
        to_api_server(prometheus, "service discovery and the API server's metrics"),
        flow(prometheus, NODES, KUBELET_PORT, "kubelet and cAdvisor metrics"),
        flow(prometheus, alertmanager, ALERTMANAGER_PORT, "Prometheus sends alerts"),
        flow(alertmanager, alertmanager, ALERTMANAGER_MESH_PORT, "Alertmanager's cluster gossip (TCP)"),
        flow(alertmanager, alertmanager, ALERTMANAGER_MESH_PORT, "Alertmanager's cluster gossip (UDP)", "UDP"),
        flow(alertmanager, ALERT_RECEIVERS, HTTPS,
             "pages (PagerDuty Events API), warnings (chat webhook) and the Watchdog's pings (heartbeat service)"),
        flow(grafana, prometheus, PROMETHEUS_WEB_PORT, "dashboards query Prometheus"),
        flow(grafana, alertmanager, ALERTMANAGER_PORT, "the Alertmanager data source"),
        flow(grafana, Pods.of(ns, {"app.kubernetes.io/name": "loki", "app.kubernetes.io/component": "gateway"}), LOKI_GATEWAY_PORT,
             "the Loki data source"),
        flow(grafana, Pods.of(ns, {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/component": "query-frontend"}),
             TEMPO_QUERY_PORT, "the Tempo data source"),
        to_api_server(grafana, "the sidecars load dashboards and data sources from ConfigMaps"),
        to_api_server(Pods.of(ns, POD_LABELS["operator"]), "the Prometheus Operator reconciles Prometheus, Alertmanager, monitors"),
        to_api_server(Pods.of(ns, POD_LABELS["kube-state-metrics"]), "kube-state-metrics watches every object"),
        scrape(prometheus, (PROMETHEUS_WEB_PORT, RELOADER_PORT)), scrape(alertmanager, (ALERTMANAGER_PORT, RELOADER_PORT)),
        scrape(grafana, GRAFANA_PORT), scrape(Pods.of(ns, POD_LABELS["kube-state-metrics"]), KSM_PORT),
        scrape(Pods.of(ns, POD_LABELS["operator"]), OPERATOR_PORT), scrape(NODES, NODE_EXPORTER_PORT, "node-exporter (host network)"),
        scrape(KUBE_DNS, COREDNS_METRICS_PORT, "CoreDNS metrics"),
        webhook(Pods.of(ns, POD_LABELS["operator"]), OPERATOR_PORT, "the operator's admission webhook (PrometheusRule validation)"),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=SECRETS_WAVE,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=flows,
    host_access=(NODE_EXPORTER_HOST_ACCESS,),
)
