"""Stand-ins for the controllers whose reconcile result Argo CD waits on but which do not run here: without
them an app-of-apps never gets past the first wave holding one of their resources (Argo CD's health checks
for these kinds report Progressing until the controller writes a status).

- **External Secrets** (v2.9.0 is refused by the Go module proxy): the cert controller's part (the webhook's
  certificate and CA bundles, ``external_secrets_cert_controller_pass``); a ``ClusterSecretStore``/``SecretStore``
  is marked Ready (there is no cloud secret manager to validate against: reported); each ``ExternalSecret``
  gets its target Secret with one random value per ``spec.data[].secretKey`` (with a
  ``spec.target.template``, its keys rendered: literals kept, ``{{ .key }}`` replaced; only those unless its
  ``mergePolicy`` is Merge), owned by
  the ExternalSecret when ``creationPolicy`` is Owner, and the
  status the operator writes (``Ready``/``SecretSynced``).
- **cert-manager** (v1.21.1's command modules are refused by the proxy): an Issuer or ClusterIssuer is marked
  Ready once it can sign (a ``ca`` issuer when its key pair Secret exists); each ``Certificate`` gets its
  ``kubernetes.io/tls`` Secret (a key of the asked algorithm and a certificate for its DNS names, signed as its
  issuer signs: ``selfSigned`` by its own key, ``ca`` by the issuer's key pair, any other type by one stand-in CA
  per process) with cert-manager's annotations (``cert-manager.io/certificate-name``, ``issuer-name``,
  ``issuer-kind``, ``issuer-group``, ``alt-names``, ``common-name``) and the Ready status with
  notBefore/notAfter/renewalTime. The CA injector's part: webhook configurations, CRDs and APIServices annotated
  ``cert-manager.io/inject-ca-from`` or ``inject-ca-from-secret`` get that CA as their ``caBundle``. The webhook
  itself is played by ``plinth.sim.standin_webhook`` as its pod.
- **Envoy Gateway** when its binary is not built: the GatewayClass of its controller is Accepted; each
  Gateway of that class gets the proxy Deployment, LoadBalancer Service and PodDisruptionBudget Envoy
  Gateway creates from the EnvoyProxy of ``spec.infrastructure.parametersRef`` (or the class's), labelled as
  ``internal/infrastructure/kubernetes/proxy/resource.go`` labels them (``app.kubernetes.io/name: envoy``,
  ``component: proxy``, ``managed-by: envoy-gateway``, ``gateway.envoyproxy.io/owning-gateway-name`` and
  ``-namespace``), and the Gateway and each HTTPRoute attached to it get Accepted/Programmed (a route whose
  backend Service does not exist gets ``ResolvedRefs`` False, ``BackendNotFound``, as the controller says).
- **KEDA** when its binary is not built: each ``ScaledObject`` whose target exists is marked Ready (KEDA's
  own HPA ``keda-hpa-<name>`` is not created: there is no metrics API here either).

Every pass logs what it did; the sync report lists these stand-ins.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from plinth.sim.kubeclient import DEPLOYMENTS, PDBS, SECRETS, SERVICES, ApiError, KubeClient, Resource
from plinth.sim.standin_operators import _apply, _owner, _served

CLUSTER_SECRET_STORES = Resource("external-secrets.io", "v1", "clustersecretstores", namespaced=False)
SECRET_STORES = Resource("external-secrets.io", "v1", "secretstores")
EXTERNAL_SECRETS = Resource("external-secrets.io", "v1", "externalsecrets")
CLUSTER_ISSUERS = Resource("cert-manager.io", "v1", "clusterissuers", namespaced=False)
ISSUERS = Resource("cert-manager.io", "v1", "issuers")
CERTIFICATES = Resource("cert-manager.io", "v1", "certificates")
GATEWAY_CLASSES = Resource("gateway.networking.k8s.io", "v1", "gatewayclasses", namespaced=False)
GATEWAYS = Resource("gateway.networking.k8s.io", "v1", "gateways")
HTTP_ROUTES = Resource("gateway.networking.k8s.io", "v1", "httproutes")
ENVOY_PROXIES = Resource("gateway.envoyproxy.io", "v1alpha1", "envoyproxies")
SCALED_OBJECTS = Resource("keda.sh", "v1alpha1", "scaledobjects")
ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ready(obj: dict[str, Any], kind: str = "Ready") -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in (obj.get("status") or {}).get("conditions") or [])


def _condition(kind: str, status: str, reason: str, message: str, generation: int | None = None) -> dict[str, Any]:
    condition = {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": _now()}
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def _set_status(client: KubeClient, resource: Resource, obj: dict[str, Any], status: dict[str, Any]) -> None:
    client.patch(resource, obj["metadata"]["name"], {"status": status}, obj["metadata"].get("namespace"), sub="status")


# --- External Secrets ---------------------------------------------------------------------------------------


def _flags(args: list[str]) -> dict[str, str]:
    return {k.lstrip("-"): v for k, _, v in (str(a).partition("=") for a in args if str(a).startswith("--"))}


def external_secrets_cert_controller_pass(client: KubeClient) -> list[str]:
    """External Secrets' cert controller (``certcontroller`` of the same image, refused by the proxy like the rest):
    the webhook's Secret (``--secret-name``/``--secret-namespace``) gets a CA and a serving certificate for the
    webhook Service's DNS names (``ca.crt``, ``ca.key``, ``tls.crt``, ``tls.key``), and that CA goes into the
    ``caBundle`` of the webhook configurations labelled ``external-secrets.io/component=webhook`` and of the CRD
    conversion webhooks that call the Service (external-secrets v2.9.0 ``pkg/controllers/webhookconfig`` and
    ``pkg/controllers/crds``)."""
    done: list[str] = []
    for deployment in client.list(DEPLOYMENTS):
        containers = deployment["spec"]["template"]["spec"].get("containers") or []
        args = next((c.get("args") or [] for c in containers if (c.get("args") or [""])[0] == "certcontroller"), None)
        if args is None:
            continue
        flags = _flags(args)
        namespace, name = flags.get("secret-namespace", ""), flags.get("secret-name", "")
        service, service_ns = flags.get("service-name", ""), flags.get("service-namespace", "")
        secret = client.get(SECRETS, name, namespace)
        if secret is None:
            continue  # the chart's (empty) Secret is not applied yet
        data = secret.get("data") or {}
        ca = signer_from({"tls.crt": data.get("ca.crt", ""), "tls.key": data.get("ca.key", "")})
        if ca is None or "tls.crt" not in data:
            ca, ca_pems = new_ca("external-secrets")
            dns = [f"{service}.{service_ns}.svc", f"{service}.{service_ns}.svc.cluster.local"]
            pems, _, _ = sign(dns[0], dns, ca, hours=24 * 365)
            pems["ca.key"] = ca_pems["tls.key"]
            data = {k: base64.b64encode(v).decode() for k, v in pems.items()}
            client.patch(SECRETS, name, {"data": data}, namespace)
            done.append(f"wrote the webhook certificate into Secret {namespace}/{name}")
        bundle = data["ca.crt"]
        targets = [(VALIDATING_WEBHOOKS, o) for o in client.list(VALIDATING_WEBHOOKS, label_selector="external-secrets.io/component=webhook")]
        targets += [(CRDS, o) for o in (client.list(CRDS) if _crds_due("external-secrets-cert-controller") else [])
                    if (((((o.get("spec") or {}).get("conversion") or {}).get("webhook") or {}).get("clientConfig") or {})
                        .get("service") or {}).get("name") == service]
        for resource, obj in targets:
            if _put_with_ca_bundle(client, resource, obj, bundle):
                done.append(f"injected the webhook CA into {obj['kind']} {obj['metadata']['name']}")
    return done


_TEMPLATE_ACTION = re.compile(r"\{\{\s*\.(\w+)((?:\s*\|\s*\w+)*)\s*\}\}")
TEMPLATE_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "sha256sum": lambda v: hashlib.sha256(v.encode()).hexdigest(),
    "b64enc": lambda v: base64.b64encode(v.encode()).decode(),
    "b64dec": lambda v: base64.b64decode(v.encode()).decode(errors="replace"),
    "lower": str.lower, "upper": str.upper, "trim": str.strip,
}
"""The Sprig functions of External Secrets' v2 templates the stand-in renders in a pipeline (``{{ .key | sha256sum }}``)."""
_SEED = secrets.token_bytes(32)


