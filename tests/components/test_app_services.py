"""platform-apps: every service gets, from the spec alone, its workload, autoscaler, PDB, spread,
security context, monitoring, credentials, route and flows."""

from __future__ import annotations

import math

import pytest

from plinth.components import app_services, delivery, iceberg_catalog
from plinth.components.app_services import (
    PROMETHEUS_URL,
    pdb_max_unavailable,
    replicas_left_after_zone_loss,
    selector_labels,
    service_rollout,
)
from plinth.components.app_services import NAMESPACE
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.conventions import DATASTORE_CLIENT_PODS, uses_label
from plinth.render import network
from plinth.kube.scheduling import HOST_KEY, POOL_LABEL, ZONE_KEY
from plinth.spec.loader import load_all
from plinth.spec.model import CpuTrigger, QueueDepthTrigger, RequestRateTrigger
from tests.conftest import spec_with


def _objects(platform):
    return {(o["kind"], o["metadata"]["name"]): o for o in app_services.objects(platform)}


def _services(platforms):
    return [(env, name) for env, p in sorted(platforms.items()) for name in sorted(p.services)]


@pytest.fixture(scope="module")
def rendered(platforms):
    return {env: _objects(p) for env, p in platforms.items()}


def test_every_service_gets_the_full_set_of_objects(platforms, rendered) -> None:
    for env, name in _services(platforms):
        svc = platforms[env].services[name]
        objs = rendered[env]
        for kind in ("ServiceAccount", "Rollout", "Service", "PodDisruptionBudget", "ServiceMonitor"):
            assert (kind, name) in objs, (env, name, kind)
        assert ("Deployment", name) not in objs, "the Rollout runs the pods; a Deployment would run them twice"
        routed = bool(svc.public_host)
        assert (("Service", f"{name}-stable") in objs) == (("Service", f"{name}-canary") in objs) == routed
        cert = objs[("Certificate", f"{name}-tls")]["spec"]
        assert cert["issuerRef"]["name"] == "platform-internal-ca"
        assert f"{name}.platform-apps.svc" in cert["dnsNames"]
        scaler_kind = {"hpa": "HorizontalPodAutoscaler", "keda": "ScaledObject"}[svc.scaling.type]
        assert (scaler_kind, name) in objs
        assert (("HTTPRoute", name) in objs) == bool(svc.public_host)
        for store in svc.uses:
            secret = objs[("ExternalSecret", f"{name}-{store}-credentials")]
            assert secret["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "secrets-platform-apps"}


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_autoscalers_follow_the_scaling_rows(platforms, rendered, env) -> None:
    platform = platforms[env]
    for name, svc in platform.services.items():
        scaling, trigger = svc.scaling, svc.scaling.trigger
        if scaling.type == "hpa":
            hpa = rendered[env][("HorizontalPodAutoscaler", name)]["spec"]
            assert (hpa["minReplicas"], hpa["maxReplicas"]) == (scaling.min_replicas, scaling.max_replicas)
            assert isinstance(trigger, CpuTrigger)
            assert hpa["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": trigger.target_utilization_percent}}}]
            assert hpa["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name}
            behavior = hpa["behavior"]
        else:
            so = rendered[env][("ScaledObject", name)]["spec"]
            assert so["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": name}
            assert (so["minReplicaCount"], so["maxReplicaCount"]) == (scaling.min_replicas, scaling.max_replicas)
            (keda_trigger,) = so["triggers"]
            if isinstance(trigger, RequestRateTrigger):
                assert keda_trigger["type"] == "prometheus"
                assert keda_trigger["metricType"] == "AverageValue"
                assert keda_trigger["metadata"]["threshold"] == str(trigger.requests_per_second_per_replica)
                assert keda_trigger["metadata"]["serverAddress"] == PROMETHEUS_URL
                assert f'service="{name}"' in keda_trigger["metadata"]["query"]
            elif isinstance(trigger, QueueDepthTrigger):
                assert keda_trigger["type"] == "kafka"
                meta = keda_trigger["metadata"]
                assert (meta["topic"], meta["consumerGroup"], meta["lagThreshold"]) == (
                    trigger.topic, trigger.consumer_group, str(trigger.lag_per_replica))
                partitions = {t.name: t.partitions for t in platform.datastores.kafka.topics}[trigger.topic]
                assert scaling.max_replicas <= partitions, "replicas beyond the partition count would sit idle"
            behavior = so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] == scaling.scale_down_stabilization_seconds


