"""Certificates the way the cluster's real consumers check them: cert-manager's issuer chain and CA injection for
kube-prometheus-stack's admission webhook, External Secrets' webhook certificate, and the stand-in webhook server
answering over TLS. The first two against the real API server with the pinned charts' objects (needs
../shared/charts); the server alone needs nothing."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import threading
import urllib.request

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from plinth.sim import standin_webhook
from plinth.sim.apply import APPLIED, apply_objects
from plinth.sim.cluster import running_cluster
from plinth.sim.kubeclient import SECRETS, cluster_client
from plinth.sim.standin_controllers import (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS, cert_manager_passes, external_secrets_cert_controller_pass,
                                            sign, signer_from)
from plinth.sim.toolchain import SimVersions
from plinth.spec.model import Platform

KPS = "kube-prometheus-stack-chart"
CERT_KINDS = {"Issuer", "Certificate", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
ES_KINDS = {"ValidatingWebhookConfiguration", "Deployment", "Secret", "ServiceAccount"}


def _signed_by(cert_pem: str, ca_pem: str) -> bool:
    cert = x509.load_pem_x509_certificate(base64.b64decode(cert_pem))
    ca = x509.load_pem_x509_certificate(base64.b64decode(ca_pem))
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, InvalidSignature):
        return False
    return True


@pytest.mark.sim
def test_issuer_chain_and_ca_injection_for_the_operator_webhook_and_external_secrets(sim_versions: SimVersions, prod: Platform, prod_charts) -> None:
    rendered, hydration = prod_charts
    crds = [o.obj for o in hydration.objects if o.application in ("cert-manager", "external-secrets")
            and o.obj["kind"] == "CustomResourceDefinition"]
    kps = [o.obj for o in hydration.objects if o.application == KPS and o.obj["kind"] in CERT_KINDS]
    eso = [o.obj for o in hydration.objects if o.application == "external-secrets" and o.obj["kind"] in ES_KINDS]
    namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in ("platform-monitoring", "platform-system")]
    with running_cluster(f"c{os.getpid()}", sim_versions) as cluster:
        report = apply_objects(cluster, namespaces + crds + kps + eso)
        assert not [r for r in report.results if r.status != APPLIED], [r for r in report.results if r.status != APPLIED][:5]
        client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)
        log: list[str] = []
        for _ in range(4):  # root issued, then the CA issuer Ready, then the leaf, then injected
            log += cert_manager_passes(client) + external_secrets_cert_controller_pass(client)

        root = client.get(SECRETS, "kps-root-cert", "platform-monitoring")["data"]
        leaf = client.get(SECRETS, "kps-admission", "platform-monitoring")["data"]
        assert _signed_by(root["tls.crt"], root["tls.crt"]), "the self-signed issuer signs the root with its own key"
        assert _signed_by(leaf["tls.crt"], root["tls.crt"]), "the CA issuer signs with the root's key pair"
        assert leaf["ca.crt"] == root["tls.crt"]
        names = (x509.load_pem_x509_certificate(base64.b64decode(leaf["tls.crt"])).extensions
                 .get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
        assert "kps-operator.platform-monitoring.svc" in names
        for resource in (VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS):
            hooks = client.get(resource, "kps-admission")["webhooks"]
            assert {h["clientConfig"].get("caBundle") for h in hooks} == {leaf["ca.crt"]}, resource.plural

        webhook = client.get(SECRETS, "external-secrets-webhook", "platform-system")["data"]
        assert _signed_by(webhook["tls.crt"], webhook["ca.crt"])
        for name in ("externalsecret-validate", "secretstore-validate"):
            hooks = client.get(VALIDATING_WEBHOOKS, name)["webhooks"]
            assert {h["clientConfig"].get("caBundle") for h in hooks} == {webhook["ca.crt"]}, name
        count = len(log)
        for _ in range(2):
            log += cert_manager_passes(client) + external_secrets_cert_controller_pass(client)
        assert len(log) == count, f"a reconciled cluster is left alone: {log[count:]}"


def test_the_stand_in_webhook_admits_over_tls_with_the_certificate_it_is_given() -> None:
    ca_pems, _, _ = sign("test CA", [], None, is_ca=True)
    ca = signer_from({k: base64.b64encode(v).decode() for k, v in ca_pems.items()})
    pems, _, _ = sign("localhost", ["localhost"], ca)
    assert isinstance(ca[0], ec.EllipticCurvePrivateKey)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    threading.Thread(target=standin_webhook.serve, args=(port, pems["tls.crt"], pems["tls.key"]), daemon=True).start()
    context = ssl.create_default_context(cadata=ca_pems["tls.crt"].decode())
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "7f0c", "operation": "CREATE", "namespace": "platform-system", "name": "internal",
                          "kind": {"group": "cert-manager.io", "version": "v1", "kind": "Certificate"}}}
    request = urllib.request.Request(f"https://localhost:{port}/validate", data=json.dumps(review).encode(),
                                     headers={"Content-Type": "application/json"})
    for _ in range(50):
        try:
            answer = json.loads(urllib.request.urlopen(request, context=context, timeout=5).read())
            break
        except (ConnectionRefusedError, urllib.error.URLError):
            threading.Event().wait(0.1)
    assert answer == {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": "7f0c", "allowed": True}}
    assert standin_webhook.describe(review) == "CREATE Certificate platform-system/internal"
    with pytest.raises(urllib.error.URLError):  # a client that does not trust the CA is refused, as the API server would be
        urllib.request.urlopen(request, context=ssl.create_default_context(), timeout=5)
