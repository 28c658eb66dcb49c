"""platform-apps: every service of the spec, from its few lines alone.

Per service: a ServiceAccount (no token), an Argo Rollout (``service_rollout``: the pod template of
``service_deployment`` — image by digest when promoted, requests/limits, startup/liveness/readiness
probes, the restricted security context, the apps pool, spread over zones and nodes — with the
environment's canary steps and analysis from ``delivery``), a Service, a PodDisruptionBudget, a
ServiceMonitor, the autoscaler of its scaling row (HPA on CPU, or a KEDA ScaledObject on request rate /
Kafka lag / CPU) scaling the Rollout, a Certificate from the internal CA (service-to-service TLS), an
ExternalSecret per data store it uses, its network flows (``flows``: callers in, called services and its data
stores out; the NetworkPolicies are rendered from them) and, when it is public, an HTTPRoute whose backends are the
stable and canary Services Argo Rollouts weights through the Gateway API plugin.

The Rollout embeds its pod template instead of referencing a Deployment (``workloadRef``): Argo
Rollouts documents ``workloadRef`` as a way to migrate a live Deployment, which then has to be scaled
to zero by the controller (a field Argo CD would also own) and which KEDA cannot read a pod template
through; an embedded template is one object that Git, the autoscaler and the checks all see.

Alerts: multi-window multi-burn-rate SLO alerts on the request-serving services and saturation at
max replicas. Request metrics are the services' own ``http_requests_total`` /
``http_request_duration_seconds`` (labels ``code``; Prometheus adds ``namespace`` and ``service``).
"""

from __future__ import annotations

import math
from typing import Any

from plinth.components import alloy, delivery, iceberg_catalog
from plinth.components.base import Component, KubeObject
from plinth.components.internal_pki import INTERNAL_CA
from plinth.components.envoy_gateway import NAMESPACE as GATEWAY_NAMESPACE
from plinth.components.envoy_gateway import PROXY_POD_LABELS, http_route
from plinth.kube.conventions import DATASTORE_NAMES, MONITORING_NAMESPACE, PROMETHEUS_URL, uses_label
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement, spread_constraints
from plinth.kube.secrets import external_secret, identity_secret
from plinth.kube.workloads import restricted_container_security_context, restricted_pod_security_context
from plinth.monitoring.dashboards import LEGEND, POD_NAME_LABEL, RATE, SERVICE_VARIABLE, SVC, by_service_name, ready_pods, selected_service
from plinth.monitoring.conventions import APP_REQUEST_DURATION, APP_REQUESTS_TOTAL, PIPELINE_WORKER_LABEL
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RecordingRule, RuleGroup
from plinth.spec import derived
from plinth.spec.access import IDENTITY_STORES, consumer_group, lag_reader_identity, store_identity
from plinth.spec.model import CpuTrigger, Platform, QueueDepthTrigger, RequestRateTrigger, Service
from plinth.kube.conventions import DATASTORE_CLIENT_PODS
from plinth.kube.flows import CLOUD_OBJECT_STORAGE, MANAGED_STORES, Flow, Pods, flow, scrape

NAME = "app-services"
NAMESPACE = "platform-apps"
DATA_NAMESPACE = "platform-data"

REQUESTS_METRIC = "http_requests_total"
"""Counter every service exports per request, labelled ``code`` (HTTP status)."""
DURATION_METRIC = "http_request_duration_seconds"
"""Histogram of request durations every service exports."""
REQUEST_RATE_WINDOW = "2m"
"""Rate window of the request-rate trigger: short enough to follow spikes, long enough to smooth scrapes."""
KAFKA_BOOTSTRAP = f"{DATASTORE_NAMES['kafka']}-kafka-bootstrap.{DATA_NAMESPACE}.svc:9093"
"""Strimzi's bootstrap Service of the platform's Kafka (the TLS listener; SCRAM-SHA-512)."""
KAFKA_SASL_MECHANISM = "SCRAM-SHA-512"
KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
"""How services reach Kafka: TLS (the broker certificate is the internal CA's, at ``TLS_PATH``/ca.crt) and SCRAM."""
STORE_ENDPOINTS: dict[str, str] = {
    "postgres": f"{DATASTORE_NAMES['postgres']}-pooler-rw.{DATA_NAMESPACE}.svc:5432",
    "clickhouse": f"clickhouse-{DATASTORE_NAMES['clickhouse']}.{DATA_NAMESPACE}.svc:9000",
    "redis": f"{DATASTORE_NAMES['redis']}.{DATA_NAMESPACE}.svc:6379",
    "kafka": KAFKA_BOOTSTRAP,
}
"""Address each data store is reached at (names from render/conventions.py)."""
STORE_CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    "postgres": ("username", "password"),
    "clickhouse": ("username", "password"),
    "redis": ("username", "password"),
    "kafka": ("username", "password"),
    "iceberg": ("client-id", "client-secret"),
}
"""Keys of each store's credential Secret (written by External Secrets, mounted as files): the service's own
identity in the store (``plinth.spec.access``), or its Iceberg catalog principal (one entry of the identities' subtree
the catalog's setup job reads too)."""
MANAGED_STORE_ADDRESS_KEYS = ("host", "port")
"""Extra keys of a cloud-managed store's credential Secret: its address, which the cloud layer writes beside the
credentials (``derived.store_credentials_secret``), since it is known only once the database exists."""


