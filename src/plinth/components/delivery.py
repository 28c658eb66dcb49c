"""Progressive delivery: Argo Rollouts built from the services' Deployments, and the AnalysisTemplates
that gate each canary step on the spec's thresholds (read from Prometheus).

How a rollout goes (steps from ``delivery.canary_steps`` of the environment): the canary's pods start,
``setWeight`` shifts that share of traffic to them, ``pause`` holds it, and the background analysis
(both templates, every ``analysis.interval_seconds``) runs from the first step to the last. When a
measurement breaks a threshold more than ``analysis.failure_limit`` times the Rollout aborts: all
traffic returns to the stable ReplicaSet, the canary is scaled down and the Rollout is Degraded. Git
still names the new digest, so Argo CD shows the Application Synced but Degraded until someone reverts or fixes it.

Traffic is split by the Gateway API (Argo Rollouts' ``argoproj-labs/gatewayAPI`` traffic-router plugin
editing the backend weights of the service's HTTPRoute) for services exposed through the gateway; for
internal services and workers there is no route to weight, so the split is replica-based (the canary
gets ``weight`` % of the replicas).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from plinth.components.base import Component, KubeObject
from plinth.kube.conventions import PROMETHEUS_URL
from plinth.kube.objects import k8s_object, labels
from plinth.kube.secrets import external_secret
from plinth.monitoring.rules import AlertRule, AlertTest, RuleGroup
from plinth.spec.model import Image, Platform, QueueDepthTrigger, Service

NAME = "delivery"
NAMESPACE = "platform-apps"
ROLLOUTS_API = "argoproj.io/v1alpha1"

GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
"""Name the Argo Rollouts controller registers the Gateway API traffic-router plugin under."""
GATEWAY_PLUGIN_VERSION = "v0.16.0"
"""Release of argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi the controller downloads."""


REQUESTS_METRIC = "http_requests_total"
"""Counter of HTTP requests every app service exports, with a ``code`` label (status code)."""
LATENCY_METRIC = "http_request_duration_seconds_bucket"
"""Histogram of HTTP request durations (seconds) every app service exports."""
SERVICE_LABEL = "app_kubernetes_io_name"
"""Series label naming the service: the pod label ``app.kubernetes.io/name`` copied by the scrape config."""
HASH_LABEL = "rollouts_pod_template_hash"
"""Series label of the pod's ``rollouts-pod-template-hash`` (stable or canary ReplicaSet), copied by the
scrape config (PodMonitor/ServiceMonitor ``podTargetLabels``), so the analysis sees only the canary."""

SUCCESS_RATE_TEMPLATE = "canary-success-rate"
LATENCY_TEMPLATE = "canary-latency-p95"
ARG_SERVICE = "service"
ARG_CANARY_HASH = "canary-hash"

DISPATCH_EVENT = "rollout-completed"
"""repository_dispatch event type the Argo Rollouts notification sends when a Rollout is fully promoted."""
NOTIFIER = "github"
"""Name of the Argo Rollouts webhook notifier that calls the GitHub API."""
NOTIFICATION_SECRET_KEY = "github-token"
"""Key of the GitHub token in the argo-rollouts notification Secret (an ExternalSecret, never a value)."""


# --------------------------------------------------------------------------- images


def image_reference(image: Image) -> str:
    """``repository@sha256:…`` when CI has promoted a digest, else ``repository:tag``."""
    return f"{image.repository}@{image.digest}" if image.digest else f"{image.repository}:{image.tag}"


# --------------------------------------------------------------------------- analysis


def _window(platform: Platform) -> str:
    """Rate window: two analysis intervals (at least one minute), so each measurement sees fresh samples."""
    seconds = max(60, 2 * platform.delivery.analysis.interval_seconds)
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def _selector(extra: str = "") -> str:
    base = f'namespace="{NAMESPACE}", {SERVICE_LABEL}="{{{{args.{ARG_SERVICE}}}}}", {HASH_LABEL}="{{{{args.{ARG_CANARY_HASH}}}}}"'
    return "{" + base + (", " + extra if extra else "") + "}"


NOT_5XX = 'code!~"5.."'
"""Matcher of the responses that count as successful."""


def success_rate_query(platform: Platform) -> str:
    """PromQL: share of the canary's requests that were not 5xx, over the rate window."""
    window = _window(platform)
    return (
        f'sum(rate({REQUESTS_METRIC}{_selector(NOT_5XX)}[{window}]))'
        f" / sum(rate({REQUESTS_METRIC}{_selector()}[{window}]))"
    )


