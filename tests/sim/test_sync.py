"""`plinth sim sync` end to end: prod's tree synced by the real Argo CD into the real control plane on nodes
shaped like prod's pools, the cluster's findings read back, then one zone lost.

Needs what every simulated-cluster test needs (root, `ip`, the control plane built: see conftest), plus Argo CD
built from the Go module proxy (`python -m plinth.sim.operators argocd`, which `scripts/setup.sh test` runs) and
../shared/charts (the chart repository Argo CD reads). Skips, saying which, when one is missing. One run takes
15-40 minutes on two shared cores.
"""

from __future__ import annotations

import pytest

from plinth.render.pipeline import render_platform
from plinth.sim.operators import built_binary, operator_version
from plinth.sim.report import write_report
from plinth.sim.run import RunOptions, RunResult, report_payloads, run
from plinth.sim.toolchain import SimVersions
from plinth.sim.zoneloss import targets
from plinth.spec.model import Platform
from tests.conftest import CHART_DIR, DEFAULT_SPEC

pytestmark = [pytest.mark.sim, pytest.mark.sim_sync]


@pytest.fixture(scope="module")
def synced(sim_versions: SimVersions, prod: Platform, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """One sync of prod, its findings and the loss of prod's first zone (reports written as the command writes them)."""
    if not CHART_DIR.is_dir():
        pytest.skip("needs ../shared/charts (the pinned chart archives Argo CD is served; CI always has them)")
    if built_binary("argocd", operator_version(prod, "argocd")) is None:
        pytest.skip("Argo CD is not built: `python -m plinth.sim.operators argocd` (before the sync test)")
    options = RunOptions(spec=DEFAULT_SPEC, environment="prod", cluster_name="test", zone=prod.cluster.zones[0],
                         timeout_seconds=3000, quiet_seconds=480)
    result = run(options, prod, sim_versions, log=lambda line: print(line, flush=True))
    out = tmp_path_factory.mktemp("sim-reports")
    for what, payload in report_payloads(result, "prod", None).items():
        print(f"report: {write_report(payload, out / f'{what}-prod.json')}", flush=True)
    return result


def test_argo_cd_creates_and_reports_every_application(synced: RunResult, prod: Platform) -> None:
    expected = {r.obj["metadata"]["name"] for r in render_platform(prod) if r.obj.get("kind") == "Application"}
    reported = {app["name"] for app in synced.sync["applications"]}
    assert reported == expected
    for app in synced.sync["applications"]:
        if app["sync"] != "Synced" or app["health"] != "Healthy":
            assert app["operation_message"] or app["health_message"] or app["conditions"] or app["unhealthy"], app


def test_every_application_synced_and_healthy(synced: RunResult) -> None:
    bad = [f"{a['name']}: {a['sync']}/{a['health']}: {a['operation_message'] or a['health_message']} {a['unhealthy'][:3]}"
           for a in synced.sync["applications"] if a["sync"] != "Synced" or a["health"] != "Healthy"]
    assert not bad, "\n".join(bad)


def test_every_pod_runs_or_has_the_schedulers_reason(synced: RunResult) -> None:
    cluster = synced.cluster
    assert cluster["pods"] > 0
    scheduling = [f for f in cluster["findings"] if f["kind"] == "scheduling"]
    assert cluster["pending"] <= len(scheduling)
    for finding in scheduling:
        assert finding["message"], finding
    assert not scheduling, "\n".join(f"{f['object']}: {f['message']}" for f in scheduling)


def test_pools_used_within_the_plan(synced: RunResult) -> None:
    for pool in synced.cluster["pools"]:
        assert pool["planned_nodes_at_min"] is not None, pool
        assert pool["cpu_requested_millicores"] <= pool["cpu_allocatable_millicores"], pool


def test_zone_loss_counts_every_promise(synced: RunResult, prod: Platform) -> None:
    zone = synced.zone_loss
    assert zone is not None
    assert zone["nodes_lost"] and all(zone["nodes_lost"])
    assert [t["name"] for t in zone["targets"]] == [t.name for t in targets(prod)]
    for target in zone["targets"]:
        assert target["before"] >= target["needed"], target
    payloads = report_payloads(synced, "prod", None)
    assert payloads["zone-loss"]["zone_loss"]["zone"] == prod.cluster.zones[0]


def test_zone_loss_keeps_the_promises(synced: RunResult) -> None:
    zone = synced.zone_loss
    assert zone is not None
    failed = [f"{t['name']}: {t['right_after']} < {t['needed']} ({t['promise']})" for t in zone["targets"] if not t["held"]]
    assert not failed, "\n".join(failed)


def test_every_pod_has_the_config_maps_and_secrets_it_names(synced: RunResult) -> None:
    missing = [f"{f['object']} ({f['source']}): {f['message']}" for f in synced.cluster["findings"] if f["kind"] == "mount"]
    assert not missing, "\n".join(missing)
