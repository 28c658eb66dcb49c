"""Ingress: the Gateway API with Envoy Gateway (the community ingress-nginx is retired).

The gateway-helm chart runs the Envoy Gateway controller; the objects below describe the data plane:
an EnvoyProxy (replicas from ``edge.gateway_replicas``, spread over zones, PDB, Prometheus metrics,
a cloud load balancer), the GatewayClass pointing at it, and one Gateway ``public`` with an HTTP
listener (ACME HTTP-01 challenges and the redirect to HTTPS) and one HTTPS listener per public host.
The HTTPRoutes of the services live next to them in platform-apps (``http_route``).
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.network import NAMESPACE_NAME_LABEL
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement, spread_constraints
from plinth.kube.workloads import requests_and_limits
from plinth.spec.model import Platform
from plinth.kube.flows import INTERNET_CLIENTS, Flow, Pods, flow, scrape, to_api_server, webhook

COMPONENT_NAME = "gateway"
"""Component (folder and Application) name; the Helm release keeps the upstream name below."""
NAME = "envoy-gateway"
NAMESPACE = "platform-system"
APPS_NAMESPACE = "platform-apps"
GATEWAY_API = "gateway.networking.k8s.io/v1"
ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_CLASS = "envoy"
GATEWAY_NAME = "public"
ENVOY_PROXY_NAME = "public-proxy"
TLS_SECRET = "public-gateway-tls"
"""Secret holding the public certificate (written by cert-manager, read by the HTTPS listeners)."""
HTTP_LISTENER = "http"
CONTROLLER_REPLICAS = 2
"""Envoy Gateway controller replicas (leader-elected; the second takes over within seconds)."""
PROXY_CONTAINER_PORTS = (10080, 10443)
"""Envoy Gateway maps listener ports 80/443 to unprivileged container ports 10080/10443."""
PROXY_METRICS_PORT = 19001
CONTROLLER_XDS_PORT = 18000
CONTROLLER_METRICS_PORT = 19001
CONTROLLER_WEBHOOK_PORT = 9443
"""The controller's admission webhook (the topology injector that labels proxy pods with their zone)."""

POD_REQUESTS: dict[str, tuple[int, int]] = {"controller": (100, 256), "proxy": (500, 512)}
"""CPU millicores and memory MiB per pod: set in values/EnvoyProxy and counted by the planner."""

PROXY_POD_LABELS: dict[str, str] = {
    "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
    "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE,
}
"""Labels Envoy Gateway puts on the proxy pods of the public Gateway (NetworkPolicies select them)."""
CONTROLLER_POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME, "control-plane": "envoy-gateway"}
CERTGEN_POD_LABELS: dict[str, str] = {"app": "certgen"}
"""The only label gateway-helm puts on its certgen hook Job's pods."""
"""Labels of the Envoy Gateway controller pods (chart release ``envoy-gateway``)."""

LOAD_BALANCER_ANNOTATIONS: dict[str, dict[str, str]] = {
    "aws": {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    },
    "gcp": {"cloud.google.com/l4-rbs": "enabled"},
    "azure": {"service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/ready"},
}
"""Per-cloud annotations of the proxies' LoadBalancer Service (an L4 load balancer straight to the pods)."""


def public_hosts(platform: Platform) -> dict[str, str]:
    """Fully qualified public host of every service that has one: ``<public_host>.<edge.domain>``."""
    return {name: f"{svc.public_host}.{platform.edge.domain}"
            for name, svc in sorted(platform.services.items()) if svc.public_host}