def store_credential_keys(platform: Platform, store: str) -> tuple[str, ...]:
    """Keys of a service's credential Secret for ``store``: the credentials, and the address when the cloud manages it."""
    keys = STORE_CREDENTIAL_KEYS[store]
    return (*MANAGED_STORE_ADDRESS_KEYS, *keys) if store in derived.managed_stores(platform) else keys


OBJECT_STORE_PORT = 443
"""Iceberg's data files live in the cloud's object storage, reached over HTTPS with the catalog's vended credentials."""
CREDENTIALS_PATH = "/var/run/secrets/plinth"
TLS_PATH = "/var/run/secrets/plinth/tls"
"""Where a service finds its internal-CA certificate (tls.crt, tls.key, ca.crt) for service-to-service TLS."""
TLS_DURATION = "2160h"
TLS_RENEW_BEFORE = "720h"
"""90-day workload certificates, renewed 30 days before expiry."""
TMP_SIZE_LIMIT = "64Mi"
SCALE_UP_STABILIZATION_SECONDS = 0
"""Scale up at once; only scale-down is damped (the spec's window)."""
SCALE_DOWN_PERCENT_PER_MINUTE = 50
"""At most half the replicas are removed per minute once the stabilisation window has passed."""


# --------------------------------------------------------------------------- names and labels


def selector_labels(name: str) -> dict[str, str]:
    """Labels selecting one service's pods (Service, PDB, spread, NetworkPolicy)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": NAME}


def pod_labels(platform: Platform, name: str) -> dict[str, str]:
    """Pod labels: selector labels, the common ones, and ``uses-<store>`` for each data store it uses."""
    svc = platform.services[name]
    result = labels(NAME, name, version=_version_label(svc))
    result.update(selector_labels(name))
    for store in sorted(svc.uses):
        result[uses_label(store)] = "true"
    if isinstance(svc.scaling.trigger, QueueDepthTrigger):
        result[PIPELINE_WORKER_LABEL] = "true"
    return result


def _version_label(svc: Service) -> str:
    return svc.image.tag[:63]


def tls_secret(name: str) -> str:
    """Name of the Secret cert-manager writes with a service's internal TLS certificate."""
    return f"{name}-tls"


def credentials_secret(name: str, store: str) -> str:
    """Name of the Secret External Secrets writes for a service's store credentials."""
    return f"{name}-{store}-credentials"


def request_serving(platform: Platform) -> list[str]:
    """Services that answer requests (public, or called by another service): they get SLO alerts."""
    called = {c for svc in platform.services.values() for c in svc.calls}
    return [n for n, s in sorted(platform.services.items()) if s.public_host or n in called]


def replicas_left_after_zone_loss(replicas: int, zones: int) -> int:
    """Replicas still running after the fullest zone is lost, with zone skew at most 1."""
    return replicas - math.ceil(replicas / zones)


def pdb_max_unavailable(min_replicas: int) -> int:
    """Pods a drain may evict at once: keeps >= 2/3 of the minimum running, and always allows one."""
    return max(1, min_replicas - math.ceil(2 * min_replicas / 3))


# --------------------------------------------------------------------------- workload


def _probe(path: str, *, period: int, failures: int, initial: int = 0) -> dict[str, Any]:
    probe: dict[str, Any] = {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period,
                             "timeoutSeconds": 2, "failureThreshold": failures}
    if initial:
        probe["initialDelaySeconds"] = initial
    return probe


