"""A zone lost under the stores the stand-in operators build (Kafka, ClickHouse and Keeper, with the labels,
spread, claims and budgets of their operators' sources): the real scheduler places them on prod's nodes, the
drain goes through the Eviction API (PodDisruptionBudgets honoured), the zone's nodes are deleted, and the
promises are counted. Needs ../shared/charts (the operators' CRDs)."""

from __future__ import annotations

import os
import time

import pytest

from plinth.sim.apply import apply_objects
from plinth.sim.cloud import assign_load_balancers, provision
from plinth.sim.cluster import running_cluster
from plinth.sim.kubeclient import PODS, cluster_client
from plinth.sim.nodes import add_nodes, spec_nodes
from plinth.sim.standin_operators import clickhouse_pass, strimzi_pass
from plinth.sim.toolchain import SimVersions
from plinth.sim.zoneloss import lose_zone
from plinth.spec.model import Platform

pytestmark = pytest.mark.sim

COMPONENTS = {"namespaces", "storage-classes", "kafka", "clickhouse"}
STORES = ("kafka brokers", "kafka controllers", "clickhouse", "clickhouse keeper")


def test_losing_a_zone_keeps_the_stores_quorum(sim_versions: SimVersions, prod: Platform, prod_charts) -> None:
    rendered, hydration = prod_charts
    crds = [o.obj for o in hydration.objects if o.application in ("strimzi-kafka-operator", "clickhouse-operator")
            and o.obj["kind"] == "CustomResourceDefinition"]
    objects = [r.obj for r in rendered if r.component in COMPONENTS and r.obj["kind"] not in ("NetworkPolicy", "CronJob", "ExternalSecret",
                                                                                             "PodMonitor")]
    with running_cluster(f"z{os.getpid()}", sim_versions) as cluster:
        add_nodes(cluster, spec_nodes(prod))
        apply_objects(cluster, crds + objects)
        client = cluster_client(str(cluster.folder), cluster.server, cluster.netns)

        def tick() -> None:
            for step in (provision, assign_load_balancers, clickhouse_pass, strimzi_pass):
                step(client)

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            tick()
            pods = client.list(PODS, "platform-data")
            if pods and all((p.get("status") or {}).get("phase") == "Running" for p in pods) and len(pods) >= 8:
                break
            time.sleep(3)
        report = lose_zone(client, prod, prod.cluster.zones[0], drain_seconds=120, settle_seconds=30, recovery_timeout=300,
                           tick=tick, log=lambda line: print(line, flush=True))
    print(report.to_dict(), flush=True)
    results = {t.name: t for t in report.targets}
    assert report.nodes_lost
    for name in STORES:
        target = results[name]
        print(f"{name}: needs {target.needed}, before {target.before} {target.zones_before}, right after {target.right_after}, "
              f"recovered {target.recovered} {target.zones_after}", flush=True)
        assert target.before >= target.needed, target
        assert target.held, target
