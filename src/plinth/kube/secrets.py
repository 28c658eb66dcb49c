"""Credentials arrive as ExternalSecrets from the cloud's secret manager; no value is ever rendered."""

from __future__ import annotations

from plinth.kube.conventions import CLUSTER_SECRET_STORE
from plinth.kube.objects import k8s_object, labels
from plinth.spec.derived import remote_secret_name
from plinth.spec.model import Platform
from plinth.spec.types import format_duration

EXTERNAL_SECRETS_API = "external-secrets.io/v1"


def external_secret(platform: Platform, name: str, namespace: str, component: str, data: dict[str, str]) -> dict:
    """An ExternalSecret creating Secret ``name`` whose keys map to remote secrets under the environment's prefix.

    ``data`` maps the Secret's key to the remote secret's name (optionally ``name:property``); the remote key is
    the environment's name of it (``remote_secret_name``: ``<prefix>/<env>/<name>``, with ``-`` for ``/`` where the
    cloud's secret manager refuses it) and the refresh interval is the spec's ``secrets.refresh_interval_seconds``.
    """
    entries = []
    for secret_key, remote in sorted(data.items()):
        key, _, prop = remote.partition(":")
        ref = {"key": remote_secret_name(platform, key)}
        if prop:
            ref["property"] = prop
        entries.append({"secretKey": secret_key, "remoteRef": ref})
    return k8s_object(EXTERNAL_SECRETS_API, "ExternalSecret", name, namespace, labels=labels(component, name), spec={
        "refreshInterval": format_duration(platform.secrets.refresh_interval_seconds),
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": CLUSTER_SECRET_STORE},
        "target": {"name": name, "creationPolicy": "Owner"},
        "data": entries,
    })