def _env(platform: Platform, name: str) -> list[dict[str, Any]]:
    svc = platform.services[name]
    env: list[dict[str, Any]] = [
        {"name": "PLINTH_SERVICE", "value": name},
        {"name": "PLINTH_ENVIRONMENT", "value": platform.environment},
        {"name": "PORT", "value": str(svc.port)},
        {"name": "METRICS_PORT", "value": str(svc.metrics_port)},
        {"name": "CREDENTIALS_DIR", "value": CREDENTIALS_PATH},
    ]
    for store in sorted(svc.uses):
        # A cloud-managed store's address is known once the cloud layer built it: the credential files carry it.
        if store in STORE_ENDPOINTS and store not in derived.managed_stores(platform):
            env.append({"name": f"{store.upper()}_ADDRESS", "value": STORE_ENDPOINTS[store]})
    if "iceberg" in svc.uses:
        # pyiceberg/Spark/Trino REST catalog settings: the URI, the warehouse (catalog) name, the OAuth scope; the
        # principal's client-id and client-secret are files under CREDENTIALS_DIR/iceberg.
        env.append({"name": "ICEBERG_CATALOG_URI", "value": iceberg_catalog.catalog_uri()})
        env.append({"name": "ICEBERG_WAREHOUSE", "value": platform.datastores.iceberg.catalog.warehouse})
        env.append({"name": "ICEBERG_SCOPE", "value": "PRINCIPAL_ROLE:ALL"})
    if "postgres" in svc.uses:
        env.append({"name": "POSTGRES_DATABASE", "value": store_identity(platform, name, "postgres").database})
    if "clickhouse" in svc.uses:
        env.append({"name": "CLICKHOUSE_DATABASE", "value": store_identity(platform, name, "clickhouse").database})
    if "redis" in svc.uses:
        env.append({"name": "REDIS_KEY_PREFIX", "value": f"{name}:"})
    if "kafka" in svc.uses:
        env.append({"name": "KAFKA_SECURITY_PROTOCOL", "value": KAFKA_SECURITY_PROTOCOL})
        env.append({"name": "KAFKA_SASL_MECHANISM", "value": KAFKA_SASL_MECHANISM})
        env.append({"name": "KAFKA_CA_FILE", "value": f"{TLS_PATH}/ca.crt"})
        if svc.produces:
            env.append({"name": "KAFKA_PRODUCE_TOPICS", "value": ",".join(svc.produces)})
        if svc.consumes:
            env.append({"name": "KAFKA_CONSUME_TOPICS", "value": ",".join(svc.consumes)})
            env.append({"name": "KAFKA_CONSUMER_GROUP", "value": consumer_group(platform, name)})
    if isinstance(svc.scaling.trigger, QueueDepthTrigger):
        env.append({"name": "KAFKA_TOPIC", "value": svc.scaling.trigger.topic})
    return env + trace_env(platform, name)


def trace_env(platform: Platform, name: str) -> list[dict[str, Any]]:
    """OpenTelemetry SDK settings (the specification's environment variables): traces as OTLP to the collector on the
    pod's node (Alloy), sampled as the spec says; metrics stay Prometheus-scraped and logs stay on stdout."""
    tracing = platform.observability.tracing
    return [
        {"name": "OTEL_SERVICE_NAME", "value": name},
        {"name": "OTEL_RESOURCE_ATTRIBUTES",
         "value": f"deployment.environment.name={platform.environment},k8s.namespace.name={NAMESPACE},"
                  f"service.version={_version_label(platform.services[name])}"},
        {"name": "OTEL_TRACES_EXPORTER", "value": "otlp"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": alloy.otlp_endpoint(tracing.protocol)},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": tracing.protocol},
        {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
        {"name": "OTEL_TRACES_SAMPLER_ARG", "value": f"{tracing.sampling_ratio:g}"},
        {"name": "OTEL_METRICS_EXPORTER", "value": "none"},
        {"name": "OTEL_LOGS_EXPORTER", "value": "none"},
    ]


def service_deployment(platform: Platform, name: str) -> KubeObject:
    """The service's pods as a Deployment, from the spec alone: the source ``service_rollout`` converts
    (the Deployment itself is not rendered)."""
    svc = platform.services[name]
    res = svc.resources
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "tls", "mountPath": TLS_PATH, "readOnly": True}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
                                     {"name": "tls", "secret": {"secretName": tls_secret(name), "defaultMode": 0o440}}]
    for store in sorted(svc.uses):
        volume = f"{store}-credentials"
        mounts.append({"name": volume, "mountPath": f"{CREDENTIALS_PATH}/{store}", "readOnly": True})
        volumes.append({"name": volume, "secret": {"secretName": credentials_secret(name, store), "defaultMode": 0o440}})
    container = {
        "name": name,
        "image": delivery.image_reference(svc.image),
        "imagePullPolicy": "Always",
        "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": svc.metrics_port, "protocol": "TCP"}],
        "env": _env(platform, name),
        "resources": {"requests": {"cpu": res.requests_cpu, "memory": res.requests_memory},
                      "limits": {"cpu": res.limits_cpu, "memory": res.limits_memory}},
        "startupProbe": _probe(svc.health_path, period=5, failures=30),
        "livenessProbe": _probe(svc.health_path, period=10, failures=3),
        "readinessProbe": _probe(svc.ready_path, period=5, failures=3),
        "securityContext": restricted_container_security_context(),
        "volumeMounts": mounts,
    }
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "securityContext": restricted_pod_security_context(),
        **pool_placement(platform, NAMESPACE),
        "topologySpreadConstraints": spread_constraints(selector_labels(name)),
        "terminationGracePeriodSeconds": 30,
        "containers": [container],
        "volumes": volumes,
    }
    spec: dict[str, Any] = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector_labels(name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
        "template": {"metadata": {"labels": pod_labels(platform, name)}, "spec": pod_spec},
    }
    if svc.scaling.type == "manual":
        spec["replicas"] = svc.scaling.min_replicas
    # Autoscaled: no ``replicas`` here, so Argo CD never fights the HPA over the count.
    return k8s_object("apps/v1", "Deployment", name, NAMESPACE, labels=labels(NAME, name), spec=spec)