def latency_p95_query(platform: Platform) -> str:
    """PromQL: the canary's 95th-percentile request latency in seconds, over the rate window."""
    return f"histogram_quantile(0.95, sum by (le) (rate({LATENCY_METRIC}{_selector()}[{_window(platform)}])))"


def analysis_queries(platform: Platform) -> dict[str, str]:
    """Every analysis query by template name (checked with promtool by the tests)."""
    return {SUCCESS_RATE_TEMPLATE: success_rate_query(platform), LATENCY_TEMPLATE: latency_p95_query(platform)}


def _conditions(bound: float, *, at_least: bool) -> tuple[str, str]:
    """Success and failure conditions; an empty or NaN result (no traffic yet) meets neither, so the
    measurement is Inconclusive and the Rollout pauses for a person instead of passing blind."""
    ok, bad = (">=", "<") if at_least else ("<=", ">")
    value = f"{bound:g}"
    return f"len(result) > 0 && result[0] {ok} {value}", f"len(result) > 0 && result[0] {bad} {value}"


def _analysis_template(platform: Platform, name: str, metric: str, query: str, bound: float, at_least: bool,
                       description: str) -> KubeObject:
    analysis = platform.delivery.analysis
    success, failure = _conditions(bound, at_least=at_least)
    return k8s_object(
        ROLLOUTS_API, "AnalysisTemplate", name, NAMESPACE,
        labels=labels(NAME, name),
        annotations={"plinth.dev/description": description},
        spec={
            "args": [{"name": ARG_SERVICE}, {"name": ARG_CANARY_HASH}],
            "metrics": [{
                "name": metric,
                "interval": f"{analysis.interval_seconds}s",
                # The first measurement waits one rate window, so it sees the canary's own traffic.
                "initialDelay": _window(platform),
                "failureLimit": analysis.failure_limit,
                "successCondition": success,
                "failureCondition": failure,
                "provider": {"prometheus": {"address": PROMETHEUS_URL, "query": query}},
            }],
        },
    )


def analysis_templates(platform: Platform) -> list[KubeObject]:
    """The two AnalysisTemplates every HTTP service's Rollout runs: success rate and p95 latency."""
    analysis = platform.delivery.analysis
    rate = analysis.success_rate_min_percent / 100
    latency_s = analysis.latency_p95_max_ms / 1000
    return [
        _analysis_template(platform, SUCCESS_RATE_TEMPLATE, "success-rate", success_rate_query(platform), rate, True,
                           f"canary answers at least {analysis.success_rate_min_percent:g} % of requests without a 5xx"),
        _analysis_template(platform, LATENCY_TEMPLATE, "latency-p95", latency_p95_query(platform), latency_s, False,
                           f"canary's p95 latency stays at or under {analysis.latency_p95_max_ms} ms"),
    ]


# --------------------------------------------------------------------------- rollouts


def canary_steps(platform: Platform) -> list[dict[str, Any]]:
    """Rollout steps from the spec: ``setWeight`` then ``pause`` (if the step holds) per canary step."""
    steps: list[dict[str, Any]] = []
    for step in platform.delivery.canary_steps:
        steps.append({"setWeight": step.weight_percent})
        if step.pause_seconds > 0:
            steps.append({"pause": {"duration": f"{step.pause_seconds}s"}})
    return steps