def remote_value(store: str, key: str, prop: str = "") -> str:
    """The value the secret manager holds at ``store``/``key``/``prop``: random (no cloud secret manager here), but the
    same for every ExternalSecret that reads it, as with a real secret manager: two Secrets built from one remote
    secret (a password and an ACL file hashing it) agree. Stable for the stand-in's lifetime."""
    digest = hashlib.blake2b(f"{store}\0{key}\0{prop}".encode(), key=_SEED, digest_size=18).digest()
    return base64.urlsafe_b64encode(digest).decode()


def remote_values(spec: dict[str, Any]) -> dict[str, str]:
    """Each ``spec.data`` entry's secretKey -> the remote value it reads (its own ``sourceRef.storeRef`` or the
    ExternalSecret's store)."""
    default_store = spec.get("secretStoreRef") or {}
    values = {}
    for entry in spec.get("data") or []:
        if not entry.get("secretKey"):
            continue
        store = ((entry.get("sourceRef") or {}).get("storeRef")) or default_store
        ref = entry.get("remoteRef") or {}
        values[entry["secretKey"]] = remote_value(f"{store.get('kind', 'SecretStore')}/{store.get('name', '')}",
                                                  str(ref.get("key", "")), str(ref.get("property", "")))
    return values


def render_template(text: str, values: dict[str, str]) -> str | None:
    """``text`` rendered as External Secrets renders a v2 template: literal text kept, ``{{ .key }}`` replaced by the
    key's value, piped through ``TEMPLATE_FUNCTIONS``; None when it uses anything else (other functions, control
    structures) or a key it has no value for."""
    failed = False

    def action(match: re.Match[str]) -> str:
        nonlocal failed
        value = values.get(match.group(1))
        functions = [f.strip() for f in match.group(2).split("|") if f.strip()]
        if value is None or any(f not in TEMPLATE_FUNCTIONS for f in functions):
            failed = True
            return ""
        for function in functions:
            value = TEMPLATE_FUNCTIONS[function](value)
        return value

    rendered = _TEMPLATE_ACTION.sub(action, text)
    return None if failed or "{{" in rendered else rendered


