"""Backup freshness as alerts, their promtool tests and a panel: one builder for every periodic backup.

A periodic backup is watched twice: its newest success must be younger than the staleness bound the spec
layer derives (``backup_stale_after_seconds``), and the success metric must exist at all (a backup that
never succeeded, or whose exporter vanished, has no timestamp to compare).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plinth.monitoring.panels import Panel
from plinth.monitoring.rules import AlertRule, AlertTest
from plinth.spec.derived import backup_stale_after_seconds
from plinth.spec.model import Backup


def _matchers(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


@dataclass(frozen=True)
class BackupFreshness:
    """The freshness watch of one periodic backup."""

    alert_prefix: str
    """CamelCase prefix of the alert names: ``<prefix>BackupTooOld`` and ``<prefix>BackupMissing``."""
    subject: str
    """What the backup is, in words (e.g. "PostgreSQL base backup")."""
    metric: str
    """Gauge holding the UNIX time of the newest successful backup."""
    selector: dict[str, str]
    """Label matchers selecting this backup's series."""
    group_by: tuple[str, ...]
    """Labels the alert keeps (one alert per backup)."""
    store: str
    """Value of the alerts' ``datastore`` label."""
    backup: Backup
    """The spec's backup row (frequency and staleness bound)."""
    consequence: str
    """What a stale backup threatens, in words."""
    series_labels: dict[str, str] = field(default_factory=dict)
    """Extra labels the exporter puts on the series (the unit tests' input carries them)."""

    @property
    def stale_seconds(self) -> int:
        """Age past which the newest backup is stale (from the spec layer)."""
        stale = backup_stale_after_seconds(self.backup)
        if stale is None:
            raise ValueError(f"backups.{self.backup.data}: a {self.backup.frequency} backup has no freshness bound")
        return stale

    def alerts(self) -> tuple[AlertRule, AlertRule]:
        """The too-old and the missing alert (both critical: restores depend on them)."""
        stale = self.stale_seconds
        selector = _matchers(self.selector)
        too_old = AlertRule(
            name=f"{self.alert_prefix}BackupTooOld",
            expr=f"time() - max by ({', '.join(self.group_by)}) ({self.metric}{{{selector}}}) > {stale}",
            for_="10m", severity="critical", labels={"datastore": self.store},
            summary=f"{self.subject[0].upper()}{self.subject[1:]} is stale",
            description=f"The newest successful {self.subject} is older than {stale} s, twice the {self.backup.frequency} "
                        f"schedule: {self.consequence}",
        )
        missing = AlertRule(
            name=f"{self.alert_prefix}BackupMissing",
            expr=f"absent({self.metric}{{{selector}}})",
            for_=f"{stale}s", severity="critical", labels={"datastore": self.store},
            summary=f"No successful {self.backup.data} backup is recorded",
            description=f"{self.metric} has been missing for {stale} s, twice the {self.backup.frequency} schedule: no "
                        f"{self.backup.data} backup has succeeded, or its metrics are not scraped.",
        )
        return too_old, missing

    def alert_tests(self) -> list[AlertTest]:
        """promtool cases: too old fires an hour past the bound and stays silent for a recent backup; missing
        fires with no series and stays silent once the metric exists."""
        stale = self.stale_seconds
        horizon = stale + 3600
        series = f"{self.metric}{{{_matchers({**self.selector, **self.series_labels})}}}"
        last = lambda ts: {"series": series, "values": f"{ts}x{horizon // 60 + 30}"}  # noqa: E731
        expected = {k: v for k, v in self.selector.items() if k in self.group_by}
        steps = stale // 600 + 6
        other = {"series": 'up{job="unrelated"}', "values": f"1x{steps}"}
        present = {"series": f"{self.metric}{{{_matchers(self.selector)}}}", "values": f"0x{steps}"}
        return [
            AlertTest(f"{self.alert_prefix}BackupTooOld", (last(0),), (last(horizon - 600),), f"{horizon // 60}m", expected),
            AlertTest(f"{self.alert_prefix}BackupMissing", (other,), (other, present), f"{(steps - 1) * 10}m",
                      dict(self.selector), interval="10m"),
        ]

    def panel(self, dashboard: str = "platform-health") -> Panel:
        """A stat panel of the newest backup's age."""
        return Panel(dashboard, f"{self.subject[0].upper()}{self.subject[1:]} age",
                     (f"time() - max({self.metric}{{{_matchers(self.selector)}}})",), unit="s", kind="stat")