def serves_http(service: Service) -> bool:
    """True for services answering requests (analysed on success rate and latency); queue workers
    scaled on consumer lag serve no traffic, so their canary is gated by pauses and readiness only."""
    return not isinstance(service.scaling.trigger, QueueDepthTrigger)


def stable_service_name(name: str) -> str:
    """Service Argo Rollouts points at the stable pods."""
    return f"{name}-stable"


def canary_service_name(name: str) -> str:
    """Service Argo Rollouts points at the canary pods."""
    return f"{name}-canary"


def traffic_services(service: KubeObject) -> list[KubeObject]:
    """The stable and canary copies of a service's Service: Argo Rollouts adds the pod-template hash to
    their selectors, and the HTTPRoute lists both as backends (stable weight 100, canary 0)."""
    result = []
    for name in (stable_service_name(service["metadata"]["name"]), canary_service_name(service["metadata"]["name"])):
        copy_ = copy.deepcopy(service)
        copy_["metadata"]["name"] = name
        copy_["metadata"].setdefault("labels", {})["app.kubernetes.io/name"] = name
        copy_["spec"].pop("clusterIP", None)
        copy_["spec"].pop("clusterIPs", None)
        result.append(copy_)
    return result


def progress_deadline_seconds(platform: Platform) -> int:
    """How long a step may make no progress before the Rollout aborts (pods never ready, image pull
    errors): the longest pause plus ten minutes."""
    longest = max((s.pause_seconds for s in platform.delivery.canary_steps), default=0)
    return longest + 600


def rollout_from_deployment(deployment: KubeObject, platform: Platform, service_name: str | None = None,
                            http_route: str | None = None) -> KubeObject:
    """An Argo Rollout that replaces ``deployment``: same pod template and selector, the environment's
    canary steps, background analysis for HTTP services, and Gateway API traffic splitting when the
    service has an HTTPRoute (``http_route``), else replica-based. The image is pinned by digest when
    the spec has one. Autoscalers must then target the Rollout (``argoproj.io/v1alpha1`` ``Rollout``).
    """
    if deployment.get("kind") != "Deployment":
        raise ValueError(f"rollout_from_deployment: expected a Deployment, got {deployment.get('kind')!r}")
    meta = deployment["metadata"]
    name = meta["name"]
    service_key = service_name or name
    if service_key not in platform.services:
        raise ValueError(f"rollout_from_deployment: {service_key!r} is not a service of the spec "
                         f"(expected one of {sorted(platform.services)})")
    service = platform.services[service_key]
    spec = deployment["spec"]
    template = copy.deepcopy(spec["template"])
    containers = template["spec"]["containers"]
    main = next((c for c in containers if c["name"] == name), containers[0])
    main["image"] = image_reference(service.image)

    canary: dict[str, Any] = {
        "steps": canary_steps(platform),
        "maxSurge": "25%",
        "maxUnavailable": 0,
        "abortScaleDownDelaySeconds": 30,
    }
    if serves_http(service):
        canary["analysis"] = {
            "templates": [{"templateName": SUCCESS_RATE_TEMPLATE}, {"templateName": LATENCY_TEMPLATE}],
            "args": [
                {"name": ARG_SERVICE, "value": service_key},
                {"name": ARG_CANARY_HASH, "valueFrom": {"podTemplateHashValue": "Latest"}},
            ],
        }
    if http_route is not None:
        canary["canaryService"] = canary_service_name(name)
        canary["stableService"] = stable_service_name(name)
        canary["trafficRouting"] = {"plugins": {GATEWAY_PLUGIN: {"httpRoute": http_route, "namespace": meta.get("namespace", NAMESPACE)}}}

    rollout_spec: dict[str, Any] = {
        "selector": copy.deepcopy(spec["selector"]),
        "template": template,
        "revisionHistoryLimit": spec.get("revisionHistoryLimit", 10),
        "progressDeadlineSeconds": progress_deadline_seconds(platform),
        "progressDeadlineAbort": True,
        "strategy": {"canary": canary},
    }
    if "replicas" in spec:
        rollout_spec["replicas"] = spec["replicas"]
    if "minReadySeconds" in spec:
        rollout_spec["minReadySeconds"] = spec["minReadySeconds"]
    annotations = dict(meta.get("annotations") or {})
    annotations[f"notifications.argoproj.io/subscribe.on-rollout-completed.{NOTIFIER}"] = ""
    return k8s_object(ROLLOUTS_API, "Rollout", name, meta.get("namespace"), labels=meta.get("labels"),
                      annotations=annotations, spec=rollout_spec)


POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Rollout"}


def unpinned_images(obj: KubeObject) -> list[str]:
    """Images of a workload referenced by a mutable tag instead of a digest (for ``plinth check``):
    ``containers[0]: ghcr.io/org/auth:1.0.0``. CronJobs are looked into as well."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    elif kind in POD_TEMPLATE_KINDS:
        template = spec.get("template") or {}
    elif kind == "Pod":
        template = {"spec": spec}
    else:
        return []
    pod = template.get("spec") or {}
    found = []
    for field in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(field) or []):
            image = container.get("image", "")
            if not re.search(r"@sha256:[0-9a-f]{64}$", image):
                found.append(f"{field}[{index}]: {image}")
    return found


def http_route_backends(service_name: str, port: int) -> list[dict[str, Any]]:
    """The backendRefs an HTTPRoute rule needs for a Rollout with Gateway API traffic routing: all
    traffic on the stable Service, none on the canary, until the plugin moves the weights."""
    return [
        {"kind": "Service", "name": stable_service_name(service_name), "port": port, "weight": 100},
        {"kind": "Service", "name": canary_service_name(service_name), "port": port, "weight": 0},
    ]


ROUTE_WEIGHTS_IGNORED: dict[str, Any] = {
    "group": "gateway.networking.k8s.io",
    "kind": "HTTPRoute",
    "jqPathExpressions": [".spec.rules[].backendRefs[].weight"],
}
"""Argo CD ``ignoreDifferences`` entry for the Application syncing HTTPRoutes: the plugin owns the weights
during a canary, and self-heal must not reset them."""

def autoscaler_target(rollout: KubeObject) -> dict[str, str]:
    """The ``scaleTargetRef`` an HPA or KEDA ScaledObject needs once the Deployment became a Rollout."""
    return {"apiVersion": ROLLOUTS_API, "kind": "Rollout", "name": rollout["metadata"]["name"]}


# --------------------------------------------------------------------------- argo-rollouts chart values


def rollouts_chart_values(platform: Platform) -> dict[str, Any]:
    """Values the argo-rollouts chart needs for this pipeline: the Gateway API traffic-router plugin,
    and a notification that tells this repository (repository_dispatch) when a Rollout finished, so the
    promotion workflow can move a digest that passed staging on to prod."""
    repo = github_repository(platform)
    body = (
        '{"event_type": "' + DISPATCH_EVENT + '", "client_payload": {"environment": "' + platform.environment
        + '", "rollout": "{{.rollout.metadata.name}}", "image": "{{(index .rollout.spec.template.spec.containers 0).image}}"}}'
    )
    return {
        "controller": {
            "trafficRouterPlugins": [{
                "name": GATEWAY_PLUGIN,
                "location": "https://github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi/releases/download/"
                            f"{GATEWAY_PLUGIN_VERSION}/gatewayapi-plugin-linux-amd64",
                # The controller verifies the download against it (and refuses to start the plugin otherwise).
                **({"sha256": platform.delivery.gateway_plugin_sha256} if platform.delivery.gateway_plugin_sha256 else {}),
            }],
        },
        "providerRBAC": {"enabled": True, "providers": {"gatewayAPI": True}},
        "notifications": {
            "secret": {"create": False},
            "notifiers": {
                f"service.webhook.{NOTIFIER}": (
                    "url: https://api.github.com\n"
                    "headers:\n"
                    "  - name: Authorization\n"
                    f"    value: Bearer ${NOTIFICATION_SECRET_KEY}\n"
                    "  - name: Accept\n"
                    "    value: application/vnd.github+json\n"
                ),
            },
            "templates": {
                f"template.{DISPATCH_EVENT}": (
                    "webhook:\n"
                    f"  {NOTIFIER}:\n"
                    "    method: POST\n"
                    f"    path: /repos/{repo}/dispatches\n"
                    f"    body: '{body}'\n"
                ),
            },
            "triggers": {
                "trigger.on-rollout-completed": (
                    f"- send: [{DISPATCH_EVENT}]\n"
                    "  when: rollout.status.phase == 'Healthy'\n"
                ),
            },
        },
    }


NOTIFICATION_SECRET = "argo-rollouts-notification-secret"
"""Secret the argo-rollouts chart's notification engine reads (chart value ``notifications.secret.create: false``)."""