def target_values(values: dict[str, str], template: dict[str, str], merge: bool = False) -> dict[str, str]:
    """The target Secret's values from the remote ``values`` (secretKey -> value) and ``spec.target.template.data``
    rendered (``render_template``); a template the stand-in cannot render gets a random value. With a template,
    only its keys are kept unless ``merge`` (``template.mergePolicy: Merge``)."""
    rendered = {key: render_template(str(text), values) for key, text in template.items()}
    rendered = {key: value if value is not None else secrets.token_urlsafe(24) for key, value in rendered.items()}
    return {**({k: v for k, v in values.items() if merge or not template}), **rendered}


def external_secrets_pass(client: KubeClient) -> list[str]:
    """Stores Ready; each ExternalSecret's target Secret (random values for the remote keys, its template rendered),
    and its Ready status."""
    done: list[str] = []
    for resource in (CLUSTER_SECRET_STORES, SECRET_STORES):
        if not _served(client, resource):
            continue
        for store in client.list(resource):
            if not _ready(store):
                _set_status(client, resource, store, {"capabilities": "ReadOnly", "conditions": [
                    _condition("Ready", "True", "Valid", "store validated (stand-in: no cloud secret manager here)")]})
                done.append(f"{store['kind']} {store['metadata']['name']}: Ready")
    if not _served(client, EXTERNAL_SECRETS):
        return done
    for es in client.list(EXTERNAL_SECRETS):
        if _ready(es):
            continue
        meta, spec = es["metadata"], es.get("spec") or {}
        target = spec.get("target") or {}
        name = target.get("name") or meta["name"]
        template = target.get("template") or {}
        if client.get(SECRETS, name, meta["namespace"]) is None:
            values = target_values(remote_values(spec), template.get("data") or {}, template.get("mergePolicy") == "Merge")
            secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "type": template.get("type", "Opaque"),
                                      "metadata": {"name": name, "namespace": meta["namespace"],
                                                   "labels": {"reconcile.external-secrets.io/managed": "true"}},
                                      "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(values.items())}}
            if target.get("creationPolicy", "Owner") == "Owner":
                secret["metadata"]["ownerReferences"] = [_owner(es)]
            client.create(SECRETS, secret, meta["namespace"])
            done.append(f"created Secret {meta['namespace']}/{name} ({len(values)} keys) for ExternalSecret {meta['name']}")
        _set_status(client, EXTERNAL_SECRETS, es, {"binding": {"name": name}, "refreshTime": _now(), "conditions": [
            _condition("Ready", "True", "SecretSynced", "secret synced (stand-in: random values)")]})
    return done


# --- cert-manager ---------------------------------------------------------------------------------------------


def _duration_hours(text: str | None, default: float) -> float:
    if not text:
        return default
    total, number = 0.0, ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number or 0) * {"h": 1, "m": 1 / 60, "s": 1 / 3600}.get(char, 0)
            number = ""
    return total or default


Signer = tuple[Any, x509.Certificate]
"""A CA's private key and certificate."""


