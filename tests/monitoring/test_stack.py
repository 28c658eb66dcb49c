"""The observability stack's charts: pinned, retention and volumes from the spec for staging and prod,
data sources, placement on the monitoring pool, and hydrated pods that request what the values set."""

from __future__ import annotations

import re

from plinth.components import alloy, loki, opencost, prometheus_stack, tempo
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.scheduling import POOL_LABEL
from plinth.render.pipeline import render_platform
from tests.conftest import chart_pods

MONITORING = "platform-monitoring"


def _chart_values(platform, release: str) -> dict:
    apps = [r.obj for r in render_platform(platform) if r.obj["kind"] == "Application" and r.obj["metadata"]["name"] == release]
    assert len(apps) == 1, release
    return apps[0]["spec"]["source"]


def test_retention_of_prometheus_loki_and_tempo_equals_the_spec(platforms) -> None:
    assert set(platforms) >= {"staging", "prod"}
    for env, platform in platforms.items():
        obs = platform.observability
        prom = _chart_values(platform, prometheus_stack.CHART_RELEASE)["helm"]["valuesObject"]["prometheus"]["prometheusSpec"]
        assert prom["retention"] == f"{obs.prometheus.retention_days}d", env
        assert prom["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == f"{obs.prometheus.storage_gib}Gi"
        size_gib = int(re.fullmatch(r"(\d+)GiB", prom["retentionSize"]).group(1))
        assert 0 < size_gib < obs.prometheus.storage_gib, "the TSDB must stop short of filling its volume"
        assert prom["replicas"] == obs.prometheus.replicas
        lk = _chart_values(platform, loki.CHART_RELEASE)["helm"]["valuesObject"]["loki"]
        assert lk["limits_config"]["retention_period"] == f"{obs.loki.retention_days * 24}h", env
        assert lk["compactor"]["retention_enabled"] is True
        assert lk["storage"]["bucketNames"]["chunks"] == obs.loki.bucket
        tp = _chart_values(platform, tempo.CHART_RELEASE)["helm"]["valuesObject"]
        assert tp["tempo"]["structuredConfig"]["compactor"]["compaction"]["block_retention"] == f"{obs.tempo.retention_days * 24}h", env
        assert tp["storage"]["trace"]["s3"]["bucket"] == obs.tempo.bucket
    assert platforms["staging"].observability.prometheus.retention_days != platforms["prod"].observability.prometheus.retention_days


def test_design_retention_in_prod() -> None:
    from plinth.spec.loader import load_all
    from tests.conftest import DEFAULT_SPEC

    obs = load_all(DEFAULT_SPEC)["prod"].observability
    assert (obs.prometheus.retention_days, obs.loki.retention_days, obs.tempo.retention_days) == (15, 30, 7)


def test_charts_are_pinned_in_the_spec(prod) -> None:
    for release, key in ((prometheus_stack.CHART_RELEASE, "kube-prometheus-stack"), (loki.CHART_RELEASE, "loki"),
                         (tempo.CHART_RELEASE, "tempo"), (alloy.NAME, "alloy"), (opencost.NAME, "opencost")):
        source = _chart_values(prod, release)
        chart = prod.charts[key]
        assert (source["chart"], source["targetRevision"]) == (chart.chart, chart.version)
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart.version)
    assert prod.charts["kube-prometheus-stack"].app_version == "v0.93.0"  # the CRD schemas in ../shared


def test_grafana_has_prometheus_loki_and_tempo_data_sources(prod) -> None:
    values = prometheus_stack.grafana_values(prod)
    assert values["sidecar"]["datasources"]["defaultDatasourceEnabled"] is True
    assert values["sidecar"]["datasources"]["uid"] == "prometheus"
    by_type = {d["type"]: d for d in values["additionalDataSources"]}
    assert by_type["loki"]["url"].startswith("http://loki-gateway.platform-monitoring.svc")
    assert by_type["tempo"]["url"] == "http://tempo-query-frontend.platform-monitoring.svc:3200"
    assert values["admin"]["existingSecret"] == prometheus_stack.GRAFANA_ADMIN_SECRET


