"""Node autoscaling on EKS: the Kubernetes cluster autoscaler, resizing each managed node group between the spec
pool's ``min_nodes`` and ``max_nodes`` (the bounds the cloud layer gives the group).

EKS managed node groups carry no autoscaler of their own, and their Auto Scaling groups are tagged for the
autoscaler's discovery (``k8s.io/cluster-autoscaler/enabled`` and ``k8s.io/cluster-autoscaler/<cluster>``), so it
finds every pool without a list (https://docs.aws.amazon.com/eks/latest/best-practices/cas.html). GKE and AKS run
the same autoscaler as part of the managed cluster (node-pool autoscaling, set by the cloud layer): nothing is
rendered there. Objects are rendered, not hydrated, because no pinned chart ships the autoscaler; they follow the
upstream chart's RBAC (kubernetes/autoscaler ``charts/cluster-autoscaler/templates/clusterrole.yaml``).
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, KubeObject
from plinth.kube.identities import identity_service_account
from plinth.kube.flows import CLOUD_COMPUTE_API, CLOUD_IDENTITY, HTTPS, Flow, Pods, flow, scrape, to_api_server
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement
from plinth.kube.workloads import requests_and_limits, restricted_container_security_context, restricted_pod_security_context
from plinth.spec import derived
from plinth.spec.model import Platform

NAME = "cluster-autoscaler"
NAMESPACE = "platform-system"
IDENTITY = "cluster-autoscaler"
"""Its workload identity (``derived.WORKLOAD_IDENTITIES``): resizes this cluster's node groups, nothing else."""
IMAGES: dict[str, str] = {
    "1.35": "v1.35.0@sha256:2fc9433dd3b47baef0e68d6b1110b770a3c93db10c7bead4c5bc6cb21c72b875",
}
"""Cluster autoscaler release per Kubernetes minor (its minor must match the cluster's), pinned by the multi-arch
manifest digest. The digest was not read from the registry here (no registry access): two independent public
deployments pin the same one for v1.35.0. Record a minor (tag and digest) when moving the cluster to it."""
REGISTRY = "registry.k8s.io/autoscaling/cluster-autoscaler"
POD_REQUESTS = (100, 600)
"""CPU millicores and memory MiB (the upstream example's requests)."""
METRICS_PORT = 8085
POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": NAME}
RBAC_API = "rbac.authorization.k8s.io/v1"
EXPANDER = "least-waste"
"""Of the groups that fit a pending pod, grow the one leaving the least CPU and memory idle."""


def enabled(platform: Platform) -> bool:
    """True where the platform runs the autoscaler itself (the identity table holds it for that cloud)."""
    return any(i.name == IDENTITY for i in derived.workload_identities(platform))


def image(platform: Platform) -> str:
    """The autoscaler image matching the cluster's Kubernetes minor: the recorded digest, else the minor's first release
    by tag alone (``v<minor>.0``), which ``plinth check`` then reports as unpinned (PL-IMG-001) until it is recorded."""
    version = platform.cluster.kubernetes_version
    return f"{REGISTRY}:{IMAGES.get(version, f'v{version}.0')}"


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = names
    return rule


