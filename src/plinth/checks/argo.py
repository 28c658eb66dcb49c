"""Argo CD checks: would a first sync of the union (rendered tree + hydrated charts) go through?

Each check reads Argo CD's own rules (``plinth.charts.union`` for the sync order):

- an AppProject refuses an object outside its destinations, and a kind outside its resource lists, and Argo CD
  then fails the whole sync of the Application;
- a custom resource whose CRD is not yet in the cluster fails its dry run, and with the root app-of-apps waiting
  for health the bootstrap stops there;
- a pod whose Secret, ConfigMap, ServiceAccount, PriorityClass or claim's StorageClass is missing never starts,
  so its Application never turns healthy and the next waves never sync;
- a Helm chart from an OCI registry (``repoURL`` without a scheme) is pulled only when a repository Secret marks
  the registry ``enableOCI``;
- an Application whose own file is in its source manages itself: with the Application health check its sync waits
  for its own health, so any Degraded child fails the sync (the root Application lives in ``bootstrap/``).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
from collections.abc import Iterator
from typing import Any

from plinth.charts.apis import builtin_api_versions
from plinth.charts.argo import directory_files
from plinth.charts.union import Item, api_group
from plinth.checks.cluster_made import CLUSTER_BUILTINS, IN_EVERY_NAMESPACE, producers_of
from plinth.checks.engine import Check, CheckContext, Finding
from plinth.kube.objects import get
from plinth.kube.references import Reference, references
from plinth.render.gitops import IN_CLUSTER, NARROWED_KINDS_ANNOTATION

NARROWED_KINDS_PREFIX = NARROWED_KINDS_ANNOTATION
"""AppProject annotation ``plinth.dev/kinds-in.<namespace>: <group>/<Kind>[,...]``: Argo CD cannot limit one
destination to some kinds, so the project allows the namespace and Plinth allows only these kinds in it."""
REPOSITORY_LABEL = "argocd.argoproj.io/secret-type"


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _namespace_allowed(project: dict[str, Any], namespace: str) -> bool:
    """Argo CD's destination rule: some destination of the in-cluster server matches, no ``!`` pattern denies it."""
    destinations = [d for d in get(project, "spec.destinations", []) or []
                    if _matches(d.get("server", "*") or "*", IN_CLUSTER) or d.get("name") in ("in-cluster", "*")]
    allowed = any(not str(d.get("namespace", "")).startswith("!") and _matches(str(d.get("namespace", "")), namespace) for d in destinations)
    denied = any(str(d.get("namespace", "")).startswith("!") and _matches(str(d["namespace"])[1:], namespace) for d in destinations)
    return allowed and not denied


def _kind_listed(entries: list[dict[str, Any]] | None, group: str, kind: str) -> bool:
    return any(_matches(str(e.get("group", "")), group) and _matches(str(e.get("kind", "")), kind) for e in entries or [])


def _narrowed(project: dict[str, Any]) -> dict[str, set[str]]:
    annotations = get(project, "metadata.annotations", {}) or {}
    return {key.removeprefix(NARROWED_KINDS_PREFIX): {k.strip() for k in str(value).split(",") if k.strip()}
            for key, value in annotations.items() if key.startswith(NARROWED_KINDS_PREFIX)}


def _project(check: Check, ctx: CheckContext, item: Item) -> tuple[str, dict[str, Any] | None]:
    application = ctx.union.application_of(item)
    project = ctx.union.project_of(application)
    return application, project.obj if project is not None else None