def http_route_name(platform: Platform, name: str) -> str | None:
    """Name of the service's HTTPRoute (public services), or None when it has no route."""
    return name if platform.services[name].public_host else None


def service_rollout(platform: Platform, name: str) -> KubeObject:
    """The service's workload: an Argo Rollout with ``service_deployment``'s pod template, the environment's
    canary steps, analysis for HTTP services, and Gateway API traffic splitting for public services."""
    return delivery.rollout_from_deployment(service_deployment(platform, name), platform, name,
                                            http_route=http_route_name(platform, name))


# --------------------------------------------------------------------------- autoscaling


def _behavior(svc: Service) -> dict[str, Any]:
    return {
        "scaleDown": {"stabilizationWindowSeconds": svc.scaling.scale_down_stabilization_seconds,
                      "policies": [{"type": "Percent", "value": SCALE_DOWN_PERCENT_PER_MINUTE, "periodSeconds": 60}]},
        "scaleUp": {"stabilizationWindowSeconds": SCALE_UP_STABILIZATION_SECONDS,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 30}]},
    }


def request_rate_query(name: str) -> str:
    """PromQL of a service's requests per second (all replicas), from its own request counter."""
    return f'sum(rate({REQUESTS_METRIC}{{namespace="{NAMESPACE}",service="{name}"}}[{REQUEST_RATE_WINDOW}]))'


def _keda_trigger(platform: Platform, name: str) -> dict[str, Any]:
    trigger = platform.services[name].scaling.trigger
    if isinstance(trigger, RequestRateTrigger):
        return {"type": "prometheus", "metricType": "AverageValue", "metadata": {
            "serverAddress": PROMETHEUS_URL,
            "query": request_rate_query(name),
            "threshold": str(trigger.requests_per_second_per_replica),
        }}
    if isinstance(trigger, QueueDepthTrigger):
        return {"type": "kafka", "authenticationRef": {"name": lag_reader_secret(name)}, "metadata": {
            "bootstrapServers": KAFKA_BOOTSTRAP,
            "consumerGroup": trigger.consumer_group,
            "topic": trigger.topic,
            "lagThreshold": str(trigger.lag_per_replica),
            "offsetResetPolicy": "latest",
        }}
    if isinstance(trigger, CpuTrigger):
        return {"type": "cpu", "metricType": "Utilization", "metadata": {"value": str(trigger.target_utilization_percent)}}
    raise ValueError(f"services.{name}.scaling.trigger: {trigger.kind!r} cannot drive KEDA")


def autoscaler(platform: Platform, name: str, target: dict[str, str]) -> KubeObject | None:
    """The scaling row as an HPA (CPU) or a KEDA ScaledObject scaling ``target`` (a ``scaleTargetRef``);
    None for manually scaled services."""
    svc = platform.services[name]
    scaling = svc.scaling
    if scaling.type == "hpa":
        assert isinstance(scaling.trigger, CpuTrigger)
        return k8s_object("autoscaling/v2", "HorizontalPodAutoscaler", name, NAMESPACE, labels=labels(NAME, name), spec={
            "scaleTargetRef": dict(target),
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": scaling.trigger.target_utilization_percent}}}],
            "behavior": _behavior(svc),
        })
    if scaling.type == "keda":
        return k8s_object("keda.sh/v1alpha1", "ScaledObject", name, NAMESPACE, labels=labels(NAME, name), spec={
            "scaleTargetRef": dict(target),
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "pollingInterval": 15,
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": _behavior(svc)}},
            "triggers": [_keda_trigger(platform, name)],
        })
    return None


# --------------------------------------------------------------------------- service objects


def _service(platform: Platform, name: str) -> KubeObject:
    svc = platform.services[name]
    return k8s_object("v1", "Service", name, NAMESPACE, labels=labels(NAME, name), spec={
        "type": "ClusterIP",
        "selector": selector_labels(name),
        "ports": [{"name": "http", "port": svc.port, "targetPort": "http", "protocol": "TCP"},
                  {"name": "metrics", "port": svc.metrics_port, "targetPort": "metrics", "protocol": "TCP"}],
    })