def _cluster_rules() -> list[dict[str, Any]]:
    read = ["watch", "list", "get"]
    return [
        _rule([""], ["events"], ["create", "patch"]),
        _rule([""], ["pods/eviction"], ["create"]),
        _rule([""], ["pods/status"], ["update"]),
        _rule([""], ["nodes"], ["watch", "list", "get", "update"]),
        _rule([""], ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"], read),
        _rule(["batch"], ["jobs", "cronjobs"], read),
        _rule(["policy"], ["poddisruptionbudgets"], ["watch", "list"]),
        _rule(["apps"], ["daemonsets", "replicasets", "statefulsets"], read),
        _rule(["storage.k8s.io"], ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"], read),
        _rule([""], ["configmaps"], ["list", "watch", "get"]),
    ]


def _namespace_rules() -> list[dict[str, Any]]:
    return [
        _rule([""], ["configmaps"], ["create", "list", "watch"]),
        _rule([""], ["configmaps"], ["delete", "get", "update", "watch"], [f"{NAME}-status"]),
        _rule(["coordination.k8s.io"], ["leases"], ["create"]),
        _rule(["coordination.k8s.io"], ["leases"], ["get", "update"], [NAME]),
    ]


def deployment(platform: Platform) -> KubeObject:
    """One autoscaler (it elects a leader; a second replica would only wait), discovering the cluster's node groups."""
    cluster = platform.cluster.name
    command = [
        "./cluster-autoscaler",
        "--cloud-provider=aws",
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}",
        f"--expander={EXPANDER}",
        "--balance-similar-node-groups",
        "--skip-nodes-with-local-storage=false",
        f"--namespace={NAMESPACE}",
        f"--leader-elect-resource-namespace={NAMESPACE}",
        f"--address=:{METRICS_PORT}",
    ]
    container = {
        "name": NAME, "image": image(platform), "command": command,
        "env": [{"name": "AWS_REGION", "value": platform.cluster.region}],
        "ports": [{"name": "metrics", "containerPort": METRICS_PORT}],
        # The upstream chart's liveness check: /health-check on the metrics port (also ready once it answers).
        "livenessProbe": {"httpGet": {"path": "/health-check", "port": "metrics"}},
        "readinessProbe": {"httpGet": {"path": "/health-check", "port": "metrics"}},
        "resources": requests_and_limits(*POD_REQUESTS, limit_factor=1),
        "securityContext": restricted_container_security_context(),
    }
    pod = {
        "serviceAccountName": derived.workload_identity(platform, IDENTITY).service_account,
        "priorityClassName": "system-cluster-critical",
        "securityContext": restricted_pod_security_context(),
        **pool_placement(platform, NAMESPACE),
        "containers": [container],
    }
    return k8s_object("apps/v1", "Deployment", NAME, NAMESPACE, labels=labels(NAME, NAME), spec={
        "replicas": 1,
        "selector": {"matchLabels": POD_LABELS},
        "template": {"metadata": {"labels": {**labels(NAME, NAME), **POD_LABELS}}, "spec": pod},
    })


def objects(platform: Platform) -> list[KubeObject]:
    """ServiceAccount (with its cloud identity), RBAC and the Deployment; nothing where the cloud scales."""
    if not enabled(platform):
        return []
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    role_ref = lambda kind: {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": NAME}  # noqa: E731
    return [
        identity_service_account(platform, IDENTITY, NAME),
        k8s_object(RBAC_API, "ClusterRole", NAME, labels=labels(NAME, NAME), rules=_cluster_rules()),
        k8s_object(RBAC_API, "ClusterRoleBinding", NAME, labels=labels(NAME, NAME), roleRef=role_ref("ClusterRole"), subjects=subject),
        k8s_object(RBAC_API, "Role", NAME, NAMESPACE, labels=labels(NAME, NAME), rules=_namespace_rules()),
        k8s_object(RBAC_API, "RoleBinding", NAME, NAMESPACE, labels=labels(NAME, NAME), roleRef=role_ref("Role"), subjects=subject),
        deployment(platform),
    ]


def flows(platform: Platform) -> list[Flow]:
    """The API server (pending pods, nodes), the AWS APIs (Auto Scaling, EC2, EKS) and STS for its identity."""
    if not enabled(platform):
        return []
    pods = Pods.of(NAMESPACE, POD_LABELS)
    return [to_api_server(pods, "the autoscaler watches pending pods and nodes"),
            flow(pods, CLOUD_COMPUTE_API, HTTPS, "resizes the node groups' Auto Scaling groups"),
            flow(pods, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the Auto Scaling API"),
            scrape(pods, METRICS_PORT)]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    sync_wave=-2,
    cluster_kinds=(("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding")),
    flows=flows,
)