def namespaces_in_project(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every namespaced object lands in a destination of its Application's AppProject (and every Application's own
    destination is one); a namespace the project narrows to some kinds takes only those."""
    for app_name, app in sorted(ctx.union.applications.items()):
        project = ctx.union.project_of(app_name)
        namespace = get(app.obj, "spec.destination.namespace", "") or ""
        if project is None:
            yield check.finding(ctx, app, "spec.project", f"AppProject {get(app.obj, 'spec.project')!r} is not in the tree: "
                                "Argo CD refuses to sync the Application")
        elif namespace and not _namespace_allowed(project.obj, namespace):
            yield check.finding(ctx, app, "spec.destination.namespace",
                                f"destination namespace {namespace} is not a destination of AppProject {project.obj['metadata']['name']}")
    for item in ctx.objects:
        if not ctx.union.is_namespaced(item.obj):
            continue
        application, project = _project(check, ctx, item)
        if project is None:
            continue
        namespace = (item.obj.get("metadata") or {}).get("namespace") or ""
        name = project["metadata"]["name"]
        if not _namespace_allowed(project, namespace):
            yield check.finding(ctx, item, "metadata.namespace",
                                f"Application {application} puts it in namespace {namespace}, which AppProject {name} does not allow: "
                                "Argo CD refuses the whole sync of the Application")
            continue
        narrowed = _narrowed(project).get(namespace)
        kind = f"{api_group(item.obj)}/{item.obj.get('kind')}"
        if narrowed is not None and kind not in narrowed:
            yield check.finding(ctx, item, "metadata.namespace",
                                f"AppProject {name} allows namespace {namespace} only for {', '.join(sorted(narrowed))}, not {kind}")


def kinds_in_project(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every cluster-scoped kind is in its AppProject's clusterResourceWhitelist (and not blacklisted); namespaced kinds
    respect the namespaceResource lists when the project has them."""
    for item in ctx.objects:
        application, project = _project(check, ctx, item)
        if project is None:
            continue
        group, kind = api_group(item.obj), str(item.obj.get("kind"))
        name = project["metadata"]["name"]
        spec = project.get("spec") or {}
        if ctx.union.is_namespaced(item.obj):
            whitelist = spec.get("namespaceResourceWhitelist")
            refused = (whitelist is not None and not _kind_listed(whitelist, group, kind)) or \
                _kind_listed(spec.get("namespaceResourceBlacklist"), group, kind)
            where = "namespaceResourceWhitelist/Blacklist"
        else:
            refused = not _kind_listed(spec.get("clusterResourceWhitelist"), group, kind) or \
                _kind_listed(spec.get("clusterResourceBlacklist"), group, kind)
            where = "clusterResourceWhitelist"
        if refused:
            yield check.finding(ctx, item, "kind", f"Application {application} syncs {group or 'core'}/{kind}, which AppProject {name} "
                                f"does not allow ({where}): Argo CD refuses the whole sync of the Application")


def _builtin_kinds(ctx: CheckContext) -> set[tuple[str, str]]:
    found = set()
    for entry in builtin_api_versions(ctx.platform.cluster.kubernetes_version):
        parts = entry.split("/")
        if len(parts) == 3:
            found.add((parts[0], parts[2]))
        elif len(parts) == 2 and parts[1][:1].isupper():
            found.add(("", parts[1]))
    return found


