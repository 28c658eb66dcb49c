"""The Iceberg catalog (Apache Polaris' chart, as the spec configures it) in the simulated cluster: the real
controller-manager creates its pods, the real scheduler puts them on the pool the spec gives the data namespace,
one per zone, and its PodDisruptionBudget and topology spread select exactly those pods (the disruption
controller's own count, and the sim's selector findings). Needs ../shared/charts (the Polaris chart)."""

from __future__ import annotations

import time

import pytest

from plinth.charts.workflow import hydrate_spec
from plinth.components import iceberg_catalog as ic
from plinth.render.pipeline import render_platform
from plinth.sim.apply import APPLIED, apply_objects
from plinth.sim.findings import collect, selector_findings
from plinth.sim.kubeclient import PODS, Resource, cluster_client
from plinth.spec.model import Platform
from tests.conftest import CHART_DIR, DEFAULT_SPEC

pytestmark = pytest.mark.sim

PDBS = Resource("policy", "v1", "poddisruptionbudgets")


def test_polaris_pods_land_on_the_data_pool_one_per_zone_with_their_budget(sim_cluster, prod: Platform) -> None:
    if not CHART_DIR.is_dir():
        pytest.skip("needs ../shared/charts (the Polaris chart; CI always has it)")
    rendered = render_platform(prod)
    hydration = hydrate_spec(DEFAULT_SPEC, {"prod": prod}, rendered, CHART_DIR)
    namespaces = [r.obj for r in rendered if r.component == "namespaces"]
    polaris = [h.obj for h in hydration.objects if h.application == ic.RELEASE and h.environment == "prod" and not h.hook_phases]
    deployment = next(o for o in polaris if o["kind"] == "Deployment")
    budget = next(o for o in polaris if o["kind"] == "PodDisruptionBudget")
    report = apply_objects(sim_cluster, namespaces + polaris)
    status = {r.key: r.status for r in report.results}
    assert status[f"Deployment/{ic.NAMESPACE}/{deployment['metadata']['name']}"] == APPLIED
    assert status[f"PodDisruptionBudget/{ic.NAMESPACE}/{budget['metadata']['name']}"] == APPLIED

    client = cluster_client(str(sim_cluster.folder), sim_cluster.server, sim_cluster.netns)
    replicas = deployment["spec"]["replicas"]
    selector = ",".join(f"{k}={v}" for k, v in ic.SERVER_LABELS.items())
    deadline = time.monotonic() + 180
    while True:
        pods = client.list(PODS, ic.NAMESPACE, label_selector=selector)
        pdb = client.get(PDBS, budget["metadata"]["name"], ic.NAMESPACE) or {}
        scheduled = [p for p in pods if p["spec"].get("nodeName")]
        if len(scheduled) == replicas and (pdb.get("status") or {}).get("expectedPods") == replicas:
            break
        assert time.monotonic() < deadline, (f"{len(scheduled)}/{replicas} Polaris pods scheduled, PDB status {pdb.get('status')}: "
                                             + "; ".join(str(c) for p in pods for c in (p.get("status") or {}).get("conditions") or []))
        time.sleep(2)

    assert replicas == prod.datastores.iceberg.catalog.replicas
    nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in sim_cluster.get_json("nodes")["items"]}
    pool, _ = prod.pool_for_namespace(ic.NAMESPACE)
    assert {nodes[p["spec"]["nodeName"]]["plinth.dev/pool"] for p in scheduled} == {pool}
    assert sorted(nodes[p["spec"]["nodeName"]]["topology.kubernetes.io/zone"] for p in scheduled) == sorted(prod.cluster.zones)
    # The disruption controller counts the pods the budget's selector matches: all of them, one may go at a time.
    assert pdb["status"]["expectedPods"] == replicas
    assert pdb["spec"].get("maxUnavailable") == 1
    for pod in scheduled:
        constraints = pod["spec"].get("topologySpreadConstraints") or []
        assert [c["topologyKey"] for c in constraints] == ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
        assert all(c.get("labelSelector") for c in constraints), constraints  # the chart fills in the pods' own labels
    findings = [f for f in selector_findings(collect(sim_cluster)) if f"/{ic.NAMESPACE}/{ic.RELEASE}" in f.object or ic.RELEASE in f.source]
    assert findings == []
