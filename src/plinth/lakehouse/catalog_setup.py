"""Set up the platform's Iceberg catalog in Apache Polaris, idempotently (run after every sync).

With the realm's root credentials (bootstrapped once), through Polaris' management API (1.7):

1. the catalog (the warehouse clients name) exists, located in the warehouse bucket, its storage reached with
   the catalog server's workload identity (on AWS the role Polaris assumes to vend table-scoped credentials is
   the pod's own, ``AWS_ROLE_ARN``; on Azure the tenant is ``AZURE_TENANT_ID``; both set by the cloud's
   workload-identity webhook);
2. for each service that uses Iceberg: a principal, a principal role and a catalog role allowed to manage the
   catalog's content, assigned to each other;
3. each principal's credentials are in a Secret of the catalog's namespace (written when the principal is
   created, or rotated when the Secret is missing), which a PushSecret copies to the cloud's secret manager
   for the service's own ExternalSecret.

Standard library only: it runs in the maintenance image and needs nothing else.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KUBERNETES_API = "https://kubernetes.default.svc"
CONTENT_PRIVILEGE = "CATALOG_MANAGE_CONTENT"
"""Catalog privilege of a service's catalog role: namespaces and tables, reads and writes, no access management."""


class SetupError(RuntimeError):
    """A call the setup depends on failed."""


def _call(method: str, url: str, *, token: str | None = None, body: Any = None, form: dict[str, str] | None = None,
          headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None) -> tuple[int, Any]:
    data = None
    sent = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            text = response.read().decode() or "null"
            return response.status, json.loads(text)
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            return exc.code, json.loads(text or "null")
        except json.JSONDecodeError:
            return exc.code, text


def _expect(status: int, payload: Any, ok: tuple[int, ...], what: str) -> Any:
    if status not in ok:
        raise SetupError(f"{what}: HTTP {status}: {payload}")
    return payload


class Polaris:
    """The management API of one realm, called as the realm's root principal."""

    def __init__(self, base: str, realm: str, client_id: str, client_secret: str):
        self.base = base.rstrip("/")
        self.headers = {"Polaris-Realm": realm}
        status, payload = _call("POST", f"{self.base}/catalog/v1/oauth/tokens", headers=self.headers, form={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
            "scope": "PRINCIPAL_ROLE:ALL"})
        self.token = _expect(status, payload, (200,), "token for the root principal")["access_token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One management API call (``path`` under /management/v1)."""
        return _call(method, f"{self.base}/management/v1{path}", token=self.token, body=body, headers=self.headers)

    def ensure(self, path: str, create_path: str, body: Any, what: str) -> bool:
        """Create the entity at ``path`` unless it exists; True when it was created."""
        status, payload = self.call("GET", path)
        if status == 200:
            return False
        _expect(status, payload, (404,), f"look up {what}")
        status, payload = self.call("POST", create_path, body)
        _expect(status, payload, (200, 201, 409), f"create {what}")
        return status != 409


def storage_config(storage_type: str, base_location: str, region: str) -> dict[str, Any]:
    """The catalog's storage configuration: the warehouse location, reached with the server's workload identity."""
    config: dict[str, Any] = {"storageType": storage_type, "allowedLocations": [base_location]}
    if storage_type == "S3":
        config["region"] = region
        role = os.environ.get("AWS_ROLE_ARN")
        if role:
            config["roleArn"] = role
    elif storage_type == "AZURE":
        tenant = os.environ.get("AZURE_TENANT_ID")
        if not tenant:
            raise SetupError("AZURE_TENANT_ID is not set: the Azure workload identity webhook sets it on the setup pod")
        config["tenantId"] = tenant
    return config


class Kubernetes:
    """Secrets of one namespace, through the API server with the pod's service account."""

    def __init__(self, namespace: str, directory: str = SERVICE_ACCOUNT_DIR, api: str = KUBERNETES_API):
        with open(os.path.join(directory, "token"), encoding="utf-8") as handle:
            self.token = handle.read().strip()
        self.context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))
        self.url = f"{api}/api/v1/namespaces/{namespace}/secrets"
        self.namespace = namespace

    def exists(self, name: str) -> bool:
        """True when the Secret exists."""
        status, payload = _call("GET", f"{self.url}/{name}", token=self.token, context=self.context)
        if status == 404:
            return False
        _expect(status, payload, (200,), f"read Secret {self.namespace}/{name}")
        return True

    def write(self, name: str, data: dict[str, str], labels: dict[str, str]) -> None:
        """Create or replace a Secret holding ``data``."""
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(data.items())}}
        status, payload = _call("PUT", f"{self.url}/{name}", token=self.token, body=body, context=self.context)
        if status == 404:
            status, payload = _call("POST", self.url, token=self.token, body=body, context=self.context)
        _expect(status, payload, (200, 201), f"write Secret {self.namespace}/{name}")