def sign(common_name: str, dns_names: list[str], signer: Signer | None, *, is_ca: bool = False, hours: float = 2160,
         algorithm: str = "ECDSA", size: int = 256) -> tuple[dict[str, bytes], datetime.datetime, datetime.datetime]:
    """PEM ``tls.crt``, ``tls.key`` and ``ca.crt`` of a new key and certificate signed by ``signer`` (None:
    self-signed, its own ``ca.crt``), with its validity."""
    key = (ec.generate_private_key(ec.SECP384R1() if size == 384 else ec.SECP256R1()) if algorithm.upper() == "ECDSA"
           else rsa.generate_private_key(public_exponent=65537, key_size=size))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now + datetime.timedelta(hours=hours)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(signer[1].subject if signer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if is_ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                      encipher_only=False, decipher_only=False), critical=True)
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
    cert = builder.sign(signer[0] if signer else key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    ca_cert = signer[1] if signer else cert
    return ({"tls.crt": cert.public_bytes(pem), "ca.crt": ca_cert.public_bytes(pem),
             "tls.key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())}, now, not_after)


def new_ca(common_name: str, hours: float = 24 * 3650) -> tuple[Signer, dict[str, bytes]]:
    """A new self-signed CA: its key and certificate, and their PEM (``tls.crt``, ``tls.key``, ``ca.crt``)."""
    pems, _, _ = sign(common_name, [], None, is_ca=True, hours=hours)
    key = serialization.load_pem_private_key(pems["tls.key"], password=None)
    return (key, x509.load_pem_x509_certificate(pems["tls.crt"])), pems


_AUTHORITY: list[Signer] = []
"""One CA per stand-in process, signing the Certificates of issuers it cannot play (ACME, Vault, …)."""


def signer_from(data: dict[str, str]) -> Signer | None:
    """The CA held in a TLS Secret's data (base64 ``tls.crt``/``tls.key``), or None when it holds none yet."""
    try:
        cert = x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))
        key = serialization.load_pem_private_key(base64.b64decode(data["tls.key"]), password=None)
    except (KeyError, ValueError):
        return None
    return key, cert


def issue(certificate: dict[str, Any], signer: Signer | None = None) -> tuple[dict[str, str], datetime.datetime, datetime.datetime]:
    """The TLS Secret data (base64) for a Certificate signed by ``signer`` (None: self-signed), and its validity."""
    spec = certificate.get("spec") or {}
    algorithm = ((spec.get("privateKey") or {}).get("algorithm") or "RSA").upper()
    size = int((spec.get("privateKey") or {}).get("size") or (256 if algorithm == "ECDSA" else 2048))
    names = list(spec.get("dnsNames") or [])
    common = spec.get("commonName") or (names[0] if names else certificate["metadata"]["name"])
    data, not_before, not_after = sign(common, names, signer, is_ca=bool(spec.get("isCA")),
                                       hours=_duration_hours(spec.get("duration"), 2160), algorithm=algorithm, size=size)
    return {k: base64.b64encode(v).decode() for k, v in data.items()}, not_before, not_after


def cluster_resource_namespace(client: KubeClient) -> str:
    """Where cert-manager reads ClusterIssuers' Secrets: its controller's ``--cluster-resource-namespace``, by
    default the controller's own namespace."""
    for deployment in client.list(DEPLOYMENTS, label_selector="app.kubernetes.io/name=cert-manager,app.kubernetes.io/component=controller"):
        own = deployment["metadata"]["namespace"]
        for container in deployment["spec"]["template"]["spec"].get("containers") or []:
            value = _flags(container.get("args") or []).get("cluster-resource-namespace")
            if value:
                return own if "$(POD_NAMESPACE)" in value else value
        return own
    return "cert-manager"


def _issuer(client: KubeClient, ref: dict[str, Any], namespace: str) -> tuple[dict[str, Any] | None, str]:
    """The issuer a Certificate refers to, and the namespace its Secrets live in."""
    if ref.get("kind") == "ClusterIssuer":
        return client.get(CLUSTER_ISSUERS, ref.get("name", "")), cluster_resource_namespace(client)
    return client.get(ISSUERS, ref.get("name", ""), namespace), namespace


def _signer(client: KubeClient, issuer: dict[str, Any], secret_namespace: str) -> tuple[bool, Signer | None]:
    """(whether the issuer can sign now, its CA) as cert-manager's issuers sign: ``selfSigned`` with the new key
    itself (no CA), ``ca`` with the key pair in ``spec.ca.secretName``; any other type (ACME, Vault, …) with the
    stand-in's CA."""
    spec = issuer.get("spec") or {}
    if "selfSigned" in spec:
        return True, None
    if "ca" in spec:
        secret = client.get(SECRETS, spec["ca"].get("secretName", ""), secret_namespace)
        found = signer_from((secret or {}).get("data") or {})
        return found is not None, found
    if not _AUTHORITY:
        _AUTHORITY.append(new_ca("plinth sim cert-manager stand-in CA")[0])
    return True, _AUTHORITY[0]


def cert_manager_pass(client: KubeClient) -> list[str]:
    """Issuers Ready once they can sign; each Certificate's Secret issued by its issuer (and issued again when the
    Secret is gone), with its Ready status."""
    done: list[str] = []
    cluster_ns = cluster_resource_namespace(client) if _served(client, CLUSTER_ISSUERS) else ""
    for resource in (CLUSTER_ISSUERS, ISSUERS):
        if not _served(client, resource):
            continue
        for issuer in client.list(resource):
            namespace = issuer["metadata"].get("namespace") or cluster_ns
            can_sign, _ = _signer(client, issuer, namespace)
            if can_sign and not _ready(issuer):
                _set_status(client, resource, issuer, {"conditions": [_condition("Ready", "True", "KeyPairVerified", "Signing CA verified",
                                                                                  issuer["metadata"].get("generation"))]})
                done.append(f"{issuer['kind']} {issuer['metadata']['name']}: Ready")
    if not _served(client, CERTIFICATES):
        return done
    for cert in client.list(CERTIFICATES):
        meta, spec = cert["metadata"], cert.get("spec") or {}
        if _ready(cert) and client.get(SECRETS, spec["secretName"], meta["namespace"]) is not None:
            continue
        ref = spec.get("issuerRef") or {}
        issuer, secret_namespace = _issuer(client, ref, meta["namespace"])
        if issuer is None or not _ready(issuer):
            continue  # cert-manager waits for its issuer too
        _, signer = _signer(client, issuer, secret_namespace)
        data, not_before, not_after = issue(cert, signer)
        annotations = {"cert-manager.io/certificate-name": meta["name"], "cert-manager.io/issuer-name": ref.get("name", ""),
                       "cert-manager.io/issuer-kind": ref.get("kind", "Issuer"), "cert-manager.io/issuer-group": ref.get("group", "cert-manager.io"),
                       "cert-manager.io/alt-names": ",".join(spec.get("dnsNames") or []), "cert-manager.io/common-name": spec.get("commonName", "")}
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                  "metadata": {"name": spec["secretName"], "namespace": meta["namespace"], "annotations": annotations,
                               "labels": {"controller.cert-manager.io/fao": "true"}},
                  "data": data}
        _apply(client, SECRETS, secret, meta["namespace"])
        renew = not_after - datetime.timedelta(hours=_duration_hours(spec.get("renewBefore"), 720))
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        _set_status(client, CERTIFICATES, cert, {"notBefore": not_before.strftime(fmt), "notAfter": not_after.strftime(fmt),
                                                 "renewalTime": renew.strftime(fmt), "revision": 1, "conditions": [
                                                     _condition("Ready", "True", "Ready", "Certificate is up to date and has not expired",
                                                                meta.get("generation"))]})
        done.append(f"issued Certificate {meta['namespace']}/{meta['name']} into Secret {spec['secretName']} "
                    f"({'self-signed' if signer is None else 'signed by ' + signer[1].subject.rfc4514_string()})")
    return done


