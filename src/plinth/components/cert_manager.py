"""TLS: cert-manager with public ACME issuers and an internal CA.

Public certificates: Let's Encrypt staging and production ClusterIssuers solving HTTP-01 through
the Gateway API (cert-manager adds a temporary HTTPRoute to the public Gateway's HTTP listener; no
cloud DNS credentials needed). The spec's ``edge.acme_issuer`` picks which one signs the gateway's
certificate. Service-to-service TLS comes from the internal CA (``plinth.components.internal_pki``), synced
earlier than the stores that use it.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.components.envoy_gateway import GATEWAY_NAME, HTTP_LISTENER, TLS_SECRET, public_hosts
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement, spread_constraints
from plinth.kube.workloads import requests_and_limits
from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Platform
from plinth.kube.flows import ACME, HTTPS, PUBLIC_GATEWAY, Flow, Pods, flow, scrape, to_api_server, webhook
from plinth.kube.pods import ACME_SOLVER_LABELS, ACME_SOLVER_PORT
from plinth.components.envoy_gateway import PROXY_POD_LABELS

COMPONENT_NAME = "certificates"
"""Component (folder and Application) name; the Helm release keeps the upstream name below."""
NAME = "cert-manager"
NAMESPACE = "platform-system"
CERT_API = "cert-manager.io/v1"
ACME_SERVERS: dict[str, str] = {
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
}
"""The two ACME endpoints; ``edge.acme_issuer`` names one of them."""

POD_REQUESTS: dict[str, tuple[int, int]] = {"controller": (100, 256), "webhook": (50, 64), "cainjector": (50, 256)}
"""CPU millicores and memory MiB per cert-manager pod (values and planner read this one table)."""
REPLICAS: dict[str, int] = {"controller": 2, "webhook": 3, "cainjector": 2}
"""Replicas per cert-manager part: the webhook gates every Certificate write, so it gets a PDB-safe 3."""
POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME}
"""Labels every pod of the cert-manager release carries."""
WEBHOOK_PORT = 10250
METRICS_PORT = 9402


def _part_values(platform: Platform, part: str, name: str) -> dict[str, Any]:
    placement = pool_placement(platform, NAMESPACE)
    result: dict[str, Any] = {
        "replicaCount": REPLICAS[part],
        "resources": requests_and_limits(*POD_REQUESTS[part]),
        "nodeSelector": placement["nodeSelector"],
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "topologySpreadConstraints": spread_constraints({"app.kubernetes.io/instance": NAME, "app.kubernetes.io/component": name}, hard_zone=False),
    }
    if "tolerations" in placement:
        result["tolerations"] = placement["tolerations"]
    return result


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the cert-manager chart: CRDs, Gateway API support, replicas, requests, metrics."""
    return {
        # Leader election Leases (and the Role/RoleBinding to them) in cert-manager's own namespace, not the chart's
        # default kube-system, which the platform-system AppProject does not take.
        "global": {"leaderElection": {"namespace": NAMESPACE}},
        "crds": {"enabled": True, "keep": True},
        "config": {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration", "enableGatewayAPI": True},
        **_part_values(platform, "controller", "controller"),
        "webhook": _part_values(platform, "webhook", "webhook"),
        "cainjector": _part_values(platform, "cainjector", "cainjector"),
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": True}},
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The cert-manager chart with its CRDs."""
    return [HelmRelease(name=NAME, chart_key="cert-manager", namespace=NAMESPACE, values=values(platform), sync_wave=-5)]


def acme_issuer(platform: Platform, name: str) -> KubeObject:
    """An ACME ClusterIssuer solving HTTP-01 through the public Gateway's HTTP listener."""
    return k8s_object(CERT_API, "ClusterIssuer", name, labels=labels(COMPONENT_NAME, name), spec={"acme": {
        "server": ACME_SERVERS[name],
        "email": platform.edge.acme_email,
        "privateKeySecretRef": {"name": f"{name}-account-key"},
        "solvers": [{"http01": {"gatewayHTTPRoute": {
            "parentRefs": [{"name": GATEWAY_NAME, "namespace": NAMESPACE, "kind": "Gateway", "sectionName": HTTP_LISTENER}],
        }}}],
    }})


def gateway_certificate(platform: Platform) -> KubeObject:
    """The public Gateway's certificate: every public host, from the spec's ACME issuer."""
    return k8s_object(CERT_API, "Certificate", TLS_SECRET, NAMESPACE, labels=labels(COMPONENT_NAME, TLS_SECRET), spec={
        "secretName": TLS_SECRET,
        "dnsNames": list(public_hosts(platform).values()),
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": platform.edge.acme_issuer},
    })


def objects(platform: Platform) -> list[KubeObject]:
    """ACME issuers (staging and production) and the gateway's certificate (the internal CA is ``internal_pki``)."""
    return [*(acme_issuer(platform, n) for n in sorted(ACME_SERVERS)), gateway_certificate(platform)]


def alerts(platform: Platform) -> list[RuleGroup]:
    """A certificate close to expiry has not been renewed (cert-manager renews at 2/3 of its lifetime)."""
    days = platform.platform_alerts.certificate_expiry_warning_days
    return [RuleGroup("cert-manager", (
        AlertRule(
            name="CertificateExpiringSoon",
            expr=f"min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds - time()) < {days} * 86400",
            for_="1h",
            severity="critical",
            summary="Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than " + f"{days} days",
            description=("Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in less than "
                         f"{days} days and cert-manager has not renewed it: check its CertificateRequest and the ACME order."),
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """Fires for a certificate expiring inside the window, silent for one renewed far ahead."""
    days = platform.platform_alerts.certificate_expiry_warning_days
    soon = (days - 1) * 86400
    later = (days + 30) * 86400

    def series(seconds_left: int) -> dict[str, str]:
        # promtool's time() starts at 0, so the expiry timestamp is the seconds left at t=0.
        return {"series": f'certmanager_certificate_expiration_timestamp_seconds{{namespace="platform-system",name="{TLS_SECRET}"}}',
                "values": f"{seconds_left}x120"}

    return [AlertTest("CertificateExpiringSoon", (series(soon),), (series(later),), "90m",
                      {"namespace": "platform-system", "name": TLS_SECRET})]


def panels(platform: Platform) -> list[Panel]:
    """Days until each certificate expires, on the platform-health dashboard."""
    return [Panel("platform-health", "Certificate expiry (days)",
                  ("min by (namespace, name) (certmanager_certificate_expiration_timestamp_seconds - time()) / 86400",),
                  unit="d", legend=("{{namespace}}/{{name}}",))]


def _part_pods(part: str) -> Pods:
    return Pods.of(NAMESPACE, {"app.kubernetes.io/instance": NAME, "app.kubernetes.io/component": part})


HTTP01_SELF_CHECK_PORT = 80


def flows(platform: Platform) -> list[Flow]:
    """cert-manager: the API server; the ACME CA over HTTPS; its HTTP-01 self-check through the public load balancer;
    the gateway's proxies send the CA's challenge requests to the solver pods."""
    controller = _part_pods("controller")
    return [
        to_api_server(controller, "cert-manager issues certificates (Certificates, Secrets, Challenges)"),
        to_api_server(_part_pods("cainjector"), "cainjector patches CA bundles into webhooks and CRDs"),
        to_api_server(_part_pods("webhook"), "the webhook reads its serving certificate"),
        flow(controller, ACME, HTTPS, "ACME orders with Let's Encrypt"),
        flow(controller, PUBLIC_GATEWAY, HTTP01_SELF_CHECK_PORT, "HTTP-01 self-check: the public host's challenge URL, through the load balancer"),
        flow(Pods.of(NAMESPACE, PROXY_POD_LABELS), Pods.of(NAMESPACE, ACME_SOLVER_LABELS), ACME_SOLVER_PORT,
             "the gateway routes the CA's HTTP-01 challenge to the solver pod"),
        *(scrape(_part_pods(part), METRICS_PORT) for part in ("controller", "cainjector", "webhook")),
        webhook(_part_pods("webhook"), WEBHOOK_PORT, "admission webhook for cert-manager's resources"),
        to_api_server(Pods.of(NAMESPACE, {"app.kubernetes.io/name": "startupapicheck", "app.kubernetes.io/instance": NAME}),
                      "the post-sync hook checks that the API accepts cert-manager resources"),
    ]


COMPONENT = Component(
    name=COMPONENT_NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    panels=panels,
    sync_wave=1,
    cluster_kinds=OPERATOR_CLUSTER_KINDS + (("cert-manager.io", "ClusterIssuer"),),
    flows=flows,
)
