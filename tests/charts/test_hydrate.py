"""Hydration: every chart Application of both environments rendered offline from ../shared/charts with the
real helm, deterministic, cached; Argo CD's hook, wave and namespace rules on real chart output; a pin the
chart directory lacks is a located error."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from plinth.charts.chartdir import ChartDir
from plinth.charts.hydrate import Renderer, chart_applications, parse_manifests
from plinth.kube.yamlio import dump_yaml
from tests.charts.conftest import CHARTS, needs_charts
from tests.conftest import DEFAULT_SPEC

pytestmark = needs_charts

EXPECTED_PROD = {
    # Objects per Application. The mirror's PROVENANCE-*.md rendered the same archives independently (plain and
    # with the monitoring API): e.g. external-secrets 46 + 3 ServiceMonitors + 2 metrics Services, velero 24 + 1
    # ServiceMonitor, loki 23 + 1 ServiceMonitor, argo-cd without its 2 redis-ha test Pods. With the platform's values:
    # argo-cd + 2 OCI repository Secrets; kube-prometheus-stack without its 10 CRDs (the prometheus-operator-crds
    # release has them), without the CoreDNS Service, ServiceMonitor and dashboard and without the AIX and macOS
    # node-exporter dashboards (nothing on Linux nodes produces their metrics); the ClickHouse operator
    # without its 5 CRD-hook objects and Velero without its 4 CRD-upgrade objects (Argo CD applies the CRDs).
    "alloy": 7, "argo-rollouts": 17, "argocd": 70, "cert-manager": 55, "clickhouse-operator": 19, "cloudnative-pg": 23,
    "envoy-gateway": 41, "external-dns": 7, "external-secrets": 51, "keda": 35, "kube-prometheus-stack-chart": 96,
    "loki-chart": 24, "opencost": 6, "plugin-barman-cloud": 12, "polaris": 7, "prometheus-operator-crds": 10, "redis-operator": 8,
    "strimzi-kafka-operator": 27, "tempo-chart": 30, "velero": 21,
}


def _by_key(hydration, env: str) -> dict[tuple[str, str], object]:
    return {(o.application, o.key): o for o in hydration.for_environment(env)}


def test_every_chart_application_of_both_environments_is_hydrated(cold, rendered) -> None:
    wanted = {(a.environment, a.name) for a in chart_applications(rendered)}
    assert {(a.application.environment, a.application.name) for a in cold.apps} == wanted
    assert {e for e, _ in wanted} == {"prod", "staging"}
    counts = {a.application.name: len(a.objects) for a in cold.apps if a.application.environment == "prod"}
    assert counts == EXPECTED_PROD
    assert cold.renders > 0


def test_hydration_is_cached_and_byte_identical(cold, warm) -> None:
    assert warm.renders == 0
    # One render per Application, all from the cache (the settled API list of the cold run is the first guess).
    assert warm.cache_hits == len(warm.apps) == 40
    def snapshot(h):
        return "".join(f"# {o.path} wave={o.sync_wave} hooks={','.join(o.hook_phases)}\n{dump_yaml(o.obj)}" for o in h.objects)
    assert snapshot(cold) == snapshot(warm)
    assert [o.path for o in cold.objects] == sorted(o.path for o in cold.objects)


def test_helm_renders_the_same_bytes_without_the_cache(cold, helm) -> None:
    """Two renders of the largest charts, without any cache, give the objects the cached hydration holds."""
    renderer = Renderer(helm, None)
    charts = ChartDir(CHARTS)
    for app in cold.apps:
        if app.application.environment == "prod" and app.application.name in ("kube-prometheus-stack-chart", "cert-manager", "argocd"):
            apis = cold.api_versions["prod"]
            docs = renderer.render(app.application, charts.find(app.archive.name, app.archive.version), cold.kube_versions["prod"], apis)
            again = parse_manifests(helm.template(app.application.release, app.archive.path, app.application.namespace,
                                                  cold.kube_versions["prod"], apis, app.application.values))
            assert docs == again
            assert len(docs) == len(app.objects) + len(app.ignored)


def test_argo_cd_renders_with_the_cluster_api_list(cold) -> None:
    apis = set(cold.api_versions["prod"])
    assert {"apps/v1/Deployment", "monitoring.coreos.com/v1/ServiceMonitor", "cert-manager.io/v1/Certificate",
            "postgresql.cnpg.io/v1/Cluster", "gateway.networking.k8s.io/v1/HTTPRoute"} <= apis
    assert cold.kube_versions == {"prod": "1.35.0", "staging": "1.35.0"}
    objects = _by_key(cold, "prod")
    # Gated on .Capabilities.APIVersions: rendered only because the API list holds the prometheus-operator CRDs.
    assert ("velero", "ServiceMonitor/platform-system/velero") in objects
    assert ("loki-chart", "ServiceMonitor/platform-monitoring/loki") in objects


def test_helm_hooks_become_argo_cd_phases_and_waves(cold) -> None:
    objects = _by_key(cold, "prod")
    startup = objects[("cert-manager", "Job/platform-system/cert-manager-startupapicheck")]
    assert (startup.hook_phases, startup.sync_wave) == (("PostSync",), 1)
    certgen = objects[("envoy-gateway", "Job/platform-system/envoy-gateway-gateway-helm-certgen")]
    assert (certgen.hook_phases, certgen.sync_wave) == (("PreSync",), 0)
    assert not [o for (app, _), o in objects.items() if app in ("velero", "clickhouse-operator", "kube-prometheus-stack-chart") and o.is_hook], \
        "their CRD and certgen Jobs are off"
    deployment = objects[("cert-manager", "Deployment/platform-system/cert-manager")]
    assert (deployment.hook_phases, deployment.is_hook, deployment.application_wave) == ((), False, -5)
    argocd = next(a for a in cold.apps if a.application.environment == "prod" and a.application.name == "argocd")
    assert argocd.ignored == [("Pod/platform-system/argocd-redis-ha-configmap-test", "Helm hook test-success (not supported by Argo CD)"),
                              ("Pod/platform-system/argocd-redis-ha-service-test", "Helm hook test-success (not supported by Argo CD)")]


def test_objects_without_a_namespace_get_the_destination_namespace(cold) -> None:
    keda = next(a for a in cold.apps if a.application.environment == "prod" and a.application.name == "keda")
    monitors = [o for o in keda.objects if o.obj["kind"] == "ServiceMonitor"]
    assert len(monitors) == 3 and {o.obj["metadata"]["namespace"] for o in monitors} == {"platform-system"}
    outside = sorted(o.key for o in keda.objects if o.obj["metadata"].get("namespace") not in (None, "platform-system"))
    assert outside == ["RoleBinding/kube-system/keda-operator-auth-reader"]
    assert all("namespace" not in o.obj["metadata"] for o in cold.objects if o.obj["kind"] in ("CustomResourceDefinition", "ClusterRole"))
    assert any(o.path == "prod/hydrated/keda/rolebinding-kube-system-keda-operator-auth-reader.yaml" for o in keda.objects)


def test_a_pin_missing_from_the_chart_directory_is_a_located_error(tmp_path) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(DEFAULT_SPEC.read_text().replace("chart: loki, version: 8.1.3", "chart: loki, version: 8.2.0"))
    line = next(i for i, text in enumerate(spec.read_text().splitlines(), 1) if text.startswith("  loki: {"))
    column = spec.read_text().splitlines()[line - 1].index("version") + 1
    done = subprocess.run([sys.executable, "-m", "plinth.cli", "hydrate", "--spec", str(spec), "--chart-dir", str(CHARTS)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    expected = (f"{spec}:{line}:{column}: charts.loki.version: chart loki 8.2.0 is not in the chart directory {CHARTS} "
                f"(it holds 8.1.3, 9.5.13, 18.11.0)")
    assert expected in re.sub(r"\s*\n\s*", " ", done.stderr) or expected in done.stderr.replace("\n", "")


def test_charts_list_shows_pins_against_the_chart_directory() -> None:
    done = subprocess.run([sys.executable, "-m", "plinth.cli", "charts", "list", "--spec", str(DEFAULT_SPEC), "--chart-dir", str(CHARTS),
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    pins = {p["pin"]: p for p in json.loads(done.stdout)["pins"]}
    assert all(p["present"] for p in pins.values())
    assert pins["argocd"]["app_version"] == "v3.3.8"
    assert pins["loki"]["available"] == ["8.1.3", "9.5.13", "18.11.0"]


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_no_duplicate_objects_inside_an_application(cold, env) -> None:
    assert [a.duplicates for a in cold.apps if a.application.environment == env and a.duplicates] == []


def test_the_iceberg_catalog_hydrates_to_ha_servers_in_platform_data(cold, platforms) -> None:
    """Polaris' chart with the platform's values: the catalog's replicas spread hard over zones, a PDB, the workload
    identity's service account, metadata in PostgreSQL through the pooler, metrics scraped; nothing outside
    platform-data, no hook, no CRD (hydration adds nothing Argo CD would apply elsewhere)."""
    from plinth.components import iceberg_catalog as ic

    for env, platform in platforms.items():
        app = next(a for a in cold.apps if a.application.environment == env and a.application.name == ic.RELEASE)
        objects = {o.key: o for o in app.objects}
        assert sorted(objects) == sorted(f"{kind}/platform-data/{name}" for kind, name in (
            ("ConfigMap", "polaris"), ("Deployment", "polaris"), ("PodDisruptionBudget", "polaris"), ("Service", "polaris"),
            ("Service", "polaris-mgmt"), ("ServiceAccount", ic.SERVICE_ACCOUNT), ("ServiceMonitor", "polaris")))
        assert not any(o.hook_phases for o in app.objects) and app.ignored == []
        deployment = objects["Deployment/platform-data/polaris"].obj["spec"]
        pod = deployment["template"]["spec"]
        assert deployment["replicas"] == platform.datastores.iceberg.catalog.replicas >= 3
        assert pod["serviceAccountName"] == ic.SERVICE_ACCOUNT
        zone = [c for c in pod["topologySpreadConstraints"] if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zone == [{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                         "labelSelector": {"matchLabels": ic.SERVER_LABELS}}]
        assert deployment["template"]["metadata"]["labels"].items() >= ic.SERVER_LABELS.items()
        assert objects["PodDisruptionBudget/platform-data/polaris"].obj["spec"]["maxUnavailable"] == 1
        properties = objects["ConfigMap/platform-data/polaris"].obj["data"]["application.properties"]
        assert f"quarkus.datasource.jdbc.url={ic.jdbc_url(platform)}" in properties
        assert "polaris.persistence.type=relational-jdbc" in properties
        assert f"polaris.realm-context.realms={platform.datastores.iceberg.catalog.realm}" in properties
        env_from = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in pod["containers"][0]["env"] if "valueFrom" in e}
        assert env_from == {"quarkus.datasource.username": ic.DB_SECRET, "quarkus.datasource.password": ic.DB_SECRET}
        monitor = objects["ServiceMonitor/platform-data/polaris"].obj["spec"]
        assert monitor["endpoints"][0]["path"] == "/q/metrics"
        assert pod["containers"][0]["image"] == f"apache/polaris:{platform.charts['polaris'].app_version}"


def test_the_prometheus_operator_webhook_certificate_is_issued_by_cert_manager(cold) -> None:
    objects = _by_key(cold, "prod")
    app = "kube-prometheus-stack-chart"
    admission = objects[(app, "Certificate/platform-monitoring/kps-admission")].obj
    assert admission["spec"]["secretName"] == "kps-admission"
    assert admission["spec"]["issuerRef"]["name"] == "kps-root-issuer"
    assert objects[(app, "Issuer/platform-monitoring/kps-root-issuer")].obj["spec"]["ca"]["secretName"] == "kps-root-cert"
    assert objects[(app, "Certificate/platform-monitoring/kps-root-cert")].obj["spec"]["isCA"] is True
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        hook = objects[(app, f"{kind}/kps-admission")].obj
        assert hook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "platform-monitoring/kps-admission"
    volumes = objects[(app, "Deployment/platform-monitoring/kps-operator")].obj["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls-secret", "secret": {"defaultMode": 420, "secretName": "kps-admission"}} in volumes
    assert not [key for (a, key) in objects if a == app and key.startswith("Job/")]
