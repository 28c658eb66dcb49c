"""Progressive delivery: Rollouts built from (synthetic) Deployments follow the spec's canary steps and
analysis thresholds, validate against the Argo Rollouts CRD schemas, and every analysis query parses
in promtool; the rendered tree's app services are those Rollouts (steps per environment, autoscalers,
route weights Argo CD leaves alone, the argo-rollouts chart's plugin and notifications)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from plinth.components import delivery
from plinth.delivery.promote import promote
from plinth.monitoring.promtool import check_expressions, promtool_path
from plinth.spec.loader import SpecError, load_all
from plinth.validate.schemas import SchemaStore
from tests.conftest import CRD_DIR, DEFAULT_SPEC, needs_shared, spec_with


def deployment(name: str, replicas: int | None = 3) -> dict[str, Any]:
    """A Deployment shaped like the app-services component's (another helper's); enough to convert."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "plinth"}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "revisionHistoryLimit": 5,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [
                    {"name": name, "image": f"ghcr.io/org/{name}:1.0.0", "ports": [{"name": "http", "containerPort": 8080}],
                     "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                    {"name": "sidecar", "image": "ghcr.io/org/sidecar:2.0.0"},
                ],
            },
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "platform-apps", "labels": labels}, "spec": spec}


def _steps(rollout: dict[str, Any]) -> list[dict[str, Any]]:
    return rollout["spec"]["strategy"]["canary"]["steps"]


def test_synthetic_deployment_is_itself_valid() -> None:
    assert SchemaStore("1.32", None).check(deployment("auth"), "d.yaml") == []


@needs_shared
@pytest.mark.parametrize("env", ["staging", "prod"])
@pytest.mark.parametrize("route", [None, "frontend"])
def test_rollouts_validate_against_the_argo_rollouts_crd(platforms, env: str, route: str | None) -> None:
    store = SchemaStore(platforms[env].cluster.kubernetes_version, CRD_DIR)
    for name in ("frontend", "data-workers"):
        rollout = delivery.rollout_from_deployment(deployment(name), platforms[env], http_route=route)
        assert store.check(rollout, f"{env}/{name}") == []


@needs_shared
def test_analysis_templates_validate_and_a_broken_one_is_caught(prod) -> None:
    store = SchemaStore("1.32", CRD_DIR)
    templates = delivery.analysis_templates(prod)
    assert [store.check(t, "t") for t in templates] == [[], []]
    broken = copy.deepcopy(templates[0])
    broken["spec"]["metrics"][0]["sucessCondition"] = "typo"
    assert any(p.field.endswith("sucessCondition") for p in store.check(broken, "t"))


def test_staging_canary_is_the_spec_weight_then_full_promotion(platforms) -> None:
    staging = platforms["staging"]
    rollout = delivery.rollout_from_deployment(deployment("auth"), staging)
    weights = [s["setWeight"] for s in _steps(rollout) if "setWeight" in s]
    assert weights == [s.weight_percent for s in staging.delivery.canary_steps] == [10, 100]
    assert _steps(rollout) == [
        {"setWeight": 10}, {"pause": {"duration": f"{staging.delivery.canary_steps[0].pause_seconds}s"}}, {"setWeight": 100},
    ]


def test_prod_rollout_has_the_spec_steps_with_pauses(platforms) -> None:
    prod = platforms["prod"]
    steps = _steps(delivery.rollout_from_deployment(deployment("auth"), prod))
    expected: list[dict[str, Any]] = []
    for step in prod.delivery.canary_steps:
        expected.append({"setWeight": step.weight_percent})
        if step.pause_seconds:
            expected.append({"pause": {"duration": f"{step.pause_seconds}s"}})
    assert steps == expected
    assert [s["setWeight"] for s in steps if "setWeight" in s] == [10, 25, 50, 100]
    assert [s["pause"]["duration"] for s in steps if "pause" in s] == ["300s", "300s", "300s"]


