"""Node objects shaped like the spec's pools, for kwok to run as fake kubelets.

Each pool gets ``nodes`` (or ``min_nodes``/``max_nodes``) Nodes, spread round-robin over the cluster's
zones, labelled with zone, region, pool, hostname and the instance type, tainted as the spec says, with
capacity and allocatable from the planner's node model (``plinth.catalog.nodes.node_shape``: the same
allocatable formula and max-pods the planner packs against).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from plinth.catalog.nodes import node_shape
from plinth.kube.scheduling import HOST_KEY, POOL_LABEL, ZONE_KEY
from plinth.kube.yamlio import dump_yaml
from plinth.spec.model import Platform, Provider

if TYPE_CHECKING:
    from plinth.sim.cluster import SimCluster

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
"""kwok manages the nodes carrying this annotation with value ``fake`` (``--manage-nodes-with-annotation-selector``)."""
KWOK_SELECTOR = f"{KWOK_ANNOTATION}=fake"
REGION_KEY = "topology.kubernetes.io/region"
INSTANCE_TYPE_KEY = "node.kubernetes.io/instance-type"

NodeCount = Literal["spec", "min", "max"]


def pool_node_count(platform: Platform, pool_name: str, count: NodeCount) -> int:
    """How many nodes a pool gets: the spec's ``nodes``, or its autoscaler bounds."""
    pool = platform.node_pools[pool_name]
    return {"spec": pool.nodes, "min": pool.min_nodes, "max": pool.max_nodes}[count]


def node_name(pool: str, index: int) -> str:
    """``<pool>-<n>``, n from 0."""
    return f"{pool}-{index}"


def spec_nodes(platform: Platform, *, provider: Provider | None = None, count: NodeCount = "spec",
               counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The Node objects of every pool of an environment on a cloud (default: the spec's provider); ``counts``
    (pool -> nodes, e.g. the planner's) overrides ``count`` for the pools it names."""
    provider = provider or platform.cluster.provider
    zones = platform.cluster.zones
    nodes: list[dict[str, Any]] = []
    for pool_name in sorted(platform.node_pools):
        pool = platform.node_pools[pool_name]
        shape = node_shape(provider, pool)
        number = (counts or {}).get(pool_name, pool_node_count(platform, pool_name, count))
        for index in range(number):
            name = node_name(pool_name, index)
            capacity = {
                "cpu": f"{shape.capacity_cpu_millicores}m",
                "memory": f"{shape.capacity_memory_mib}Mi",
                "pods": str(shape.max_pods),
                "ephemeral-storage": f"{pool.disk_gib}Gi",
            }
            allocatable = {
                "cpu": f"{shape.allocatable_cpu_millicores}m",
                "memory": f"{shape.allocatable_memory_mib}Mi",
                "pods": str(shape.max_pods),
                "ephemeral-storage": f"{pool.disk_gib}Gi",
            }
            node: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {
                        "kubernetes.io/arch": "amd64",
                        "kubernetes.io/os": "linux",
                        HOST_KEY: name,
                        ZONE_KEY: zones[index % len(zones)],
                        REGION_KEY: platform.cluster.region,
                        POOL_LABEL: pool_name,
                        INSTANCE_TYPE_KEY: shape.instance.name,
                        "type": "kwok",
                    },
                },
                "spec": {"taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints]},
                "status": {
                    "capacity": capacity,
                    "allocatable": allocatable,
                    "nodeInfo": {
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                        "kubeletVersion": "fake",
                        "kubeProxyVersion": "fake",
                        "containerRuntimeVersion": "kwok",
                        "osImage": "kwok",
                        "kernelVersion": "kwok",
                        "bootID": "",
                        "machineID": "",
                        "systemUUID": "",
                    },
                },
            }
            if not pool.taints:
                del node["spec"]["taints"]
            nodes.append(node)
    return nodes


def add_nodes(cluster: "SimCluster", nodes: list[dict[str, Any]]) -> None:
    """Create the Node objects, then set their status (capacity, allocatable, nodeInfo) through the status subresource.

    kwok then keeps them Ready (its node stages keep the status it finds and add the Ready conditions).
    """
    if not nodes:
        return
    bare = [{k: v for k, v in node.items() if k != "status"} for node in nodes]
    cluster.kubectl("apply", "--server-side", "--field-manager=plinth-sim", "-f", "-",
                    input_text=dump_yaml({"apiVersion": "v1", "kind": "List", "items": bare}))
    for node in nodes:
        patch = {"status": node["status"]}
        cluster.kubectl("patch", "node", node["metadata"]["name"], "--subresource=status", "--type=merge",
                        "-p", json.dumps(patch))
