"""Version checks: the spec's Kubernetes minor against upstream end of life and the support calendar of
the cloud it runs on (``cluster.provider``), from the one table ``plinth.catalog.kube_versions``.

The day support is judged at is ``$PLINTH_TODAY`` (YYYY-MM-DD) when set, else today; the pure function
``version_findings`` takes it as a parameter. Every finding names the dates and where they come from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from plinth.catalog.kube_versions import (
    PROVIDER_ORDER, Dated, extended_support, kube_versions, support_status, supported_everywhere, today,
)
from plinth.checks.engine import Check, CheckContext, Finding
from plinth.spec.model import Platform

FIELD = "cluster.kubernetes_version"
NOTICE_DAYS = 90
"""How far ahead the end of standard support (upstream or on the cloud) is announced."""

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class VersionNote:
    """One thing to say about the spec's version: how serious it is, and the sentence."""

    level: Level
    message: str


def _move_to(on: dt.date, current: str) -> str:
    """Which newer minors are in standard support everywhere on ``on``, for the message."""
    newer = [m for m in supported_everywhere(on) if _key(m) > _key(current)]
    if not newer:
        return (f"no newer minor of the version table is in standard support on EKS, GKE and AKS on {on.isoformat()} "
                f"(record newer minors' dates in catalog/data/kubernetes-versions.yaml)")
    version = kube_versions()[newer[-1]]
    ends = [version.end_of_life] + [version.clouds[p].end_of_standard for p in PROVIDER_ORDER]
    first_end = min(d.date for d in ends if d.date is not None)
    return (f"newer minors in standard support on EKS, GKE and AKS on {on.isoformat()}: {', '.join(newer)} "
            f"({newer[-1]} until {first_end.isoformat()})")


def _key(minor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


def _days(until: Dated, on: dt.date) -> int | None:
    return None if until.date is None else (until.date - on).days


def version_findings(platform: Platform, on: dt.date, notice_days: int = NOTICE_DAYS) -> list[VersionNote]:
    """What to say about ``cluster.kubernetes_version`` on ``cluster.provider`` on the day ``on``."""
    minor = platform.cluster.kubernetes_version
    provider = platform.cluster.provider
    status = support_status(minor, provider, on)
    if status is None:
        known = ", ".join(kube_versions())
        return [VersionNote("error", f"Kubernetes {minor} is not in the version table (it has {known}): its support cannot be "
                                     f"judged; add its dates with their sources to catalog/data/kubernetes-versions.yaml")]
    service = status.service
    version, cloud = status.version, status.cloud
    ext = extended_support(provider)
    notes: list[VersionNote] = []
    if status.upstream_ended:
        notes.append(VersionNote("error", f"Kubernetes {minor} reached upstream end of life on {version.end_of_life.describe()}: "
                                          f"no more upstream patches; {_move_to(on, minor)}"))
    if status.phase == "ended":
        notes.append(VersionNote("error", f"Kubernetes {minor} is past the end of {ext.name} on {service} since "
                                          f"{cloud.end_of_extended.describe()}: {service} upgrades such clusters itself; {_move_to(on, minor)}"))
    elif status.phase == "not-released":
        notes.append(VersionNote("error", f"Kubernetes {minor} is not available on {service} before {cloud.released.describe()}"))
    elif status.phase == "extended":
        notes.append(VersionNote("warning", f"Kubernetes {minor} left {service} standard support on {cloud.end_of_standard.describe()} "
                                            f"and is in {ext.name} until {cloud.end_of_extended.describe()}: the control plane costs "
                                            f"{ext.usd_per_cluster_hour:.2f} USD per hour instead of {ext.replaces_usd_per_cluster_hour:.2f} "
                                            f"({ext.source.url}){'' if ext.verified else ', amount not read on the cloud’s own page'}; "
                                            f"{ext.how}; {_move_to(on, minor)}"))
    elif status.phase == "unknown":
        missing = [d for d in (cloud.released, cloud.end_of_standard, cloud.end_of_extended) if d.date is None]
        notes.append(VersionNote("warning", f"the support dates of Kubernetes {minor} on {service} are not recorded "
                                            f"({missing[0].unknown if missing else 'unknown'}): whether it is supported there cannot be judged"))
    if status.phase == "standard" and not status.upstream_ended:
        ends = [("upstream end of life", version.end_of_life), (f"the end of {service} standard support", cloud.end_of_standard)]
        for what, when in ends:
            days = _days(when, on)
            if days is not None and 0 <= days <= notice_days:
                notes.append(VersionNote("info", f"Kubernetes {minor} reaches {what} in {days} days, on {when.describe()}; "
                                                 f"{_move_to(on, minor)}"))
    return notes


def _run(level: Level):
    def run(check: Check, ctx: CheckContext) -> Iterator[Finding]:
        for note in version_findings(ctx.platform, today(), check.params.get("notice_days", NOTICE_DAYS)):
            if note.level == level:
                yield check.finding(ctx, ctx.spec_ref(FIELD), FIELD, note.message)
    run.__doc__ = {
        "error": "The spec's Kubernetes version is not past upstream end of life, nor past the end of extended support "
                 "(or not yet released) on cluster.provider, and the version table knows it.",
        "warning": "The spec's Kubernetes version is in standard support on cluster.provider, not in paid extended support, "
                   "and its dates there are recorded.",
        "info": "The spec's Kubernetes version does not reach upstream end of life or the end of the cloud's standard support "
                "within the notice period.",
    }[level]
    return run


CHECKS = (
    Check("PL-VER-001", "error", "promise", "Kubernetes version is supported upstream and on the cloud",
          "Move cluster.kubernetes_version to a minor in standard support upstream and on cluster.provider "
          "(`plinth versions` lists them); the table is catalog/data/kubernetes-versions.yaml.",
          _run("error")),
    Check("PL-VER-002", "warning", "promise", "Kubernetes version is in the cloud's standard support, not paid extended support",
          "Move cluster.kubernetes_version to a minor in standard support on cluster.provider; extended support "
          "(EKS extended support, GKE Extended channel, AKS LTS on the Premium tier) costs about 6x the control-plane fee.",
          _run("warning")),
    Check("PL-VER-003", "info", "promise", "Kubernetes version is not about to leave standard support",
          "Plan the upgrade of cluster.kubernetes_version before the date the finding gives.",
          _run("info"), params={"notice_days": NOTICE_DAYS}),
)
