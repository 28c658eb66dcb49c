"""The flows of platform-system on top of the baseline: the public gateway (in from the internet,
out to the public services and to its controller), and each controller's needs (the API server and
cloud APIs out, the API server in to webhooks, traffic inside its own release).

The Kubernetes API server and the cloud APIs have no pod labels: they are reached on 443/6443 at
addresses outside the cluster, so those rules use ``ipBlock`` 0.0.0.0/0 with the port as the limit.
"""

from __future__ import annotations

from typing import Any

from plinth.components import argo_rollouts, argocd, cert_manager, envoy_gateway, external_dns, external_secrets, keda
from plinth.components.app_services import selector_labels
from plinth.components.base import Component, KubeObject
from plinth.kube.conventions import DATASTORE_LABEL, DATASTORE_PORTS, MONITORING_NAMESPACE
from plinth.kube.network import allow, peer, ports
from plinth.spec.model import Platform

NAME = "system-network"
NAMESPACE = "platform-system"
APPS_NAMESPACE = "platform-apps"
ANYWHERE: list[dict[str, Any]] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
API_PORTS = (443, 6443)
"""The API server (443 behind the ``kubernetes`` Service, 6443 on the endpoints) and the cloud APIs (443)."""
GIT_PORTS = (22, 443)
PROMETHEUS_PORT = 9090
PROMETHEUS_POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": "prometheus"}
ACME_SOLVER_LABELS: dict[str, str] = {"acme.cert-manager.io/http01-solver": "true"}
"""Labels of the temporary pods cert-manager runs to answer HTTP-01 challenges."""
ACME_SOLVER_PORT = 8089

RELEASES: dict[str, dict[str, Any]] = {
    argocd.NAME: {"egress_ports": API_PORTS + (22,), "webhook_ports": ()},
    cert_manager.NAME: {"egress_ports": API_PORTS + (80,), "webhook_ports": (cert_manager.WEBHOOK_PORT,)},
    external_dns.NAME: {"egress_ports": API_PORTS, "webhook_ports": ()},
    external_secrets.NAME: {"egress_ports": API_PORTS, "webhook_ports": (external_secrets.WEBHOOK_PORT,)},
    keda.NAME: {"egress_ports": API_PORTS, "webhook_ports": (keda.METRICS_SERVER_PORT, keda.WEBHOOK_PORT)},
    argo_rollouts.NAME: {"egress_ports": API_PORTS, "webhook_ports": ()},
    envoy_gateway.NAME: {"egress_ports": API_PORTS, "webhook_ports": (envoy_gateway.CONTROLLER_WEBHOOK_PORT,)},
}
"""Every Helm release in platform-system: ports it calls out on (API server, cloud APIs, ACME, Git)
and ports the API server calls it on (admission webhooks, the external metrics API).
cert-manager needs port 80 out for its HTTP-01 self-check."""


def _release_selector(release: str) -> dict[str, str]:
    return {"app.kubernetes.io/instance": release}


def release_policy(release: str, egress_ports: tuple[int, ...], webhook_ports: tuple[int, ...]) -> KubeObject:
    """A controller release: its own pods talk freely; API server/cloud out; API server in on webhook ports."""
    own = [peer(None, _release_selector(release))]
    ingress: list[dict[str, Any]] = [{"from": own}]
    if webhook_ports:
        ingress.append({"from": ANYWHERE, "ports": ports(webhook_ports)})
    egress: list[dict[str, Any]] = [{"to": own}, {"to": ANYWHERE, "ports": ports(egress_ports)}]
    return allow(f"{release}-flows", NAMESPACE, _release_selector(release), component=NAME, ingress=ingress, egress=egress)


def gateway_policy(platform: Platform) -> KubeObject:
    """Envoy proxies: in from the internet on the listener ports, out to the public services, the ACME solvers and the controller."""
    public = sorted(n for n, s in platform.services.items() if s.public_host)
    egress: list[dict[str, Any]] = [
        {"to": [peer(APPS_NAMESPACE, selector_labels(n))], "ports": ports([platform.services[n].port])} for n in public
    ]
    egress.append({"to": [peer(None, ACME_SOLVER_LABELS)], "ports": ports([ACME_SOLVER_PORT])})
    egress.append({"to": [peer(None, envoy_gateway.CONTROLLER_POD_LABELS)], "ports": ports([envoy_gateway.CONTROLLER_XDS_PORT])})
    return allow("envoy-proxy-public-flows", NAMESPACE, envoy_gateway.PROXY_POD_LABELS, component=NAME,
                 ingress=[{"from": ANYWHERE, "ports": ports(envoy_gateway.PROXY_CONTAINER_PORTS)}], egress=egress)


def gateway_controller_xds(platform: Platform) -> KubeObject:
    """The Envoy Gateway controller serves xDS to the proxies."""
    return allow("envoy-gateway-xds", NAMESPACE, envoy_gateway.CONTROLLER_POD_LABELS, component=NAME,
                 ingress=[{"from": [peer(None, envoy_gateway.PROXY_POD_LABELS)], "ports": ports([envoy_gateway.CONTROLLER_XDS_PORT])}])


def acme_solver_policy(platform: Platform) -> KubeObject:
    """cert-manager's HTTP-01 solver pods answer the proxies."""
    return allow("acme-http01-solver", NAMESPACE, ACME_SOLVER_LABELS, component=NAME,
                 ingress=[{"from": [peer(None, envoy_gateway.PROXY_POD_LABELS)], "ports": ports([ACME_SOLVER_PORT])}])


def keda_reads_signals(platform: Platform) -> KubeObject:
    """KEDA's operator reads Prometheus (request rate) and Kafka (consumer lag); Argo Rollouts reads Prometheus (analysis)."""
    return allow("keda-signals", NAMESPACE, _release_selector(keda.NAME), component=NAME, egress=[
        {"to": [peer(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS)], "ports": ports([PROMETHEUS_PORT])},
        {"to": [peer("platform-data", {DATASTORE_LABEL: "kafka"})], "ports": ports(DATASTORE_PORTS["kafka"])},
    ])


def rollouts_reads_prometheus(platform: Platform) -> KubeObject:
    """Argo Rollouts' analysis queries Prometheus."""
    return allow("argo-rollouts-analysis", NAMESPACE, _release_selector(argo_rollouts.NAME), component=NAME, egress=[
        {"to": [peer(MONITORING_NAMESPACE, PROMETHEUS_POD_LABELS)], "ports": ports([PROMETHEUS_PORT])},
    ])


def objects(platform: Platform) -> list[KubeObject]:
    """Every platform-system flow beyond the baseline."""
    result = [release_policy(r, spec["egress_ports"], spec["webhook_ports"]) for r, spec in sorted(RELEASES.items())]
    result += [gateway_policy(platform), gateway_controller_xds(platform), acme_solver_policy(platform),
               keda_reads_signals(platform), rollouts_reads_prometheus(platform)]
    return result


COMPONENT = Component(name=NAME, namespace=NAMESPACE, objects=objects, sync_wave=-9)
