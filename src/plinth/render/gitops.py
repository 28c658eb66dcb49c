"""The Argo CD app-of-apps: a root Application per environment, one AppProject per namespace, and
one Application per component folder and per Helm release, ordered by sync waves.

The root Application lives in the environment's ``bootstrap/`` folder, outside the ``apps/`` folder it syncs:
the bootstrap applies it once (with the ``platform`` AppProject it belongs to, which ``apps/`` also holds so the
root keeps it in sync). An Application inside its own source would manage itself: its sync would wait for its
own health (the Application health check) and fail whenever any child is Degraded.

Waves: namespaces (-10) and Argo CD itself (-20) first, then operators whose charts bring the CRDs
(-5), then custom resources and workloads (0 and up). Argo CD waits for each wave's Applications to
be healthy before the next, thanks to the Application health check the argocd component installs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from plinth.components.base import Component, ExtraDestination, HelmRelease, KubeObject
from plinth.kube.objects import k8s_object, labels
from plinth.spec.model import Platform

ARGO_API = "argoproj.io/v1alpha1"
IN_CLUSTER = "https://kubernetes.default.svc"
ROOT_APP = "platform-root"
ROOT_PROJECT = "platform"
APPS_FOLDER = "apps"
"""Folder the root Application syncs: the AppProjects and the child Applications."""
BOOTSTRAP_FOLDER = "bootstrap"
"""Folder of what the bootstrap applies by hand and no Application syncs: the root Application."""
CLUSTER_GROUP = "cluster"
"""Folder of components whose objects are cluster-scoped or span namespaces."""


def env_path(platform: Platform, *parts: str) -> str:
    """Path in Git of an environment's folder (what Argo CD syncs)."""
    return "/".join((platform.git.rendered_path, platform.environment, *parts))


def component_folder(component: Component) -> str:
    """Folder of a component inside its environment's tree."""
    return f"{component.namespace or CLUSTER_GROUP}/{component.name}"


def project_for(namespace: str | None) -> str:
    """AppProject of a namespace (cluster-scoped groups belong to the root project)."""
    return namespace or ROOT_PROJECT


