"""The internal PKI: a self-signed root signs one CA Certificate, and the CA ClusterIssuer ``platform-internal-ca``
issues the workloads' service-to-service certificates (Kafka's listener, the services' TLS).

Its own Application, in the wave right after cert-manager and before every store that asks it for a certificate:
an issuer synced in the same later wave as the public certificates (which wait for the Gateway) would leave the
data stores' certificates waiting for it while the app-of-apps waits for the stores — the first sync would never
finish (found by ``plinth sim sync``: Kafka's listener certificate, wave 0, waited for this issuer in wave 1).
"""

from __future__ import annotations

from plinth.components.base import Component, KubeObject
from plinth.components.cert_manager import CERT_API
from plinth.components.cert_manager import NAMESPACE as CERT_MANAGER_NAMESPACE
from plinth.kube.objects import k8s_object, labels
from plinth.spec.model import Platform

NAME = "internal-pki"
NAMESPACE = CERT_MANAGER_NAMESPACE
"""cert-manager's namespace: its cluster resource namespace, where a ClusterIssuer's CA Secret must be."""
SELF_SIGNED_ISSUER = "selfsigned-root"
INTERNAL_CA = "platform-internal-ca"
"""Name of the internal CA Certificate, its Secret and the CA ClusterIssuer workloads use."""
INTERNAL_CA_DURATION = "87600h"
"""Ten years: the root of service-to-service trust is rotated deliberately, not by expiry."""
SYNC_WAVE = -1
"""After cert-manager (-5) and before the data stores (0) whose certificates it issues."""


def objects(platform: Platform) -> list[KubeObject]:
    """Self-signed root → CA Certificate → CA ClusterIssuer for service-to-service TLS."""
    return [
        k8s_object(CERT_API, "ClusterIssuer", SELF_SIGNED_ISSUER, labels=labels(NAME, SELF_SIGNED_ISSUER), spec={"selfSigned": {}}),
        k8s_object(CERT_API, "Certificate", INTERNAL_CA, NAMESPACE, labels=labels(NAME, INTERNAL_CA), spec={
            "isCA": True,
            "commonName": f"{platform.name} internal CA ({platform.environment})",
            "secretName": INTERNAL_CA,
            "duration": INTERNAL_CA_DURATION,
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": SELF_SIGNED_ISSUER},
        }),
        k8s_object(CERT_API, "ClusterIssuer", INTERNAL_CA, labels=labels(NAME, INTERNAL_CA), spec={"ca": {"secretName": INTERNAL_CA}}),
    ]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    sync_wave=SYNC_WAVE,
    cluster_kinds=(("cert-manager.io", "ClusterIssuer"),),
)
