"""Set up the platform's Iceberg catalog in Apache Polaris, idempotently (run after every sync).

With the realm's root credentials (bootstrapped once), through Polaris' management API (1.7):

1. the catalog (the warehouse clients name) exists, located in the warehouse bucket, its storage reached with
   the catalog server's workload identity (on AWS the role Polaris assumes to vend table-scoped credentials is
   the pod's own, ``AWS_ROLE_ARN``; on Azure the tenant is ``AZURE_TENANT_ID``; both set by the cloud's
   workload-identity webhook);
2. for each service that uses Iceberg: a principal, a principal role and a catalog role allowed to manage the
   catalog's content, assigned to each other;
3. each principal's credentials are the ones the secret store holds for the service (the same entry the service's
   own ExternalSecret reads, mounted here as files): when they do not authenticate (a new principal, or the entry was
   rotated) the principal's credentials are reset to them. Polaris generates 16 hex digit client IDs and 32 hex digit
   secrets; the store's entry should have that shape.

Standard library only: it runs in the maintenance image and needs nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CONTENT_PRIVILEGE = "CATALOG_MANAGE_CONTENT"
"""Catalog privilege of a service's catalog role: namespaces and tables, reads and writes, no access management."""


class SetupError(RuntimeError):
    """A call the setup depends on failed."""


def _call(method: str, url: str, *, token: str | None = None, body: Any = None, form: dict[str, str] | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
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
        with urllib.request.urlopen(request, timeout=30) as response:
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
        status, payload = self.token_request(client_id, client_secret)
        self.token = _expect(status, payload, (200,), "token for the root principal")["access_token"]

    def token_request(self, client_id: str, client_secret: str) -> tuple[int, Any]:
        """Ask the realm for a token with a principal's client credentials (HTTP status, payload)."""
        return _call("POST", f"{self.base}/catalog/v1/oauth/tokens", headers=self.headers, form={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
            "scope": "PRINCIPAL_ROLE:ALL"})

    def authenticates(self, client_id: str, client_secret: str) -> bool:
        """True when the credentials get a token."""
        return self.token_request(client_id, client_secret)[0] == 200

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


def ensure_catalog(polaris: Polaris, name: str, storage: dict[str, Any], base_location: str) -> bool:
    """The catalog exists with the warehouse location; True when it was created."""
    body = {"catalog": {"type": "INTERNAL", "name": name, "properties": {"default-base-location": base_location},
                        "storageConfigInfo": storage}}
    return polaris.ensure(f"/catalogs/{name}", "/catalogs", body, f"catalog {name}")


def ensure_service(polaris: Polaris, catalog: str, service: str, client_id: str, client_secret: str) -> str:
    """A service's principal, roles and grant, its credentials those of the secret store. Returns what was done."""
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

    status, payload = polaris.call("GET", f"/principals/{q(service)}")
    if status == 404:
        status, payload = polaris.call("POST", "/principals", {"principal": {"name": service}, "credentialRotationRequired": False})
        _expect(status, payload, (200, 201), f"create principal {service}")
        done, current = "principal created", False
    else:
        _expect(status, payload, (200,), f"look up principal {service}")
        done, current = "principal present", polaris.authenticates(client_id, client_secret)
    if not current:
        status, payload = polaris.call("POST", f"/principals/{q(service)}/reset", {"clientId": client_id, "clientSecret": client_secret})
        _expect(status, payload, (200,), f"set the credentials of {service} to the secret store's")
        done += ", credentials set to the secret store's"
    status, payload = polaris.call("PUT", f"/principals/{q(service)}/principal-roles", {"principalRole": {"name": service}})
    _expect(status, payload, (200, 201, 204, 409), f"assign principal role {service}")
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
    parser.add_argument("--service", action="append", default=[], metavar="NAME=DIR",
                        help="a service using the catalog and the folder holding its credentials (client-id, client-secret "
                             "files from the secret store; repeatable)")
    args = parser.parse_args(argv)

    polaris = Polaris(args.api, args.realm, _read(args.root_client_id_file), _read(args.root_client_secret_file))
    created = ensure_catalog(polaris, args.catalog, storage_config(args.storage_type, args.base_location, args.region),
                             args.base_location)
    print(f"catalog {args.catalog}: {'created' if created else 'present'}")
    for pair in args.service:
        service, _, folder = pair.partition("=")
        if not folder:
            raise SetupError(f"--service {pair!r}: expected NAME=DIR")
        client_id = _read(os.path.join(folder, "client-id"))
        client_secret = _read(os.path.join(folder, "client-secret"))
        print(f"service {service}: {ensure_service(polaris, args.catalog, service, client_id, client_secret)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SetupError as exc:
        print(f"iceberg catalog setup failed: {exc}", file=sys.stderr)
        sys.exit(1)
