"""Object storage of the telemetry stores (Loki chunks, Tempo blocks), per cloud.

Credentials never appear in values: an ExternalSecret creates a Secret of environment variables
the cloud SDKs read by themselves (AWS ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, Azure
``AZURE_STORAGE_ACCOUNT``/``AZURE_STORAGE_KEY``), loaded into the pods with ``extraEnvFrom``. On GCP
the pods use GKE workload identity and no key exists at all.
"""

from __future__ import annotations

from typing import Any

from plinth.kube.secrets import external_secret
from plinth.spec.model import Platform

CREDENTIAL_ENV: dict[str, dict[str, str]] = {
    "aws": {"AWS_ACCESS_KEY_ID": "access_key_id", "AWS_SECRET_ACCESS_KEY": "secret_access_key"},
    "azure": {"AZURE_STORAGE_ACCOUNT": "account_name", "AZURE_STORAGE_KEY": "account_key"},
    "gcp": {},
}
"""Environment variables each cloud's SDK reads, and the property of the remote secret holding each."""


def credentials_secret_name(store: str) -> str:
    """Name of the Secret holding a store's object-storage credentials."""
    return f"{store}-object-storage"


def credentials(platform: Platform, store: str, component: str, namespace: str) -> list[dict[str, Any]]:
    """The ExternalSecret of a store's object-storage credentials (none on GCP: workload identity)."""
    env = CREDENTIAL_ENV[platform.cluster.provider]
    if not env:
        return []
    return [external_secret(platform, credentials_secret_name(store), namespace, component,
                            {var: f"monitoring/{store}-object-storage:{prop}" for var, prop in env.items()})]


def env_from(platform: Platform, store: str) -> list[dict[str, Any]]:
    """``extraEnvFrom`` entries loading the credentials into a store's pods."""
    if not CREDENTIAL_ENV[platform.cluster.provider]:
        return []
    return [{"secretRef": {"name": credentials_secret_name(store)}}]


def bucket_of(platform: Platform, store: str) -> str:
    """The spec's bucket of a telemetry store; a clear error when it is missing."""
    retention = getattr(platform.observability, store)
    if not retention.bucket:
        raise ValueError(f"observability.{store}.bucket: {store} keeps its data in object storage and needs a bucket")
    return retention.bucket
