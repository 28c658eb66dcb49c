"""The built-in Kubernetes APIs of a version: what ``--api-versions`` lists and which kinds are cluster-scoped.

Argo CD renders a chart with ``--api-versions`` for every API resource the destination cluster serves
(``group/version`` and ``group/version/Kind``, from the cluster's discovery, as
``argo.APIResourcesToStrings(..., includeKinds=true)`` formats them). Before a cluster exists the list is
built here: the built-in kinds of the Kubernetes version (from the strict schemas ``kubernetes-validate``
bundles; GA versions only, as a cluster serves by default, and only kinds that are stored objects with
``metadata``, not request-only kinds such as ``TokenReview``), plus every CRD the tree installs.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

_GA = re.compile(r"^v\d+$")

REQUEST_ONLY_KINDS = frozenset({
    "Binding", "Eviction", "Scale", "TokenRequest", "TokenReview", "SelfSubjectReview", "LocalSubjectAccessReview",
    "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SubjectAccessReview", "ComponentStatus",
})
"""Kinds a cluster's discovery lists without list/watch (subresources and review requests); Argo CD's
cluster cache, where the API list comes from, does not hold them."""

CLUSTER_SCOPED_BUILTINS: frozenset[tuple[str, str]] = frozenset({
    ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "TokenReview"), ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"), ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"), ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"), ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "IPAddress"), ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"), ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"), ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"), ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
})
"""Built-in kinds that are not namespaced (``kubectl api-resources --namespaced=false`` on Kubernetes 1.32-1.35)."""


def kube_version_semver(version: str) -> str:
    """``1.32`` -> ``1.32.0`` (what ``helm template --kube-version`` takes); a full version is kept."""
    parts = version.removeprefix("v").split(".")
    return ".".join(parts + ["0"] * (3 - len(parts))) if len(parts) < 3 else version.removeprefix("v")


def group_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ("apps", "v1"); ``v1`` -> ("", "v1")."""
    group, _, version = api_version.rpartition("/")
    return group, version


@lru_cache(maxsize=None)
def builtin_api_versions(kubernetes_version: str) -> tuple[str, ...]:
    """Sorted ``group/version`` and ``group/version/Kind`` strings of the built-in APIs a cluster of this
    version serves by default (GA versions of stored kinds)."""
    minor = ".".join(kubernetes_version.removeprefix("v").split(".")[:2])
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{minor}.0-local-strict" / "_definitions.json"
    definitions: dict[str, Any] = json.loads(root.read_text())["$defs"]
    found: set[str] = set()
    for definition in definitions.values():
        metadata = json.dumps((definition.get("properties") or {}).get("metadata") or {})
        if "ObjectMeta" not in metadata:
            continue
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            if not _GA.match(gvk["version"]) or gvk["kind"] in REQUEST_ONLY_KINDS:
                continue
            gv = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            found.update((gv, f"{gv}/{gvk['kind']}"))
    return tuple(sorted(found))


def crd_api_versions(crd: dict[str, Any]) -> set[str]:
    """``group/version`` and ``group/version/Kind`` of every served version of one CustomResourceDefinition."""
    spec = crd.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    result: set[str] = set()
    for version in spec.get("versions") or []:
        if version.get("served", True) and group and kind:
            result.update((f"{group}/{version['name']}", f"{group}/{version['name']}/{kind}"))
    return result
