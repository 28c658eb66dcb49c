"""Workload building blocks shared by the platform's own pods and the charts' values: resource
requests from one table, and the restricted security context every container runs with."""

from __future__ import annotations

from typing import Any

RESTRICTED_UID = 10001
"""User and group id of platform containers (above 10000, so no clash with a host's users)."""


def requests_and_limits(cpu_millicores: int, memory_mib: int, *, limit_factor: int = 2) -> dict[str, Any]:
    """Container ``resources`` from a request; limits are ``limit_factor`` times the request."""
    return {
        "requests": {"cpu": f"{cpu_millicores}m", "memory": f"{memory_mib}Mi"},
        "limits": {"cpu": f"{cpu_millicores * limit_factor}m", "memory": f"{memory_mib * limit_factor}Mi"},
    }


def restricted_pod_security_context() -> dict[str, Any]:
    """Pod-level context of the Pod Security "restricted" profile: non-root, fixed ids, RuntimeDefault seccomp."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RESTRICTED_UID,
        "runAsGroup": RESTRICTED_UID,
        "fsGroup": RESTRICTED_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container_security_context() -> dict[str, Any]:
    """Container-level context: no privilege escalation, read-only root filesystem, every capability dropped."""
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RESTRICTED_UID,
        "runAsGroup": RESTRICTED_UID,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