def _pdb(platform: Platform, name: str) -> KubeObject:
    min_replicas = platform.services[name].scaling.min_replicas
    return k8s_object("policy/v1", "PodDisruptionBudget", name, NAMESPACE, labels=labels(NAME, name), spec={
        "maxUnavailable": pdb_max_unavailable(min_replicas),
        "selector": {"matchLabels": selector_labels(name)},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    })


POD_TARGET_LABELS = ("app.kubernetes.io/name", "rollouts-pod-template-hash")
"""Pod labels copied onto every scraped series: the service, and the ReplicaSet (stable or canary) of
the Rollout, so the canary analysis can select the canary's own requests."""


def _service_monitor(name: str) -> KubeObject:
    return k8s_object("monitoring.coreos.com/v1", "ServiceMonitor", name, NAMESPACE, labels=labels(NAME, name), spec={
        "selector": {"matchLabels": labels(NAME, name)},
        "podTargetLabels": list(POD_TARGET_LABELS),
        "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
    })


def tls_certificate(platform: Platform, name: str) -> KubeObject:
    """The service's certificate from the internal CA, for its in-cluster names (server and client auth)."""
    dns = [name, f"{name}.{NAMESPACE}", f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc.cluster.local"]
    return k8s_object("cert-manager.io/v1", "Certificate", tls_secret(name), NAMESPACE, labels=labels(NAME, name), spec={
        "secretName": tls_secret(name),
        "dnsNames": dns,
        "duration": TLS_DURATION,
        "renewBefore": TLS_RENEW_BEFORE,
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": ["server auth", "client auth"],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": INTERNAL_CA},
    })


def _service_account(name: str) -> KubeObject:
    return k8s_object("v1", "ServiceAccount", name, NAMESPACE, labels=labels(NAME, name), automountServiceAccountToken=False)


def _credentials(platform: Platform, name: str) -> list[KubeObject]:
    """The service's credentials: its own identity in each store it uses (user name rendered, password from the
    secret store, the same remote secret the store creates the user from), the Iceberg bucket key."""
    svc = platform.services[name]
    result = []
    for store in sorted(svc.uses):
        if store in derived.managed_stores(platform):
            # The cloud-managed store's address and (shared) credentials, written by the cloud layer.
            data = {key: f"{derived.store_credentials_secret(name, store)}:{key}" for key in store_credential_keys(platform, store)}
            result.append(external_secret(platform, credentials_secret(name, store), NAMESPACE, NAME, data))
        elif store in IDENTITY_STORES:
            result.append(identity_secret(platform, credentials_secret(name, store), NAMESPACE, NAME,
                                          store_identity(platform, name, store)))
        else:  # iceberg: the service's catalog principal
            result.append(external_secret(platform, credentials_secret(name, store), NAMESPACE, NAME,
                                          iceberg_catalog.service_credentials_entries(name)))
    return result


def lag_reader_secret(name: str) -> str:
    """Secret and TriggerAuthentication KEDA reads a service's Kafka lag with."""
    return f"{name}-kafka-lag"


def lag_reader_objects(platform: Platform, name: str) -> list[KubeObject]:
    """For a service scaled on Kafka lag: the lag reader's credentials (SCRAM over TLS) and the
    TriggerAuthentication handing them, with the internal CA, to KEDA's Kafka scaler."""
    identity = lag_reader_identity(platform, name)
    if identity is None:
        return []
    secret = identity_secret(platform, lag_reader_secret(name), NAMESPACE, NAME, identity,
                             extra={"sasl": "scram_sha512", "tls": "enable"})
    auth = k8s_object("keda.sh/v1alpha1", "TriggerAuthentication", lag_reader_secret(name), NAMESPACE,
                      labels=labels(NAME, lag_reader_secret(name)), spec={"secretTargetRef": [
        {"parameter": "sasl", "name": lag_reader_secret(name), "key": "sasl"},
        {"parameter": "username", "name": lag_reader_secret(name), "key": "username"},
        {"parameter": "password", "name": lag_reader_secret(name), "key": "password"},
        {"parameter": "tls", "name": lag_reader_secret(name), "key": "tls"},
        {"parameter": "ca", "name": tls_secret(name), "key": "ca.crt"},
    ]})
    return [secret, auth]




def routed_http_route(platform: Platform, name: str) -> KubeObject:
    """The public service's HTTPRoute, sending its traffic to the stable and canary Services (weights 100/0
    in Git; the Gateway API plugin moves them during a canary)."""
    route = http_route(platform, name, NAME)
    for rule in route["spec"]["rules"]:
        rule["backendRefs"] = delivery.http_route_backends(name, platform.services[name].port)
    return route


