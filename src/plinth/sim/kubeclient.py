"""A small REST client of the simulated cluster's API server, for Python code running inside its network
namespace (the stand-ins process): JSON over HTTPS with the admin client certificate, no dependencies.

Only what the stand-ins need: get, list, create, server-side apply, merge patches (also of the status
subresource), delete and the Eviction API. Errors carry the API server's own message.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class ApiError(RuntimeError):
    """The API server answered with an error status."""

    def __init__(self, status: int, message: str, reason: str = ""):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Resource:
    """Where a kind lives in the REST API."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        """The collection or object URL path."""
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if sub:
            base += f"/{sub}"
        return base


PODS = Resource("", "v1", "pods")
NODES = Resource("", "v1", "nodes", namespaced=False)
SERVICES = Resource("", "v1", "services")
PVCS = Resource("", "v1", "persistentvolumeclaims")
PVS = Resource("", "v1", "persistentvolumes", namespaced=False)
EVENTS = Resource("", "v1", "events")
CONFIGMAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
STORAGECLASSES = Resource("storage.k8s.io", "v1", "storageclasses", namespaced=False)
STATEFULSETS = Resource("apps", "v1", "statefulsets")
DEPLOYMENTS = Resource("apps", "v1", "deployments")
PDBS = Resource("policy", "v1", "poddisruptionbudgets")


class KubeClient:
    """HTTPS to the API server with a client certificate; one connection per thread."""

    def __init__(self, server: str, ca: str, cert: str | None, key: str | None, timeout: float = 60.0, token: str | None = None):
        parsed = urllib.parse.urlparse(server)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 443
        self.context = ssl.create_default_context(cafile=ca)
        if cert and key:
            self.context.load_cert_chain(cert, key)
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPSConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
                query: dict[str, str] | None = None) -> Any:
        """One request; the decoded JSON answer; ApiError on an error status."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if payload is not None:
            headers["Content-Type"] = content_type
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        try:
            decoded = json.loads(data) if data else {}
        except ValueError:  # a plain-text answer (e.g. "404 page not found" for a group nobody serves)
            decoded = {"message": data.decode(errors="replace").strip()}
        if response.status >= 400:
            message = decoded.get("message", data.decode(errors="replace")) if isinstance(decoded, dict) else str(decoded)
            raise ApiError(response.status, message, decoded.get("reason", "") if isinstance(decoded, dict) else "")
        return decoded

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """One object, or None when it does not exist."""
        try:
            return self.request("GET", resource.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, resource: Resource, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> list[dict[str, Any]]:
        """Every object of a kind (in one namespace, or all)."""
        query: dict[str, str] = {}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        return self.request("GET", resource.path(namespace), query=query).get("items", [])

    def create(self, resource: Resource, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """POST an object."""
        return self.request("POST", resource.path(namespace), obj)

    def apply(self, resource: Resource, obj: dict[str, Any], manager: str, namespace: str | None = None) -> dict[str, Any]:
        """Server-side apply (force) under ``manager``."""
        return self.request("PATCH", resource.path(namespace, obj["metadata"]["name"]), obj,
                            content_type="application/apply-patch+yaml", query={"fieldManager": manager, "force": "true"})

    def patch(self, resource: Resource, name: str, patch: dict[str, Any], namespace: str | None = None,
              sub: str | None = None) -> dict[str, Any]:
        """A JSON merge patch (``sub="status"`` for the status subresource)."""
        return self.request("PATCH", resource.path(namespace, name, sub), patch, content_type="application/merge-patch+json")

    def delete(self, resource: Resource, name: str, namespace: str | None = None) -> None:
        """Delete an object (absent is fine)."""
        try:
            self.request("DELETE", resource.path(namespace, name))
        except ApiError as exc:
            if exc.status != 404:
                raise

    def evict(self, name: str, namespace: str) -> None:
        """POST an Eviction for a pod (the API server checks its PodDisruptionBudgets: 429 when one forbids it)."""
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        self.request("POST", PODS.path(namespace, name, "eviction"), body)


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def in_cluster_client() -> KubeClient:
    """A client as a pod's program has one: its ServiceAccount's token and the cluster CA from the mounted
    service account volume, the API server from ``KUBERNETES_SERVICE_HOST``/``_PORT``."""
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    token = open(f"{SERVICE_ACCOUNT_DIR}/token").read().strip()
    return KubeClient(f"https://{host}:{port}", f"{SERVICE_ACCOUNT_DIR}/ca.crt", None, None, token=token)


def admin_client(folder: str, server: str) -> KubeClient:
    """A client with a cluster's admin certificate (``folder``: the cluster's state folder)."""
    return KubeClient(server, f"{folder}/pki/ca.crt", f"{folder}/pki/admin.crt", f"{folder}/pki/admin.key")


_CLONE_NEWNET = 0x40000000


@contextmanager
def in_netns(netns: str) -> Iterator[None]:
    """Run the calling thread inside a network namespace for the block (sockets opened there stay in it),
    then return it to the namespace it was in."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/thread-self/ns/net") as own, open(f"/run/netns/{netns}") as target:
        if libc.setns(target.fileno(), _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into network namespace {netns}")
        try:
            yield
        finally:
            if libc.setns(own.fileno(), _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the original network namespace")


def cluster_client(folder: str, server: str, netns: str) -> KubeClient:
    """An admin client whose connections are opened inside the cluster's network namespace."""
    return NetnsClient(folder, server, netns)


class NetnsClient(KubeClient):
    """A KubeClient that opens its connections inside a network namespace (the caller may live outside it)."""

    def __init__(self, folder: str, server: str, netns: str):
        super().__init__(server, f"{folder}/pki/ca.crt", f"{folder}/pki/admin.crt", f"{folder}/pki/admin.key")
        self.netns = netns

    def _connection(self) -> http.client.HTTPSConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
            with in_netns(self.netns):
                conn.connect()
            self._local.conn = conn
        return conn
