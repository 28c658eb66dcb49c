"""Shared pieces of the data-store components: pod placement on the data pool and the data-pod labels (where
backups go is the spec layer's ``derived.backup_target``; their network flows are each component's ``flows``).

Every data store runs on the data node pool (taint + toleration + node selector), spread hard over
the zones, one pod per node (required anti-affinity), and carries ``plinth.dev/datastore=<store>``.
"""

from __future__ import annotations

from typing import Any

from plinth.kube.conventions import DATASTORE_LABEL, DATASTORE_PORTS, uses_label
from plinth.kube.network import NETPOL_API, peer, ports
from plinth.kube.objects import k8s_object, labels
from plinth.kube.scheduling import HOST_KEY, ZONE_KEY, pool_placement, spread_constraints
from plinth.spec.model import ContainerResources, Platform

DATA_NAMESPACE = "platform-data"
APPS_NAMESPACE = "platform-apps"
OPERATOR_LABEL = "plinth.dev/operator"
"""Label the data operators' pods carry (set through each chart's pod labels); policies select on it."""
API_SERVER_PORTS = (443, 6443)
"""Ports of the Kubernetes API server (managed control planes answer on 443, self-run ones on 6443)."""
OBJECT_STORE_PORTS = (443,)
"""HTTPS to the cloud's object storage (backups, WAL archive)."""


def datastore_labels(store: str) -> dict[str, str]:
    """The label every pod of a data store carries (``plinth.dev/datastore``)."""
    return {DATASTORE_LABEL: store}


def placement(platform: Platform) -> dict[str, Any]:
    """nodeSelector + tolerations putting pods on the data pool."""
    return pool_placement(platform, DATA_NAMESPACE)


def zone_spread(match_labels: dict[str, str]) -> list[dict[str, Any]]:
    """Hard spread over zones (max skew 1) and soft over nodes."""
    return spread_constraints(match_labels)


def required_anti_affinity(match_labels: dict[str, str]) -> dict[str, Any]:
    """At most one pod of the set per node: losing a node loses one replica, never two."""
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": dict(match_labels)}, "topologyKey": HOST_KEY},
    ]}}


def operator_placement(platform: Platform) -> dict[str, Any]:
    """Values keys most operator charts share: nodeSelector and tolerations of the data pool."""
    return placement(platform)


def resources(res: ContainerResources) -> dict[str, Any]:
    """Kubernetes container resources from the spec."""
    return {"requests": {"cpu": res.requests_cpu, "memory": res.requests_memory},
            "limits": {"cpu": res.limits_cpu, "memory": res.limits_memory}}


def chart_resources(cpu_millicores: int, memory_mib: int) -> dict[str, Any]:
    """Requests (and a memory limit twice the request) of an operator pod, as set in chart values."""
    return {"requests": {"cpu": f"{cpu_millicores}m", "memory": f"{memory_mib}Mi"}, "limits": {"memory": f"{memory_mib * 2}Mi"}}


__all__ = ["DATA_NAMESPACE", "ZONE_KEY", "datastore_labels", "placement", "zone_spread", "required_anti_affinity",
           "resources", "chart_resources", "OPERATOR_LABEL"]

