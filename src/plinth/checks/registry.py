"""Every check, registered explicitly (a plain tuple); docs/checks.md is generated from it."""

from __future__ import annotations

from plinth.checks import argo, capacity, delivery, ha, iceberg, managed, network, observability, promises, quotas, security, tree, versions
from plinth.checks.engine import Check

ALL_CHECKS: tuple[Check, ...] = (
    *tree.CHECKS,
    *ha.CHECKS,
    *promises.CHECKS,
    *managed.CHECKS,
    *iceberg.CHECKS,
    *capacity.CHECKS,
    *quotas.CHECKS,
    *delivery.CHECKS,
    *network.CHECKS,
    *argo.CHECKS,
    *versions.CHECKS,
    *observability.CHECKS,
    *security.CHECKS,
)
"""Every check `plinth check` runs, in docs order."""


def _unique() -> None:
    ids = [c.id for c in ALL_CHECKS]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RuntimeError(f"check IDs registered twice: {duplicates}")


_unique()