def test_design_scaling_table_is_what_renders(prod, rendered) -> None:
    """The design's rows: Frontend HPA CPU 70 % 3-10; API Gateway RPS 1000 3-15; app services 3-10; workers KEDA 3-20."""
    objs = rendered["prod"]
    assert objs[("HorizontalPodAutoscaler", "frontend")]["spec"]["maxReplicas"] == 10
    assert objs[("ScaledObject", "api-gateway")]["spec"]["maxReplicaCount"] == 15
    assert objs[("ScaledObject", "api-gateway")]["spec"]["triggers"][0]["metadata"]["threshold"] == "1000"
    for name in ("auth", "config", "connector"):
        assert objs[("HorizontalPodAutoscaler", name)]["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert objs[("ScaledObject", "data-workers")]["spec"]["triggers"][0]["type"] == "kafka"
    assert objs[("ScaledObject", "data-workers")]["spec"]["maxReplicaCount"] == 20


def test_spread_over_zones_and_nodes_keeps_two_thirds_after_a_zone_loss(platforms) -> None:
    for env, platform in platforms.items():
        zones = len(platform.cluster.zones)
        for name, svc in platform.services.items():
            pod = service_rollout(platform, name)["spec"]["template"]["spec"]
            by_key = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
            zone, host = by_key[ZONE_KEY], by_key[HOST_KEY]
            assert (zone["maxSkew"], zone["whenUnsatisfiable"]) == (1, "DoNotSchedule")
            assert zone["labelSelector"] == {"matchLabels": selector_labels(name)}
            assert host["labelSelector"] == {"matchLabels": selector_labels(name)}
            assert svc.scaling.min_replicas >= zones, f"{env}/{name}: fewer replicas than zones"
            left = replicas_left_after_zone_loss(svc.scaling.min_replicas, zones)
            assert left * 3 >= svc.scaling.min_replicas * 2, f"{env}/{name}: zone loss leaves {left}/{svc.scaling.min_replicas}"
            for replicas in range(svc.scaling.min_replicas, svc.scaling.max_replicas + 1):
                assert replicas_left_after_zone_loss(replicas, zones) >= math.floor(2 * replicas / 3)


def test_zone_loss_arithmetic() -> None:
    assert replicas_left_after_zone_loss(3, 3) == 2
    assert replicas_left_after_zone_loss(4, 3) == 2
    assert replicas_left_after_zone_loss(9, 3) == 6
    assert replicas_left_after_zone_loss(3, 2) == 1  # two zones cannot keep 2/3


def test_pdb_allows_a_drain_and_keeps_two_thirds_of_the_minimum(platforms, rendered) -> None:
    for env, name in _services(platforms):
        svc = platforms[env].services[name]
        pdb = rendered[env][("PodDisruptionBudget", name)]["spec"]
        assert pdb["selector"] == {"matchLabels": selector_labels(name)}
        allowed = pdb["maxUnavailable"]
        assert allowed >= 1, "a PDB allowing no eviction blocks every node drain"
        assert (svc.scaling.min_replicas - allowed) * 3 >= svc.scaling.min_replicas * 2
    assert pdb_max_unavailable(3) == 1 and pdb_max_unavailable(6) == 2 and pdb_max_unavailable(1) == 1


def test_restricted_security_context_probes_resources_and_pool(platforms) -> None:
    for env, platform in platforms.items():
        pool, _ = platform.pool_for_namespace("platform-apps")
        for name, svc in platform.services.items():
            pod = service_rollout(platform, name)["spec"]["template"]["spec"]
            assert pod["automountServiceAccountToken"] is False
            assert pod["serviceAccountName"] == name
            assert pod["nodeSelector"] == {POOL_LABEL: pool}
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
            (container,) = pod["containers"]
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["capabilities"] == {"drop": ["ALL"]}
            assert ctx["runAsNonRoot"] is True
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert container[probe]["httpGet"]["port"] == "http"
            assert container["livenessProbe"]["httpGet"]["path"] == svc.health_path
            assert container["readinessProbe"]["httpGet"]["path"] == svc.ready_path
            assert container["resources"] == {
                "requests": {"cpu": svc.resources.requests_cpu, "memory": svc.resources.requests_memory},
                "limits": {"cpu": svc.resources.limits_cpu, "memory": svc.resources.limits_memory}}
            assert container["image"] == f"{svc.image.repository}:{svc.image.tag}"
            assert "replicas" not in service_rollout(platform, name)["spec"], "the autoscaler owns the replica count"


def test_service_accounts_mount_no_token(rendered) -> None:
    for (kind, _), obj in rendered["prod"].items():
        if kind == "ServiceAccount":
            assert obj["automountServiceAccountToken"] is False


def test_digest_wins_over_tag(tmp_path) -> None:
    digest = "sha256:" + "ab" * 32
    platforms = load_all(spec_with(tmp_path, [("environments.prod", {"services": {"auth": {"image": {"digest": digest}}}})]))
    assert service_rollout(platforms["prod"], "auth")["spec"]["template"]["spec"]["containers"][0]["image"] == \
        f"ghcr.io/org/auth@{digest}"
    assert service_rollout(platforms["staging"], "auth")["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "ghcr.io/org/auth:1.0.0"


def test_flows_follow_calls_and_uses(prod, rendered) -> None:
    """Each service's NetworkPolicy (rendered from its flows) reaches what it calls and the client pods of the stores
    it uses (Iceberg's: the catalog servers), on their ports, and nothing else in platform-data; only its callers and the gateway come in."""
    objs = rendered["prod"]
    policies = {p["metadata"]["name"]: p for p in network.network_policies(prod, ALL_COMPONENTS) if p["metadata"]["namespace"] == NAMESPACE}
    for name, svc in prod.services.items():
        labels = service_rollout(prod, name)["spec"]["template"]["metadata"]["labels"]
        for store in ("postgres", "clickhouse", "redis", "kafka", "iceberg"):
            assert (labels.get(uses_label(store)) == "true") == (store in svc.uses), (name, store)
        assert ("NetworkPolicy", f"{name}-flows") not in objs, "policies are rendered from the flows, not by the component"
        policy = next(p for p in policies.values() if p["spec"]["podSelector"] == {"matchLabels": selector_labels(name)})
        egress = policy["spec"].get("egress", [])
        data = [r for r in egress if r["to"][0].get("namespaceSelector") == {"matchLabels": {"kubernetes.io/metadata.name": "platform-data"}}]
        expected = {(tuple(sorted(labels.items())), ports) for store in svc.uses for labels, ports in DATASTORE_CLIENT_PODS.get(store, ())}
        if "iceberg" in svc.uses:
            expected.add((tuple(sorted(iceberg_catalog.SERVER_LABELS.items())), (iceberg_catalog.HTTP_PORT,)))
        assert {(tuple(sorted(r["to"][0]["podSelector"]["matchLabels"].items())), tuple(p["port"] for p in r["ports"])) for r in data} == expected
        for callee in svc.calls:
            assert any(r["to"][0].get("podSelector", {}).get("matchLabels") == selector_labels(callee) for r in egress), (name, callee)
    auth = next(p for p in policies.values() if p["spec"]["podSelector"] == {"matchLabels": selector_labels("auth")})
    callers = [r for r in auth["spec"]["ingress"] if r["from"][0].get("podSelector", {}).get("matchLabels") == selector_labels("api-gateway")]
    assert callers == [{"from": [{"podSelector": {"matchLabels": selector_labels("api-gateway")}}],
                        "ports": [{"protocol": "TCP", "port": prod.services["auth"].port}]}]


def test_http_routes_attach_to_the_public_gateway(prod, rendered) -> None:
    route = rendered["prod"][("HTTPRoute", "frontend")]["spec"]
    assert route["hostnames"] == [f"app.{prod.edge.domain}"]
    assert route["parentRefs"] == [{"name": "public", "namespace": "platform-system", "sectionName": "https-frontend"}]
    port = prod.services["frontend"].port
    assert route["rules"][0]["backendRefs"] == [
        {"kind": "Service", "name": "frontend-stable", "port": port, "weight": 100},
        {"kind": "Service", "name": "frontend-canary", "port": port, "weight": 0}]
    stable, canary = rendered["prod"][("Service", "frontend-stable")], rendered["prod"][("Service", "frontend-canary")]
    assert stable["spec"]["selector"] == canary["spec"]["selector"] == selector_labels("frontend")
    canary_strategy = rendered["prod"][("Rollout", "frontend")]["spec"]["strategy"]["canary"]
    assert (canary_strategy["stableService"], canary_strategy["canaryService"]) == ("frontend-stable", "frontend-canary")
    assert canary_strategy["trafficRouting"]["plugins"][delivery.GATEWAY_PLUGIN]["httpRoute"] == "frontend"
    assert "trafficRouting" not in rendered["prod"][("Rollout", "auth")]["spec"]["strategy"]["canary"], "internal: replica-based"


def test_scrapes_keep_the_service_and_rollout_hash_labels(platforms, rendered) -> None:
    """The canary analysis selects series by ``rollouts_pod_template_hash``: the scrape must copy that pod label."""
    for env, name in _services(platforms):
        monitor = rendered[env][("ServiceMonitor", name)]["spec"]
        assert monitor["podTargetLabels"] == ["app.kubernetes.io/name", "rollouts-pod-template-hash"]
    # The stable/canary copies carry another name label, so the ServiceMonitor does not scrape each pod three times.
    monitor = rendered["prod"][("ServiceMonitor", "frontend")]["spec"]
    scraped = [n for (k, n), o in rendered["prod"].items() if k == "Service"
               and all(o["metadata"]["labels"].get(key) == v for key, v in monitor["selector"]["matchLabels"].items())]
    assert scraped == ["frontend"]


def test_slo_alert_thresholds_come_from_the_spec(prod) -> None:
    groups = {g.name: g for g in app_services.alerts(prod)}
    fast = next(r for r in groups["app-services"].rules if r.name == "SLOErrorBudgetBurnFast")
    # 99.9 % over 30 days: 14.4x and 6x the 0.1 % budget
    assert "> 0.0144" in fast.expr and "> 0.006" in fast.expr
    assert "14.4x" in fast.description and "0.0144" in fast.description and "99.9%" in fast.summary
    saturation = next(r for r in groups["app-services"].rules if r.name == "AutoscalerSaturatedAtMax")
    minutes = prod.platform_alerts.saturation_at_max_minutes
    assert saturation.for_ == f"{minutes}m" and f"{minutes} minutes" in saturation.description


def test_burn_rates_scale_with_the_slo_window(tmp_path) -> None:
    platforms = load_all(spec_with(tmp_path, [("observability.slo.window_days", 28), ("observability.slo.availability_percent", 99.5)]))
    assert app_services.burn_rate(platforms["prod"], "1h", 0.02) == pytest.approx(13.44)
    assert app_services.error_budget(platforms["prod"]) == pytest.approx(0.005)


@pytest.mark.parametrize(("changes", "message"), [
    ([("services.auth.scaling.min_replicas", 4)],
     "services.auth.scaling.min_replicas: with 3 zones, losing one leaves 2 of 4 replicas"),
    ([("services.auth.scaling.min_replicas", 2)],
     "services.auth.scaling.min_replicas: with 3 zones, losing one leaves 1 of 2 replicas"),
    ([("edge.gateway_replicas", 2)], "edge.gateway_replicas (2) must be >= 3"),
])
def test_specs_breaking_the_zone_failure_promise_are_rejected(tmp_path, changes, message) -> None:
    from plinth.spec.loader import SpecError

    with pytest.raises(SpecError) as err:
        load_all(spec_with(tmp_path, changes))
    assert message in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "platform.yaml") + ":")


def test_saturation_alert_and_panel_see_the_hpas_that_scale_the_rollouts(prod, rendered) -> None:
    """kube-state-metrics labels HPA series with the HPA's name: the service's own HPA, or ``keda-hpa-<svc>``
    for a ScaledObject. Both scale the Rollout of the same name, which the panel's regex must match."""
    import re

    panel = next(p for p in app_services.panels(prod) if p.title == "Replicas vs max")
    pattern = re.search(r'horizontalpodautoscaler=~"([^"]+)"', panel.queries[0]).group(1)
    for (kind, name), obj in rendered["prod"].items():
        if kind not in ("HorizontalPodAutoscaler", "ScaledObject"):
            continue
        hpa_name = name if kind == "HorizontalPodAutoscaler" else f"keda-hpa-{name}"
        assert re.fullmatch(pattern.replace("$service", name), hpa_name), (kind, name)
        assert obj["spec"]["scaleTargetRef"]["kind"] == "Rollout" and ("Rollout", name) in rendered["prod"]
    saturation = next(r for g in app_services.alerts(prod) for r in g.rules if getattr(r, "name", None) == "AutoscalerSaturatedAtMax")
    assert 'namespace="platform-apps"' in saturation.expr and "horizontalpodautoscaler" in saturation.expr