def test_node_exporter_and_kube_state_metrics_are_on(prod) -> None:
    values = prometheus_stack.values(prod)
    assert values.get("nodeExporter", {}).get("enabled", True)
    assert values.get("kubeStateMetrics", {}).get("enabled", True)
    taints = [t.key for p in prod.node_pools.values() for t in p.taints]
    assert [t["key"] for t in values["prometheus-node-exporter"]["tolerations"]] == taints


def test_log_collection_is_alloy_never_promtail_or_grafana_agent(prod) -> None:
    charts = {c.chart for c in prod.charts.values()}
    assert "alloy" in charts
    assert not charts & {"promtail", "grafana-agent", "agent-operator", "loki-stack"}
    assert "loki.write" in alloy.values(prod)["alloy"]["configMap"]["content"]


def _pod_specs_with_resources(values, path=()):
    """(path, resources) of every ``resources`` block with requests in a values tree."""
    if isinstance(values, dict):
        if "requests" in values and isinstance(values["requests"], dict) and "cpu" in values["requests"]:
            yield path, values
        for key, value in values.items():
            yield from _pod_specs_with_resources(value, path + (key,))


def _requests(values) -> dict[tuple[str, ...], tuple[int, int]]:
    return {path: (int(r["requests"]["cpu"].rstrip("m")), int(r["requests"]["memory"].rstrip("Mi")))
            for path, r in _pod_specs_with_resources(values)}


def _total(*parts: tuple[int, int]) -> tuple[int, int]:
    return tuple(map(sum, zip(*parts)))  # type: ignore[return-value]


def _find(pods: dict, kind: str, word: str):
    (group,) = [g for name, g in pods.items() if name.startswith(f"{kind}/") and word in name]
    return group


def test_chart_pods_request_what_the_values_set(prod, hydration) -> None:
    """Each hydrated monitoring pod requests the sum its containers get from the values (sidecars included; the
    config reloader prometheus-operator adds from its own flags), with the replicas the values set."""
    monitoring = [c for c in ALL_COMPONENTS if c.namespace == MONITORING and c.charts(prod)]
    assert {c.name for c in monitoring} == {"kube-prometheus-stack", "loki", "tempo", "alloy", "opencost"}
    kps = _requests(prometheus_stack.values(prod))
    reloader = kps[("prometheusOperator", "prometheusConfigReloader", "resources")]
    sidecar = kps[("grafana", "sidecar", "resources")]
    pods = chart_pods(hydration, "prod", prometheus_stack.CHART_RELEASE)
    expected = {("Prometheus", "prometheus"): _total(kps[("prometheus", "prometheusSpec", "resources")], reloader),
                ("Alertmanager", "alertmanager"): _total(kps[("alertmanager", "alertmanagerSpec", "resources")], reloader),
                ("Deployment", "grafana"): _total(kps[("grafana", "resources")], sidecar, sidecar),
                ("Deployment", "operator"): kps[("prometheusOperator", "resources")],
                ("Deployment", "kube-state-metrics"): kps[("kube-state-metrics", "resources")],
                ("DaemonSet", "node-exporter"): kps[("prometheus-node-exporter", "resources")]}
    for (kind, word), requests in expected.items():
        group = _find(pods, kind, word)
        assert (group.cpu_millicores, group.memory_mib) == requests, (kind, word)
    assert _find(pods, "Alertmanager", "alertmanager").replicas_min == prod.observability.alerting.alertmanager_replicas
    assert _find(pods, "Deployment", "grafana").replicas_min == prod.observability.grafana_replicas
    al = _requests(alloy.values(prod))
    group = _find(chart_pods(hydration, "prod", alloy.NAME), "DaemonSet", "alloy")
    assert (group.cpu_millicores, group.memory_mib) == _total(al[("alloy", "resources")], al[("configReloader", "resources")])
    assert group.per_node
    for component in (loki, tempo):
        values = component.values(prod)
        requests = _requests(values)
        pods = chart_pods(hydration, "prod", component.CHART_RELEASE)
        for path, wanted in requests.items():
            part = path[0]
            if not isinstance(values.get(part), dict) or "replicas" not in values[part]:
                continue
            name = f"{component.NAME}-{re.sub(r'(?<!^)(?=[A-Z])', '-', part).lower()}"
            (group,) = [g for key, g in pods.items() if key.split("/", 1)[1] == name]
            assert (group.cpu_millicores, group.memory_mib) == wanted, name
            assert group.replicas_min == values[part]["replicas"], name
    oc = _requests(opencost.values(prod))
    group = _find(chart_pods(hydration, "prod", opencost.NAME), "Deployment", "opencost")
    assert (group.cpu_millicores, group.memory_mib) == oc[("opencost", "exporter", "resources")]