INJECT_FROM_CERTIFICATE = "cert-manager.io/inject-ca-from"
INJECT_FROM_SECRET = "cert-manager.io/inject-ca-from-secret"
ALLOW_DIRECT_INJECTION = "cert-manager.io/allow-direct-injection"
VALIDATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", namespaced=False)
MUTATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", namespaced=False)
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
API_SERVICES = Resource("apiregistration.k8s.io", "v1", "apiservices", namespaced=False)
CA_BUNDLE_KINDS = {VALIDATING_WEBHOOKS: "ValidatingWebhookConfiguration", MUTATING_WEBHOOKS: "MutatingWebhookConfiguration",
                   CRDS: "CustomResourceDefinition", API_SERVICES: "APIService"}


CRD_SCAN_SECONDS = 30.0
"""How often the passes read every CRD for CA bundles (CRDs are large; webhook configurations are read every pass)."""
_last_crd_scan: dict[str, float] = {}


def _crds_due(pass_name: str) -> bool:
    """Whether ``pass_name`` reads the CRDs this time (at most every ``CRD_SCAN_SECONDS``)."""
    now = time.monotonic()
    if now - _last_crd_scan.get(pass_name, -CRD_SCAN_SECONDS) < CRD_SCAN_SECONDS:
        return False
    _last_crd_scan[pass_name] = now
    return True


