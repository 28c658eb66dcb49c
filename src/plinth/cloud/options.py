"""Choices of one deployment that are not the platform's design: which environment, and who may reach the API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CloudOptions:
    """Stack settings of the Pulumi project (``plinth:*`` config keys)."""

    environment: str = "prod"
    """Environment of the spec to deploy (``plinth:environment``)."""
    spec_path: str = "platform.yaml"
    """Spec file, relative to the repository root (``plinth:spec``)."""
    api_public_cidrs: tuple[str, ...] = field(default_factory=tuple)
    """CIDRs allowed to reach the Kubernetes API from the internet (``plinth:apiPublicCidrs``); empty = private only."""
    gcp_project: str | None = None
    """GCP project the platform is built in (``gcp:project``, the provider's own setting); GCP only."""
