"""Argo CD: installed from its pinned Helm chart into the spec's namespace, then managing itself.

Bootstrap installs the same chart and values once by hand (README); from then on the ``argocd``
Application below owns the release, so upgrading Argo CD is a change to ``platform.yaml``.
"""

from __future__ import annotations

from typing import Any

from plinth.components.base import Component, HelmRelease
from plinth.kube.objects import dns_label
from plinth.kube.scheduling import pool_placement
from plinth.kube.yamlio import dump_yaml
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Platform
from plinth.kube.flows import GIT, HTTPS, IDENTITY_PROVIDER, Flow, Pods, flow, scrape, to_api_server

NAME = "argocd"
OIDC_SECRET = "argocd-oidc"
"""Secret with the OIDC client secret (key ``clientSecret``), labelled part-of argocd so ``$argocd-oidc:clientSecret`` resolves."""
OIDC_REMOTE_KEY = "argocd/oidc"
"""Remote secret (under the environment's prefix) holding the OIDC client secret."""

# Argo CD dropped the health assessment of Application objects in 1.8; without it an app-of-apps
# does not wait for a child Application to be healthy before the next sync wave. This is the check
# the Argo CD docs ("Sync Waves and Hooks" / app-of-apps) give to restore it.
APPLICATION_HEALTH_LUA = """hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil then
  if obj.status.health ~= nil then
    hs.status = obj.status.health.status
    if obj.status.health.message ~= nil then
      hs.message = obj.status.health.message
    end
  end
end
return hs
"""

OPERATOR_CLUSTER_KINDS: tuple[tuple[str, str], ...] = (
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
)
"""Cluster-scoped kinds an operator's chart creates (CRDs, RBAC, webhooks)."""


POD_REQUESTS: dict[str, tuple[int, int]] = {
    "controller": (500, 1024),
    "server": (100, 256),
    "repoServer": (250, 512),
    "applicationSet": (100, 256),
    "redis-ha": (100, 256),
}
"""CPU millicores and memory MiB requested by each Argo CD pod: set in the values and counted by the planner."""


def _resources(part: str) -> dict[str, Any]:
    cpu, mem = POD_REQUESTS[part]
    return {"requests": {"cpu": f"{cpu}m", "memory": f"{mem}Mi"}, "limits": {"memory": f"{mem * 2}Mi"}}


def _replicas(platform: Platform) -> dict[str, int]:
    cd = platform.argocd
    ha = cd.server_replicas > 1
    return {"controller": cd.controller_replicas, "server": cd.server_replicas, "repoServer": cd.repo_server_replicas,
            "applicationSet": 2 if ha else 1, "redis-ha": 3 if ha else 0}


def oci_repositories(platform: Platform) -> dict[str, dict[str, str]]:
    """``configs.repositories`` entries for the pins served from OCI registries: Argo CD pulls a chart whose repoURL has no
    scheme over OCI only when a repository Secret (the chart renders one per entry) says ``enableOCI`` for that URL."""
    result: dict[str, dict[str, str]] = {}
    for pin in sorted(platform.charts.values(), key=lambda p: p.repo_url):
        if pin.repo_url.startswith("oci://"):
            url = pin.repo_url.removeprefix("oci://")
            result[dns_label(url)] = {"url": url, "name": url, "type": "helm", "enableOCI": "true"}
    return result


def oidc_config(platform: Platform) -> str:
    """Argo CD's ``oidc.config`` (a YAML document in argocd-cm) from the spec's SSO block."""
    sso = platform.argocd.sso
    return dump_yaml({"name": "SSO", "issuer": sso.issuer_url, "clientID": sso.client_id,
                      "clientSecret": f"${OIDC_SECRET}:clientSecret", "requestedScopes": list(sso.requested_scopes)},
                     canonical_order=False)


