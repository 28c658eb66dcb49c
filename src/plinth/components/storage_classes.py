"""The StorageClasses the data stores' volumes name (``VolumeSpec.storage_class``, ``plinth-ssd`` by default), on
the spec's cloud: SSD disks from the cloud's CSI driver, created in the zone of the pod that claims them
(``WaitForFirstConsumer``), expandable in place, and kept when their claim is deleted.

``Retain``: a claim deleted by mistake (or by an operator scaling down) leaves its disk for a restore instead of
deleting it with the data; the data stores' own backups remain the recovery path, this only removes a way to lose
a replica's data in one command.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from plinth.components.base import Component, KubeObject
from plinth.kube.objects import k8s_object, labels
from plinth.spec.model import Platform, VolumeSpec

NAME = "storage-classes"
PROVISIONERS: dict[str, tuple[str, dict[str, str]]] = {
    "aws": ("ebs.csi.aws.com", {"type": "gp3", "encrypted": "true"}),
    "gcp": ("pd.csi.storage.gke.io", {"type": "pd-ssd"}),
    "azure": ("disk.csi.azure.com", {"skuName": "Premium_LRS"}),
}
"""Cloud -> CSI driver and its parameters for an SSD disk (EBS gp3, encrypted; GCE PD SSD; Azure Premium SSD).
Sources: https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md,
https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/gce-pd-csi-driver,
https://learn.microsoft.com/azure/aks/azure-csi-disk-storage-provision."""


def _volumes(node: Any) -> Iterator[VolumeSpec]:
    if isinstance(node, VolumeSpec):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _volumes(getattr(node, name))
    elif isinstance(node, dict):
        for value in node.values():
            yield from _volumes(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _volumes(value)


def storage_class_names(platform: Platform) -> list[str]:
    """Every StorageClass a volume of the spec names."""
    return sorted({v.storage_class for v in _volumes(platform)})


def objects(platform: Platform) -> list[KubeObject]:
    """One StorageClass per name the spec's volumes use, on the spec's cloud."""
    provisioner, parameters = PROVISIONERS[platform.cluster.provider]
    return [k8s_object("storage.k8s.io/v1", "StorageClass", name, labels=labels(NAME, name), provisioner=provisioner,
                       parameters=dict(parameters), reclaimPolicy="Retain", volumeBindingMode="WaitForFirstConsumer",
                       allowVolumeExpansion=True)
            for name in storage_class_names(platform)]


COMPONENT = Component(
    name=NAME,
    namespace=None,
    objects=objects,
    sync_wave=-10,
    cluster_kinds=(("storage.k8s.io", "StorageClass"),),
)