def _put_with_ca_bundle(client: KubeClient, resource: Resource, obj: dict[str, Any], bundle: str) -> bool:
    """Write ``bundle`` as the object's caBundle (list items carry no kind: set from the resource); whether it changed."""
    obj["apiVersion"], obj["kind"] = f"{resource.group}/{resource.version}", CA_BUNDLE_KINDS[resource]
    if not replace_ca_bundles(obj, bundle):
        return False
    client.request("PUT", resource.path(None, obj["metadata"]["name"]), obj)
    return True


def _injected_ca(client: KubeClient, annotations: dict[str, str]) -> str | None:
    """The CA bundle (base64) cert-manager's CA injector would write for these annotations, or None (nothing to
    inject yet). From a Certificate: the ``ca.crt`` of its Secret; from a Secret: its ``ca.crt`` only when the
    Secret allows direct injection, as the injector requires."""
    if INJECT_FROM_CERTIFICATE in annotations:
        namespace, _, name = annotations[INJECT_FROM_CERTIFICATE].partition("/")
        cert = client.get(CERTIFICATES, name, namespace) if _served(client, CERTIFICATES) else None
        secret = client.get(SECRETS, cert["spec"]["secretName"], namespace) if cert else None
    elif INJECT_FROM_SECRET in annotations:
        namespace, _, name = annotations[INJECT_FROM_SECRET].partition("/")
        secret = client.get(SECRETS, name, namespace)
        if secret and (secret["metadata"].get("annotations") or {}).get(ALLOW_DIRECT_INJECTION) != "true":
            return None
    else:
        return None
    return ((secret or {}).get("data") or {}).get("ca.crt")


def replace_ca_bundles(obj: dict[str, Any], bundle: str) -> bool:
    """Set ``caBundle`` wherever the object's kind keeps one (webhooks' client configs, a CRD's conversion webhook,
    an APIService); return whether anything changed."""
    kind, changed = obj.get("kind"), False
    configs: list[dict[str, Any]] = []
    if kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        configs = [hook.setdefault("clientConfig", {}) for hook in obj.get("webhooks") or []]
    elif kind == "CustomResourceDefinition":
        webhook = ((obj.get("spec") or {}).get("conversion") or {}).get("webhook")
        configs = [webhook.setdefault("clientConfig", {})] if webhook else []
    elif kind == "APIService":
        configs = [obj.setdefault("spec", {})]
    for config in configs:
        if config.get("caBundle") != bundle:
            config["caBundle"], changed = bundle, True
    return changed


def ca_injector_pass(client: KubeClient) -> list[str]:
    """cert-manager's CA injector: webhook configurations, CRDs and APIServices annotated
    ``cert-manager.io/inject-ca-from`` (a Certificate) or ``inject-ca-from-secret`` get that CA as their caBundle."""
    done: list[str] = []
    resources = (VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS, API_SERVICES) + ((CRDS,) if _crds_due("ca-injector") else ())
    for resource in resources:
        for obj in client.list(resource):
            annotations = obj["metadata"].get("annotations") or {}
            if INJECT_FROM_CERTIFICATE not in annotations and INJECT_FROM_SECRET not in annotations:
                continue
            bundle = _injected_ca(client, annotations)
            if bundle is None or not _put_with_ca_bundle(client, resource, obj, bundle):
                continue
            done.append(f"injected the CA into {obj['kind']} {obj['metadata']['name']}")
    return done


def external_secrets_passes(client: KubeClient) -> list[str]:
    """The cert controller, then the controller."""
    return external_secrets_cert_controller_pass(client) + external_secrets_pass(client)


def cert_manager_passes(client: KubeClient) -> list[str]:
    """The controller's issuing, then the CA injector."""
    return cert_manager_pass(client) + ca_injector_pass(client)


# --- Envoy Gateway --------------------------------------------------------------------------------------------


def _envoy_name(namespace: str, name: str) -> str:
    base = f"{namespace}-{name}"[:48]
    return f"envoy-{base}-{hashlib.sha256(f'{namespace}/{name}'.encode()).hexdigest()[:8]}"


def _service_ports(gateway: dict[str, Any]) -> list[dict[str, Any]]:
    """One Service port per listener port (listeners sharing a port, e.g. HTTPS for several hostnames, share one)."""
    ports: dict[int, dict[str, Any]] = {}
    for listener in (gateway.get("spec") or {}).get("listeners") or []:
        ports.setdefault(int(listener["port"]), {"name": f"{listener['protocol'].lower()}-{listener['port']}", "port": int(listener["port"]),
                                                 "targetPort": 10080 if listener["protocol"] == "HTTP" else 10443, "protocol": "TCP"})
    return [ports[p] for p in sorted(ports)]


