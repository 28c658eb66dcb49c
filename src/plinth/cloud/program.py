"""The Pulumi program: load the spec for the stack's environment and build it on the spec's cloud."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from plinth.cloud.options import CloudOptions
from plinth.spec.loader import SpecError, load_platform
from plinth.spec.model import Platform

REPO_ROOT = Path(__file__).resolve().parents[3]


def options_from_config() -> CloudOptions:
    """The stack's ``plinth:*`` settings."""
    config = pulumi.Config("plinth")
    return CloudOptions(
        environment=config.get("environment") or "prod",
        spec_path=config.get("spec") or "platform.yaml",
        api_public_cidrs=tuple(config.get_object("apiPublicCidrs") or ()),
        gcp_project=pulumi.Config("gcp").get("project"),
    )


def build(platform: Platform, options: CloudOptions) -> Any:
    """Create the platform's resources on the cloud its spec names; returns the cloud's builder object."""
    provider = platform.cluster.provider
    if provider == "aws":
        from plinth.cloud.aws import AwsPlatform

        built: Any = AwsPlatform(platform, options)
    elif provider == "gcp":
        from plinth.cloud.gcp import GcpPlatform

        built = GcpPlatform(platform, options)
    else:
        from plinth.cloud.azure import AzurePlatform

        built = AzurePlatform(platform, options)
    pulumi.export("provider", provider)
    pulumi.export("environment", platform.environment)
    pulumi.export("cluster", platform.cluster.name)
    for name, value in built.outputs().items():
        pulumi.export(name, value)
    return built


def main() -> None:
    """Entry point of ``pulumi up``: spec errors stop the program with their file:line:col messages."""
    options = options_from_config()
    spec = Path(options.spec_path)
    if not spec.is_absolute():
        spec = REPO_ROOT / spec
    try:
        platform = load_platform(spec, options.environment)
    except SpecError as exc:
        raise pulumi.RunError(f"spec problems:\n{exc}") from None
    build(platform, options)
