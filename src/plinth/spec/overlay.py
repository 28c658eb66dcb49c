"""Typed environment overlays: what an environment may change, and nothing else.

An overlay model lists, field by field, what an environment may override. Applying one walks the
overlay's *set* fields and replaces the base's values (recursing into nested overlays and into
keyed maps whose keys must already exist in the base), then re-validates the whole platform so the
base's cross-field rules hold for the result too. No untyped dict merge, no string interpolation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from plinth.spec.model import CanaryStep, ContainerResources, Platform, VolumeSpec
from plinth.spec.types import DnsLabel, StrictModel


class ClusterOverlay(StrictModel):
    """What an environment may change of the cluster."""

    name: DnsLabel | None = None
    """Cluster name."""
    region: str | None = None
    """Primary region."""
    dr_region: str | None = None
    """Disaster-recovery region."""
    zones: list[str] | None = None
    """Availability zones."""
    account: str | None = None
    """Cloud account (an environment may live in its own AWS account, GCP project or Azure subscription)."""
    identity_client_ids: dict[str, str] | None = None
    """Azure: the environment's managed identities' client IDs."""


class NodePoolOverlay(StrictModel):
    """What an environment may change of a node pool."""

    nodes: int | None = None
    """Nodes."""
    min_nodes: int | None = None
    """Autoscaler lower bound."""
    max_nodes: int | None = None
    """Autoscaler upper bound."""


class ScalingOverlay(StrictModel):
    """What an environment may change of a scaling row."""

    min_replicas: int | None = None
    """Replicas never scaled below."""
    max_replicas: int | None = None
    """Replicas never scaled above."""


class ImageOverlay(StrictModel):
    """What an environment may change of an image (CI promotes digests per environment)."""

    tag: str | None = None
    """Tag."""
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    """Digest."""


class ServiceOverlay(StrictModel):
    """What an environment may change of a service."""

    image: ImageOverlay | None = None
    """Image tag/digest of this environment."""
    scaling: ScalingOverlay | None = None
    """Scaling bounds of this environment."""
    resources: ContainerResources | None = None
    """Requests and limits of this environment."""


class PostgresOverlay(StrictModel):
    """What an environment may change of PostgreSQL."""

    storage: VolumeSpec | None = None
    """Data volume per instance."""
    wal_storage: VolumeSpec | None = None
    """WAL volume per instance."""
    resources: ContainerResources | None = None
    """Requests and limits per instance."""


class StoreSizeOverlay(StrictModel):
    """What an environment may change of ClickHouse, Redis or Kafka: sizes, not shapes."""

    storage: VolumeSpec | None = None
    """Volume per replica."""
    resources: ContainerResources | None = None
    """Requests and limits per replica."""


class IcebergOverlay(StrictModel):
    """What an environment may change of Iceberg."""

    warehouse_bucket: DnsLabel | None = None
    """Bucket of this environment's warehouse (bucket names are global on every cloud)."""


class DataStoresOverlay(StrictModel):
    """Per-store overlays."""

    postgres: PostgresOverlay | None = None
    clickhouse: StoreSizeOverlay | None = None
    redis: StoreSizeOverlay | None = None
    kafka: StoreSizeOverlay | None = None
    iceberg: IcebergOverlay | None = None


class BackupOverlay(StrictModel):
    """What an environment may change of a backup row (keyed by its data set)."""

    bucket: str | None = None
    """Bucket of this environment's backups (bucket names are global: staging and prod need their own)."""


class EdgeOverlay(StrictModel):
    """What an environment may change of the public entry."""

    domain: str | None = None
    """DNS zone."""
    acme_issuer: str | None = None
    """ACME endpoint."""
    gateway_replicas: int | None = None
    """Gateway replicas."""


class DeliveryOverlay(StrictModel):
    """What an environment may change of delivery."""

    canary_steps: list[CanaryStep] | None = None
    """Rollout steps of this environment."""


class RetentionOverlay(StrictModel):
    """What an environment may change of a telemetry store."""

    retention_days: int | None = None
    storage_gib: int | None = None
    replicas: int | None = None
    bucket: str | None = None
    """Object-storage bucket of this environment (bucket names are global: each environment needs its own)."""