def _resources(part: str) -> dict[str, Any]:
    return requests_and_limits(*POD_REQUESTS[part])


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of gateway-helm: controller replicas, requests, placement and PDB."""
    placement = pool_placement(platform, NAMESPACE)
    pod: dict[str, Any] = {
        "nodeSelector": placement["nodeSelector"],
        "topologySpreadConstraints": spread_constraints(CONTROLLER_POD_LABELS, hard_zone=False),
    }
    if "tolerations" in placement:
        pod["tolerations"] = placement["tolerations"]
    return {
        "deployment": {"replicas": CONTROLLER_REPLICAS, "envoyGateway": {"resources": _resources("controller")}, "pod": pod},
        "podDisruptionBudget": {"minAvailable": 1},
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The gateway-helm chart (Envoy Gateway controller, Gateway API and Envoy Gateway CRDs)."""
    return [HelmRelease(name=NAME, chart_key="envoy-gateway", namespace=NAMESPACE, values=values(platform), sync_wave=-5)]


def proxy_pod_disruption_max_unavailable(platform: Platform) -> int:
    """Proxies a drain may take down at once: one, so ``gateway_replicas - 1`` keep serving."""
    return 1


def envoy_proxy(platform: Platform) -> KubeObject:
    """The data-plane shape: replicas, zone spread, PDB, requests, load balancer and Prometheus metrics."""
    placement = pool_placement(platform, NAMESPACE)
    pod: dict[str, Any] = {
        "nodeSelector": placement["nodeSelector"],
        "topologySpreadConstraints": spread_constraints(PROXY_POD_LABELS),
    }
    if "tolerations" in placement:
        pod["tolerations"] = placement["tolerations"]
    return k8s_object(ENVOY_API, "EnvoyProxy", ENVOY_PROXY_NAME, NAMESPACE, labels=labels(COMPONENT_NAME, ENVOY_PROXY_NAME), spec={
        "provider": {
            "type": "Kubernetes",
            "kubernetes": {
                "envoyDeployment": {
                    "replicas": platform.edge.gateway_replicas,
                    "pod": pod,
                    "container": {"resources": _resources("proxy")},
                },
                "envoyPDB": {"maxUnavailable": proxy_pod_disruption_max_unavailable(platform)},
                "envoyService": {
                    "type": "LoadBalancer",
                    "externalTrafficPolicy": "Local",
                    "annotations": dict(LOAD_BALANCER_ANNOTATIONS[platform.cluster.provider]),
                },
            },
        },
        "telemetry": {"metrics": {"prometheus": {"disable": False}}},
    })


def gateway_class(platform: Platform) -> KubeObject:
    """GatewayClass ``envoy`` handled by Envoy Gateway, parameterised by the EnvoyProxy."""
    return k8s_object(GATEWAY_API, "GatewayClass", GATEWAY_CLASS, labels=labels(COMPONENT_NAME, GATEWAY_CLASS), spec={
        "controllerName": CONTROLLER_NAME,
        "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": ENVOY_PROXY_NAME, "namespace": NAMESPACE},
    })


def listener_name(service: str) -> str:
    """Section name of a service's HTTPS listener (what its HTTPRoute attaches to)."""
    return f"https-{service}"


def gateway(platform: Platform) -> KubeObject:
    """Gateway ``public``: HTTP on 80 (ACME challenges, redirect) and HTTPS on 443 per public host."""
    apps_only = {"from": "Selector", "selector": {"matchLabels": {NAMESPACE_NAME_LABEL: APPS_NAMESPACE}}}
    listeners: list[dict[str, Any]] = [{
        "name": HTTP_LISTENER, "protocol": "HTTP", "port": 80,
        "allowedRoutes": {"namespaces": {"from": "Same"}, "kinds": [{"kind": "HTTPRoute"}]},
    }]
    for service, host in public_hosts(platform).items():
        listeners.append({
            "name": listener_name(service), "protocol": "HTTPS", "port": 443, "hostname": host,
            "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": TLS_SECRET}]},
            "allowedRoutes": {"namespaces": apps_only, "kinds": [{"kind": "HTTPRoute"}]},
        })
    return k8s_object(GATEWAY_API, "Gateway", GATEWAY_NAME, NAMESPACE, labels=labels(COMPONENT_NAME, GATEWAY_NAME),
                      spec={"gatewayClassName": GATEWAY_CLASS, "listeners": listeners})


