"""``plinth versions``: the Kubernetes version table (upstream and EKS/GKE/AKS support dates, each with its
source) and where the spec's ``cluster.kubernetes_version`` stands on every cloud on a given day.

Registered on the main ``plinth`` app by ``register``. Exit codes: 0 ok, 2 bad input (spec, date, format).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from plinth.catalog.kube_versions import (
    PROVIDER_ORDER, TODAY_ENV, Dated, extended_support, kube_versions, support_status, supported_everywhere, today,
)
from plinth.commands.common import FormatOption, SpecOption, check_format, fail_bad_input, load_platforms, out_console
from plinth.spec.loader import DEFAULT_SPEC

OnOption = Annotated[Optional[str], typer.Option("--on", help=f"Judge support on this day (YYYY-MM-DD); default ${TODAY_ENV} or today.")]


def _cell(d: Dated) -> str:
    if d.date is None:
        return "unknown"
    return d.date.isoformat() + ("~" if d.estimated else "")


def _dated(d: Dated) -> dict[str, Any]:
    return {"date": d.date.isoformat() if d.date else None, "as_given": d.written, "source": d.source.url if d.source else None,
            "read": d.source.read.isoformat() if d.source else None, "estimated": d.estimated, "unknown": d.unknown}


def versions_dict(minor: str, on: dt.date) -> dict[str, Any]:
    """The whole table and the spec version's status per cloud, as plain data."""
    table = {}
    for version in kube_versions().values():
        table[version.minor] = {
            "upstream": {"released": _dated(version.released), "end_of_life": _dated(version.end_of_life)},
            **{p: {"released": _dated(c.released), "end_of_standard": _dated(c.end_of_standard),
                   "end_of_extended": _dated(c.end_of_extended)} for p, c in version.clouds.items()},
        }
    status = {}
    for provider in PROVIDER_ORDER:
        s = support_status(minor, provider, on)
        status[provider] = None if s is None else {"phase": s.phase, "upstream_ended": s.upstream_ended}
    prices = {p: {"name": e.name, "usd_per_cluster_hour": e.usd_per_cluster_hour, "instead_of": e.replaces_usd_per_cluster_hour,
                  "source": e.source.url, "verified": e.verified} for p in PROVIDER_ORDER for e in [extended_support(p)]}
    return {"on": on.isoformat(), "spec_version": minor, "spec_status": status, "supported_everywhere": supported_everywhere(on),
            "extended_support_prices": prices, "versions": table}


def register(app: typer.Typer) -> None:
    """Add ``plinth versions`` to the main app."""

    @app.command("versions")
    def versions(spec: SpecOption = Path(DEFAULT_SPEC), fmt: FormatOption = "table", on: OnOption = None) -> None:
        """The Kubernetes version table (upstream and EKS/GKE/AKS support, with sources) and the spec's version status."""
        check_format(fmt)
        try:
            day = dt.date.fromisoformat(on) if on else today()
        except ValueError as exc:
            fail_bad_input([f"--on {on!r}: expected a date YYYY-MM-DD" if on else str(exc)])
            raise AssertionError  # unreachable
        platforms = load_platforms(spec, None)
        minors = sorted({p.cluster.kubernetes_version for p in platforms.values()})
        minor = minors[0]
        data = versions_dict(minor, day)
        if fmt == "json":
            out_console.print_json(json.dumps(data))
            return
        table = Table(title="Kubernetes versions: end of support (first day without it; ~ estimated from a published rule)")
        table.add_column("minor", no_wrap=True)
        table.add_column("upstream EOL", no_wrap=True)
        for provider in PROVIDER_ORDER:
            service = extended_support(provider).service
            table.add_column(f"{service} std", no_wrap=True)
            table.add_column(f"{service} ext", no_wrap=True)
        for version in kube_versions().values():
            row = [version.minor + ("*" if version.minor in minors else ""), _cell(version.end_of_life)]
            for provider in PROVIDER_ORDER:
                row += [_cell(version.clouds[provider].end_of_standard), _cell(version.clouds[provider].end_of_extended)]
            table.add_row(*row)
        out_console.print(table)
        for m in minors:
            parts = []
            for provider in PROVIDER_ORDER:
                s = support_status(m, provider, day)
                parts.append(f"{extended_support(provider).service} {s.phase if s else 'not in the table'}")
            upstream = support_status(m, PROVIDER_ORDER[0], day)
            out_console.print(f"spec (*) {m} on {day.isoformat()}: " + ", ".join(parts)
                              + ("; past upstream end of life" if upstream and upstream.upstream_ended else ""), soft_wrap=True)
        out_console.print(f"in standard support everywhere: {', '.join(data['supported_everywhere']) or 'none'}", soft_wrap=True)
        for provider in PROVIDER_ORDER:
            e = extended_support(provider)
            out_console.print(f"{e.name}: {e.usd_per_cluster_hour:.2f} USD per cluster-hour instead of {e.replaces_usd_per_cluster_hour:.2f} "
                              f"({e.source.url}{'' if e.verified else '; amount not read on the cloud page'})", soft_wrap=True)
        out_console.print("sources: src/plinth/catalog/data/kubernetes-versions.yaml (`plinth versions --format json` gives each date's page and read date)",
                          soft_wrap=True)
