"""The control-plane line prices the support the spec's Kubernetes version has on each cloud on the plan's day:
the extended-support price while the version is in extended support there, said in the line."""

from __future__ import annotations

import datetime as dt

import pytest

from plinth.plan.capacity import plan_pools
from plinth.plan.cost import control_plane_line, plan_cost
from plinth.plan.pricing import pricing
from tests.checks import fixtures as fx
from tests.plan.test_capacity_cost import AGENT, DB, WEB

D = dt.date


def _line(prod, minor: str, provider: str, on: dt.date):
    return control_plane_line(fx.spec_changed(prod, {"cluster.kubernetes_version": minor}), pricing(provider), on)


def test_standard_support_is_priced_at_the_standard_fee_and_says_until_when(prod) -> None:
    line = _line(prod, "1.35", "aws", D(2026, 11, 30))
    assert (line.group, line.item, line.usd_per_month) == ("control plane", "EKS control plane", pytest.approx(0.10 * 730))
    assert line.quantity == "1 cluster x 730 h; Kubernetes 1.35 in standard support until 2027-03-27"


@pytest.mark.parametrize(("provider", "service", "name", "since", "until"), [
    ("aws", "EKS", "EKS extended support", "2026-03-23", "2027-03-23"),
    ("gcp", "GKE", "GKE extended support (Extended release channel)", "2026-04-11", "2027-02-11"),
    ("azure", "AKS", "AKS long-term support (Premium tier)", "2026-03-31", "2027-03-31"),
])
def test_extended_support_is_priced_at_the_extended_fee(prod, provider, service, name, since, until) -> None:
    line = _line(prod, "1.32", provider, D(2026, 11, 30))
    assert line.item == f"{service} control plane"
    assert line.usd_per_month == pytest.approx(0.60 * pricing(provider).hours_per_month)
    assert f"Kubernetes 1.32 in {name} since {since} until {until}: 0.6 USD/h instead of 0.1" in line.quantity


def test_past_extended_support_and_unknown_dates_keep_the_standard_fee_and_say_why(prod) -> None:
    ended = _line(prod, "1.31", "aws", D(2026, 11, 30))
    assert ended.usd_per_month == pytest.approx(73) and "past the end of extended support (2026-11-26): EKS upgrades the cluster" in ended.quantity
    unknown = _line(prod, "1.36", "aws", D(2026, 11, 30))
    assert unknown.usd_per_month == pytest.approx(73) and "EKS support dates not recorded" in unknown.quantity


def test_the_plan_day_moves_the_total_by_the_extended_surcharge(prod, monkeypatch) -> None:
    old = fx.spec_changed(prod, {"cluster.kubernetes_version": "1.32"})
    capacity = plan_pools(old, [AGENT, WEB, DB], "aws")
    before = plan_cost(old, capacity, on=D(2026, 3, 22)).total()
    after = plan_cost(old, capacity, on=D(2026, 3, 23)).total()
    assert after - before == pytest.approx(0.50 * 730)
    monkeypatch.setenv("PLINTH_TODAY", "2026-03-23")
    assert plan_cost(old, capacity).total() == pytest.approx(after)