def envoy_proxy_objects(gateway: dict[str, Any], proxy: dict[str, Any] | None, namespace: str) -> list[tuple[Resource, dict[str, Any]]]:
    """The proxy Deployment, Service and PodDisruptionBudget Envoy Gateway creates for a Gateway."""
    gw_meta = gateway["metadata"]
    name = _envoy_name(gw_meta["namespace"], gw_meta["name"])
    owning = {"gateway.envoyproxy.io/owning-gateway-name": gw_meta["name"], "gateway.envoyproxy.io/owning-gateway-namespace": gw_meta["namespace"]}
    labels = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "envoy-gateway", **owning}
    kube = (((proxy or {}).get("spec") or {}).get("provider") or {}).get("kubernetes") or {}
    deployment = kube.get("envoyDeployment") or {}
    pod = deployment.get("pod") or {}
    container = deployment.get("container") or {}
    pod_spec: dict[str, Any] = {"containers": [{"name": "envoy", "image": "docker.io/envoyproxy/envoy:distroless",
                                                "resources": container.get("resources") or {"requests": {"cpu": "100m", "memory": "512Mi"}},
                                                "ports": [{"containerPort": 10080, "name": "http"}, {"containerPort": 10443, "name": "https"}]}]}
    for key in ("nodeSelector", "tolerations", "affinity", "topologySpreadConstraints"):
        if pod.get(key):
            pod_spec[key] = pod[key]
    service = kube.get("envoyService") or {}
    pdb = kube.get("envoyPDB")
    objects: list[tuple[Resource, dict[str, Any]]] = [
        (DEPLOYMENTS, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace, "labels": labels},
                       "spec": {"replicas": deployment.get("replicas", 1), "selector": {"matchLabels": labels},
                                "template": {"metadata": {"labels": {**labels, **(pod.get("labels") or {})}}, "spec": pod_spec}}}),
        (SERVICES, {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": service.get("annotations") or {}},
                    "spec": {"type": service.get("type", "LoadBalancer"), "selector": labels,
                             **({"externalTrafficPolicy": service["externalTrafficPolicy"]} if service.get("externalTrafficPolicy") else {}),
                             "ports": _service_ports(gateway)}}),
    ]
    if pdb:
        budget = {k: pdb[k] for k in ("minAvailable", "maxUnavailable") if k in pdb}
        objects.append((PDBS, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": namespace, "labels": labels},
                               "spec": {**budget, "selector": {"matchLabels": labels}}}))
    return objects


