"""What the cloud gives a real cluster and kwok does not: disks and load balancers.

- **Disks.** Each cloud's CSI driver provisions a zonal disk for a PersistentVolumeClaim: with
  ``WaitForFirstConsumer`` (every cloud's default class) in the zone of the node the scheduler picked
  (``volume.kubernetes.io/selected-node``), else in a zone of its choosing. ``provision`` does the same for
  every StorageClass whose provisioner has no driver running here: it creates the PersistentVolume
  (capacity, access modes, reclaim policy, a CSI source naming the class's provisioner, node affinity to the
  zone) pre-bound to the claim; the controller-manager's PV controller binds it, and from then on the
  scheduler keeps the claim's pods in that zone, as on the cloud. Released volumes of a ``Delete`` class are
  deleted, as the driver would.
- **Default StorageClass.** ``DEFAULT_CLASSES``: the class each managed cluster is created with (name,
  provisioner, whether it is marked default), created when the tree does not define it.
- **Load balancers.** A Service of type LoadBalancer gets an address from 192.0.2.0/24 (TEST-NET-1,
  RFC 5737): the cloud controller's part.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from plinth.sim.kubeclient import NODES, PVCS, PVS, SERVICES, STORAGECLASSES, ApiError, KubeClient

PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SIM_PROVISIONER_MARK = "plinth.dev/sim-provisioned"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
ZONE_KEY = "topology.kubernetes.io/zone"
LB_NETWORK = ipaddress.ip_network("192.0.2.0/24")

DEFAULT_CLASSES: dict[str, dict[str, Any]] = {
    # EKS: the gp2 class exists on every cluster; since Kubernetes 1.30 new clusters no longer mark it default.
    "aws": {"name": "gp2", "provisioner": "kubernetes.io/aws-ebs", "default": False, "parameters": {"type": "gp2", "fsType": "ext4"}},
    # (kubernetes.io/aws-ebs is migrated to the ebs.csi.aws.com driver: the PV controller hands its claims to that name.)
    "gcp": {"name": "standard-rwo", "provisioner": "pd.csi.storage.gke.io", "default": True, "parameters": {"type": "pd-balanced"}},
    "azure": {"name": "default", "provisioner": "disk.csi.azure.com", "default": True, "parameters": {"skuname": "StandardSSD_LRS"}},
}
"""The StorageClass each managed cluster comes with (what a PVC without a class gets, if it is the default)."""


def default_class_object(provider: str) -> dict[str, Any]:
    """The managed cluster's own StorageClass as an object."""
    row = DEFAULT_CLASSES[provider]
    annotations = {DEFAULT_ANNOTATION: "true"} if row["default"] else {}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": row["name"], "annotations": annotations, "labels": {"plinth.dev/sim": "cloud-default"}},
            "provisioner": row["provisioner"], "parameters": row["parameters"], "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True}


def _node_zones(client: KubeClient) -> dict[str, str]:
    return {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(ZONE_KEY, "") for n in client.list(NODES)}


def _pv_for(claim: dict[str, Any], storage_class: dict[str, Any], zone: str, driver: str) -> dict[str, Any]:
    meta, spec = claim["metadata"], claim.get("spec", {})
    name = f"pvc-{meta['uid']}"
    pv: dict[str, Any] = {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: driver, SIM_PROVISIONER_MARK: "true"},
                     "labels": {ZONE_KEY: zone} if zone else {}},
        "spec": {
            "capacity": {"storage": spec.get("resources", {}).get("requests", {}).get("storage", "1Gi")},
            "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
            "storageClassName": storage_class["metadata"]["name"],
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                         "name": meta["name"], "uid": meta["uid"]},
            "csi": {"driver": driver, "volumeHandle": name},
        },
    }
    if zone:
        pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": ZONE_KEY, "operator": "In", "values": [zone]}]}]}}
    return pv


def provision(client: KubeClient, running_drivers: frozenset[str] = frozenset()) -> list[str]:
    """One pass of the disk provisioner; returns what it did (``created pv/... for ns/claim in zone``)."""
    done: list[str] = []
    classes = {c["metadata"]["name"]: c for c in client.list(STORAGECLASSES)}
    zones: dict[str, str] | None = None
    existing = {pv["metadata"]["name"]: pv for pv in client.list(PVS)}
    round_robin = 0
    for claim in client.list(PVCS):
        meta, spec, status = claim["metadata"], claim.get("spec", {}), claim.get("status", {})
        if status.get("phase") != "Pending" or spec.get("volumeName"):
            continue
        storage_class = classes.get(spec.get("storageClassName") or "")
        if storage_class is None or storage_class["provisioner"] in running_drivers:
            continue
        if storage_class["provisioner"] == "kubernetes.io/no-provisioner":
            continue
        annotations = meta.get("annotations") or {}
        waits = storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
        if waits and SELECTED_NODE not in annotations:
            continue
        if STORAGE_PROVISIONER not in annotations and "volume.beta.kubernetes.io/storage-provisioner" not in annotations:
            continue  # the PV controller has not handed the claim to an external provisioner yet
        if f"pvc-{meta['uid']}" in existing:
            continue
        if zones is None:
            zones = _node_zones(client)
        if waits:
            zone = zones.get(annotations[SELECTED_NODE], "")
        else:
            choices = sorted({z for z in zones.values() if z})
            zone = choices[round_robin % len(choices)] if choices else ""
            round_robin += 1
        # The PV controller names the provisioner that must act (the CSI driver an in-tree class migrated to).
        driver = annotations.get(STORAGE_PROVISIONER) or annotations.get("volume.beta.kubernetes.io/storage-provisioner", "")
        pv = _pv_for(claim, storage_class, zone, driver)
        try:
            client.create(PVS, pv)
        except ApiError as exc:
            if exc.status != 409:
                raise
            continue
        done.append(f"created PersistentVolume {pv['metadata']['name']} for {meta['namespace']}/{meta['name']} in {zone or 'no zone'}")
    for name, pv in existing.items():
        annotations = pv["metadata"].get("annotations") or {}
        if (annotations.get(SIM_PROVISIONER_MARK) == "true" and pv.get("status", {}).get("phase") == "Released"
                and pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete"):
            client.delete(PVS, name)
            done.append(f"deleted released PersistentVolume {name}")
    return done


def assign_load_balancers(client: KubeClient) -> list[str]:
    """Give every LoadBalancer Service without an address one from TEST-NET-1."""
    done: list[str] = []
    services = client.list(SERVICES)
    used = {ingress.get("ip") for s in services for ingress in (s.get("status", {}).get("loadBalancer", {}).get("ingress") or [])}
    pool = (str(ip) for ip in LB_NETWORK.hosts() if str(ip) not in used)
    for service in services:
        if service.get("spec", {}).get("type") != "LoadBalancer":
            continue
        if service.get("status", {}).get("loadBalancer", {}).get("ingress"):
            continue
        ip = next(pool, None)
        if ip is None:
            break
        meta = service["metadata"]
        client.patch(SERVICES, meta["name"], {"status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}},
                     namespace=meta["namespace"], sub="status")
        done.append(f"load balancer {ip} for Service {meta['namespace']}/{meta['name']}")
    return done