class ObservabilityOverlay(StrictModel):
    """What an environment may change of observability."""

    prometheus: RetentionOverlay | None = None
    loki: RetentionOverlay | None = None
    tempo: RetentionOverlay | None = None


class LoadOverlay(StrictModel):
    """What an environment may change of the sizing point."""

    organisations: int | None = None


class SecretsOverlay(StrictModel):
    """What an environment may change of the secret manager: its own vault or project keeps its secrets apart."""

    azure_key_vault_url: str | None = Field(default=None, pattern=r"^https://[a-z0-9-]+\.vault\.azure\.net/?$")
    """The environment's Azure Key Vault (Key Vault access is granted per vault, not per name prefix)."""
    gcp_project_id: str | None = None
    """The environment's Secret Manager project."""


class EnvironmentOverlay(StrictModel):
    """Everything an environment may override of the base spec."""

    cluster: ClusterOverlay | None = None
    node_pools: dict[str, NodePoolOverlay] | None = None
    services: dict[str, ServiceOverlay] | None = None
    datastores: DataStoresOverlay | None = None
    backups: dict[str, BackupOverlay] | None = None
    """Backup rows by data set (postgres, clickhouse, iceberg, cluster-state, ...)."""
    edge: EdgeOverlay | None = None
    delivery: DeliveryOverlay | None = None
    observability: ObservabilityOverlay | None = None
    load: LoadOverlay | None = None
    secrets: SecretsOverlay | None = None


class SpecFile(Platform):
    """The file: a base platform plus its environments' overlays."""

    environments: dict[DnsLabel, EnvironmentOverlay] = Field(min_length=1)
    """Environments (at least staging and prod), each an overlay of the base."""


class OverlayKeyError(ValueError):
    """An overlay names a map key (pool, service) the base does not have."""

    def __init__(self, path: tuple[str, ...], key: str, known: list[str]):
        self.path = path + (key,)
        super().__init__(f"no such entry {key!r} in the base spec (expected one of {known})")


def _merge(base: Any, overlay: BaseModel, path: tuple[str, ...]) -> dict[str, Any]:
    """Return base's data (a model) with the overlay's set fields applied, as plain data."""
    data = base.model_dump(mode="python", round_trip=True)
    for field in overlay.model_fields_set:
        value = getattr(overlay, field)
        if value is None:
            continue
        current = getattr(base, field)
        if isinstance(value, dict) and isinstance(current, list):
            # a list of rows keyed by their ``data`` field (the backup schedule)
            rows = {row.data: i for i, row in enumerate(current)}
            merged_rows = list(data[field])
            for key, item in value.items():
                if key not in rows:
                    raise OverlayKeyError(path + (field,), key, sorted(rows))
                merged_rows[rows[key]] = _merge(current[rows[key]], item, path + (field, key))
            data[field] = merged_rows
        elif isinstance(value, dict) and not any(isinstance(v, BaseModel) for v in value.values()):
            data[field] = dict(value)  # a plain map (client IDs by identity): the environment's own, whole
        elif isinstance(value, dict):
            merged = dict(data[field])
            for key, item in value.items():
                if key not in current:
                    raise OverlayKeyError(path + (field,), key, sorted(current))
                merged[key] = _merge(current[key], item, path + (field, key))
            data[field] = merged
        elif isinstance(value, StrictModel) and type(value).__name__.endswith("Overlay"):
            data[field] = _merge(current, value, path + (field,))
        elif isinstance(value, BaseModel):
            data[field] = value.model_dump(mode="python", round_trip=True)
        elif isinstance(value, list):
            data[field] = [v.model_dump(mode="python", round_trip=True) if isinstance(v, BaseModel) else v for v in value]
        else:
            data[field] = value
    return data


def apply_overlay(base: Platform, environment: str, overlay: EnvironmentOverlay) -> dict[str, Any]:
    """The plain data of ``base`` with ``overlay`` applied, ready for ``Platform.model_validate``."""
    data = _merge(base, overlay, ())
    data["environment"] = environment
    return data
