"""Secrets: External Secrets Operator and the secret stores every credential comes through.

One ClusterSecretStore per remote subtree (``kube/secrets.py``): each namespace's own, usable by that namespace
alone (``conditions``), and the data-store identities', usable by platform-apps and platform-data. Every store reads
the cloud's secret manager, picked by ``cluster.provider``: AWS Secrets Manager (where the store is also confined to
its subtree by ``prefix``), GCP Secret Manager or Azure Key Vault. The operator authenticates with the cloud's
workload identity bound to its ServiceAccount, so neither the stores nor anything else in the tree holds a key.
Components ask for credentials with ``kube/secrets.external_secret``; the tree never contains a Secret object or a
secret value.
"""

from __future__ import annotations

from typing import Any

from plinth.components.argocd import OIDC_REMOTE_KEY, OIDC_SECRET, OPERATOR_CLUSTER_KINDS
from plinth.components.base import Component, HelmRelease, KubeObject
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import pool_placement, spread_constraints
from plinth.kube.secrets import EXTERNAL_SECRETS_API, STORE_KIND, external_secret, scope_prefix, store_name, store_prefixes_keys
from plinth.kube.workloads import requests_and_limits
from plinth.monitoring.panels import Panel
from plinth.spec import derived
from plinth.spec.model import Platform
from plinth.kube.flows import CLOUD_IDENTITY, CLOUD_SECRETS_API, HTTPS, Flow, Pods, flow, scrape, to_api_server, webhook

COMPONENT_NAME = "secret-store"
"""Component (folder and Application) name; the Helm release keeps the upstream name below."""
NAME = "external-secrets"
NAMESPACE = "platform-system"
IDENTITY = "external-secrets"
"""The operator's workload identity (``derived.WORKLOAD_IDENTITIES``)."""
SERVICE_ACCOUNT = next(i.service_account for i in derived.WORKLOAD_IDENTITIES if i.name == IDENTITY)
"""ServiceAccount of the operator, bound to the cloud identity that reads secrets."""
POD_REQUESTS: dict[str, tuple[int, int]] = {"controller": (100, 256), "webhook": (50, 128), "certController": (50, 128)}
"""CPU millicores and memory MiB per pod of the release."""
REPLICAS: dict[str, int] = {"controller": 2, "webhook": 2, "certController": 1}
"""Replicas: controller leader-elected, webhook behind a PDB, cert controller needs one."""
POD_LABELS: dict[str, str] = {"app.kubernetes.io/instance": NAME}
WEBHOOK_PORT = 10250
METRICS_PORT = 8080


def _part(platform: Platform, part: str) -> dict[str, Any]:
    placement = pool_placement(platform, NAMESPACE)
    result: dict[str, Any] = {
        "replicaCount": REPLICAS[part],
        "resources": requests_and_limits(*POD_REQUESTS[part]),
        "nodeSelector": placement["nodeSelector"],
    }
    if REPLICAS[part] > 1:
        result["podDisruptionBudget"] = {"enabled": True, "minAvailable": 1}
        result["topologySpreadConstraints"] = spread_constraints(POD_LABELS, hard_zone=False)
    if "tolerations" in placement:
        result["tolerations"] = placement["tolerations"]
    return result


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the external-secrets chart: CRDs, replicas, requests, placement, metrics."""
    return {
        "installCRDs": True,
        "leaderElect": True,
        # The controller reads the secret manager as the identity table's external-secrets identity.
        "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": derived.identity_annotations(platform, IDENTITY)},
        **({"podLabels": derived.identity_pod_labels(platform)} if derived.identity_pod_labels(platform) else {}),
        "serviceMonitor": {"enabled": True},  # one switch: ServiceMonitors for controller, webhook and cert controller
        **_part(platform, "controller"),
        "webhook": _part(platform, "webhook"),
        "certController": _part(platform, "certController"),
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The external-secrets chart with its CRDs."""
    return [HelmRelease(name=NAME, chart_key="external-secrets", namespace=NAMESPACE, values=values(platform), sync_wave=-5)]