def https_redirect(platform: Platform) -> KubeObject:
    """Plain-HTTP requests for the public hosts are redirected to HTTPS (ACME challenges match first)."""
    return k8s_object(GATEWAY_API, "HTTPRoute", "https-redirect", NAMESPACE, labels=labels(COMPONENT_NAME, "https-redirect"), spec={
        "parentRefs": [{"name": GATEWAY_NAME, "sectionName": HTTP_LISTENER}],
        "hostnames": list(public_hosts(platform).values()),
        "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
    })


def http_route(platform: Platform, service: str, component: str) -> KubeObject:
    """HTTPRoute of one public service: its host on the public Gateway, to its Service's HTTP port."""
    svc = platform.services[service]
    host = public_hosts(platform)[service]
    return k8s_object(GATEWAY_API, "HTTPRoute", service, APPS_NAMESPACE, labels=labels(component, service), spec={
        "parentRefs": [{"name": GATEWAY_NAME, "namespace": NAMESPACE, "sectionName": listener_name(service)}],
        "hostnames": [host],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                   "backendRefs": [{"name": service, "port": svc.port}]}],
    })


def monitors(platform: Platform) -> list[KubeObject]:
    """Scrapes of the controller (ServiceMonitor) and of the proxies' /stats/prometheus (PodMonitor)."""
    return [
        k8s_object("monitoring.coreos.com/v1", "ServiceMonitor", "envoy-gateway", NAMESPACE, labels=labels(COMPONENT_NAME, "envoy-gateway"), spec={
            "selector": {"matchLabels": {"app.kubernetes.io/instance": NAME}},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        }),
        k8s_object("monitoring.coreos.com/v1", "PodMonitor", "envoy-proxy", NAMESPACE, labels=labels(COMPONENT_NAME, "envoy-proxy"), spec={
            "selector": {"matchLabels": dict(PROXY_POD_LABELS)},
            "podMetricsEndpoints": [{"portNumber": PROXY_METRICS_PORT, "path": "/stats/prometheus", "interval": "30s"}],
        }),
    ]


def objects(platform: Platform) -> list[KubeObject]:
    """EnvoyProxy, GatewayClass, Gateway, the HTTPS redirect and the scrape configs."""
    return [envoy_proxy(platform), gateway_class(platform), gateway(platform), https_redirect(platform), *monitors(platform)]


def flows(platform: Platform) -> list[Flow]:
    """Envoy Gateway: the controller watches the API and serves xDS to the proxies; the internet (and the cloud load
    balancer) reaches the proxies' listeners. Routes to the services are implied by the HTTPRoutes."""
    controller, proxies = Pods.of(NAMESPACE, CONTROLLER_POD_LABELS), Pods.of(NAMESPACE, PROXY_POD_LABELS)
    return [to_api_server(controller, "Envoy Gateway translates Gateways and routes"),
            flow(proxies, controller, CONTROLLER_XDS_PORT, "the proxies take their configuration over xDS"),
            flow(INTERNET_CLIENTS, proxies, PROXY_CONTAINER_PORTS, "public HTTP (ACME challenges, redirect) and HTTPS"),
            scrape(controller, CONTROLLER_METRICS_PORT), scrape(proxies, PROXY_METRICS_PORT),
            webhook(controller, CONTROLLER_WEBHOOK_PORT, "the topology injector labels proxy pods with their zone"),
            to_api_server(Pods.of(NAMESPACE, CERTGEN_POD_LABELS), "the certgen hook writes the controller's TLS Secret")]


COMPONENT = Component(
    name=COMPONENT_NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    sync_wave=1,
    # The Gateway API bundle's safe-upgrades ValidatingAdmissionPolicy (and binding) refuses CRD downgrades; kept.
    cluster_kinds=OPERATOR_CLUSTER_KINDS + (("gateway.networking.k8s.io", "GatewayClass"),
                                            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
                                            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding")),
    flows=flows,
)