def rbac_policy(platform: Platform) -> str:
    """Argo CD RBAC (policy.csv): the admin groups get role:admin, the read-only groups role:readonly, anyone else
    who logs in nothing (no default role)."""
    sso = platform.argocd.sso
    lines = [f"g, {group}, role:admin" for group in sso.admin_groups]
    lines += [f"g, {group}, role:readonly" for group in sso.readonly_groups]
    return "\n".join(lines) + "\n"


def values(platform: Platform) -> dict[str, Any]:
    """Helm values of the argo-cd chart, from the spec."""
    cd = platform.argocd
    placement = pool_placement(platform, cd.namespace)
    replicas = _replicas(platform)
    ha = replicas["redis-ha"] > 0
    return {
        "global": {"domain": f"argocd.{platform.edge.domain}", **placement},
        "crds": {"keep": True},
        "configs": {
            "cm": {
                "resource.customizations.health.argoproj.io_Application": APPLICATION_HEALTH_LUA,
                "application.resourceTrackingMethod": "annotation",
                "timeout.reconciliation": "180s",
                # No local admin: people log in through the identity provider (oidc.config), RBAC by group.
                "admin.enabled": "false",
                "oidc.config": oidc_config(platform),
            },
            "rbac": {"policy.default": "", "policy.csv": rbac_policy(platform), "scopes": "[groups]"},
            "params": {"application.namespaces": cd.namespace},
            "repositories": oci_repositories(platform),
        },
        "controller": {"replicas": replicas["controller"], "resources": _resources("controller"), "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}},
        "server": {
            "replicas": replicas["server"],
            "resources": _resources("server"),
            "pdb": {"enabled": ha, "minAvailable": 1},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        },
        "repoServer": {
            "replicas": replicas["repoServer"],
            "resources": _resources("repoServer"),
            "pdb": {"enabled": replicas["repoServer"] > 1, "minAvailable": 1},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        },
        "applicationSet": {"replicas": replicas["applicationSet"], "resources": _resources("applicationSet")},
        "redis-ha": {"enabled": ha, "redis": {"resources": _resources("redis-ha")}},
        "dex": {"enabled": False},
    }


def charts(platform: Platform) -> list[HelmRelease]:
    """The argo-cd chart, installed into Argo CD's own namespace."""
    return [HelmRelease(name=NAME, chart_key="argocd", namespace=platform.argocd.namespace, values=values(platform), sync_wave=-20)]


OUT_OF_SYNC_FOR = "15m"
"""How long an Application may stay OutOfSync before a warning (automated sync normally fixes it in minutes)."""


def alerts(platform: Platform) -> list[RuleGroup]:
    """Argo CD Applications out of sync or degraded (argocd_app_info from the application controller)."""
    return [RuleGroup("argocd", (
        AlertRule(
            name="ArgoCDApplicationOutOfSync",
            expr='max by (name, project) (argocd_app_info{sync_status="OutOfSync"}) == 1',
            for_=OUT_OF_SYNC_FOR,
            severity="warning",
            summary="Argo CD Application {{ $labels.name }} is out of sync",
            description=f"Application {{{{ $labels.name }}}} (project {{{{ $labels.project }}}}) has differed from Git for more than {OUT_OF_SYNC_FOR} although automated sync is on: a sync is failing.",
        ),
        AlertRule(
            name="ArgoCDApplicationDegraded",
            expr='max by (name, project) (argocd_app_info{health_status=~"Degraded|Missing"}) == 1',
            for_="10m",
            severity="critical",
            summary="Argo CD Application {{ $labels.name }} is degraded",
            description="Application {{ $labels.name }} (project {{ $labels.project }}) reports health Degraded or Missing for 10 minutes: part of the platform is down.",
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases for the Argo CD alerts."""
    def info(sync: str, health: str) -> dict[str, str]:
        return {"series": f'argocd_app_info{{name="postgres",project="platform-data",sync_status="{sync}",health_status="{health}"}}', "values": "1x30"}

    return [
        AlertTest("ArgoCDApplicationOutOfSync", (info("OutOfSync", "Healthy"),), (info("Synced", "Healthy"),), "20m",
                  {"name": "postgres", "project": "platform-data"}),
        AlertTest("ArgoCDApplicationDegraded", (info("Synced", "Degraded"),), (info("Synced", "Healthy"),), "15m",
                  {"name": "postgres", "project": "platform-data"}),
    ]


def _argocd_pods(name: str) -> Pods:
    return Pods.of(NAMESPACE_OF_ARGOCD, {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": NAME})


NAMESPACE_OF_ARGOCD = "platform-system"
REPO_SERVER_PORT = 8081
REDIS_PORT = 6379
SENTINEL_PORT = 26379
REDIS_HA_SERVER_LABELS = {"app": "redis-ha", "release": NAME}
"""Labels the redis-ha subchart puts on its Redis/Sentinel pods (it sets no ``app.kubernetes.io/instance``)."""
REDIS_HA_HAPROXY_LABELS = {"app": "redis-ha-haproxy", "release": NAME}
"""Labels of the redis-ha subchart's HAProxy pods, the Redis endpoint Argo CD's parts use in HA mode."""


def flows(platform: Platform) -> list[Flow]:
    """Argo CD's own parts: the API server, Git and chart repositories, the repo-server, and Redis (HAProxy in front
    of redis-ha in HA mode, the single argocd-redis otherwise)."""
    controller, server = _argocd_pods("argocd-application-controller"), _argocd_pods("argocd-server")
    repo, appset = _argocd_pods("argocd-repo-server"), _argocd_pods("argocd-applicationset-controller")
    notifications = _argocd_pods("argocd-notifications-controller")
    ha = _replicas(platform)["redis-ha"] > 0
    redis = Pods.of(NAMESPACE_OF_ARGOCD, REDIS_HA_HAPROXY_LABELS) if ha else _argocd_pods("argocd-redis")
    result = [to_api_server(p, f"Argo CD {what} watches and applies objects") for p, what in
              ((controller, "application controller"), (server, "server"), (appset, "ApplicationSet controller"),
               (notifications, "notifications controller"))]
    result += [flow(p, repo, REPO_SERVER_PORT, f"Argo CD {what} asks the repo-server for manifests") for p, what in
               ((controller, "application controller"), (server, "server"), (appset, "ApplicationSet controller"))]
    result.append(flow(repo, GIT, HTTPS, "the repo-server fetches Git and Helm chart repositories over HTTPS"))
    result.append(flow(server, IDENTITY_PROVIDER, HTTPS, "the server verifies single sign-on with the OIDC issuer (discovery, keys, tokens)"))
    result += [flow(p, redis, REDIS_PORT, f"Argo CD {what} caches in Redis") for p, what in
               ((controller, "application controller"), (server, "server"), (repo, "repo-server"))]
    result += [scrape(_argocd_pods(name), port) for name, port in
               (("argocd-application-controller", 8082), ("argocd-server", 8083), ("argocd-repo-server", 8084))]
    result.append(to_api_server(_argocd_pods("argocd-redis-secret-init"), "the pre-sync hook creates the Redis password Secret"))
    if ha:
        servers = Pods.of(NAMESPACE_OF_ARGOCD, REDIS_HA_SERVER_LABELS)
        result.append(flow(redis, servers, (REDIS_PORT, SENTINEL_PORT), "HAProxy finds the Redis master through Sentinel"))
        result.append(flow(servers, servers, (REDIS_PORT, SENTINEL_PORT), "redis-ha replication and Sentinel quorum"))
    return result


COMPONENT = Component(
    name=NAME,
    namespace="platform-system",
    charts=charts,
    alerts=alerts,
    alert_tests=alert_tests,
    cluster_kinds=OPERATOR_CLUSTER_KINDS,
    flows=flows,
)
