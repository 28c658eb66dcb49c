"""The stand-in controllers against the real API server: the pinned charts' CRDs, prod's own custom resources,
and the statuses Argo CD's health checks wait for. Needs ../shared/charts (the CRDs come from the charts)."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography import x509

from plinth.sim.apply import APPLIED, apply_objects
from plinth.sim.cloud import assign_load_balancers
from plinth.sim.cluster import running_cluster
from plinth.sim.kubeclient import DEPLOYMENTS, PDBS, SECRETS, cluster_client
from plinth.sim.standin_controllers import (CERTIFICATES, EXTERNAL_SECRETS, GATEWAYS, HTTP_ROUTES, SCALED_OBJECTS, cert_manager_pass,
                                            external_secrets_pass, gateway_pass, keda_pass)
from plinth.sim.toolchain import SimVersions
from plinth.spec.model import Platform

pytestmark = pytest.mark.sim

CHARTS = ("external-secrets", "cert-manager", "envoy-gateway", "keda", "argo-rollouts")
KINDS = {"ClusterSecretStore", "ExternalSecret", "ClusterIssuer", "Certificate", "GatewayClass", "Gateway", "EnvoyProxy",
         "HTTPRoute", "ScaledObject", "Rollout", "Service", "Namespace"}


def _ready(obj: dict, kind: str = "Ready") -> str:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), "")


def test_controllers_make_prods_resources_healthy(sim_versions: SimVersions, prod: Platform, prod_charts) -> None:
    rendered, hydration = prod_charts
    crds = [o.obj for o in hydration.objects if o.application in CHARTS and o.obj["kind"] == "CustomResourceDefinition"]
    objects = [r.obj for r in rendered if r.obj["kind"] in KINDS and not r.obj["kind"].startswith("Application")]
    # cert-manager's controller: where ClusterIssuers keep their CA Secrets (its --cluster-resource-namespace)
    objects += [o.obj for o in hydration.objects if o.key == "Deployment/platform-system/cert-manager"]
    with running_cluster(f"c{os.getpid()}", sim_versions) as cluster:
        report = apply_objects(cluster, crds + objects)
        assert not [r for r in report.results if r.status != APPLIED], [r for r in report.results if r.status != APPLIED][:5]
        client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
        for _ in range(3):  # as the stand-ins process does: passes repeat until everything is reconciled
            for step in (assign_load_balancers, external_secrets_pass, cert_manager_pass, gateway_pass, keda_pass):
                step(client)

        for es in client.list(EXTERNAL_SECRETS):
            assert _ready(es) == "True", es["metadata"]["name"]
            target = es["spec"]["target"].get("name") or es["metadata"]["name"]
            secret = client.get(SECRETS, target, es["metadata"]["namespace"])
            template = es["spec"]["target"].get("template") or {}
            raw = {d["secretKey"] for d in es["spec"].get("data") or []}
            wanted = (set(template["data"]) | (raw if template.get("mergePolicy") == "Merge" else set())) if template.get("data") else raw
            assert secret is not None and set(secret["data"]) == wanted, es["metadata"]["name"]
        for cert in client.list(CERTIFICATES):
            assert _ready(cert) == "True", cert["metadata"]["name"]
            secret = client.get(SECRETS, cert["spec"]["secretName"], cert["metadata"]["namespace"])
            assert secret["type"] == "kubernetes.io/tls"
            parsed = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
            if cert["spec"].get("dnsNames"):
                names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
                assert names == cert["spec"]["dnsNames"]
            else:
                assert parsed.subject.rfc4514_string() == f"CN={cert['spec']['commonName']}"
        gateway = client.list(GATEWAYS)[0]
        assert _ready(gateway, "Programmed") == "True" and gateway["status"]["addresses"][0]["value"].startswith("192.0.2.")
        proxies = client.list(DEPLOYMENTS, "platform-system", label_selector="app.kubernetes.io/name=envoy")
        assert len(proxies) == 1
        pod = proxies[0]["spec"]["template"]
        spread = pod["spec"]["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
        assert all(pod["metadata"]["labels"].get(k) == v for k, v in spread.items()), "the tree's spread selects the proxy pods"
        assert client.list(PDBS, "platform-system", label_selector="app.kubernetes.io/name=envoy")
        for route in client.list(HTTP_ROUTES):
            conditions = {c["type"]: c["status"] for c in route["status"]["parents"][0]["conditions"]}
            assert conditions == {"Accepted": "True", "ResolvedRefs": "True"}, route["metadata"]["name"]
        for so in client.list(SCALED_OBJECTS):
            assert _ready(so) == "True", so["metadata"]["name"]
