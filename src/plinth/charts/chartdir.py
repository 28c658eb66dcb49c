"""The chart directory: ``helm package`` archives of the pinned charts, read as data (no network).

Found like the CRD schema folder: ``--chart-dir``, else ``$PLINTH_CHART_DIR``, else ``../shared/charts``
beside the repository that holds the spec. Every ``*.tgz`` in it is read once: its ``Chart.yaml`` (name,
version, appVersion, dependencies) and the sha256 of the archive.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from plinth.spec.loader import SpecProblem, read_yaml
from plinth.spec.model import Platform

CHART_DIR_ENV = "PLINTH_CHART_DIR"


class ChartDirError(Exception):
    """The chart directory cannot be read (missing folder, broken archive)."""


CRD_DIR_ENV = "PLINTH_CRD_DIR"
"""Environment variable naming the fallback CRD schema folder."""


def _shared_folder(start: Path, *parts: str) -> Path | None:
    """``../shared/<parts>`` next to the repository holding ``start`` (searched upwards to the Git root)."""
    for base in (start, *start.parents):
        candidate = base.parent.joinpath("shared", *parts)
        if candidate.is_dir():
            return candidate
        if (base / ".git").exists():
            break
    return None


def default_chart_dir(spec: Path | None = None) -> Path | None:
    """The chart directory: ``$PLINTH_CHART_DIR``, else ``../shared/charts`` next to the spec's repository."""
    if os.environ.get(CHART_DIR_ENV):
        return Path(os.environ[CHART_DIR_ENV])
    return _shared_folder(spec.resolve().parent if spec is not None else Path.cwd().resolve(), "charts")


def default_crd_dir(start: Path | None = None) -> Path | None:
    """The fallback CRD schema folder (for CRDs no chart ships): ``$PLINTH_CRD_DIR``, else ``../shared/schemas/crds``
    next to the repository holding ``start``."""
    if os.environ.get(CRD_DIR_ENV):
        return Path(os.environ[CRD_DIR_ENV])
    return _shared_folder((start or Path.cwd()).resolve(), "schemas", "crds")


def same_version(a: str, b: str) -> bool:
    """Chart versions are semver: ``v1.21.1`` and ``1.21.1`` name the same release (as ``helm pull --version``)."""
    return a.removeprefix("v") == b.removeprefix("v")


@dataclass(frozen=True)
class ChartArchive:
    """One packaged chart in the chart directory."""

    name: str
    version: str
    app_version: str | None
    path: Path
    digest: str
    """``sha256:<hex>`` of the archive file."""
    dependencies: tuple[tuple[str, str], ...]
    """(name, version) of the subcharts bundled under ``charts/``, as Chart.yaml declares them."""

    @property
    def reads_api_versions(self) -> bool:
        """Its templates look at ``.Capabilities.APIVersions`` (else ``--api-versions`` changes nothing)."""
        return reads_api_versions(self.path, self.digest)

    @property
    def ref(self) -> str:
        """``name-version``, the archive's file stem."""
        return f"{self.name}-{self.version}"


@lru_cache(maxsize=None)
def reads_api_versions(archive: Path, digest: str) -> bool:
    """Whether any file of the archive (subcharts included) mentions ``.Capabilities.APIVersions``: if none
    does, ``--api-versions`` cannot change what the chart renders. ``digest`` keys the memo to the content."""
    try:
        with tarfile.open(archive, mode="r:gz") as tgz:
            for member in tgz:
                handle = tgz.extractfile(member) if member.isfile() else None
                if handle is not None and b"APIVersions" in handle.read():
                    return True
    except (OSError, tarfile.TarError) as exc:
        raise ChartDirError(f"{archive}: not a readable chart archive ({exc})") from None
    return False