def test_steps_follow_a_changed_spec(tmp_path: Path) -> None:
    path = spec_with(tmp_path, [("delivery.canary_steps", [{"weight_percent": 5, "pause_seconds": "2m"},
                                                           {"weight_percent": 100, "pause_seconds": 0}])])
    prod = load_all(path)["prod"]
    assert _steps(delivery.rollout_from_deployment(deployment("auth"), prod)) == [
        {"setWeight": 5}, {"pause": {"duration": "120s"}}, {"setWeight": 100}]


def test_http_services_run_both_analyses_from_the_first_step_and_abort_on_failure(prod) -> None:
    canary = delivery.rollout_from_deployment(deployment("auth"), prod)["spec"]["strategy"]["canary"]
    assert [t["templateName"] for t in canary["analysis"]["templates"]] == [delivery.SUCCESS_RATE_TEMPLATE, delivery.LATENCY_TEMPLATE]
    assert "startingStep" not in canary["analysis"], "analysis must run at every step, including the first"
    args = {a["name"]: a for a in canary["analysis"]["args"]}
    assert args[delivery.ARG_SERVICE]["value"] == "auth"
    assert args[delivery.ARG_CANARY_HASH]["valueFrom"] == {"podTemplateHashValue": "Latest"}
    spec = delivery.rollout_from_deployment(deployment("auth"), prod)["spec"]
    assert spec["progressDeadlineAbort"] is True


def test_queue_workers_have_no_http_analysis(prod) -> None:
    canary = delivery.rollout_from_deployment(deployment("data-workers"), prod)["spec"]["strategy"]["canary"]
    assert "analysis" not in canary
    assert canary["steps"]


def test_gateway_api_traffic_routing_only_with_a_route(prod) -> None:
    routed = delivery.rollout_from_deployment(deployment("frontend"), prod, http_route="frontend")["spec"]["strategy"]["canary"]
    assert routed["trafficRouting"] == {"plugins": {delivery.GATEWAY_PLUGIN: {"httpRoute": "frontend", "namespace": "platform-apps"}}}
    assert (routed["stableService"], routed["canaryService"]) == ("frontend-stable", "frontend-canary")
    replica_based = delivery.rollout_from_deployment(deployment("auth"), prod)["spec"]["strategy"]["canary"]
    assert "trafficRouting" not in replica_based and "canaryService" not in replica_based