def test_monitoring_pods_are_placed_on_the_monitoring_pool(prod) -> None:
    pool, _ = prod.pool_for_namespace(MONITORING)
    values = prometheus_stack.values(prod)
    for placed in (values["prometheus"]["prometheusSpec"], values["alertmanager"]["alertmanagerSpec"], values["grafana"],
                   values["prometheusOperator"], values["kube-state-metrics"], loki.values(prod)["write"],
                   tempo.values(prod)["ingester"], opencost.values(prod)["opencost"]):
        assert placed["nodeSelector"] == {POOL_LABEL: pool}


def test_chart_volumes_follow_the_spec(platforms, hydration) -> None:
    for env, platform in platforms.items():
        prom = _find(chart_pods(hydration, env, prometheus_stack.CHART_RELEASE), "Prometheus", "prometheus")
        assert prom.volume_gib == platform.observability.prometheus.storage_gib, env
        assert prom.replicas_min == platform.observability.prometheus.replicas, env


def test_a_spec_without_a_loki_bucket_is_a_located_error(tmp_path) -> None:
    import subprocess
    import sys

    from tests.conftest import DELETE, REPO, spec_with

    spec = spec_with(tmp_path, [("observability.loki.bucket", DELETE)])
    proc = subprocess.run([sys.executable, "-m", "plinth.cli", "render", "--spec", str(spec), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert "loki.bucket" in proc.stderr and "Traceback" not in proc.stderr


def test_monitoring_pods_fit_the_namespace_quota(platforms, hydration) -> None:
    """Requests, pods, volumes and PVCs of every monitoring pod (rendered and hydrated) stay within platform-monitoring's
    ResourceQuota (DaemonSets counted on every node of every pool at the autoscalers' maximum; run-to-completion pods left out)."""
    from plinth.kube.pods import pod_groups
    from plinth.spec.types import cpu_millicores, memory_bytes

    for env, platform in platforms.items():
        quota = platform.namespaces[MONITORING].quota
        max_nodes = sum(pool.max_nodes for pool in platform.node_pools.values())
        objects = [r.obj for r in render_platform(platform)] + [h.obj for h in hydration.for_environment(env)]
        pods = cpu = mem = volumes = storage = 0
        for group in pod_groups(objects):
            if group.namespace != MONITORING or group.transient:
                continue
            count = max_nodes if group.per_node else group.replicas_max
            pods += count
            cpu += count * group.cpu_millicores
            mem += count * group.memory_mib * 1024 * 1024
            if group.volume_gib:
                volumes += count
                storage += count * group.volume_gib * 1024 ** 3
        assert pods <= quota.pods, (env, pods)
        assert cpu <= cpu_millicores(quota.requests_cpu), (env, cpu)
        assert mem <= memory_bytes(quota.requests_memory), (env, mem)
        assert volumes <= quota.persistent_volume_claims, (env, volumes)
        assert storage <= memory_bytes(quota.requests_storage), (env, storage)