def service_objects(platform: Platform, name: str) -> list[KubeObject]:
    """Every object one service gets."""
    rollout = service_rollout(platform, name)
    service = _service(platform, name)
    result = [_service_account(name), rollout, service, _pdb(platform, name),
              _service_monitor(name), tls_certificate(platform, name), *_credentials(platform, name),
              *lag_reader_objects(platform, name)]
    scaler = autoscaler(platform, name, delivery.autoscaler_target(rollout))
    if scaler is not None:
        result.append(scaler)
    if http_route_name(platform, name) is not None:
        result.extend(delivery.traffic_services(service))
        result.append(routed_http_route(platform, name))
    return result


def objects(platform: Platform) -> list[KubeObject]:
    """All services' objects."""
    return [obj for name in sorted(platform.services) for obj in service_objects(platform, name)]


# --------------------------------------------------------------------------- alerts


BURN_WINDOWS: tuple[tuple[str, str, float, str], ...] = (
    # (long window, short window, share of the error budget spent in the long window, severity)
    ("1h", "5m", 0.02, "critical"),
    ("6h", "30m", 0.05, "critical"),
    ("1d", "2h", 0.10, "warning"),
    ("3d", "6h", 0.10, "warning"),
)
"""The SRE workbook's multi-window multi-burn-rate table: page on 2 % / 5 % of the budget in 1 h / 6 h."""
_WINDOW_HOURS = {"5m": 5 / 60, "30m": 0.5, "1h": 1, "2h": 2, "6h": 6, "1d": 24, "3d": 72}


def error_budget(platform: Platform) -> float:
    """Allowed error ratio: 1 - availability (99.9 % → 0.001)."""
    return round(1 - platform.observability.slo.availability_percent / 100, 10)


def burn_rate(platform: Platform, long_window: str, budget_share: float) -> float:
    """Burn rate that spends ``budget_share`` of the SLO window's budget within ``long_window``."""
    window_hours = platform.observability.slo.window_days * 24
    return round(budget_share * window_hours / _WINDOW_HOURS[long_window], 6)


def _ratio_record(window: str) -> str:
    return f"service:{REQUESTS_METRIC.removesuffix('_total')}:error_ratio_rate{window}"


def _fmt(number: float) -> str:
    return f"{number:g}"


def _service_matcher(platform: Platform) -> str:
    return "|".join(request_serving(platform))


def slo_recording_rules(platform: Platform) -> RuleGroup:
    """5xx ratio per request-serving service over every window the burn-rate alerts read."""
    matcher = _service_matcher(platform)
    rules = []
    for window in sorted(_WINDOW_HOURS, key=_WINDOW_HOURS.get):
        sel = f'namespace="{NAMESPACE}",service=~"{matcher}"'
        rules.append(RecordingRule(_ratio_record(window),
                                   f'sum by (service) (rate({REQUESTS_METRIC}{{{sel},code=~"5.."}}[{window}])) / '
                                   f"sum by (service) (rate({REQUESTS_METRIC}{{{sel}}}[{window}]))"))
    return RuleGroup("app-services-slo-ratios", tuple(rules))