def test_rollout_keeps_the_deployment_pod_template_selector_and_replicas(prod) -> None:
    source = deployment("auth")
    rollout = delivery.rollout_from_deployment(source, prod)
    assert rollout["kind"] == "Rollout" and rollout["apiVersion"] == "argoproj.io/v1alpha1"
    assert rollout["spec"]["selector"] == source["spec"]["selector"]
    assert rollout["spec"]["replicas"] == 3 and rollout["spec"]["revisionHistoryLimit"] == 5
    assert rollout["spec"]["template"]["spec"]["containers"][1] == source["spec"]["template"]["spec"]["containers"][1]
    assert source["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/org/auth:1.0.0", "input must not be mutated"
    assert "replicas" not in delivery.rollout_from_deployment(deployment("auth", replicas=None), prod)["spec"]


def test_image_is_referenced_by_digest_once_promoted(tmp_path: Path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(DEFAULT_SPEC.read_text())
    digest = "sha256:" + "c" * 64
    promote(spec, "auth", digest, "staging")
    platforms = load_all(spec)
    staged = delivery.rollout_from_deployment(deployment("auth"), platforms["staging"])
    assert staged["spec"]["template"]["spec"]["containers"][0]["image"] == f"ghcr.io/org/auth@{digest}"
    untouched = delivery.rollout_from_deployment(deployment("auth"), platforms["prod"])
    assert untouched["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/org/auth:1.0.0"


def test_bad_input_is_rejected_with_the_reason(prod) -> None:
    with pytest.raises(ValueError, match="expected a Deployment"):
        delivery.rollout_from_deployment({**deployment("auth"), "kind": "StatefulSet"}, prod)
    with pytest.raises(ValueError, match="not a service of the spec"):
        delivery.rollout_from_deployment(deployment("billing"), prod)


def test_analysis_thresholds_come_from_the_spec(tmp_path: Path) -> None:
    path = spec_with(tmp_path, [("delivery.analysis.success_rate_min_percent", 99.5), ("delivery.analysis.latency_p95_max_ms", 350),
                                ("delivery.analysis.failure_limit", 2), ("delivery.analysis.interval_seconds", 30)])
    templates = {t["metadata"]["name"]: t["spec"]["metrics"][0] for t in delivery.analysis_templates(load_all(path)["prod"])}
    rate, latency = templates[delivery.SUCCESS_RATE_TEMPLATE], templates[delivery.LATENCY_TEMPLATE]
    assert rate["successCondition"] == "len(result) > 0 && result[0] >= 0.995"
    assert rate["failureCondition"] == "len(result) > 0 && result[0] < 0.995"
    assert latency["successCondition"] == "len(result) > 0 && result[0] <= 0.35"
    assert latency["failureCondition"] == "len(result) > 0 && result[0] > 0.35"
    assert rate["interval"] == latency["interval"] == "30s"
    assert rate["failureLimit"] == latency["failureLimit"] == 2


def test_default_thresholds_match_the_spec(prod) -> None:
    metrics = {t["metadata"]["name"]: t["spec"]["metrics"][0] for t in delivery.analysis_templates(prod)}
    assert metrics[delivery.SUCCESS_RATE_TEMPLATE]["successCondition"].endswith(f">= {prod.delivery.analysis.success_rate_min_percent / 100:g}")
    assert metrics[delivery.LATENCY_TEMPLATE]["successCondition"].endswith(f"<= {prod.delivery.analysis.latency_p95_max_ms / 1000:g}")


@pytest.mark.skipif(promtool_path() is None, reason="promtool missing: `make test` installs Debian's prometheus package")
def test_every_analysis_query_parses_in_promtool(platforms) -> None:
    queries = [q for p in platforms.values() for q in delivery.analysis_queries(p).values()]
    rendered = [t["spec"]["metrics"][0]["provider"]["prometheus"]["query"] for p in platforms.values() for t in delivery.analysis_templates(p)]
    assert sorted(queries) == sorted(rendered)
    result = check_expressions(queries)
    assert result.ok, result.output
    broken = check_expressions([queries[0].replace("sum(rate(", "sum(rate((", 1)])
    assert not broken.ok, "promtool must reject a malformed query (else this test proves nothing)"


def test_autoscalers_target_the_rollout(prod) -> None:
    rollout = delivery.rollout_from_deployment(deployment("auth"), prod)
    assert delivery.autoscaler_target(rollout) == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "auth"}


def test_traffic_services_copy_the_service_as_stable_and_canary() -> None:
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "frontend", "namespace": "platform-apps", "labels": {"app.kubernetes.io/name": "frontend"}},
               "spec": {"selector": {"app.kubernetes.io/name": "frontend"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    stable, canary = delivery.traffic_services(service)
    assert (stable["metadata"]["name"], canary["metadata"]["name"]) == ("frontend-stable", "frontend-canary")
    assert stable["spec"] == canary["spec"] == service["spec"]
    assert service["metadata"]["name"] == "frontend"
    assert SchemaStore("1.32", None).check(stable, "s") == []


def test_rollouts_chart_values_configure_the_plugin_and_the_staging_notification(platforms) -> None:
    values = delivery.rollouts_chart_values(platforms["staging"])
    plugin = values["controller"]["trafficRouterPlugins"][0]
    assert plugin["name"] == delivery.GATEWAY_PLUGIN
    assert plugin["location"].endswith(f"/{delivery.GATEWAY_PLUGIN_VERSION}/gatewayapi-plugin-linux-amd64")
    assert "sha256" not in plugin  # unpinned until delivery.gateway_plugin_sha256 is recorded (PL-SEC-006 warns)
    staging = platforms["staging"]
    pinned = staging.model_copy(update={"delivery": staging.delivery.model_copy(update={"gateway_plugin_sha256": "0" * 64})})
    assert delivery.rollouts_chart_values(pinned)["controller"]["trafficRouterPlugins"][0]["sha256"] == "0" * 64
    notifications = values["notifications"]
    assert f"service.webhook.{delivery.NOTIFIER}" in notifications["notifiers"]
    webhook = yaml.safe_load(notifications["templates"][f"template.{delivery.DISPATCH_EVENT}"])["webhook"][delivery.NOTIFIER]
    assert (webhook["method"], webhook["path"]) == ("POST", "/repos/org/platform-infra/dispatches")
    body = json.loads(webhook["body"])
    assert body["event_type"] == delivery.DISPATCH_EVENT
    assert body["client_payload"]["environment"] == "staging"
    assert set(body["client_payload"]) == {"environment", "rollout", "image"}
    assert "trigger.on-rollout-completed" in notifications["triggers"]
    rollout = delivery.rollout_from_deployment(deployment("auth"), platforms["staging"])
    assert f"notifications.argoproj.io/subscribe.on-rollout-completed.{delivery.NOTIFIER}" in rollout["metadata"]["annotations"]


def test_github_repository_needs_a_github_url(tmp_path: Path) -> None:
    platform = load_all(spec_with(tmp_path, [("git.repo_url", "https://gitlab.example.com/a/b/c.git")]))["prod"]
    with pytest.raises(ValueError, match="expected a GitHub repository URL"):
        delivery.github_repository(platform)


@needs_shared
def test_notification_secret_is_a_valid_external_secret_with_the_chart_label() -> None:
    secret = delivery.notification_secret(load_all("platform.yaml")["prod"], "platform-system")
    assert SchemaStore("1.32", CRD_DIR).check(secret, "s") == []
    assert secret["spec"]["target"]["name"] == delivery.NOTIFICATION_SECRET
    assert [d["secretKey"] for d in secret["spec"]["data"]] == [delivery.NOTIFICATION_SECRET_KEY]
    assert secret["spec"]["target"]["template"]["metadata"]["labels"] == {"app.kubernetes.io/component": "rollouts-controller"}


def test_unpinned_images_finds_tags_but_not_digests(tmp_path: Path) -> None:
    tagged = deployment("auth")
    assert delivery.unpinned_images(tagged) == ["containers[0]: ghcr.io/org/auth:1.0.0", "containers[1]: ghcr.io/org/sidecar:2.0.0"]
    pinned = copy.deepcopy(tagged)
    for container in pinned["spec"]["template"]["spec"]["containers"]:
        container["image"] = container["image"].split(":")[0] + ":x@sha256:" + "f" * 64
    assert delivery.unpinned_images(pinned) == []
    cron = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:latest"}]}}}}}}
    assert delivery.unpinned_images(cron) == ["containers[0]: busybox:latest"]
    assert delivery.unpinned_images({"kind": "ConfigMap", "data": {}}) == []
    spec = tmp_path / "platform.yaml"
    spec.write_text(DEFAULT_SPEC.read_text())
    promote(spec, "auth", "sha256:" + "c" * 64, "staging")
    rollout = delivery.rollout_from_deployment(deployment("auth"), load_all(spec)["staging"])
    assert delivery.unpinned_images(rollout) == ["containers[1]: ghcr.io/org/sidecar:2.0.0"]


def test_each_environment_rollout_fits_its_stage_budget(platforms, tmp_path: Path) -> None:
    assert platforms["staging"].rollout_seconds() == 11 * 60 and platforms["prod"].rollout_seconds() == 16 * 60
    with pytest.raises(SpecError, match=r"platform.yaml:\d+:\d+: delivery.canary_steps: the base rollout pauses 35m .* 36m, more than the 30 min budget of stage 'prod-deploy'"):
        load_all(spec_with(tmp_path, [("delivery.canary_steps.0.pause_seconds", "25m")]))


@needs_shared
def test_http_route_backends_validate_in_an_httproute() -> None:
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "frontend", "namespace": "platform-apps"},
             "spec": {"parentRefs": [{"name": "public", "namespace": "platform-system"}],
                      "rules": [{"backendRefs": delivery.http_route_backends("frontend", 80)}]}}
    assert SchemaStore("1.32", CRD_DIR).check(route, "r") == []
    assert [(b["name"], b["weight"]) for b in delivery.http_route_backends("frontend", 80)] == [("frontend-stable", 100), ("frontend-canary", 0)]


# --------------------------------------------------------------------------- the rendered tree


def _rendered(platform) -> list[dict[str, Any]]:
    from plinth.render.pipeline import render_platform

    return [r.obj for r in render_platform(platform)]


def _expected_steps(platform) -> list[dict[str, Any]]:
    expected: list[dict[str, Any]] = []
    for step in platform.delivery.canary_steps:
        expected.append({"setWeight": step.weight_percent})
        if step.pause_seconds:
            expected.append({"pause": {"duration": f"{step.pause_seconds}s"}})
    return expected


@pytest.mark.parametrize(("env", "weights"), [("staging", [10, 100]), ("prod", [10, 25, 50, 100])])
def test_every_rendered_service_is_a_rollout_with_the_spec_steps(platforms, env: str, weights: list[int]) -> None:
    platform = platforms[env]
    objects = _rendered(platform)
    rollouts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Rollout"}
    assert set(rollouts) == set(platform.services)
    assert not [o for o in objects if o["kind"] == "Deployment" and o["metadata"].get("namespace") == "platform-apps"]
    for name, rollout in rollouts.items():
        steps = _steps(rollout)
        assert steps == _expected_steps(platform), (env, name)
        assert [s["setWeight"] for s in steps if "setWeight" in s] == weights
        canary = rollout["spec"]["strategy"]["canary"]
        assert ("analysis" in canary) == delivery.serves_http(platform.services[name])
        assert ("trafficRouting" in canary) == bool(platform.services[name].public_host)
        assert "replicas" not in rollout["spec"], "the autoscaler owns the replica count; Argo CD must not reset it"


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_autoscalers_scale_the_rendered_rollouts(platforms, env: str) -> None:
    objects = _rendered(platforms[env])
    rollouts = {o["metadata"]["name"] for o in objects if o["kind"] == "Rollout"}
    scalers = [o for o in objects if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject") and o["metadata"]["namespace"] == "platform-apps"]
    assert {o["metadata"]["name"] for o in scalers} == rollouts
    for scaler in scalers:
        assert scaler["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                                    "name": scaler["metadata"]["name"]}


def test_the_application_syncing_the_routes_leaves_the_canary_weights_alone(prod) -> None:
    apps = {o["metadata"]["name"]: o for o in _rendered(prod) if o["kind"] == "Application"}
    routes_app = apps["app-services"]["spec"]
    assert routes_app["ignoreDifferences"] == [delivery.ROUTE_WEIGHTS_IGNORED]
    assert "RespectIgnoreDifferences=true" in routes_app["syncPolicy"]["syncOptions"], "else a sync re-applies Git's weights"
    others = sorted(n for n, a in apps.items() if "ignoreDifferences" in a["spec"])
    # besides the routes, only the two charts whose empty fields the API server drops (Strimzi's CRD, clickhouse-operator)
    assert others == ["app-services", "clickhouse-operator", "strimzi-kafka-operator"]
    assert "RespectIgnoreDifferences=true" not in apps["delivery"]["spec"]["syncPolicy"]["syncOptions"]


def test_argo_rollouts_chart_gets_the_plugin_and_notifications_merged_in(platforms) -> None:
    from plinth.components import argo_rollouts

    for platform in platforms.values():
        values = argo_rollouts.argo_rollouts_values(platform)
        pipeline = delivery.rollouts_chart_values(platform)
        assert values["controller"]["trafficRouterPlugins"] == pipeline["controller"]["trafficRouterPlugins"]
        assert values["controller"]["replicas"] == argo_rollouts.REPLICAS, "merging must keep the controller's own values"
        assert values["controller"]["metrics"] == {"enabled": True, "serviceMonitor": {"enabled": True}}
        assert values["notifications"] == pipeline["notifications"]
        assert values["providerRBAC"] == {"enabled": True, "providers": {"gatewayAPI": True}}
        apps = {o["metadata"]["name"]: o for o in _rendered(platform) if o["kind"] == "Application"}
        assert apps["argo-rollouts"]["spec"]["source"]["helm"]["valuesObject"] == values
        secrets = [o for o in _rendered(platform) if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == delivery.NOTIFICATION_SECRET]
        assert [s["metadata"]["namespace"] for s in secrets] == ["platform-system"]
    assert argo_rollouts.deep_merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]}) == {"a": {"b": 1, "c": 3}, "d": [2]}
