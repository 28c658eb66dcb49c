"""ServiceAccounts that act as a cloud identity: the identity table's account name, its cloud annotation."""

from __future__ import annotations

from plinth.kube.objects import k8s_object, labels
from plinth.spec import derived
from plinth.spec.model import Platform


def identity_service_account(platform: Platform, identity_name: str, component: str) -> dict:
    """The ServiceAccount of workload identity ``identity_name`` (``derived.WORKLOAD_IDENTITIES``), annotated with the
    cloud identity it acts as (``derived.identity_annotations``)."""
    identity = derived.workload_identity(platform, identity_name)
    return k8s_object("v1", "ServiceAccount", identity.service_account, identity.namespace,
                      labels=labels(component, identity.service_account),
                      annotations=derived.identity_annotations(platform, identity_name))
