"""The design's four namespaces, with Pod Security Admission labels, a ResourceQuota and a LimitRange each."""

from __future__ import annotations

from plinth.components.base import Component, KubeObject
from plinth.kube.objects import k8s_object, labels
from plinth.spec.model import Platform

NAME = "namespaces"


def objects(platform: Platform) -> list[KubeObject]:
    """Namespace, ResourceQuota and LimitRange for every namespace of the spec."""
    psa_version = f"v{platform.cluster.kubernetes_version}"
    result: list[KubeObject] = []
    for name, ns in sorted(platform.namespaces.items()):
        pool, _ = platform.pool_for_namespace(name)
        ns_labels = labels(NAME, name, **{
            "pod-security.kubernetes.io/enforce": ns.pod_security,
            "pod-security.kubernetes.io/enforce-version": psa_version,
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/audit-version": psa_version,
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/warn-version": psa_version,
            "plinth.dev/pool": pool,
        })
        result.append(k8s_object("v1", "Namespace", name, labels=ns_labels, annotations={"plinth.dev/purpose": ns.purpose}))
        q = ns.quota
        result.append(k8s_object("v1", "ResourceQuota", "platform-quota", name, labels=labels(NAME, "platform-quota"), spec={
            "hard": {
                "requests.cpu": q.requests_cpu,
                "requests.memory": q.requests_memory,
                "limits.cpu": q.limits_cpu,
                "limits.memory": q.limits_memory,
                "pods": str(q.pods),
                "persistentvolumeclaims": str(q.persistent_volume_claims),
                "requests.storage": q.requests_storage,
            }
        }))
        lim = ns.limits
        result.append(k8s_object("v1", "LimitRange", "platform-limits", name, labels=labels(NAME, "platform-limits"), spec={
            "limits": [{
                "type": "Container",
                "defaultRequest": {"cpu": lim.default_request_cpu, "memory": lim.default_request_memory},
                "default": {"cpu": lim.default_limit_cpu, "memory": lim.default_limit_memory},
                "max": {"cpu": lim.max_cpu, "memory": lim.max_memory},
            }]
        }))
    return result


COMPONENT = Component(
    name=NAME,
    namespace=None,
    objects=objects,
    sync_wave=-10,
    cluster_kinds=(("", "Namespace"),),
)
