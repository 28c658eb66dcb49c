"""Grafana Alloy: the telemetry collector (a DaemonSet on every node of every pool): pod logs to Loki, and the
services' OTLP traces to Tempo.

Promtail (end of life March 2026) and Grafana Agent (November 2025) are not used. The pipeline is
Alloy's own configuration language, held as one string in the chart's ConfigMap: discover pods
on this node through the Kubernetes API (the chart sets ``HOSTNAME`` to the node name), tail their log files, label by
namespace/pod/container/app, send to the Loki gateway; receive OTLP (gRPC 4317, HTTP 4318: the chart's Service
exposes both, keeping each service's traffic on its own node), batch, and export OTLP gRPC to Tempo's distributor.
The services' sampling is theirs (``observability.tracing``); Alloy forwards every span it receives.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, HelmRelease
from plinth.components.prometheus_stack import LOKI_URL
from plinth.components.tempo import DISTRIBUTOR_OTLP_GRPC, DISTRIBUTOR_POD_LABELS, OTLP_PORTS as TEMPO_OTLP_PORTS
from plinth.kube.admission import HostAccess
from plinth.kube.conventions import MONITORING_NAMESPACE
from plinth.spec.model import Platform
from plinth.kube.flows import Flow, Pods, flow, scrape, to_api_server

NAME = "alloy"
POD_REQUESTS: tuple[int, int] = (100, 256)
"""CPU millicores and memory MiB requested by the Alloy container."""
RELOADER_REQUESTS: tuple[int, int] = (10, 16)
"""Requests of the chart's config-reloader sidecar."""
POD_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME}
"""Labels the chart puts on the collector's pods."""
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
OTLP_PORTS = (OTLP_GRPC_PORT, OTLP_HTTP_PORT)
"""OTLP ports Alloy receives traces on (the OpenTelemetry defaults)."""
SERVICE_HOST = f"{NAME}.{MONITORING_NAMESPACE}.svc.cluster.local"
"""The chart's Service in front of the DaemonSet (fullnameOverride ``alloy``)."""


def otlp_endpoint(protocol: str) -> str:
    """OTLP endpoint the services export to (``OTEL_EXPORTER_OTLP_ENDPOINT``) for the spec's protocol."""
    return f"http://{SERVICE_HOST}:{OTLP_GRPC_PORT if protocol == 'grpc' else OTLP_HTTP_PORT}"


PIPELINE = f"""discovery.kubernetes "pods" {{
  role = "pod"
  selectors {{
    role  = "pod"
    field = "spec.nodeName=" + sys.env("HOSTNAME")
  }}
}}

discovery.relabel "pod_logs" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "app"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]
    separator     = "/"
    target_label  = "__path__"
    replacement   = "/var/log/pods/*$1/*.log"
  }}
}}

local.file_match "pod_logs" {{
  path_targets = discovery.relabel.pod_logs.output
}}

loki.source.file "pod_logs" {{
  targets    = local.file_match.pod_logs.targets
  forward_to = [loki.process.pod_logs.receiver]
}}

loki.process "pod_logs" {{
  stage.cri {{}}
  forward_to = [loki.write.default.receiver]
}}

loki.write "default" {{
  endpoint {{
    url = "{LOKI_URL}/loki/api/v1/push"
  }}
}}

otelcol.receiver.otlp "services" {{
  grpc {{
    endpoint = "0.0.0.0:{OTLP_GRPC_PORT}"
  }}
  http {{
    endpoint = "0.0.0.0:{OTLP_HTTP_PORT}"
  }}
  output {{
    traces = [otelcol.processor.batch.traces.input]
  }}
}}

otelcol.processor.batch "traces" {{
  output {{
    traces = [otelcol.exporter.otlp.tempo.input]
  }}
}}

otelcol.exporter.otlp "tempo" {{
  client {{
    endpoint = "{DISTRIBUTOR_OTLP_GRPC}"
    tls {{
      insecure = true
    }}
  }}
}}
"""
"""Alloy configuration: pod logs of this node to Loki; OTLP traces received on this node to Tempo."""


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the alloy chart: a DaemonSet reading /var/log on every node, tolerating every pool's taints."""
    cpu, mem = POD_REQUESTS
    tolerations = [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
                   for pool in platform.node_pools.values() for t in pool.taints]
    return {
        "fullnameOverride": NAME,
        "alloy": {
            "configMap": {"create": True, "content": PIPELINE},
            "mounts": {"varlog": True},
            "extraPorts": [{"name": "otlp-grpc", "port": OTLP_GRPC_PORT, "targetPort": OTLP_GRPC_PORT, "protocol": "TCP"},
                           {"name": "otlp-http", "port": OTLP_HTTP_PORT, "targetPort": OTLP_HTTP_PORT, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}},
            "enableReporting": False,
        },
        "crds": {"create": False},  # PodLogs CRD: this pipeline discovers pods itself
        "configReloader": {"resources": {"requests": {"cpu": f"{RELOADER_REQUESTS[0]}m", "memory": f"{RELOADER_REQUESTS[1]}Mi"},
                                         "limits": {"memory": f"{RELOADER_REQUESTS[1] * 2}Mi"}}},
        "controller": {"type": "daemonset", "tolerations": tolerations},
        # The OTLP receivers' ports on the pods and the chart's Service; traffic stays on the sender's node.
        "service": {"internalTrafficPolicy": "Local"},
        "serviceMonitor": {"enabled": True},
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The alloy chart in platform-monitoring."""
    return [HelmRelease(name=NAME, chart_key="alloy", namespace=MONITORING_NAMESPACE, values=values(platform), sync_wave=-2)]


LOKI_GATEWAY_PORT = 8080
METRICS_PORT = 12345


def flows(platform: Platform) -> list[Flow]:
    """Alloy discovers pods through the API server, pushes their logs to Loki's gateway and forwards the services'
    traces to Tempo's distributor (the services' own flow to Alloy is declared by app-services)."""
    alloy = Pods.of(MONITORING_NAMESPACE, POD_LABELS)
    return [to_api_server(alloy, "pod discovery"),
            flow(alloy, Pods.of(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "loki", "app.kubernetes.io/component": "gateway"}),
                 LOKI_GATEWAY_PORT, "log pushes to the Loki gateway"),
            flow(alloy, Pods.of(MONITORING_NAMESPACE, DISTRIBUTOR_POD_LABELS), TEMPO_OTLP_PORTS[0],
                 "the services' traces forwarded to Tempo (OTLP gRPC)"),
            scrape(alloy, METRICS_PORT)]


COMPONENT = Component(
    name=NAME,
    namespace=MONITORING_NAMESPACE,
    charts=charts,
    flows=flows,
    # The DaemonSet reads every pod's log files from the node (the chart's ``mounts.varlog``), read-only.
    host_access=(HostAccess(MONITORING_NAMESPACE, daemonset=NAME, service_account=NAME, host_paths=("/var/log",)),),
)
