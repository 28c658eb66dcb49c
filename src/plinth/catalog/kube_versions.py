"""Kubernetes minor versions and their support, upstream and on each cloud: one table
(``catalog/data/kubernetes-versions.yaml``) for the version check and the planner.

Every date carries its source (page, what it says, the day it was read), or says why it is unknown, or
that it is estimated from a published rule. An end date is the first day without that support.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from plinth.spec.model import Provider

TODAY_ENV = "PLINTH_TODAY"
"""Environment variable that sets the date the version check and the planner judge support at (YYYY-MM-DD)."""

DATA_FILE = "catalog/data/kubernetes-versions.yaml"
PROVIDER_ORDER: tuple[Provider, ...] = ("aws", "gcp", "azure")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")

Phase = Literal["unknown", "not-released", "standard", "extended", "ended"]


class VersionDataError(ValueError):
    """The version table is malformed (a bug in the data file, not in the spec)."""


@dataclass(frozen=True)
class Source:
    """A page a date was read from."""

    key: str
    url: str
    what: str
    """What the page says that the table uses."""
    read: dt.date
    """The day it was read."""
    copy: str
    """How recent the copy read was."""


@dataclass(frozen=True)
class Dated:
    """One date of the table: known (with its source), estimated from a rule, or unknown (with why)."""

    date: dt.date | None
    written: str | None
    """As the source gives it: ``2027-03-27`` or, month only, ``2027-03``."""
    source: Source | None
    estimated: str | None = None
    """The published rule the date is computed from, when it is not read as a date."""
    unknown: str | None = None
    """Why the date is not known."""

    def describe(self) -> str:
        """``2027-03-31 (AKS calendar "2027-03", ...)``: the date with where it comes from, for messages."""
        if self.date is None:
            return f"unknown ({self.unknown})"
        parts = [self.source.url if self.source else "no source"]
        if self.written and self.written != self.date.isoformat():
            parts.insert(0, f"given as {self.written}")
        if self.estimated:
            parts.insert(0, f"estimated: {self.estimated}")
        if self.source:
            parts.append(f"read {self.source.read.isoformat()}")
        return f"{self.date.isoformat()} ({', '.join(parts)})"


@dataclass(frozen=True)
class CloudSupport:
    """One version on one cloud."""

    provider: Provider
    released: Dated
    end_of_standard: Dated
    end_of_extended: Dated
    """End of EKS extended support, of GKE extended support (Extended channel), of AKS long-term support."""


@dataclass(frozen=True)
class KubeVersion:
    """One Kubernetes minor version."""

    minor: str
    released: Dated
    end_of_life: Dated
    """Upstream end of life: no more patch releases."""
    clouds: dict[str, CloudSupport]


@dataclass(frozen=True)
class ExtendedSupport:
    """What staying on a version past standard support needs and costs on one cloud."""

    provider: Provider
    service: str
    """EKS, GKE or AKS."""
    name: str
    how: str
    """What must be configured for it."""
    usd_per_cluster_hour: float
    """The control plane's price per hour while a version is in extended support (the total)."""
    replaces_usd_per_cluster_hour: float
    """The standard price it replaces."""
    source: Source
    corroboration: Source | None
    verified: bool
    """False when the amount was not read on the cloud's own page (see the source's text)."""


@dataclass(frozen=True)
class SupportStatus:
    """Where one version stands on one cloud on one day."""

    minor: str
    provider: Provider
    on: dt.date
    phase: Phase
    """unknown (dates not recorded), not-released, standard, extended (paying extra), ended (past extended)."""
    upstream_ended: bool
    """Past upstream end of life (no more upstream patches)."""
    version: KubeVersion
    cloud: CloudSupport

    @property
    def service(self) -> str:
        """EKS, GKE or AKS."""
        return extended_support(self.provider).service


def today() -> dt.date:
    """The date support is judged at: ``$PLINTH_TODAY`` (YYYY-MM-DD) when set, else today."""
    text = os.environ.get(TODAY_ENV, "").strip()
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{TODAY_ENV}={text!r}: expected a date YYYY-MM-DD") from None


def _parse_date(text: str, end: bool, where: str) -> dt.date:
    if _DAY.match(text):
        return dt.date.fromisoformat(text)
    if _MONTH.match(text):
        year, month = (int(p) for p in text.split("-"))
        return dt.date(year, month, calendar.monthrange(year, month)[1] if end else 1)
    raise VersionDataError(f"{DATA_FILE}: {where}: date {text!r} is neither YYYY-MM-DD nor YYYY-MM")