def notification_secret(platform: Platform, namespace: str) -> KubeObject:
    """The ExternalSecret holding the GitHub token the rollout-completed webhook sends (remote key
    ``<secret prefix>/github-dispatch-token``: a fine-grained token with ``contents: write`` on this repository,
    which repository_dispatch needs). Rendered by the argo-rollouts component, in its namespace."""
    secret = external_secret(platform, NOTIFICATION_SECRET, namespace, NAME, {NOTIFICATION_SECRET_KEY: "github-dispatch-token"})
    # The chart's notification controller only reads a secret carrying its component label.
    secret["spec"]["target"]["template"] = {"metadata": {"labels": {"app.kubernetes.io/component": "rollouts-controller"}}}
    return secret


def github_repository(platform: Platform) -> str:
    """``owner/name`` of this repository on GitHub, from ``git.repo_url``."""
    url = platform.git.repo_url
    path = url.split("github.com", 1)[-1].lstrip(":/")
    path = path.removesuffix(".git")
    if path.count("/") != 1:
        raise ValueError(f"git.repo_url: expected a GitHub repository URL (https://github.com/OWNER/NAME.git), got {url!r}")
    return path


# --------------------------------------------------------------------------- component


def objects(platform: Platform) -> list[KubeObject]:
    """The AnalysisTemplates (shared by every service's Rollout in platform-apps)."""
    return analysis_templates(platform)


ABORTED_FOR = "1m"


def alerts(platform: Platform) -> list[RuleGroup]:
    """A Rollout that aborted (analysis failed or progress deadline passed) is Degraded until someone acts."""
    return [RuleGroup("delivery", (
        AlertRule(
            name="RolloutAborted",
            expr=f'max by (namespace, name) (rollout_info{{namespace="{NAMESPACE}", phase="Degraded"}}) == 1',
            for_=ABORTED_FOR,
            severity="warning",
            summary="Rollout {{ $labels.name }} aborted and rolled back",
            description=(
                "Rollout {{ $labels.name }} has been Degraded for " + ABORTED_FOR + ": its canary failed analysis "
                f"(success rate under {platform.delivery.analysis.success_rate_min_percent:g} % or p95 over "
                f"{platform.delivery.analysis.latency_p95_max_ms} ms) or made no progress, and traffic went back to "
                "the stable version. Git still names the new digest: revert it or promote a fix."
            ),
        ),
    ))]


def alert_tests(platform: Platform) -> list[AlertTest]:
    """promtool cases: fires on a Degraded Rollout, silent on a Healthy one."""
    def info(phase: str) -> dict[str, str]:
        return {"series": f'rollout_info{{namespace="{NAMESPACE}",name="auth",phase="{phase}",strategy="canary"}}', "values": "1x10"}

    return [AlertTest("RolloutAborted", (info("Degraded"),), (info("Healthy"),), "5m", {"namespace": NAMESPACE, "name": "auth"})]


COMPONENT = Component(
    name=NAME,
    namespace=NAMESPACE,
    objects=objects,
    alerts=alerts,
    alert_tests=alert_tests,
    sync_wave=0,
)
