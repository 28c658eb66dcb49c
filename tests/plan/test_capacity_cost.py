"""A hand-computable plan: three workloads on the default pools on AWS, packed and priced exactly."""

from __future__ import annotations

import math

import pytest

from plinth.catalog.instances import catalog, catalog_data
from plinth.catalog.nodes import PROVIDERS, node_shape, reserved
from plinth.kube.pods import PodGroup
from plinth.kube.scheduling import HOST_KEY
from plinth.plan.capacity import plan_pools
from plinth.plan.cost import plan_cost
from plinth.plan.pricing import pricing

AGENT = PodGroup("DaemonSet", "platform-monitoring", "agent", None, {}, 0, 0, 100, 200, per_node=True, tolerations=(("", "Exists", ""),))
WEB = PodGroup("Deployment", "platform-apps", "web", None, {}, 3, 9, 3000, 4096)
DB = PodGroup("Cluster", "platform-data", "db", None, {"app": "db"}, 3, 3, 4000, 16384, volume_gib=100,
              anti_affinity=({"topologyKey": HOST_KEY, "labelSelector": {"matchLabels": {"app": "db"}}},),
              tolerations=(("plinth.dev/pool", "Equal", "NoSchedule"),))


def test_allocatable_follows_each_clouds_documented_formula(prod) -> None:
    # EKS: 11 MiB x 58 pods + 255 MiB + 100 MiB eviction; CPU 60 + 10 + 10 + 4 x 2.5 = 90 m on 8 vCPU.
    assert reserved("eks", 8, 32768, 58) == (90, 993)
    # GKE's documented tiers on a 150 GiB machine: 9.76 GiB + 100 MiB eviction (the docs' calculator: 9.8577 GiB).
    assert abs(reserved("gke", 16, 150 * 1024, 110)[1] - 9.8577 * 1024) < 1.5
    # AKS docs' examples: 8 GB and 30 pods -> 650 MB; 4 GB and 70 pods -> 25 % of memory (less than 1450 MB).
    assert reserved("aks", 2, 8192, 30)[1] == math.ceil(650e6 / 2**20) + 100
    assert reserved("aks", 2, 4096, 70) == (100, 1024 + 100)
    apps = node_shape("aws", prod.node_pools["apps"])
    assert (apps.instance.name, apps.allocatable_cpu_millicores, apps.allocatable_memory_mib, apps.max_pods) == ("m6i.2xlarge", 7910, 31775, 58)


def test_every_catalog_instance_has_a_price_and_every_price_a_source() -> None:
    for provider in PROVIDERS:
        data = pricing(provider).data
        assert {i.name for i in catalog(provider)} <= set(data["instances"]), provider
        assert data["basis"].startswith("public list prices") and data["taken"]
        for key in ("control_plane", "block_storage", "object_storage", "multi_region_object_storage", "cross_region_transfer",
                    "load_balancer", "nat_gateway", "internet_egress", "inter_zone_transfer"):
            assert data[key]["source"].startswith("https://"), (provider, key)
        assert data["instances_source"].startswith("https://")
        assert catalog_data(provider)["allocatable"]["source"].startswith("https://")
        assert catalog_data(provider)["max_pods_source"].startswith("https://")


def test_packing_of_a_hand_computable_inventory(prod) -> None:
    plan = plan_pools(prod, [AGENT, WEB, DB], "aws")
    apps, data = plan.pool("apps"), plan.pool("data")
    # apps node: 7910 m - 180 m (EKS add-ons) - 100 m (agent) = 7630 m: two 3000 m web pods per node.
    assert (apps.daemonset_cpu_millicores, apps.daemonset_memory_mib) == (280, 320)
    # min: 3 web pods, one per zone -> 3 nodes; max: 9 pods, 3 per zone, 2 per node -> 2 nodes per zone.
    assert (apps.at_min.nodes, apps.at_min.lower_bound, apps.at_max.nodes, apps.at_max.lower_bound) == (3, 3, 6, 6)
    assert apps.at_max.cpu_requested_millicores == 9 * 3000 + 6 * 280
    assert apps.at_max.cpu_utilisation == pytest.approx((9 * 3000 + 6 * 280) / (6 * 7910))
    # data: the DaemonSet tolerates everything and lands here too; db needs its toleration and one node per replica.
    assert (data.at_min.nodes, data.at_max.nodes, data.at_max.lower_bound, data.volume_gib) == (3, 3, 3, 300)
    assert apps.holds and data.holds
    assert plan.problems == ()


def test_cost_of_the_hand_computable_plan(prod) -> None:
    cost = plan_cost(prod, plan_pools(prod, [AGENT, WEB, DB], "aws"))
    lines = {line.item: line.usd_per_month for line in cost.lines_by_scenario["max_replicas"]}
    expected = {
        "pool apps": 6 * 0.384 * 730,
        "pool apps node disks": 6 * 200 * 0.08,
        "pool data": 3 * 0.768 * 730,
        "pool data node disks": 3 * 2048 * 0.08,
        "persistent volumes (data stores, telemetry)": 300 * 0.08,
        "EKS control plane": 0.10 * 730,
        # 500 GiB x 60 % full = 300 GiB; one full copy + 30 days x 5 % daily change = 2.5 copies.
        "postgres backups (cross-region, 30 d)": 300 * 2.5 * 0.023,
        "clickhouse backups (cross-region, 90 d)": 600 * 5.5 * 0.023,
        "Iceberg warehouse (multi-region)": 1000 * 5 * 0.046,
        "logs (Loki), 30 d": 2000 * 0.023,
        "traces (Tempo), 7 d": 500 * 0.023,
        "load balancer (gateway)": 0.0225 * 730 + 10_000 * 0.006,
        "NAT gateways": 3 * 0.045 * 730 + 5_000 * 0.045,
        "internet egress": 10_000 * 0.09,
        "inter-zone traffic": 20_000 * 0.02,
        # monthly: 30 days of 5 % changes + one full copy, of 300 + 600 GiB
        "cross-region backup copies": ((300 + 600) * 0.05 * 30 + (300 + 600) / 30) * 0.02,
    }
    assert lines == pytest.approx(expected)
    assert cost.total("max_replicas") == pytest.approx(6156.585)
    assert cost.total("min_replicas") == pytest.approx(6156.585 - 3 * (0.384 * 730 + 200 * 0.08))
    assert cost.design_usd_per_month == 12000 and cost.region == "us-east-1"


def test_a_pod_too_big_for_any_node_is_a_problem_not_a_node(prod) -> None:
    huge = PodGroup("Deployment", "platform-apps", "huge", None, {}, 1, 1, 64000, 1024)
    plan = plan_pools(prod, [huge], "aws")
    assert plan.pool("apps").at_max.nodes == 0
    assert any("huge" in p and "m6i.2xlarge" in p for p in plan.problems)


def test_a_pod_without_the_pools_toleration_is_reported(prod) -> None:
    untolerated = PodGroup("Deployment", "platform-data", "x", None, {}, 1, 1, 100, 100)
    plan = plan_pools(prod, [untolerated], "aws")
    assert plan.problems == ("Deployment/platform-data/x: does not tolerate the taints of pool 'data'",)
    assert plan.pool("data").at_max.pods == 0
