"""Credentials arrive as ExternalSecrets from the cloud's secret manager; no value is ever rendered."""

from __future__ import annotations

from plinth.render.conventions import CLUSTER_SECRET_STORE
from plinth.render.objects import k8s_object, labels

EXTERNAL_SECRETS_API = "external-secrets.io/v1"


def external_secret(name: str, namespace: str, component: str, data: dict[str, str], *,
                    remote_prefix: str = "plinth", refresh: str = "1h") -> dict:
    """An ExternalSecret creating Secret ``name`` whose keys map to remote keys ``<prefix>/<remote>``.

    ``data`` maps the Secret's key to the remote secret's name (optionally ``name:property``).
    """
    entries = []
    for secret_key, remote in sorted(data.items()):
        key, _, prop = remote.partition(":")
        ref = {"key": f"{remote_prefix}/{key}"}
        if prop:
            ref["property"] = prop
        entries.append({"secretKey": secret_key, "remoteRef": ref})
    return k8s_object(EXTERNAL_SECRETS_API, "ExternalSecret", name, namespace, labels=labels(component, name), spec={
        "refreshInterval": refresh,
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": CLUSTER_SECRET_STORE},
        "target": {"name": name, "creationPolicy": "Owner"},
        "data": entries,
    })
