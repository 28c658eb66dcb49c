"""Credentials arrive as ExternalSecrets from the cloud's secret manager; no value is ever rendered.

Each namespace reads its own remote subtree ``<secrets.remote_prefix>/<env>/<namespace>/…`` (``-`` for ``/`` on GCP
and Azure, ``derived.remote_secret_name``) through its own secret
store (``store_name``), which External Secrets lets that namespace alone use (``conditions``); on AWS the store also
carries the subtree as its ``prefix``, so External Secrets itself cannot read outside it. The identities' passwords,
which both ends of a ``uses`` edge need, are one more subtree with its own store, usable by platform-apps and
platform-data only (``derived.secret_scopes``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plinth.kube.objects import k8s_object, labels
from plinth.spec.access import StoreIdentity
from plinth.spec.derived import IDENTITY_SECRETS_SCOPE, remote_secret_name, secret_name_separator
from plinth.spec.model import Platform
from plinth.spec.types import format_duration

EXTERNAL_SECRETS_API = "external-secrets.io/v1"
STORE_KIND = "ClusterSecretStore"


def store_name(scope: str) -> str:
    """Name of the secret store of one remote subtree (a namespace's own, or the identities')."""
    return f"secrets-{scope}"


def scope_prefix(platform: Platform, scope: str) -> str:
    """The remote names a store reads start with this (``<prefix>/<env>/<scope>/`` on AWS, ``<prefix>-<env>-<scope>-``
    where the secret manager refuses ``/``: ``derived.remote_secret_name``)."""
    return remote_secret_name(platform, scope) + secret_name_separator(platform)


def store_prefixes_keys(platform: Platform) -> bool:
    """True when the store adds its subtree to every key itself (AWS Secrets Manager's ``prefix``): ExternalSecrets
    then name keys relative to it. The other providers have no prefix, so keys are written in full."""
    return platform.cluster.provider == "aws"


def _scope_and_key(namespace: str, key: str) -> tuple[str, str]:
    head, _, rest = key.partition("/")
    return (IDENTITY_SECRETS_SCOPE, rest) if head == IDENTITY_SECRETS_SCOPE else (namespace, key)


def remote_ref_key(platform: Platform, scope: str, key: str) -> str:
    """What an ExternalSecret writes as ``remoteRef.key`` for ``key`` in ``scope`` (relative on AWS, full elsewhere)."""
    return key if store_prefixes_keys(platform) else remote_secret_name(platform, f"{scope}/{key}")


def external_secret(platform: Platform, name: str, namespace: str, component: str, data: dict[str, str]) -> dict:
    """An ExternalSecret creating Secret ``name`` whose keys map to remote secrets of the namespace's own subtree.

    ``data`` maps the Secret's key to the remote secret's name (optionally ``name:property``) relative to the subtree:
    ``<name>`` is read as ``<prefix>/<env>/<namespace>/<name>`` through the namespace's store, and
    ``identities/<service>/<store>`` as ``<prefix>/<env>/identities/<service>/<store>`` through the identities'
    store (``/`` becomes ``-`` where the cloud's secret manager refuses it: ``derived.remote_secret_name``). The
    refresh interval is the spec's ``secrets.refresh_interval_seconds``.
    """
    entries = []
    for secret_key, remote in sorted(data.items()):
        key, _, prop = remote.partition(":")
        scope, relative = _scope_and_key(namespace, key)
        ref = {"key": remote_ref_key(platform, scope, relative)}
        if prop:
            ref["property"] = prop
        entry: dict = {"secretKey": secret_key, "remoteRef": ref}
        if scope != namespace:
            entry["sourceRef"] = {"storeRef": {"kind": STORE_KIND, "name": store_name(scope)}}
        entries.append(entry)
    return k8s_object(EXTERNAL_SECRETS_API, "ExternalSecret", name, namespace, labels=labels(component, name), spec={
        "refreshInterval": format_duration(platform.secrets.refresh_interval_seconds),
        "secretStoreRef": {"kind": STORE_KIND, "name": store_name(namespace)},
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


def store_prefixes(objects: Iterable[dict[str, Any]]) -> dict[str, str]:
    """The prefix each ClusterSecretStore among ``objects`` adds to every key it reads (AWS ``prefix``; the other
    providers' keys are written in full)."""
    return {str(o["metadata"]["name"]): str(((o.get("spec") or {}).get("provider") or {}).get("aws", {}).get("prefix") or "")
            for o in objects if o.get("kind") == "ClusterSecretStore"}


def remote_entries(obj: dict[str, Any], prefixes: dict[str, str]) -> list[tuple[int, str, str]]:
    """(index, store, full remote name) of each ``data`` entry of an ExternalSecret: the store it reads through (its own
    ``sourceRef`` or the ExternalSecret's) and the key with that store's prefix."""
    spec = obj.get("spec") or {}
    default = str((spec.get("secretStoreRef") or {}).get("name", ""))
    result = []
    for index, entry in enumerate(spec.get("data") or []):
        store = str(((entry.get("sourceRef") or {}).get("storeRef") or {}).get("name") or default)
        result.append((index, store, prefixes.get(store, "") + str((entry.get("remoteRef") or {}).get("key", ""))))
    return result


def remote_names_read(objects: list[dict[str, Any]]) -> set[str]:
    """Every full remote name the ExternalSecrets among ``objects`` read, through the stores among them."""
    prefixes = store_prefixes(objects)
    return {full for o in objects if o.get("kind") == "ExternalSecret" for _, _, full in remote_entries(o, prefixes)}