def sync_policy(platform: Platform, *, server_side: bool = False, respect_ignored: bool = False) -> dict[str, Any]:
    """The design's sync policy: automated, prune, selfHeal, with retries.

    ``respect_ignored`` adds ``RespectIgnoreDifferences=true``: without it a sync still applies the
    ignored fields from Git (ignoreDifferences alone only hides them from the diff).
    """
    cd = platform.argocd
    options = ["CreateNamespace=false", "PruneLast=true"]
    options += ["ServerSideApply=true"] if server_side else []
    options += ["RespectIgnoreDifferences=true"] if respect_ignored else []
    policy: dict[str, Any] = {
        "syncOptions": options,
        "retry": {"limit": cd.sync_retry_limit, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
    }
    if cd.automated_sync:
        policy["automated"] = {"prune": cd.prune, "selfHeal": cd.self_heal}
    return policy


def _application(platform: Platform, name: str, project: str, namespace: str, source: dict[str, Any], wave: int | None,
                 server_side: bool = False, ignore_differences: tuple[dict[str, Any], ...] = ()) -> KubeObject:
    spec: dict[str, Any] = {
        "project": project,
        "source": source,
        "destination": {"server": IN_CLUSTER, "namespace": namespace},
        "syncPolicy": sync_policy(platform, server_side=server_side, respect_ignored=bool(ignore_differences)),
        "revisionHistoryLimit": 10,
    }
    if ignore_differences:
        spec["ignoreDifferences"] = copy.deepcopy(list(ignore_differences))
    return k8s_object(
        ARGO_API, "Application", name, platform.argocd.namespace,
        labels=labels("gitops", name),
        annotations=None if wave is None else {"argocd.argoproj.io/sync-wave": str(wave)},
        finalizers=["resources-finalizer.argocd.argoproj.io"],
        spec=spec,
    )


def folder_application(platform: Platform, component: Component) -> KubeObject:
    """Application syncing a component's rendered folder."""
    return _application(
        platform, component.name, project_for(component.namespace), component.namespace or platform.argocd.namespace,
        {"repoURL": platform.git.repo_url, "targetRevision": platform.git.target_revision,
         "path": env_path(platform, component_folder(component))},
        component.sync_wave, ignore_differences=component.ignore_differences,
    )


def chart_application(platform: Platform, release: HelmRelease) -> KubeObject:
    """Application installing a pinned upstream chart with values from the spec."""
    chart = platform.charts[release.chart_key]
    helm: dict[str, Any] = {"releaseName": release.name, "valuesObject": release.values}
    if release.skip_crds:
        helm["skipCrds"] = True
    source: dict[str, Any] = {"repoURL": chart.repo_url, "chart": chart.chart, "targetRevision": chart.version, "helm": helm}
    if chart.repo_url.startswith("oci://"):
        # Argo CD takes OCI Helm repositories without the scheme, e.g. docker.io/envoyproxy.
        source["repoURL"] = chart.repo_url.removeprefix("oci://")
    return _application(platform, release.name, project_for(release.namespace), release.namespace, source,
                        release.sync_wave, server_side=True, ignore_differences=release.ignore_differences)


NARROWED_KINDS_ANNOTATION = "plinth.dev/kinds-in."
"""``plinth.dev/kinds-in.<namespace>: <group>/<Kind>,...``: the only kinds a project's extra namespace takes."""
NARROWED_REASON_ANNOTATION = "plinth.dev/why-in."
"""``plinth.dev/why-in.<namespace>: <reason>``: why the project writes to that namespace at all."""


def _project(platform: Platform, name: str, description: str, namespaces: list[str], repos: list[str],
             cluster_kinds: set[tuple[str, str]], extra: tuple[ExtraDestination, ...] = ()) -> KubeObject:
    spec: dict[str, Any] = {
        "description": description,
        "sourceRepos": sorted(set(repos)),
        "destinations": [{"server": IN_CLUSTER, "namespace": ns} for ns in sorted(set(namespaces) | {e.namespace for e in extra})],
        "orphanedResources": {"warn": True},
    }
    spec["clusterResourceWhitelist"] = [{"group": g, "kind": k} for g, k in sorted(cluster_kinds)]
    annotations = {"argocd.argoproj.io/sync-wave": "-30"}
    for namespace in sorted({e.namespace for e in extra}):
        here = sorted({(e.group, e.kind, e.reason) for e in extra if e.namespace == namespace})
        annotations[f"{NARROWED_KINDS_ANNOTATION}{namespace}"] = ",".join(sorted({f"{g}/{k}" for g, k, _ in here}))
        annotations[f"{NARROWED_REASON_ANNOTATION}{namespace}"] = " ".join(sorted({r for _, _, r in here}))
    return k8s_object(ARGO_API, "AppProject", name, platform.argocd.namespace, labels=labels("gitops", name),
                      annotations=annotations, spec=spec)


def projects(platform: Platform, outputs: list[ComponentOutput]) -> list[KubeObject]:
    """The root project (Applications, AppProjects, namespaces) and one project per namespace."""
    by_ns: dict[str, dict[str, Any]] = {ns: {"repos": {platform.git.repo_url}, "kinds": set(), "extra": set()} for ns in platform.namespaces}
    root_kinds: set[tuple[str, str]] = set()
    for out in outputs:
        component = out.component
        for release in out.charts:
            by_ns[release.namespace]["repos"].add(platform.charts[release.chart_key].repo_url.removeprefix("oci://"))
            by_ns[release.namespace]["kinds"].update(component.cluster_kinds)
            by_ns[release.namespace]["extra"].update(component.extra_destinations)
        if component.namespace is None:
            root_kinds.update(component.cluster_kinds)
        elif out.objects:
            by_ns[component.namespace]["kinds"].update(component.cluster_kinds)
            by_ns[component.namespace]["extra"].update(component.extra_destinations)
    result = [_project(platform, ROOT_PROJECT, "The app-of-apps: Applications, AppProjects and namespaces",
                       list(platform.namespaces), [platform.git.repo_url], root_kinds)]
    for ns, info in sorted(by_ns.items()):
        result.append(_project(platform, ns, f"Everything deployed into {ns}: {platform.namespaces[ns].purpose}",
                               [ns], sorted(info["repos"]), info["kinds"], tuple(sorted(info["extra"], key=str))))
    return result


def root_application(platform: Platform) -> KubeObject:
    """The environment's root app-of-apps (the design's ``platform-apps`` example, made consistent). It has no sync
    wave: it is applied once by hand (``bootstrap/``), and no Application syncs it."""
    return _application(
        platform, ROOT_APP, ROOT_PROJECT, platform.argocd.namespace,
        {"repoURL": platform.git.repo_url, "targetRevision": platform.git.target_revision, "path": env_path(platform, APPS_FOLDER)},
        None,
    )


def bootstrap_objects(platform: Platform) -> list[KubeObject]:
    """Everything in an environment's ``bootstrap/`` folder: the root Application, applied once by hand."""
    return [root_application(platform)]


def app_of_apps(platform: Platform, outputs: list[ComponentOutput]) -> list[KubeObject]:
    """Everything in an environment's ``apps/`` folder (what the root syncs): AppProjects, child Applications."""
    result = [*projects(platform, outputs)]
    for out in outputs:
        for release in out.charts:
            result.append(chart_application(platform, release))
        if out.objects:
            result.append(folder_application(platform, out.component))
    return result


@dataclass(frozen=True)
class ComponentOutput:
    """What one component rendered for one platform."""

    component: Component
    objects: list[KubeObject]
    charts: list[HelmRelease]