def alerts(platform: Platform) -> list[RuleGroup]:
    """SLO burn-rate alerts (fast: page; slow: ticket) and saturation at max replicas."""
    slo = platform.observability.slo
    budget = error_budget(platform)
    burn_rules = []
    for severity, title, speed in (("critical", "fast", "SLOErrorBudgetBurnFast"), ("warning", "slow", "SLOErrorBudgetBurnSlow")):
        rows = [r for r in BURN_WINDOWS if r[3] == severity]
        clauses, texts = [], []
        for long_w, short_w, share, _ in rows:
            rate = burn_rate(platform, long_w, share)
            threshold = _fmt(round(rate * budget, 10))
            clauses.append(f"({_ratio_record(long_w)} > {threshold} and {_ratio_record(short_w)} > {threshold})")
            texts.append(f"{_fmt(rate)}x over {long_w} and {short_w} (error ratio > {threshold})")
        burn_rules.append(AlertRule(
            name=speed,
            expr=" or ".join(clauses),
            for_="2m" if severity == "critical" else "15m",
            severity=severity,
            summary=f"{{{{ $labels.service }}}} burns its {_fmt(slo.availability_percent)}% availability error budget {title}",
            description=(f"{{{{ $labels.service }}}} returns 5xx at a rate that spends its {slo.window_days}-day error budget "
                         f"(SLO {_fmt(slo.availability_percent)}%) too fast: burn rate " + "; or ".join(texts) + "."),
        ))
    minutes = platform.platform_alerts.saturation_at_max_minutes
    saturation = AlertRule(
        name="AutoscalerSaturatedAtMax",
        expr=(f'max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{namespace="{NAMESPACE}"}}) '
              f'>= max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{namespace="{NAMESPACE}"}})'),
        for_=f"{minutes}m",
        severity="warning",
        summary="{{ $labels.horizontalpodautoscaler }} has been at its max replicas for " + f"{minutes} minutes",
        description=("Autoscaler {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has run at its maximum replicas for "
                     f"{minutes} minutes: the service cannot scale further; raise max_replicas or the node pool."),
    )
    return [slo_recording_rules(platform), RuleGroup("app-services", (*burn_rules, saturation))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases: burn-rate alerts fire on 5x / 1.5x their lowest threshold, stay silent at 0 errors; saturation at max vs below."""
    service = request_serving(platform)[0]
    budget = error_budget(platform)

    def traffic(errors_per_min: float, ok_per_min: float, minutes: int) -> tuple[dict[str, str], ...]:
        base = f'{REQUESTS_METRIC}{{namespace="{NAMESPACE}",service="{service}",code="%s"}}'
        return ({"series": base % "500", "values": f"0+{_fmt(errors_per_min)}x{minutes}"},
                {"series": base % "200", "values": f"0+{_fmt(ok_per_min)}x{minutes}"})

    fast_ratio = min(0.5, burn_rate(platform, "1h", 0.02) * budget * 5)
    slow_ratio = burn_rate(platform, "1d", 0.10) * budget * 1.5
    assert slow_ratio < burn_rate(platform, "6h", 0.05) * budget, "slow-burn test ratio must stay below the fast thresholds"
    minutes = platform.platform_alerts.saturation_at_max_minutes
    hpa = 'kube_horizontalpodautoscaler_%s{namespace="platform-apps",horizontalpodautoscaler="frontend"}'
    return [
        AlertTest("SLOErrorBudgetBurnFast", traffic(fast_ratio * 1000, (1 - fast_ratio) * 1000, 90), traffic(0, 1000, 90), "75m",
                  {"service": service}),
        # The 1d/2h pair fires once a day of data exists (the 3d/6h pair needs three days: too slow to unit-test).
        AlertTest("SLOErrorBudgetBurnSlow", traffic(slow_ratio * 1000, (1 - slow_ratio) * 1000, 1600), traffic(0, 1000, 1600), "25h",
                  {"service": service}),
        AlertTest("AutoscalerSaturatedAtMax",
                  ({"series": hpa % "status_current_replicas", "values": f"10x{minutes + 20}"},
                   {"series": hpa % "spec_max_replicas", "values": f"10x{minutes + 20}"}),
                  ({"series": hpa % "status_current_replicas", "values": f"6x{minutes + 20}"},
                   {"series": hpa % "spec_max_replicas", "values": f"10x{minutes + 20}"}),
                  f"{minutes + 10}m", {"namespace": "platform-apps", "horizontalpodautoscaler": "frontend"}),
    ]


def panels(platform: Platform) -> list[Panel]:
    """Service Performance (per service): rate, errors, p95 latency, replicas, Kafka lag; platform health: saturation."""
    sel = f'namespace="{NAMESPACE}"'
    slo = platform.observability.slo
    return [
        # Service Performance repeats per service: every query filters on the dashboard's $service variable.
        Panel("service-performance", "Requests per second", (f'sum by (service) (rate({REQUESTS_METRIC}{{{sel},service="$service"}}[5m]))',),
              unit="reqps", legend=("{{service}}",)),
        Panel("service-performance", "5xx ratio", (f'{_ratio_record("5m")}{{service="$service"}}',), unit="percentunit", legend=("{{service}}",)),
        Panel("service-performance", f"p95 latency (SLO {slo.latency_p95_ms} ms)",
              (f'histogram_quantile(0.95, sum by (service, le) (rate({DURATION_METRIC}_bucket{{{sel},service="$service"}}[5m])))',),
              unit="s", legend=("{{service}}",)),
        Panel("service-performance", "Replicas vs max",
              (f'max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{{sel},horizontalpodautoscaler=~"(keda-hpa-)?$service"}})',
               f'max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{{sel},horizontalpodautoscaler=~"(keda-hpa-)?$service"}})'),
              legend=("{{horizontalpodautoscaler}} current", "{{horizontalpodautoscaler}} max")),
        Panel("service-performance", "Kafka consumer lag (KEDA)",
              (f'max by (scaledObject) (keda_scaler_metrics_value{{{sel},scaler="kafkaScaler",scaledObject="$service"}})',), legend=("{{scaledObject}}",)),
        Panel("platform-health", "Autoscalers at max replicas",
              (f"count(max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{{sel}}}) "
               f">= max by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{{{sel}}}))",),
              kind="stat"),
        *service_performance_panels(platform),
        *user_activity_panels(platform),
    ]


def service_performance_panels(platform: Platform) -> list[Panel]:
    """Per-service request rate, errors, latency against the SLO, replicas against their maximum, CPU."""
    sel = selected_service()
    slo_seconds = platform.observability.slo.latency_p95_ms / 1000
    return [
        Panel("service-performance", "Requests per second",
              (f"sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="reqps", legend=(LEGEND,)),
        Panel("service-performance", "Error ratio (5xx)",
              (f'sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel},code=~"5.."}}[{RATE}])) / '
               f"sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="percentunit", legend=(LEGEND,)),
        Panel("service-performance", f"p95 latency (objective {platform.observability.slo.latency_p95_ms} ms)",
              (f"histogram_quantile(0.95, sum by ({SVC}, le) (rate({APP_REQUEST_DURATION}_bucket{{{sel}}}[{RATE}])))",
               f"vector({slo_seconds})"),
              unit="s", legend=(LEGEND + " p95", "objective")),
        Panel("service-performance", "Ready replicas",
              (ready_pods(f"${SERVICE_VARIABLE}"),), legend=("{{" + POD_NAME_LABEL + "}}",)),
        Panel("service-performance", "CPU used (cores)",
              (by_service_name(f'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{{namespace="{NAMESPACE}",container!=""}}[{RATE}]))',
                                f"${SERVICE_VARIABLE}"),),
              legend=("{{" + POD_NAME_LABEL + "}}",)),
    ]


def user_activity_panels(platform: Platform) -> list[Panel]:
    """Traffic of the public services (what users do), sign-in failures at auth, user-facing errors."""
    public = "|".join(sorted(n for n, s in platform.services.items() if s.public_host))
    sel = f'namespace="{NAMESPACE}",{SVC}=~"{public}"'
    panels = [
        Panel("user-activity", "User requests per second by entry service",
              (f"sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="reqps", legend=(LEGEND,)),
        Panel("user-activity", "User requests (24h)",
              (f"sum(increase({APP_REQUESTS_TOTAL}{{{sel}}}[1d]))",), kind="stat"),
        Panel("user-activity", "User-facing errors per second (5xx)",
              (f'sum by ({SVC}) (rate({APP_REQUESTS_TOTAL}{{{sel},code=~"5.."}}[{RATE}]))',), unit="reqps", legend=(LEGEND,)),
        Panel("user-activity", "User requests per second by status code",
              (f"sum by (code) (rate({APP_REQUESTS_TOTAL}{{{sel}}}[{RATE}]))",), unit="reqps", legend=("{{code}}",)),
    ]
    if "auth" in platform.services:
        panels.append(Panel("user-activity", "Rejected sign-ins per second (auth 401/403)",
                            (f'sum(rate({APP_REQUESTS_TOTAL}{{namespace="{NAMESPACE}",{SVC}="auth",code=~"401|403"}}[{RATE}]))',),
                            unit="reqps"))
    return panels


def flows(platform: Platform) -> list[Flow]:
    """Each service's flows from its spec: the public gateway's proxies to a public service, the services it ``calls``
    (their port), the data stores it ``uses`` (the pods a client connects to), Iceberg's catalog and object storage,
    its traces to the collector (Alloy, OTLP), and Prometheus' scrapes of its metrics port."""
    result: list[Flow] = []
    for name, svc in sorted(platform.services.items()):
        me = Pods.of(NAMESPACE, selector_labels(name))
        result.append(scrape(me, svc.metrics_port))
        if svc.public_host:
            result.append(flow(Pods.of(GATEWAY_NAMESPACE, PROXY_POD_LABELS), me, svc.port, f"the public gateway routes {svc.public_host} to {name}"))
        for callee in sorted(svc.calls):
            result.append(flow(me, Pods.of(NAMESPACE, selector_labels(callee)), platform.services[callee].port, f"{name} calls {callee}"))
        for store in sorted(svc.uses):
            if store in derived.managed_stores(platform):
                result.append(flow(me, MANAGED_STORES, derived.managed_store_port(platform, store), f"{name} uses {store} (cloud-managed)"))
            elif store in DATASTORE_CLIENT_PODS:
                for store_labels, store_ports in DATASTORE_CLIENT_PODS[store]:
                    result.append(flow(me, Pods.of(DATA_NAMESPACE, store_labels), store_ports, f"{name} uses {store}"))
            elif store == "iceberg":
                result.append(flow(me, Pods.of(DATA_NAMESPACE, iceberg_catalog.SERVER_LABELS), iceberg_catalog.HTTP_PORT,
                                   f"{name} uses the Iceberg REST catalog"))
                result.append(flow(me, CLOUD_OBJECT_STORAGE, OBJECT_STORE_PORT, f"{name} reads and writes the Iceberg warehouse"))
        result.append(flow(me, Pods.of(MONITORING_NAMESPACE, alloy.POD_LABELS), alloy.OTLP_PORTS,
                           f"{name} exports its traces (OTLP) to the collector"))
    return result


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=2,
    # The Gateway API plugin owns the HTTPRoutes' backend weights during a canary: self-heal must not reset them.
    ignore_differences=(delivery.ROUTE_WEIGHTS_IGNORED,),
    flows=flows,
)
