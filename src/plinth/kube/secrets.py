"""Credentials arrive as ExternalSecrets from the cloud's secret manager; no value is ever rendered."""

from __future__ import annotations

from plinth.kube.conventions import CLUSTER_SECRET_STORE
from plinth.kube.objects import k8s_object, labels
from plinth.spec.access import StoreIdentity
from plinth.spec.derived import secret_name_prefix
from plinth.spec.model import Platform
from plinth.spec.types import format_duration

EXTERNAL_SECRETS_API = "external-secrets.io/v1"


def external_secret(platform: Platform, name: str, namespace: str, component: str, data: dict[str, str]) -> dict:
    """An ExternalSecret creating Secret ``name`` whose keys map to remote secrets under the environment's prefix.

    ``data`` maps the Secret's key to the remote secret's name (optionally ``name:property``); the remote key is
    ``<secret_name_prefix>/<name>`` and the refresh interval is the spec's ``secrets.refresh_interval_seconds``.
    """
    prefix = secret_name_prefix(platform)
    entries = []
    for secret_key, remote in sorted(data.items()):
        key, _, prop = remote.partition(":")
        ref = {"key": f"{prefix}/{key}"}
        if prop:
            ref["property"] = prop
        entries.append({"secretKey": secret_key, "remoteRef": ref})
    return k8s_object(EXTERNAL_SECRETS_API, "ExternalSecret", name, namespace, labels=labels(component, name), spec={
        "refreshInterval": format_duration(platform.secrets.refresh_interval_seconds),
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": CLUSTER_SECRET_STORE},
        "target": {"name": name, "creationPolicy": "Owner"},
        "data": entries,
    })


IDENTITY_PASSWORD_PROPERTY = "password"
"""Property of an identity's remote secret holding its password."""


def identity_secret(platform: Platform, name: str, namespace: str, component: str, identity: StoreIdentity, *,
                    secret_type: str = "Opaque", secret_labels: dict[str, str] | None = None,
                    extra: dict[str, str] | None = None) -> dict:
    """An ExternalSecret writing Secret ``name`` with one data-store identity: ``username`` (the rendered user
    name, not a secret) and ``password`` (read from the identity's remote secret), plus ``extra`` keys that are
    External Secrets templates over ``.password`` (e.g. a Redis ACL line with the password's hash)."""
    template: dict = {"engineVersion": "v2", "type": secret_type,
                      "data": {"username": identity.user, "password": "{{ .password }}", **(extra or {})}}
    if secret_labels:
        template["metadata"] = {"labels": dict(secret_labels)}
    obj = external_secret(platform, name, namespace, component,
                          {"password": f"{identity.remote_key}:{IDENTITY_PASSWORD_PROPERTY}"})
    obj["spec"]["target"]["template"] = template
    return obj
