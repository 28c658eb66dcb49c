"""Delivery and GitOps checks: how Argo CD syncs, and which images run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from plinth.checks.engine import Check, CheckContext, Finding
from plinth.kube.objects import get


def applications_sync_automatically(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every Application syncs automatically with prune and selfHeal (the design's syncPolicy)."""
    for item in ctx.of_kind("Application"):
        automated = get(item.obj, "spec.syncPolicy.automated")
        if not isinstance(automated, dict):
            yield check.finding(ctx, item, "spec.syncPolicy.automated", "syncs only by hand: Git changes are not applied")
            continue
        missing = [key for key in ("prune", "selfHeal") if automated.get(key) is not True]
        if automated.get("enabled") is False:
            missing.insert(0, "enabled")
        if missing:
            yield check.finding(ctx, item, "spec.syncPolicy.automated",
                                f"automated sync without {' and '.join(missing)}: " +
                                ("objects removed from Git stay in the cluster" if "prune" in missing else "drift in the cluster is not reverted"))


def _image_fields(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field path, image) of every image an object runs."""
    kind = obj.get("kind")
    pod_paths = {
        "Deployment": "spec.template.spec", "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec",
        "Rollout": "spec.template.spec", "Job": "spec.template.spec", "CronJob": "spec.jobTemplate.spec.template.spec",
        "Pod": "spec", "Pooler": "spec.template.spec",
    }
    pods: list[str] = []
    if kind in pod_paths:
        pods.append(pod_paths[kind])
    if kind in ("ClickHouseInstallation", "ClickHouseKeeperInstallation"):
        pods += [f"spec.templates.podTemplates.{i}.spec" for i, _ in enumerate(get(obj, "spec.templates.podTemplates", []) or [])]
    for pod in pods:
        for list_name in ("initContainers", "containers"):
            for i, container in enumerate(get(obj, f"{pod}.{list_name}", []) or []):
                if "image" in container:
                    yield f"{pod}.{list_name}.{i}.image", str(container["image"])
    for path in {"Cluster": ("spec.imageName",), "RedisReplication": ("spec.kubernetesConfig.image",),
                 "RedisSentinel": ("spec.kubernetesConfig.image",), "Redis": ("spec.kubernetesConfig.image",),
                 "Kafka": ("spec.kafka.image",)}.get(kind or "", ()):
        image = get(obj, path)
        if image:
            yield path, str(image)


DIGEST_REFERENCE = re.compile(r"@sha256:[0-9a-f]{64}$")
"""An image reference pinned to content: ``repo[:tag]@sha256:<64 hex>``."""


def images_pinned_by_digest(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every image is referenced by digest; a tag can be moved to other content at any time."""
    for item in ctx.objects:
        for path, image in _image_fields(item.obj):
            if not DIGEST_REFERENCE.search(image):
                yield check.finding(ctx, item, path, f"image {image} has no digest: the tag is mutable, so what runs can change without a commit")


CHECKS = (
    Check("PL-GITOPS-001", "error", "object", "Application syncs automatically with prune and selfHeal",
          "Set spec.syncPolicy.automated {prune: true, selfHeal: true} (spec: argocd.automated_sync/prune/self_heal).",
          applications_sync_automatically),
    Check("PL-IMG-001", "error", "object", "Images are pinned by digest",
          "Reference images as repo@sha256:<digest> (spec: services.<name>.image.digest, promoted by CI).",
          images_pinned_by_digest),
)
