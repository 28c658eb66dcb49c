"""The observability stack's charts: pinned, retention and volumes from the spec for staging and prod,
data sources, placement on the monitoring pool, and requests that match the planner's footprints."""

from __future__ import annotations

import re

from plinth.components import alloy, loki, opencost, prometheus_stack, tempo
from plinth.components.registry import ALL_COMPONENTS
from plinth.kube.scheduling import POOL_LABEL
from plinth.render.pipeline import render_platform

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


def test_footprints_match_the_requests_in_the_values(prod) -> None:
    """Each footprint is the sum of the requests its pod's containers get from the values (one table feeds both)."""
    monitoring = [c for c in ALL_COMPONENTS if c.namespace == MONITORING and c.charts(prod)]
    assert {c.name for c in monitoring} == {"kube-prometheus-stack", "loki", "tempo", "alloy", "opencost"}
    kps = _requests(prometheus_stack.values(prod))
    reloader = kps[("prometheusOperator", "prometheusConfigReloader", "resources")]
    sidecar = kps[("grafana", "sidecar", "resources")]
    main = {"prometheus": ("prometheus", "prometheusSpec", "resources"), "alertmanager": ("alertmanager", "alertmanagerSpec", "resources"),
            "grafana": ("grafana", "resources"), "prometheus-operator": ("prometheusOperator", "resources"),
            "kube-state-metrics": ("kube-state-metrics", "resources"), "node-exporter": ("prometheus-node-exporter", "resources")}
    extra = {"prometheus": [reloader], "alertmanager": [reloader], "grafana": [sidecar, sidecar]}
    footprints = {f.name: f for f in prometheus_stack.footprints(prod)}
    assert set(footprints) == set(main)
    for name, path in main.items():
        parts = [kps[path], *extra.get(name, [])]
        assert (footprints[name].cpu_millicores, footprints[name].memory_mib) == tuple(map(sum, zip(*parts))), name
    al = _requests(alloy.values(prod))
    (alloy_pod,) = alloy.footprints(prod)
    assert (alloy_pod.cpu_millicores, alloy_pod.memory_mib) == tuple(map(sum, zip(al[("alloy", "resources")], al[("configReloader", "resources")])))
    for component, values, prefix in ((loki, loki.values(prod), "loki-"), (tempo, tempo.values(prod), "tempo-")):
        requests = _requests(values)
        for f in component.footprints(prod):
            part = next(k for k in requests if k[0].lower() == f.name.removeprefix(prefix))
            assert (f.cpu_millicores, f.memory_mib) == requests[part], f.name
            assert f.replicas == values[part[0]]["replicas"], f.name
    oc = _requests(opencost.values(prod))
    (oc_pod,) = opencost.footprints(prod)
    assert (oc_pod.cpu_millicores, oc_pod.memory_mib) == oc[("opencost", "exporter", "resources")]
    for component in monitoring:
        assert all(f.namespace == MONITORING for f in component.footprints(prod))


def test_monitoring_pods_are_placed_on_the_monitoring_pool(prod) -> None:
    pool, _ = prod.pool_for_namespace(MONITORING)
    values = prometheus_stack.values(prod)
    for placed in (values["prometheus"]["prometheusSpec"], values["alertmanager"]["alertmanagerSpec"], values["grafana"],
                   values["prometheusOperator"], values["kube-state-metrics"], loki.values(prod)["write"],
                   tempo.values(prod)["ingester"], opencost.values(prod)["opencost"]):
        assert placed["nodeSelector"] == {POOL_LABEL: pool}


def test_footprint_volumes_follow_the_spec(prod) -> None:
    (prom,) = [f for f in prometheus_stack.footprints(prod) if f.name == "prometheus"]
    assert prom.volume_gib == prod.observability.prometheus.storage_gib
    assert prom.replicas == prod.observability.prometheus.replicas


def test_a_spec_without_a_loki_bucket_is_a_located_error(tmp_path) -> None:
    import subprocess
    import sys

    from tests.conftest import DELETE, REPO, spec_with

    spec = spec_with(tmp_path, [("observability.loki.bucket", DELETE)])
    proc = subprocess.run([sys.executable, "-m", "plinth.cli", "render", "--spec", str(spec), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert "loki.bucket" in proc.stderr and "Traceback" not in proc.stderr


def test_monitoring_footprints_fit_the_namespace_quota(platforms) -> None:
    """Requests, pods, volumes and PVCs of every monitoring pod stay within platform-monitoring's ResourceQuota
    (DaemonSets counted on every node of every pool at the autoscalers' maximum)."""
    from plinth.spec.types import cpu_millicores, memory_bytes

    for env, platform in platforms.items():
        quota = platform.namespaces[MONITORING].quota
        max_nodes = sum(pool.max_nodes for pool in platform.node_pools.values())
        pods = cpu = mem = volumes = storage = 0
        for component in ALL_COMPONENTS:
            for f in component.footprints(platform):
                if f.namespace != MONITORING:
                    continue
                count = max_nodes if f.per_node else f.replicas
                pods += count
                cpu += count * f.cpu_millicores
                mem += count * f.memory_mib * 1024 * 1024
                if f.volume_gib:
                    volumes += count
                    storage += count * f.volume_gib * 1024 ** 3
        assert pods <= quota.pods, (env, pods)
        assert cpu <= cpu_millicores(quota.requests_cpu), (env, cpu)
        assert mem <= memory_bytes(quota.requests_memory), (env, mem)
        assert volumes <= quota.persistent_volume_claims, (env, volumes)
        assert storage <= memory_bytes(quota.requests_storage), (env, storage)