def ensure_catalog(polaris: Polaris, name: str, storage: dict[str, Any], base_location: str) -> bool:
    """The catalog exists with the warehouse location; True when it was created."""
    body = {"catalog": {"type": "INTERNAL", "name": name, "properties": {"default-base-location": base_location},
                        "storageConfigInfo": storage}}
    return polaris.ensure(f"/catalogs/{name}", "/catalogs", body, f"catalog {name}")


def ensure_service(polaris: Polaris, kube: Kubernetes | None, catalog: str, service: str, secret: str) -> str:
    """A service's principal, roles and grant, and its credentials Secret. Returns what was done, in words."""
    q = urllib.parse.quote
    role = f"{service}-content"
    polaris.ensure(f"/principal-roles/{q(service)}", "/principal-roles", {"principalRole": {"name": service}},
                   f"principal role {service}")
    polaris.ensure(f"/catalogs/{q(catalog)}/catalog-roles/{q(role)}", f"/catalogs/{q(catalog)}/catalog-roles",
                   {"catalogRole": {"name": role}}, f"catalog role {role}")
    status, payload = polaris.call("PUT", f"/catalogs/{q(catalog)}/catalog-roles/{q(role)}/grants",
                                   {"grant": {"type": "catalog", "privilege": CONTENT_PRIVILEGE}})
    _expect(status, payload, (200, 201, 204), f"grant {CONTENT_PRIVILEGE} to {role}")
    status, payload = polaris.call("PUT", f"/principal-roles/{q(service)}/catalog-roles/{q(catalog)}",
                                   {"catalogRole": {"name": role}})
    _expect(status, payload, (200, 201, 204, 409), f"assign catalog role {role} to principal role {service}")

    credentials = None
    status, payload = polaris.call("GET", f"/principals/{q(service)}")
    if status == 404:
        status, payload = polaris.call("POST", "/principals", {"principal": {"name": service}, "credentialRotationRequired": False})
        credentials = _expect(status, payload, (200, 201), f"create principal {service}")["credentials"]
        done = "principal created"
    else:
        _expect(status, payload, (200,), f"look up principal {service}")
        done = "principal present"
        if kube is not None and not kube.exists(secret):
            status, payload = polaris.call("POST", f"/principals/{q(service)}/rotate")
            credentials = _expect(status, payload, (200,), f"rotate the credentials of {service}")["credentials"]
            done = "credentials rotated (their Secret was missing)"
    status, payload = polaris.call("PUT", f"/principals/{q(service)}/principal-roles", {"principalRole": {"name": service}})
    _expect(status, payload, (200, 201, 204, 409), f"assign principal role {service}")
    if credentials is not None and kube is not None:
        kube.write(secret, {"client-id": credentials["clientId"], "client-secret": credentials["clientSecret"]},
                   {"app.kubernetes.io/managed-by": "iceberg-catalog-setup", "app.kubernetes.io/name": secret})
    return done


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def main(argv: list[str] | None = None) -> int:
    """The setup Job's entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="Polaris API base, e.g. http://polaris.platform-data.svc:8181/api")
    parser.add_argument("--realm", required=True)
    parser.add_argument("--root-client-id-file", required=True)
    parser.add_argument("--root-client-secret-file", required=True)
    parser.add_argument("--catalog", required=True, help="catalog (warehouse) name")
    parser.add_argument("--base-location", required=True, help="warehouse location, e.g. s3://bucket/")
    parser.add_argument("--storage-type", required=True, choices=("S3", "GCS", "AZURE"))
    parser.add_argument("--region", default="", help="bucket region (S3)")
    parser.add_argument("--namespace", required=True, help="namespace of the credentials Secrets")
    parser.add_argument("--service", action="append", default=[], metavar="NAME=SECRET",
                        help="a service using the catalog and the Secret its credentials go to (repeatable)")
    args = parser.parse_args(argv)

    polaris = Polaris(args.api, args.realm, _read(args.root_client_id_file), _read(args.root_client_secret_file))
    created = ensure_catalog(polaris, args.catalog, storage_config(args.storage_type, args.base_location, args.region),
                             args.base_location)
    print(f"catalog {args.catalog}: {'created' if created else 'present'}")
    kube = Kubernetes(args.namespace) if args.service else None
    for pair in args.service:
        service, _, secret = pair.partition("=")
        if not secret:
            raise SetupError(f"--service {pair!r}: expected NAME=SECRET")
        print(f"service {service}: {ensure_service(polaris, kube, args.catalog, service, secret)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupError as exc:
        print(f"iceberg catalog setup failed: {exc}", file=sys.stderr)
        sys.exit(1)