def gateway_pass(client: KubeClient, controller_namespace: str = "platform-system") -> list[str]:
    """Envoy Gateway's part for its GatewayClasses, their Gateways and the HTTPRoutes attached to them."""
    done: list[str] = []
    if not _served(client, GATEWAY_CLASSES) or not _served(client, GATEWAYS):
        return done
    classes = {c["metadata"]["name"]: c for c in client.list(GATEWAY_CLASSES) if (c.get("spec") or {}).get("controllerName") == ENVOY_GATEWAY_CONTROLLER}
    for gc in classes.values():
        if not _ready(gc, "Accepted"):
            _set_status(client, GATEWAY_CLASSES, gc, {"conditions": [_condition("Accepted", "True", "Accepted", "Valid GatewayClass",
                                                                                  gc["metadata"].get("generation"))]})
            done.append(f"GatewayClass {gc['metadata']['name']}: Accepted")
    proxies = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in client.list(ENVOY_PROXIES)} if _served(client, ENVOY_PROXIES) else {}
    gateways = [g for g in client.list(GATEWAYS) if (g.get("spec") or {}).get("gatewayClassName") in classes]
    for gateway in gateways:
        meta, spec = gateway["metadata"], gateway.get("spec") or {}
        ref = ((spec.get("infrastructure") or {}).get("parametersRef")) or ((classes[spec["gatewayClassName"]].get("spec") or {}).get("parametersRef")) or {}
        proxy = proxies.get((ref.get("namespace") or meta["namespace"], ref.get("name", ""))) if ref.get("kind") == "EnvoyProxy" else None
        for target, obj in envoy_proxy_objects(gateway, proxy, controller_namespace):
            if _apply(client, target, obj, controller_namespace):
                done.append(f"created {obj['kind']} {controller_namespace}/{obj['metadata']['name']} for Gateway {meta['name']}")
        service = client.get(SERVICES, _envoy_name(meta["namespace"], meta["name"]), controller_namespace) or {}
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if not _ready(gateway, "Programmed") and ingress:
            generation = meta.get("generation")
            listeners = [{"name": l["name"], "attachedRoutes": 0, "supportedKinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
                          "conditions": [_condition(t, "True", t, f"listener {t.lower()}", generation) for t in ("Accepted", "Programmed", "ResolvedRefs")]}
                         for l in spec.get("listeners") or []]
            _set_status(client, GATEWAYS, gateway, {"addresses": [{"type": "IPAddress", "value": ingress[0].get("ip", "")}], "listeners": listeners,
                                                    "conditions": [_condition("Accepted", "True", "Accepted", "The Gateway has been scheduled by Envoy Gateway", generation),
                                                                   _condition("Programmed", "True", "Programmed", "Address assigned to the Gateway", generation)]})
            done.append(f"Gateway {meta['namespace']}/{meta['name']}: Programmed ({ingress[0].get('ip', '')})")
    names = {(g["metadata"]["namespace"], g["metadata"]["name"]) for g in gateways}
    if not _served(client, HTTP_ROUTES):
        return done
    for route in client.list(HTTP_ROUTES):
        meta, spec = route["metadata"], route.get("spec") or {}
        parents = []
        for parent in spec.get("parentRefs") or []:
            if (parent.get("namespace") or meta["namespace"], parent.get("name")) not in names:
                continue
            missing = sorted({b["name"] for rule in spec.get("rules") or [] for b in rule.get("backendRefs") or []
                              if b.get("kind", "Service") == "Service" and client.get(SERVICES, b["name"], b.get("namespace") or meta["namespace"]) is None})
            generation = meta.get("generation")
            resolved = (_condition("ResolvedRefs", "False", "BackendNotFound", f"Service {', '.join(missing)} not found", generation) if missing
                        else _condition("ResolvedRefs", "True", "ResolvedRefs", "Resolved all the Object references for the Route", generation))
            parents.append({"parentRef": parent, "controllerName": ENVOY_GATEWAY_CONTROLLER,
                            "conditions": [_condition("Accepted", "True", "Accepted", "Route is accepted", generation), resolved]})
        old = [(p.get("parentRef"), [(c.get("type"), c.get("status"), c.get("observedGeneration")) for c in p.get("conditions") or []])
               for p in (route.get("status") or {}).get("parents") or []]
        new = [(p["parentRef"], [(c["type"], c["status"], c.get("observedGeneration")) for c in p["conditions"]]) for p in parents]
        if parents and old != new:
            _set_status(client, HTTP_ROUTES, route, {"parents": parents})
            done.append(f"HTTPRoute {meta['namespace']}/{meta['name']}: " + "; ".join(f"{c[0]}={c[1]}" for c in new[0][1]))
    return done


# --- KEDA -----------------------------------------------------------------------------------------------------


def keda_pass(client: KubeClient) -> list[str]:
    """Each ScaledObject whose scale target exists: Ready."""
    done: list[str] = []
    if not _served(client, SCALED_OBJECTS):
        return done
    for so in client.list(SCALED_OBJECTS):
        if _ready(so):
            continue
        target = (so.get("spec") or {}).get("scaleTargetRef") or {}
        group, _, version = (target.get("apiVersion") or "apps/v1").rpartition("/")
        plural = target.get("kind", "Deployment").lower() + "s"
        try:
            exists = client.get(Resource(group, version, plural), target.get("name", ""), so["metadata"]["namespace"]) is not None
        except ApiError:
            exists = False
        condition = (_condition("Ready", "True", "ScaledObjectReady", "ScaledObject is defined correctly and is ready for scaling") if exists
                     else _condition("Ready", "False", "ScaledObjectCheckFailed", f"{target.get('kind')} {target.get('name')} not found"))
        _set_status(client, SCALED_OBJECTS, so, {"scaleTargetKind": f"{target.get('apiVersion')}.{target.get('kind')}", "conditions": [
            condition, _condition("Active", "False", "ScalerNotActive", "no metrics API in the simulated cluster")]})
        done.append(f"ScaledObject {so['metadata']['namespace']}/{so['metadata']['name']}: Ready={condition['status']}")
    return done


CONTROLLER_PASSES: dict[str, Callable[[KubeClient], list[str]]] = {
    "external-secrets": external_secrets_passes,
    "cert-manager": cert_manager_passes,
    "envoy-gateway": gateway_pass,
    "keda": keda_pass,
}
"""Stand-in passes by the program they stand in for; the Go ones run only when their binary is not built."""
