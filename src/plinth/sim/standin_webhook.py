"""An admission webhook server standing in for a webhook whose program cannot be built here, run as that
webhook's pod: ``python -m plinth.sim.standin_webhook FLAVOUR <the container's own arguments>``.

Without it, every request a ``failurePolicy: Fail`` webhook matches is refused while its pods are kwok's fakes
(the API server cannot reach them), so no Certificate, Issuer, ExternalSecret or SecretStore could ever be
created. It serves TLS as the real webhook does, with the certificate the real one would use, and admits every
request it is sent (the objects were validated against their CRD schemas before the sync; what the real webhook
adds, such as cert-manager's checks of issuer fields, is not reproduced), logging one line per review.

Flavours, each reading the container's own flags:

- ``cert-manager`` (``--secure-port``, ``--dynamic-serving-ca-secret-namespace``/``-name``,
  ``--dynamic-serving-dns-names``): cert-manager's dynamic serving: the CA is kept in that Secret (``ca.crt``,
  ``tls.crt``, ``tls.key``, annotated ``cert-manager.io/allow-direct-injection``, created if absent, with the
  pod's own ServiceAccount and RBAC) and the serving certificate for the DNS names is signed by it; the CA
  injector (``plinth.sim.standin_controllers.ca_injector_pass``) puts it in the webhook configurations.
- ``external-secrets`` (``webhook --port --cert-dir``): serves the ``tls.crt``/``tls.key`` of its certificate
  folder (the mounted Secret the cert controller fills), waiting until they are there, as the real webhook does.
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from plinth.sim.kubeclient import SECRETS, ApiError, KubeClient, in_cluster_client
from plinth.sim.standin_controllers import ALLOW_DIRECT_INJECTION, new_ca, sign, signer_from

CERT_WAIT_SECONDS = 2.0


def review_response(review: dict[str, Any]) -> dict[str, Any]:
    """The AdmissionReview answer admitting the request (same API version, the request's uid, no patch)."""
    request = review.get("request") or {}
    return {"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"), "kind": "AdmissionReview",
            "response": {"uid": request.get("uid", ""), "allowed": True}}


def describe(review: dict[str, Any]) -> str:
    """One log line for a review: operation, kind, namespace/name."""
    request = review.get("request") or {}
    kind = (request.get("kind") or {}).get("kind", "?")
    name = request.get("name") or ((request.get("object") or {}).get("metadata") or {}).get("generateName", "")
    where = f"{request['namespace']}/{name}" if request.get("namespace") else name
    return f"{request.get('operation', '?')} {kind} {where}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        length = int(self.headers.get("Content-Length") or 0)
        try:
            review = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.send_error(400, "not an AdmissionReview")
            return
        body = json.dumps(review_response(review)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        print(f"admitted {describe(review)} ({self.path})", flush=True)

    def do_GET(self) -> None:  # noqa: N802 - health probes
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - reviews are logged by do_POST
        return


def serve(port: int, cert_pem: bytes, key_pem: bytes) -> None:
    """Serve admission reviews over TLS on every address of the pod, until terminated."""
    folder = Path(tempfile.mkdtemp(prefix="standin-webhook-"))
    (folder / "tls.crt").write_bytes(cert_pem)
    (folder / "tls.key").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(folder / "tls.crt"), str(folder / "tls.key"))
    server = ThreadingHTTPServer(("0.0.0.0", port), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"serving admission reviews on :{port}", flush=True)
    server.serve_forever()


def dynamic_serving_ca(client: KubeClient, namespace: str, name: str) -> dict[str, str]:
    """The CA Secret's data, created as cert-manager's webhook creates it when absent or empty."""
    secret = client.get(SECRETS, name, namespace)
    data = (secret or {}).get("data") or {}
    if signer_from(data) is not None:
        return data
    _, pems = new_ca("cert-manager-webhook-ca", hours=24 * 365)
    data = {k: base64.b64encode(v).decode() for k, v in pems.items()}
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": data,
            "metadata": {"name": name, "namespace": namespace, "annotations": {ALLOW_DIRECT_INJECTION: "true"}}}
    if secret is None:
        client.create(SECRETS, body, namespace)
    else:
        body["metadata"]["resourceVersion"] = secret["metadata"]["resourceVersion"]
        client.request("PUT", SECRETS.path(namespace, name), body)
    print(f"wrote the serving CA into Secret {namespace}/{name}", flush=True)
    return data


def cert_manager(args: list[str]) -> None:
    """cert-manager's webhook: dynamic serving from its CA Secret."""
    parser = argparse.ArgumentParser(prog="cert-manager-webhook")
    parser.add_argument("--secure-port", type=int, default=6443)
    parser.add_argument("--dynamic-serving-ca-secret-namespace", required=True)
    parser.add_argument("--dynamic-serving-ca-secret-name", required=True)
    parser.add_argument("--dynamic-serving-dns-names", action="append", default=[])
    known, _ = parser.parse_known_args(args)
    names = [n for value in known.dynamic_serving_dns_names for n in value.split(",") if n]
    client = in_cluster_client()
    while True:
        try:
            data = dynamic_serving_ca(client, known.dynamic_serving_ca_secret_namespace, known.dynamic_serving_ca_secret_name)
            break
        except (ApiError, OSError) as exc:
            print(f"waiting for the API server: {exc}", flush=True)
            time.sleep(CERT_WAIT_SECONDS)
    signer = signer_from(data)
    pems, _, _ = sign(names[0] if names else "cert-manager-webhook", names, signer, hours=24 * 7)
    serve(known.secure_port, pems["tls.crt"], pems["tls.key"])


def external_secrets(args: list[str]) -> None:
    """External Secrets' webhook: the certificate of its mounted folder."""
    parser = argparse.ArgumentParser(prog="external-secrets webhook")
    parser.add_argument("--port", type=int, default=10250)
    parser.add_argument("--cert-dir", default="/tmp/k8s-webhook-server/serving-certs")
    known, _ = parser.parse_known_args(args)
    folder = Path(known.cert_dir)
    while not ((folder / "tls.crt").is_file() and (folder / "tls.key").is_file()
               and (folder / "tls.crt").stat().st_size and (folder / "tls.key").stat().st_size):
        print(f"waiting for {folder}/tls.crt and tls.key", flush=True)
        time.sleep(CERT_WAIT_SECONDS)
    serve(known.port, (folder / "tls.crt").read_bytes(), (folder / "tls.key").read_bytes())


FLAVOURS = {"cert-manager": cert_manager, "external-secrets": external_secrets}


def main() -> None:
    """Run the flavour named by the first argument with the container's arguments."""
    if len(sys.argv) < 2 or sys.argv[1] not in FLAVOURS:
        raise SystemExit(f"usage: python -m plinth.sim.standin_webhook {{{','.join(FLAVOURS)}}} ARGS...")
    FLAVOURS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
