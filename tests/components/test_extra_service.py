"""A service added to platform.yaml in five lines gets the full set of objects (examples/extra-service.yaml)."""

from __future__ import annotations

from ruamel.yaml import YAML

from plinth.components import envoy_gateway
from plinth.render.pipeline import render_platform
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC, REPO, needs_shared, spec_with

EXAMPLE = REPO / "examples" / "extra-service.yaml"
EXTRA = "reports"


def _kinds_of(platform, name: str) -> dict[str, dict]:
    """Objects of the app-services component that belong to service ``name``, by kind."""
    result: dict[str, dict] = {}
    for r in render_platform(platform):
        meta = r.obj["metadata"]
        if r.component == "app-services" and meta.get("labels", {}).get("app.kubernetes.io/name", "").startswith(name):
            result.setdefault(r.obj["kind"], r.obj)
    return result


def test_example_is_platform_yaml_plus_one_service() -> None:
    yaml = YAML(typ="safe")
    base, example = yaml.load(DEFAULT_SPEC.read_text()), yaml.load(EXAMPLE.read_text())
    extra = example["services"].pop(EXTRA)
    assert example == base, "examples/extra-service.yaml must be platform.yaml plus the one extra service: run scripts/extra_service_example.py"
    block = EXAMPLE.read_text().split(f"  {EXTRA}:\n", 1)[1].split("\n\n", 1)[0]
    assert len(block.splitlines()) + 1 == 5, "the extra service takes five lines"
    assert set(extra) == {"description", "image", "resources", "scaling"}


def test_extra_service_gets_the_full_set_of_objects() -> None:
    platforms = load_all(EXAMPLE)
    for env, platform in platforms.items():
        kinds = _kinds_of(platform, EXTRA)
        assert {"ServiceAccount", "Rollout", "Service", "PodDisruptionBudget", "ServiceMonitor",
                "HorizontalPodAutoscaler", "Certificate"} <= set(kinds), (env, sorted(kinds))
        hpa = kinds["HorizontalPodAutoscaler"]["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 10)
        assert "Deployment" not in kinds
        assert hpa["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": EXTRA}
        steps = kinds["Rollout"]["spec"]["strategy"]["canary"]["steps"]
        assert [s["setWeight"] for s in steps if "setWeight" in s] == [s.weight_percent for s in platform.delivery.canary_steps]
        pod = kinds["Rollout"]["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"] == "ghcr.io/org/reports:1.0.0"
        assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
        assert len(pod["topologySpreadConstraints"]) == 2
        apps = {r.obj["metadata"]["name"] for r in render_platform(platform) if r.obj["kind"] == "Application"}
        assert "app-services" in apps


def test_extra_public_service_using_a_store_gets_route_credentials_and_flows(tmp_path) -> None:
    spec = spec_with(tmp_path, [(f"services.{EXTRA}.public_host", "reports"), (f"services.{EXTRA}.uses", ["clickhouse"])], source=EXAMPLE)
    platform = load_all(spec)["prod"]
    kinds = _kinds_of(platform, EXTRA)
    assert {"HTTPRoute", "ExternalSecret"} <= set(kinds)
    assert kinds["HTTPRoute"]["spec"]["hostnames"] == [f"reports.{platform.edge.domain}"]
    assert [b["name"] for b in kinds["HTTPRoute"]["spec"]["rules"][0]["backendRefs"]] == ["reports-stable", "reports-canary"]
    assert kinds["Rollout"]["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"]["argoproj-labs/gatewayAPI"]["httpRoute"] == EXTRA
    gateway = next(r.obj for r in render_platform(platform) if r.obj["kind"] == "Gateway")
    assert f"reports.{platform.edge.domain}" in {l.get("hostname") for l in gateway["spec"]["listeners"]}
    certificate = next(r.obj for r in render_platform(platform) if r.obj["kind"] == "Certificate" and r.obj["metadata"]["name"] == "public-gateway-tls")
    assert f"reports.{platform.edge.domain}" in certificate["spec"]["dnsNames"]
    policy = next(r.obj for r in render_platform(platform) if r.obj["kind"] == "NetworkPolicy"
                  and r.obj["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name") == EXTRA)
    assert {"clickhouse.altinity.com/chi": "plinth-ch"} in [r["to"][0].get("podSelector", {}).get("matchLabels") for r in policy["spec"]["egress"]]
    assert any(r["from"][0].get("podSelector", {}).get("matchLabels") == envoy_gateway.PROXY_POD_LABELS for r in policy["spec"]["ingress"]), \
        "a public service admits the gateway's proxies"


@needs_shared
def test_extra_service_example_validates(chart_crd_dir) -> None:
    from plinth.render.pipeline import render_all
    from plinth.validate.schemas import SchemaStore

    store = SchemaStore("1.32", chart_crd_dir)
    problems = [str(p) for r in render_all(load_all(EXAMPLE)) for p in store.check(r.obj, r.path)]
    assert problems == []
