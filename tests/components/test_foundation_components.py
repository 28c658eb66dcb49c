"""Namespaces, Argo CD, AppProjects and the per-environment root app-of-apps."""

from __future__ import annotations

from plinth.charts.argo import directory_files
from plinth.render.gitops import ROOT_APP, ROOT_PROJECT
from plinth.render.pipeline import render_platform


def _by_kind(platform, kind):
    return {r.obj["metadata"]["name"] + ("/" + r.obj["metadata"].get("namespace", "") if r.obj["metadata"].get("namespace") else ""): r
            for r in render_platform(platform) if r.obj["kind"] == kind}


def test_four_namespaces_with_psa_quota_and_limits(prod) -> None:
    rendered = render_platform(prod)
    namespaces = {r.obj["metadata"]["name"]: r.obj for r in rendered if r.obj["kind"] == "Namespace"}
    assert sorted(namespaces) == ["platform-apps", "platform-data", "platform-monitoring", "platform-system"]
    for name, ns in namespaces.items():
        labels = ns["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == prod.namespaces[name].pod_security
        assert labels["pod-security.kubernetes.io/enforce-version"] == f"v{prod.cluster.kubernetes_version}"
    assert namespaces["platform-apps"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    quotas = {r.obj["metadata"]["namespace"]: r.obj for r in rendered if r.obj["kind"] == "ResourceQuota"}
    assert quotas["platform-apps"]["spec"]["hard"]["pods"] == str(prod.namespaces["platform-apps"].quota.pods)
    limits = {r.obj["metadata"]["namespace"]: r.obj for r in rendered if r.obj["kind"] == "LimitRange"}
    assert limits["platform-data"]["spec"]["limits"][0]["max"]["memory"] == prod.namespaces["platform-data"].limits.max_memory


def test_root_app_of_apps_per_environment_follows_the_design(platforms) -> None:
    for env, platform in platforms.items():
        root = _by_kind(platform, "Application")[f"{ROOT_APP}/platform-system"].obj
        spec = root["spec"]
        assert spec["source"]["targetRevision"] == "main"
        assert spec["source"]["path"] == f"kubernetes/{env}/apps"
        assert spec["source"]["repoURL"] == platform.git.repo_url
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert spec["project"] == "platform"


def test_the_root_application_is_not_in_its_own_source(platforms) -> None:
    """Argo CD reads the root's source folder (no recursion, include/exclude globs): the AppProjects and every child
    Application are there, the root Application is not (the bootstrap applies it from ``bootstrap/``)."""
    for env, platform in platforms.items():
        rendered = render_platform(platform)
        by_file = {f"{platform.git.rendered_path}/{r.path}": r.obj for r in rendered}
        root = next(o for o in by_file.values() if o["kind"] == "Application" and o["metadata"]["name"] == ROOT_APP)
        read = [by_file[f] for f in directory_files(root["spec"]["source"], by_file)]
        applications = {o["metadata"]["name"] for o in read if o["kind"] == "Application"}
        assert ROOT_APP not in applications, env
        assert applications == {o["metadata"]["name"] for o in by_file.values() if o["kind"] == "Application"} - {ROOT_APP}
        assert ROOT_PROJECT in {o["metadata"]["name"] for o in read if o["kind"] == "AppProject"}
        [root_file] = [f for f, o in by_file.items() if o is root]
        assert root_file == f"kubernetes/{env}/bootstrap/application-{ROOT_APP}.yaml"


def test_argo_directory_sources_read_like_argo_cd() -> None:
    files = ["k/apps/a.yaml", "k/apps/root.yaml", "k/apps/notes.txt", "k/apps/sub/b.yml", "k/other/c.json"]
    assert directory_files({"path": "k/apps"}, files) == ["k/apps/a.yaml", "k/apps/root.yaml"]
    assert directory_files({"path": "k/apps/", "directory": {"recurse": True}}, files) == ["k/apps/a.yaml", "k/apps/root.yaml", "k/apps/sub/b.yml"]
    assert directory_files({"path": "k/apps", "directory": {"exclude": "root.yaml"}}, files) == ["k/apps/a.yaml"]
    assert directory_files({"path": "k/apps", "directory": {"recurse": True, "exclude": "{root.yaml,sub/*}"}}, files) == ["k/apps/a.yaml"]
    assert directory_files({"path": "k/apps", "directory": {"include": "r*"}}, files) == ["k/apps/root.yaml"]


def test_argocd_is_a_pinned_chart_in_platform_system_managing_itself(prod) -> None:
    app = _by_kind(prod, "Application")["argocd/platform-system"].obj
    source = app["spec"]["source"]
    assert source["chart"] == "argo-cd"
    assert source["targetRevision"] == prod.charts["argocd"].version
    assert app["spec"]["destination"]["namespace"] == "platform-system"
    assert app["metadata"]["namespace"] == "platform-system"
    health = source["helm"]["valuesObject"]["configs"]["cm"]["resource.customizations.health.argoproj.io_Application"]
    assert "obj.status.health.status" in health


def test_every_application_syncs_automatically_with_prune_and_self_heal(platforms) -> None:
    for platform in platforms.values():
        for app in _by_kind(platform, "Application").values():
            assert app.obj["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}, app.path
            assert app.obj["metadata"]["namespace"] == "platform-system"


def test_appprojects_restrict_each_project_to_its_namespace(prod) -> None:
    projects = _by_kind(prod, "AppProject")
    for ns in prod.namespaces:
        project = projects[f"{ns}/platform-system"].obj
        destinations = project["spec"]["destinations"]
        annotations = project["metadata"].get("annotations") or {}
        narrowed = {key.removeprefix("plinth.dev/kinds-in."): value for key, value in annotations.items() if key.startswith("plinth.dev/kinds-in.")}
        assert sorted(d["namespace"] for d in destinations) == sorted([ns, *narrowed]), ns
        for other, kinds in narrowed.items():  # another namespace only for named kinds, and why
            assert kinds and annotations[f"plinth.dev/why-in.{other}"], (ns, other)
    assert set(_narrowed(projects["platform-system/platform-system"].obj)) == {"kube-system"}
    apps = _by_kind(prod, "Application")
    for app in apps.values():
        project = app.obj["spec"]["project"]
        allowed = [d["namespace"] for d in projects[f"{project}/platform-system"].obj["spec"]["destinations"]]
        assert app.obj["spec"]["destination"]["namespace"] in allowed, app.path
    # only the root project may create Namespaces
    for name, project in projects.items():
        kinds = {w["kind"] for w in project.obj["spec"].get("clusterResourceWhitelist", [])}
        assert ("Namespace" in kinds) == name.startswith("platform/"), name


def _narrowed(project: dict) -> dict[str, str]:
    annotations = project["metadata"].get("annotations") or {}
    return {key.removeprefix("plinth.dev/kinds-in."): value for key, value in annotations.items() if key.startswith("plinth.dev/kinds-in.")}


def test_sync_waves_put_namespaces_and_operators_before_workloads(prod) -> None:
    applications = {name.split("/")[0]: a.obj for name, a in _by_kind(prod, "Application").items()}
    # the root is applied once by hand (bootstrap/) and synced by nothing: a sync wave would mean nothing
    assert "argocd.argoproj.io/sync-wave" not in (applications.pop(ROOT_APP)["metadata"].get("annotations") or {})
    waves = {name: int(obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]) for name, obj in applications.items()}
    assert waves["namespaces"] < 0
    assert waves["argocd"] < waves["namespaces"]
    # Cluster-scoped only, so they need no namespace: the monitoring CRDs before Argo CD (whose chart ships
    # ServiceMonitors), the StorageClasses and the host-access policies with the namespaces (before any pod).
    assert waves["prometheus-operator-crds"] < waves["argocd"]
    assert waves["storage-classes"] <= waves["namespaces"]
    assert waves["host-access"] <= waves["namespaces"]
    for name, wave in waves.items():
        if name not in ("argocd", "namespaces", "prometheus-operator-crds", "storage-classes", "host-access"):
            assert wave > waves["namespaces"], name
    # the secret store right after External Secrets, before every Application with ExternalSecrets
    assert waves["external-secrets"] < waves["secret-store"] < waves["kube-prometheus-stack"] < waves["kube-prometheus-stack-chart"]
    assert waves["secret-store"] < waves["velero"] < waves["velero-backups"]
