"""Object storage of the telemetry stores (Loki chunks, Tempo blocks), per cloud.

No key exists anywhere: each store's ServiceAccount carries its cloud identity (``derived.identity_annotations``:
an IRSA role on AWS, a Google service account on GKE, a managed identity's client ID on AKS), and the cloud SDKs in
the pods pick the credentials up by themselves (the web-identity token on AWS and Azure, the GKE metadata server).
"""

from __future__ import annotations

from typing import Any

from plinth.spec import derived
from plinth.spec.model import Platform


def service_account(platform: Platform, store: str) -> dict[str, Any]:
    """The chart's ``serviceAccount`` values: the identity table's account name and its cloud identity annotation."""
    identity = derived.workload_identity(platform, store)
    return {"create": True, "name": identity.service_account, "annotations": derived.identity_annotations(platform, store)}


def account_of(platform: Platform, store: str) -> str:
    """Azure storage account holding a telemetry store's container (the cluster's region)."""
    account = derived.telemetry_target(platform, store).primary.account  # type: ignore[arg-type]
    if account is None:
        raise ValueError(f"observability.{store}: only Azure keeps containers in a storage account")
    return account


def bucket_of(platform: Platform, store: str) -> str:
    """The spec's bucket of a telemetry store; a clear error when it is missing."""
    retention = getattr(platform.observability, store)
    if not retention.bucket:
        raise ValueError(f"observability.{store}.bucket: {store} keeps its data in object storage and needs a bucket")
    return retention.bucket