def provider(platform: Platform) -> dict[str, Any]:
    """The store's provider block for the spec's cloud (workload identity, no static keys)."""
    cloud = platform.cluster.provider
    if cloud == "aws":
        return {"aws": {"service": "SecretsManager", "region": platform.cluster.region}}
    if cloud == "gcp":
        return {"gcpsm": {"projectID": platform.secrets.gcp_project_id}}
    return {"azurekv": {"vaultUrl": platform.secrets.azure_key_vault_url, "authType": "WorkloadIdentity",
                        "serviceAccountRef": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}}}


def secret_stores(platform: Platform) -> list[KubeObject]:
    """One ClusterSecretStore per remote subtree: each namespace's own (usable by that namespace alone) and the
    identities' (usable by platform-apps and platform-data). On AWS each store also confines itself to its subtree
    (``prefix``); every store reads the cloud's secret manager with the operator's workload identity."""
    readers: dict[str, list[str]] = {}
    for namespace, scopes in derived.secret_scopes(platform).items():
        for scope in scopes:
            readers.setdefault(scope, []).append(namespace)
    result = []
    for scope, namespaces in sorted(readers.items()):
        backend = provider(platform)
        if store_prefixes_keys(platform):
            backend["aws"]["prefix"] = scope_prefix(platform, scope)
        result.append(k8s_object(EXTERNAL_SECRETS_API, STORE_KIND, store_name(scope), labels=labels(COMPONENT_NAME, store_name(scope)), spec={
            "provider": backend,
            "refreshInterval": platform.secrets.refresh_interval_seconds,
            "conditions": [{"namespaces": sorted(namespaces)}],
        }))
    return result


def argocd_oidc_secret(platform: Platform) -> KubeObject:
    """Argo CD's OIDC client secret (its admin account is disabled), labelled so Argo CD reads it."""
    obj = external_secret(platform, OIDC_SECRET, platform.argocd.namespace, COMPONENT_NAME,
                          {"clientSecret": f"{OIDC_REMOTE_KEY}:clientSecret"})
    obj["spec"]["target"]["template"] = {"engineVersion": "v2", "mergePolicy": "Merge",
                                         "metadata": {"labels": {"app.kubernetes.io/part-of": "argocd"}}}
    return obj


def objects(platform: Platform) -> list[KubeObject]:
    """The secret stores and the Argo CD OIDC client secret read through platform-system's."""
    return [*secret_stores(platform), argocd_oidc_secret(platform)]


def panels(platform: Platform) -> list[Panel]:
    """ExternalSecrets failing to sync, on the platform-health dashboard."""
    return [Panel("platform-health", "ExternalSecret sync errors",
                  ("sum by (namespace, name) (increase(externalsecret_sync_calls_error[15m]))",), legend=("{{namespace}}/{{name}}",))]


def flows(platform: Platform) -> list[Flow]:
    """External Secrets: the API server, the cloud's secret manager and token service."""
    def pods(name: str) -> Pods:
        return Pods.of(NAMESPACE, {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": NAME})

    controller = pods("external-secrets")
    return [to_api_server(controller, "External Secrets writes Secrets from ExternalSecrets"),
            to_api_server(pods("external-secrets-cert-controller"), "the cert controller rotates the webhook certificate"),
            to_api_server(pods("external-secrets-webhook"), "the webhook reads its serving certificate"),
            flow(controller, CLOUD_SECRETS_API, HTTPS, "External Secrets reads the cloud's secret manager"),
            flow(controller, CLOUD_IDENTITY, HTTPS, "workload identity: a token for the secret manager"),
            webhook(pods("external-secrets-webhook"), WEBHOOK_PORT, "admission webhook for ExternalSecrets and stores"),
            *(scrape(pods(name), METRICS_PORT) for name in ("external-secrets", "external-secrets-cert-controller", "external-secrets-webhook"))]


COMPONENT = Component(
    name=COMPONENT_NAME,
    namespace=NAMESPACE,
    objects=objects,
    charts=charts,
    panels=panels,
    sync_wave=-4,  # right after the operator and its CRDs (-5), before every ExternalSecret (-3 and later)
    cluster_kinds=OPERATOR_CLUSTER_KINDS + (("external-secrets.io", "ClusterSecretStore"),),
    flows=flows,
)
