"""The parts of `plinth sim sync` that need no cluster: the sources Argo CD is served, and the reports."""

from __future__ import annotations

import json
from pathlib import Path

from plinth.components.delivery import GATEWAY_PLUGIN
from plinth.docs.report import ReportInputs, report_html
from plinth.render.pipeline import render_platform
from plinth.sim.programs import inside_root
from plinth.sim.report import read_reports, write_report
from plinth.sim.sources import Sources, rewrite_objects
from plinth.spec.model import Platform

SYNC_REPORT = {
    "report": "sim-sync", "environment": "prod", "organisations": None, "figures": {"nodes": 15},
    "sync": {"reason": "nothing changed for 420 s", "seconds": 1234.5, "applications": [
        {"name": "app-services", "wave": 2, "sync": "Synced", "health": "Progressing", "operation_message": "",
         "health_message": "", "conditions": [], "unhealthy": ["Rollout/platform-apps/auth: Progressing: waiting for pods"]},
        {"name": "namespaces", "wave": -10, "sync": "Synced", "health": "Healthy", "operation_message": "",
         "health_message": "", "conditions": [], "unhealthy": []}]},
    "cluster": {"pods": 40, "running": 39, "pending": 1, "pools": [
        {"pool": "apps", "pods": 30, "nodes": 10, "nodes_used": 9, "planned_nodes_at_min": 4, "planned_nodes_at_max": 9,
         "cpu_requested_millicores": 9000, "cpu_allocatable_millicores": 38000, "memory_requested_mib": 1, "memory_allocatable_mib": 2,
         "zones": {"us-east-1a": 10}}],
        "findings": [{"kind": "scheduling", "object": "Pod/platform-data/x", "message": "0/15 nodes are available", "source": "kafka"}]},
}
ZONE_REPORT = {
    "report": "sim-zone-loss", "environment": "prod", "organisations": None,
    "zone_loss": {"zone": "us-east-1a", "nodes_lost": ["apps-0"], "evicted": 3, "pods_lost_with_nodes": 0, "held": False,
                  "eviction_refusals": ["platform-data/x: Cannot evict pod as it would violate the pod's disruption budget."],
                  "targets": [{"name": "auth", "promise": "service keeps >= 2/3 of its minimum 3", "needed": 2, "before": 3,
                               "right_after": 1, "recovered": 2, "held": False}],
                  "pending": [{"pod": "platform-data/x", "reason": "Unschedulable: 0/10 nodes are available"}]},
}


def test_argo_sources_point_at_loopback_and_the_plugin_at_a_file(prod: Platform, tmp_path: Path) -> None:
    rendered = [r.obj for r in render_platform(prod)]
    sources = Sources(tmp_path, 9418, 8879)
    objects = rewrite_objects(rendered, sources, {GATEWAY_PLUGIN: "/opt/plugin"})
    apps = [o for o in objects if o.get("kind") == "Application"]
    assert apps and all(o["spec"]["source"]["repoURL"] in (sources.git_url, sources.chart_url) for o in apps)
    rollouts = next(o for o in apps if o["metadata"]["name"] == "argo-rollouts")
    plugins = rollouts["spec"]["source"]["helm"]["valuesObject"]["controller"]["trafficRouterPlugins"]
    assert plugins == [{"name": GATEWAY_PLUGIN, "location": "file:///opt/plugin"}]
    assert any(r.field.endswith("trafficRouterPlugins[0].location") and r.original.startswith("https://github.com/")
               for r in sources.rewrites)
    original = next(o for o in rendered if o.get("kind") == "Application" and o["metadata"]["name"] == "argo-rollouts")
    assert original["spec"]["source"]["repoURL"].startswith("https://"), "the rendered objects themselves are not changed"


def test_reports_round_trip_and_show_in_plinth_report(platforms: dict[str, Platform], tmp_path: Path) -> None:
    write_report(SYNC_REPORT, tmp_path / "sync-prod.json")
    write_report(ZONE_REPORT, tmp_path / "zone-loss-prod.json")
    (tmp_path / "other.json").write_text(json.dumps({"report": "something else"}))
    reports = read_reports(tmp_path)
    assert [r["report"] for r in reports] == ["sim-sync", "sim-zone-loss"]
    page = report_html(ReportInputs(platforms=platforms, objects_by_env={}, validation_problems=None, sims=reports))
    section = page[page.index('<section id="sim">'):]
    section = section[:section.index("</section>")]
    for needle in ("app-services", "Rollout/platform-apps/auth: Progressing: waiting for pods", "0/15 nodes are available",
                   "Zone loss us-east-1a", "not held", "would violate the pod&#x27;s disruption budget",
                   "Unschedulable: 0/10 nodes are available", "4-9"):
        assert needle in section, needle


def test_report_says_when_the_sim_has_not_run(platforms: dict[str, Platform]) -> None:
    page = report_html(ReportInputs(platforms=platforms, objects_by_env={}, validation_problems=None))
    assert "plinth sim sync --zone-loss ZONE" in page


def test_volume_refresh_paths_stay_inside_the_programs_root(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "run").symlink_to("/run")  # as on Debian: absolute, so it must be followed inside the root
    (tmp_path / "var" / "lib").symlink_to("../run")
    assert inside_root(tmp_path, "/var/run/secrets/kubernetes.io/serviceaccount/token") == \
        tmp_path / "run" / "secrets" / "kubernetes.io" / "serviceaccount" / "token"
    assert inside_root(tmp_path, "/var/lib/x") == tmp_path / "run" / "x"
    assert inside_root(tmp_path, "/etc/hosts") == tmp_path / "etc" / "hosts"