def read_chart_yaml(archive: Path) -> dict[str, Any]:
    """The top-level ``Chart.yaml`` of a ``helm package`` archive."""
    try:
        with tarfile.open(archive, mode="r:gz") as tgz:
            for member in tgz:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    handle = tgz.extractfile(member)
                    data = yaml.safe_load(handle.read()) if handle else None
                    if isinstance(data, dict):
                        return data
                    break
    except (OSError, tarfile.TarError, yaml.YAMLError) as exc:
        raise ChartDirError(f"{archive}: not a readable chart archive ({exc})") from None
    raise ChartDirError(f"{archive}: no Chart.yaml at the top of the archive")


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return f"sha256:{sha.hexdigest()}"


class ChartDir:
    """The archives of one chart directory, by (chart name, version)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.is_dir():
            raise ChartDirError(f"chart directory {self.path} does not exist")

    @cached_property
    def archives(self) -> tuple[ChartArchive, ...]:
        """Every chart archive in the folder, sorted by name and version."""
        found = []
        for tgz in sorted(self.path.glob("*.tgz")):
            meta = read_chart_yaml(tgz)
            deps = tuple(sorted((str(d.get("name")), str(d.get("version"))) for d in meta.get("dependencies") or []))
            app = meta.get("appVersion")
            found.append(ChartArchive(str(meta.get("name")), str(meta.get("version")), None if app is None else str(app),
                                      tgz, file_digest(tgz), deps))
        return tuple(sorted(found, key=lambda a: (a.name, _version_key(a.version))))

    def versions(self, chart: str) -> list[str]:
        """Versions of one chart the folder holds, oldest first."""
        return [a.version for a in self.archives if a.name == chart]

    def find(self, chart: str, version: str) -> ChartArchive | None:
        """The archive of ``chart`` at ``version`` (an exact version string first, then the same semver)."""
        matches = [a for a in self.archives if a.name == chart and same_version(a.version, version)]
        exact = [a for a in matches if a.version == version]
        return (exact or matches or [None])[0]


def _version_key(version: str) -> tuple[Any, ...]:
    core, _, pre = version.removeprefix("v").partition("-")
    numbers = tuple(int(p) if p.isdigit() else 0 for p in core.split("."))
    return (*numbers, pre == "", pre)


@dataclass(frozen=True)
class PinStatus:
    """One pin of ``platform.yaml`` against the chart directory."""

    key: str
    chart: str
    version: str
    repo_url: str
    archive: ChartArchive | None
    available: tuple[str, ...]
    """Versions of this chart the directory holds."""


def pin_statuses(platform: Platform, chart_dir: ChartDir) -> list[PinStatus]:
    """Every pin (``charts:``) and the archive that serves it, if any."""
    return [PinStatus(key, pin.chart, pin.version, pin.repo_url, chart_dir.find(pin.chart, pin.version),
                      tuple(chart_dir.versions(pin.chart)))
            for key, pin in sorted(platform.charts.items())]


def _pin_position(doc: Any, key: str) -> tuple[int, int]:
    """1-based line and column of ``charts.<key>.version`` in the spec (the pin's own line if no version key)."""
    try:
        charts = doc["charts"]
        pin = charts[key]
        if hasattr(pin, "lc") and "version" in pin:
            line, col = pin.lc.key("version")
            return line + 1, col + 1
        line, col = charts.lc.key(key)
        return line + 1, col + 1
    except (KeyError, TypeError, AttributeError):
        return 1, 1


def pin_problems(spec: Path, platform: Platform, chart_dir: ChartDir) -> list[SpecProblem]:
    """A located problem for every pin whose version the chart directory does not hold."""
    missing = [s for s in pin_statuses(platform, chart_dir) if s.archive is None]
    if not missing:
        return []
    doc = read_yaml(spec)
    problems = []
    for status in missing:
        line, col = _pin_position(doc, status.key)
        have = ", ".join(status.available) if status.available else "no version of it"
        problems.append(SpecProblem(str(spec), line, col, f"charts.{status.key}.version",
                                    f"chart {status.chart} {status.version} is not in the chart directory "
                                    f"{chart_dir.path} (it holds {have})"))
    return problems