def custom_resources_after_crds(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """No custom resource is applied before the CRD that defines it exists: a CRD of the same Application in an
    earlier-or-same phase and wave, or of an Application synced in an earlier wave of the root (or by the bootstrap)."""
    builtin = _builtin_kinds(ctx)
    crds: dict[tuple[str, str], list[Item]] = {}
    for crd in ctx.union.crds():
        spec = crd.obj.get("spec") or {}
        crds.setdefault((spec.get("group", ""), (spec.get("names") or {}).get("kind", "")), []).append(crd)
    for item in ctx.objects:
        key = (api_group(item.obj), str(item.obj.get("kind")))
        if key in builtin or key[0] == "":
            continue
        defining = crds.get(key, [])
        if not defining:
            yield check.finding(ctx, item, "apiVersion", f"no CRD of any Application defines {key[1]}.{key[0]}: Argo CD cannot apply it")
            continue
        if any(ctx.union.in_time(crd, item, same_wave_across=False) for crd in defining):
            continue
        first = min(defining, key=ctx.union.available_from)
        yield check.finding(ctx, item, "apiVersion",
                            f"{ctx.union.describe(item)} is applied at {ctx.union.position(item).describe()}, but its CRD "
                            f"{first.obj['metadata']['name']} comes from Application {ctx.union.application_of(first)} at "
                            f"{ctx.union.position(first).describe()}: the dry run fails until then (an Application's CRDs must "
                            "come from an earlier wave of the root, or from the same Application)")


def _external_secret_target(obj: dict[str, Any]) -> str | None:
    target = get(obj, "spec.target", {}) or {}
    if target.get("creationPolicy", "Owner") in ("Merge", "None"):
        return None
    return target.get("name") or obj["metadata"]["name"]


def _store_of(ctx: CheckContext, external_secret: Item) -> tuple[str, str, Item | None]:
    ref = get(external_secret.obj, "spec.secretStoreRef", {}) or {}
    kind = ref.get("kind", "SecretStore")
    namespace = None if kind == "ClusterSecretStore" else external_secret.obj["metadata"].get("namespace")
    return kind, ref.get("name", ""), ctx.find(kind, namespace, ref.get("name", ""))


def _providers(ctx: CheckContext, ref: Reference, namespace: str | None) -> list[tuple[Item, str]]:
    """Objects of the union that are, or make, the referenced object (with how)."""
    name = ref.name
    found: list[tuple[Item, str]] = []
    existing = ctx.find(ref.kind, namespace if ref.namespaced else None, name)
    if existing is not None:
        found.append((existing, "applied"))
    if ref.kind == "Secret":
        for es in ctx.of_kind("ExternalSecret"):
            if es.obj["metadata"].get("namespace") == namespace and _external_secret_target(es.obj) == name:
                store_kind, store_name, store = _store_of(ctx, es)
                if store is None:
                    continue  # never made (PL-ARGO-005 reports the store)
                if ctx.union.in_time(store, es, same_wave_across=True):
                    found.append((es, f"made by ExternalSecret {es.obj['metadata']['name']}"))
                else:  # made only once its store exists
                    found.append((store, f"made by ExternalSecret {es.obj['metadata']['name']} once its {store_kind} {store_name} exists"))
        for cert in ctx.of_kind("Certificate"):
            if cert.obj["metadata"].get("namespace") == namespace and get(cert.obj, "spec.secretName") == name:
                found.append((cert, f"issued by Certificate {cert.obj['metadata']['name']}"))
    found += producers_of(ref.kind, namespace if ref.namespaced else None, name, ctx.objects)
    return found


def references_resolve_in_time(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every Secret, ConfigMap, ServiceAccount, StorageClass and PriorityClass a pod or volume claim refers to exists
    (applied, made by an ExternalSecret whose store is synced no later, issued by cert-manager, or created by a known
    operator or hook) in the same or an earlier wave."""
    for item in ctx.objects:
        namespace = (item.obj.get("metadata") or {}).get("namespace")
        seen: set[tuple[str, str]] = set()
        for ref in references(item.obj):
            if ref.optional or (ref.kind, ref.name) in seen:
                continue
            seen.add((ref.kind, ref.name))
            if ref.namespaced and (ref.kind, ref.name) in IN_EVERY_NAMESPACE:
                continue
            if not ref.namespaced and (ref.kind, ref.name) in CLUSTER_BUILTINS:
                continue
            providers = _providers(ctx, ref, namespace)
            if any(ctx.union.in_time(p, item, same_wave_across=True) for p, _ in providers):
                continue
            where = f"{namespace}/{ref.name}" if ref.namespaced else ref.name
            if not providers:
                yield check.finding(ctx, item, ref.field_path,
                                    f"{ctx.union.describe(item)} needs {ref.kind} {where}, which no Application applies and nothing "
                                    "known creates: its pods never start")
                continue
            provider, how = min(providers, key=lambda p: ctx.union.available_from(p[0]))
            yield check.finding(ctx, item, ref.field_path,
                                f"{ctx.union.describe(item)} is applied at {ctx.union.position(item).describe()} and needs {ref.kind} "
                                f"{where}, {how} ({ctx.union.describe(provider)}) only at {ctx.union.position(provider).describe()}: "
                                "its pods wait and the wave never turns healthy")


def secret_stores_in_time(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every ExternalSecret's SecretStore or ClusterSecretStore exists in the same or an earlier wave."""
    for es in ctx.of_kind("ExternalSecret"):
        kind, name, store = _store_of(ctx, es)
        if store is None:
            yield check.finding(ctx, es, "spec.secretStoreRef", f"{kind} {name} is not applied by any Application: the Secret is never made")
        elif not ctx.union.in_time(store, es, same_wave_across=True):
            yield check.finding(ctx, es, "spec.secretStoreRef",
                                f"{ctx.union.describe(es)} is applied at {ctx.union.position(es).describe()}, its {kind} {name} only at "
                                f"{ctx.union.position(store).describe()} (Application {ctx.union.application_of(store)})")


def issuers_in_time(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every Certificate's Issuer or ClusterIssuer (cert-manager.io) exists in the same or an earlier wave: cert-manager
    waits for it, and the app-of-apps waits for the Certificate's wave before it syncs the issuer's."""
    for cert in ctx.of_kind("Certificate"):
        ref = get(cert.obj, "spec.issuerRef", {}) or {}
        if ref.get("group", "cert-manager.io") != "cert-manager.io":
            continue  # an external issuer: its controller is not in the union
        kind = ref.get("kind") or "Issuer"
        namespace = cert.obj["metadata"].get("namespace") if kind == "Issuer" else None
        issuer = ctx.find(kind, namespace, ref.get("name", ""))
        if issuer is None:
            yield check.finding(ctx, cert, "spec.issuerRef", f"{kind} {ref.get('name')} is not applied by any Application: "
                                "the certificate is never issued")
        elif not ctx.union.in_time(issuer, cert, same_wave_across=True):
            yield check.finding(ctx, cert, "spec.issuerRef",
                                f"{ctx.union.describe(cert)} is applied at {ctx.union.position(cert).describe()}, its {kind} "
                                f"{ref.get('name')} only at {ctx.union.position(issuer).describe()} (Application "
                                f"{ctx.union.application_of(issuer)}): the certificate waits and the wave never turns healthy")


def _secret_data(obj: dict[str, Any]) -> dict[str, str]:
    data = {k: str(v) for k, v in (obj.get("stringData") or {}).items()}
    for key, value in (obj.get("data") or {}).items():
        try:
            data.setdefault(key, base64.b64decode(str(value)).decode())
        except (binascii.Error, UnicodeDecodeError):
            continue
    return data


def oci_repositories_declared(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """A chart Application whose repoURL has no scheme (Helm over OCI) has a repository Secret with ``type: helm`` and
    ``enableOCI: "true"`` for that URL, synced no later than the Application."""
    argocd_namespace = ctx.platform.argocd.namespace
    repositories = []
    for secret in ctx.of_kind("Secret"):
        labels = get(secret.obj, "metadata.labels", {}) or {}
        if secret.obj["metadata"].get("namespace") == argocd_namespace and labels.get(REPOSITORY_LABEL) in ("repository", "repo-creds"):
            repositories.append((secret, labels[REPOSITORY_LABEL], _secret_data(secret.obj)))
    for app in ctx.chart_applications():
        url = str(get(app.obj, "spec.source.repoURL", ""))
        if "://" in url:
            continue
        matching = [s for s, secret_type, data in repositories if data.get("type") == "helm" and data.get("enableOCI") == "true"
                    and (data.get("url") == url or (secret_type == "repo-creds" and url.startswith(data.get("url", "\0"))))]
        if not matching:
            yield check.finding(ctx, app, "spec.source.repoURL",
                                f"chart {get(app.obj, 'spec.source.chart')} comes from OCI registry {url}, but no repository Secret "
                                f"(label {REPOSITORY_LABEL}: repository, type: helm, enableOCI: \"true\", url: {url}) declares it: "
                                "the repo-server cannot pull the chart")
        elif not any(ctx.union.in_time(s, app, same_wave_across=True) for s in matching):
            yield check.finding(ctx, app, "spec.source.repoURL", f"the repository Secret for {url} is synced after the Application")


def charts_hydrated(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """Every chart Application was hydrated, so its objects are validated, checked and planned."""
    for app in ctx.union.unhydrated:
        item = ctx.union.applications.get(app.name)
        if item is not None:
            yield check.finding(ctx, item, "spec.source.chart",
                                f"chart {app.chart} {app.version} was not hydrated (no chart directory: pass --chart-dir or set "
                                "PLINTH_CHART_DIR): none of its objects are validated, checked or planned")


def applications_not_self_managed(check: Check, ctx: CheckContext) -> Iterator[Finding]:
    """No Application reads its own file: its source folder, as Argo CD reads it (recurse, include, exclude), does
    not hold the Application."""
    root = ctx.platform.git.rendered_path
    files = {f"{root}/{item.path}": item for item in ctx.rendered}
    for item in ctx.of_kind("Application"):
        if f"{root}/{item.path}" not in files:
            continue  # a hydrated Application: a chart renders it, no folder holds it
        spec = item.obj.get("spec") or {}
        sources = [("spec.source", spec["source"])] if "source" in spec else []
        sources += [(f"spec.sources.{i}", s) for i, s in enumerate(spec.get("sources") or [])]
        for where, source in sources:
            if "chart" in source or source.get("repoURL") != ctx.platform.git.repo_url:
                continue
            if f"{root}/{item.path}" in directory_files(source, files):
                yield check.finding(ctx, item, f"{where}.path",
                                    f"its own file {root}/{item.path} is in its source {source.get('path')}: the Application manages "
                                    "itself, so its sync waits for its own health and fails whenever a child is Degraded")


CHECKS = (
    Check("PL-ARGO-001", "error", "tree", "Every object's namespace is a destination of its Application's AppProject",
          "Keep the chart's objects in the Application's namespace (chart values such as a leader-election namespace), or add the "
          "namespace to the project with only the kinds that must live there (Component.extra_destinations).",
          namespaces_in_project),
    Check("PL-ARGO-002", "error", "tree", "Every cluster-scoped kind is in its AppProject's whitelist",
          "Turn the object off in the chart values, or add its group/kind to the component's cluster_kinds.", kinds_in_project),
    Check("PL-ARGO-003", "error", "tree", "No custom resource is synced before the CRD that defines it",
          "Install the CRDs in an earlier wave of the root (a CRD-only Application), or move the Application after the one with the CRDs.",
          custom_resources_after_crds),
    Check("PL-ARGO-004", "error", "tree", "Every Secret, ConfigMap, ServiceAccount, StorageClass and PriorityClass a pod or claim "
          "references exists or is produced no later",
          "Render the object, or sync its producer (ExternalSecret and store, Certificate, operator, hook) in the same or an earlier wave.",
          references_resolve_in_time),
    Check("PL-ARGO-005", "error", "tree", "An ExternalSecret's secret store is synced no later than it",
          "Sync the ClusterSecretStore (secret-store) in a wave at or before every Application with ExternalSecrets.",
          secret_stores_in_time),
    Check("PL-ARGO-006", "error", "tree", "Every Helm-over-OCI chart repository has a repository Secret with enableOCI",
          "Render a repository Secret (label argocd.argoproj.io/secret-type: repository; type: helm, enableOCI: \"true\", url "
          "without scheme) in Argo CD's namespace.", oci_repositories_declared),
    Check("PL-ARGO-007", "error", "tree", "Every chart Application is hydrated",
          "Point --chart-dir or PLINTH_CHART_DIR at the pinned chart archives (`plinth charts pull` fills .cache/charts).",
          charts_hydrated),
    Check("PL-ARGO-008", "error", "tree", "No Application syncs its own file",
          "Keep the root Application out of the folder it syncs (the bootstrap/ folder, applied once by hand), or exclude its file "
          "with spec.source.directory.exclude.", applications_not_self_managed),
    Check("PL-ARGO-009", "error", "tree", "A Certificate's issuer is synced no later than it",
          "Sync the Issuer or ClusterIssuer in a wave at or before every Application with Certificates it issues (the internal CA is "
          "its own Application, internal-pki, for that reason).", issuers_in_time),
)
