"""Argo CD's rules for rendered chart manifests: Helm hook mapping, hook precedence, waves, namespaces."""

from __future__ import annotations

import pytest

from plinth.charts.apis import builtin_api_versions, crd_api_versions, kube_version_semver
from plinth.charts.argo import hook_phases, is_hook, set_destination_namespace, sync_wave, unsupported_helm_hooks
from plinth.charts.hydrate import parse_manifests


def _obj(annotations: dict[str, str] | None = None, kind: str = "Job", namespace: str | None = None) -> dict:
    meta: dict = {"name": "x"}
    if annotations:
        meta["annotations"] = annotations
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta}


@pytest.mark.parametrize(("helm_hook", "phases"), [
    ("pre-install", ("PreSync",)),
    ("pre-upgrade", ("PreSync",)),
    ("crd-install", ("PreSync",)),
    ("post-install", ("PostSync",)),
    ("post-upgrade", ("PostSync",)),
    ("pre-install,pre-upgrade,post-install,post-upgrade", ("PreSync", "PostSync")),
    ("pre-install,pre-upgrade,pre-rollback", ("PreSync",)),
    ("post-delete", ("PostDelete",)),
    ("pre-delete", ("PreDelete",)),
    ("test", ()),
    ("test-success", ()),
    ("pre-rollback", ()),
])
def test_helm_hooks_map_to_argo_cd_phases(helm_hook, phases) -> None:
    obj = _obj({"helm.sh/hook": helm_hook})
    assert is_hook(obj)
    assert hook_phases(obj) == phases


def test_unsupported_helm_hooks_are_named() -> None:
    assert unsupported_helm_hooks(_obj({"helm.sh/hook": "test-success"})) == ["test-success"]
    assert unsupported_helm_hooks(_obj({"helm.sh/hook": "pre-install,pre-rollback"})) == ["pre-rollback"]


def test_an_argo_cd_hook_annotation_overrides_the_helm_hooks() -> None:
    """Lakekeeper's migration Job: helm post-install + Argo CD Sync -> a Sync hook, wave from sync-wave."""
    obj = _obj({"helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-weight": "-100",
                "argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "0"})
    assert hook_phases(obj) == ("Sync",)
    assert sync_wave(obj) == 0
    assert hook_phases(_obj({"argocd.argoproj.io/hook": "Skip"})) == ()
    assert unsupported_helm_hooks(_obj({"argocd.argoproj.io/hook": "PreSync", "helm.sh/hook": "test"})) == []


def test_sync_wave_rules() -> None:
    assert sync_wave(_obj()) == 0
    assert sync_wave(_obj({"argocd.argoproj.io/sync-wave": "-6"})) == -6
    assert sync_wave(_obj({"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "5"})) == 5
    # The hook weight counts for any object, hook or not (gitops-engine syncwaves.Wave).
    assert sync_wave(_obj({"helm.sh/hook-weight": "-3"})) == -3
    assert sync_wave(_obj({"argocd.argoproj.io/sync-wave": "2", "helm.sh/hook-weight": "-3"})) == 2
    assert sync_wave(_obj({"argocd.argoproj.io/sync-wave": "not-a-number", "helm.sh/hook-weight": "4"})) == 4
    assert sync_wave(_obj({"argocd.argoproj.io/hook": "PreSync", "helm.sh/hook-weight": "4"})) == 0
    assert not is_hook(_obj({"argocd.argoproj.io/sync-wave": "1"}))


def test_destination_namespace_rules() -> None:
    namespaced = _obj(kind="ServiceMonitor")
    set_destination_namespace(namespaced, "platform-system", namespaced=True)
    assert namespaced["metadata"]["namespace"] == "platform-system"
    elsewhere = _obj(kind="Role", namespace="kube-system")
    set_destination_namespace(elsewhere, "platform-system", namespaced=True)
    assert elsewhere["metadata"]["namespace"] == "kube-system"
    cluster = _obj(kind="ClusterRole", namespace="platform-system")
    set_destination_namespace(cluster, "platform-system", namespaced=False)
    assert "namespace" not in cluster["metadata"]


def test_manifests_parse_like_kubernetes_reads_them() -> None:
    text = "---\n# Source: x\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  day: 2024-01-01\n  op: =\n---\n\n---\n" \
           "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n"
    objects = parse_manifests(text)
    assert [o["kind"] for o in objects] == ["ConfigMap", "Secret"]
    assert objects[0]["data"] == {"day": "2024-01-01", "op": "="}


def test_builtin_api_versions_are_what_a_cluster_serves() -> None:
    apis = builtin_api_versions("1.32")
    assert {"v1", "v1/Pod", "apps/v1/Deployment", "policy/v1/PodDisruptionBudget", "batch/v1/CronJob"} <= set(apis)
    assert not [a for a in apis if "beta" in a or "alpha" in a]
    assert "authentication.k8s.io/v1/TokenReview" not in apis
    assert kube_version_semver("1.32") == "1.32.0"
    crd = {"spec": {"group": "monitoring.coreos.com", "names": {"kind": "ServiceMonitor"},
                    "versions": [{"name": "v1", "served": True}, {"name": "v1beta1", "served": False}]}}
    assert crd_api_versions(crd) == {"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"}