def _dated(raw: Any, sources: dict[str, Source], end: bool, where: str) -> Dated:
    if not isinstance(raw, dict) or "date" not in raw:
        raise VersionDataError(f"{DATA_FILE}: {where}: expected {{date: ..., source: ...}} or {{date: null, unknown: ...}}")
    if raw["date"] is None:
        reason = str(raw.get("unknown") or "").strip()
        if not reason:
            raise VersionDataError(f"{DATA_FILE}: {where}: an unknown date needs `unknown:` (why it is not known)")
        return Dated(None, None, None, unknown=reason)
    written = str(raw["date"])
    key = raw.get("source")
    if key not in sources:
        raise VersionDataError(f"{DATA_FILE}: {where}: source {key!r} is not in `sources`")
    return Dated(_parse_date(written, end, where), written, sources[key], estimated=raw.get("estimated"))


def _source(key: str, raw: dict[str, Any]) -> Source:
    missing = [f for f in ("url", "what", "read", "copy") if not raw.get(f)]
    if missing:
        raise VersionDataError(f"{DATA_FILE}: sources.{key}: missing {', '.join(missing)}")
    return Source(key, str(raw["url"]), str(raw["what"]), _parse_date(str(raw["read"]), False, f"sources.{key}.read"), str(raw["copy"]))


@lru_cache(maxsize=None)
def _table() -> tuple[dict[str, KubeVersion], dict[str, ExtendedSupport]]:
    data = yaml.safe_load((resources.files("plinth") / DATA_FILE).read_text())
    sources = {key: _source(key, raw) for key, raw in data["sources"].items()}
    extended: dict[str, ExtendedSupport] = {}
    for provider in PROVIDER_ORDER:
        cloud = data["clouds"][provider]
        ext = cloud["extended"]
        if ext["source"] not in sources or (ext.get("corroboration") and ext["corroboration"] not in sources):
            raise VersionDataError(f"{DATA_FILE}: clouds.{provider}.extended: unknown source")
        extended[provider] = ExtendedSupport(
            provider, str(cloud["service"]), str(ext["name"]), str(ext["how"]), float(ext["usd_per_cluster_hour"]),
            float(ext["replaces_usd_per_cluster_hour"]), sources[ext["source"]],
            sources.get(ext.get("corroboration") or ""), bool(ext["verified"]))
    versions: dict[str, KubeVersion] = {}
    for minor, raw in data["versions"].items():
        where = f"versions.{minor}"
        clouds = {}
        for provider in PROVIDER_ORDER:
            c = raw[provider]
            clouds[provider] = CloudSupport(
                provider,
                _dated(c["released"], sources, False, f"{where}.{provider}.released"),
                _dated(c["end_of_standard"], sources, True, f"{where}.{provider}.end_of_standard"),
                _dated(c["end_of_extended"], sources, True, f"{where}.{provider}.end_of_extended"))
        versions[str(minor)] = KubeVersion(
            str(minor),
            _dated(raw["upstream"]["released"], sources, False, f"{where}.upstream.released"),
            _dated(raw["upstream"]["end_of_life"], sources, True, f"{where}.upstream.end_of_life"),
            clouds)
    return versions, extended


def kube_versions() -> dict[str, KubeVersion]:
    """Every minor version of the table, oldest first."""
    versions = _table()[0]
    return {m: versions[m] for m in sorted(versions, key=lambda m: tuple(int(p) for p in m.split(".")))}


def kube_version(minor: str) -> KubeVersion | None:
    """One minor version (``1.35``), or None when the table does not have it."""
    return _table()[0].get(minor)


def extended_support(provider: Provider) -> ExtendedSupport:
    """What extended support needs and costs on one cloud."""
    return _table()[1][provider]


def support_status(minor: str, provider: Provider, on: dt.date) -> SupportStatus | None:
    """Where ``minor`` stands on ``provider`` on the day ``on``; None when the table does not have the version."""
    version = kube_version(minor)
    if version is None:
        return None
    cloud = version.clouds[provider]
    eol = version.end_of_life.date
    upstream_ended = eol is not None and on >= eol
    phase: Phase
    if cloud.released.date is not None and on < cloud.released.date:
        phase = "not-released"
    elif cloud.end_of_standard.date is None or cloud.released.date is None:
        phase = "unknown"
    elif on < cloud.end_of_standard.date:
        phase = "standard"
    elif cloud.end_of_extended.date is None:
        phase = "unknown"
    elif on < cloud.end_of_extended.date:
        phase = "extended"
    else:
        phase = "ended"
    return SupportStatus(minor, provider, on, phase, upstream_ended, version, cloud)


def supported_everywhere(on: dt.date) -> list[str]:
    """Minor versions upstream-supported and in standard support on all three clouds on ``on``, oldest first."""
    result = []
    for minor in kube_versions():
        statuses = [support_status(minor, p, on) for p in PROVIDER_ORDER]
        if all(s is not None and s.phase == "standard" and not s.upstream_ended for s in statuses):
            result.append(minor)
    return result
