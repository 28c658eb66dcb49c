"""The Kubernetes version table: every date sourced (or unknown with a reason), month dates resolved by the
sources' own rule, and the support phase of a version on a cloud on a given day."""

from __future__ import annotations

import datetime as dt

import pytest

from plinth.catalog.kube_versions import (
    PROVIDER_ORDER, VersionDataError, _dated, _parse_date, extended_support, kube_version, kube_versions, support_status,
    supported_everywhere, today,
)

D = dt.date


def _all_dates():
    for version in kube_versions().values():
        yield f"{version.minor} upstream released", version.released
        yield f"{version.minor} upstream end of life", version.end_of_life
        for provider, cloud in version.clouds.items():
            for name in ("released", "end_of_standard", "end_of_extended"):
                yield f"{version.minor} {provider} {name}", getattr(cloud, name)


def test_the_table_covers_1_30_to_1_37_on_every_cloud() -> None:
    assert list(kube_versions()) == [f"1.{n}" for n in range(30, 38)]
    for version in kube_versions().values():
        assert set(version.clouds) == set(PROVIDER_ORDER)
        assert version.end_of_life.date is not None, f"{version.minor}: upstream end of life is published for every minor"


def test_every_date_has_a_source_with_its_read_date_or_says_why_it_is_unknown() -> None:
    for where, dated in _all_dates():
        if dated.date is None:
            assert dated.unknown and dated.source is None, where
            continue
        assert dated.source is not None and dated.source.url.startswith("https://"), where
        assert dated.source.read <= D(2026, 11, 30) and dated.source.copy, where
        assert dated.unknown is None, where


def test_end_dates_come_after_their_start() -> None:
    for version in kube_versions().values():
        assert version.released.date < version.end_of_life.date, version.minor
        for provider, cloud in version.clouds.items():
            known = [d.date for d in (cloud.released, cloud.end_of_standard, cloud.end_of_extended) if d.date is not None]
            assert known == sorted(known), f"{version.minor} {provider}: {known}"


def test_month_dates_follow_the_aks_rule_end_of_month_for_ends() -> None:
    aks = kube_version("1.35").clouds["azure"]
    assert (aks.released.date, aks.end_of_standard.date, aks.end_of_extended.date) == (D(2026, 3, 1), D(2027, 3, 31), D(2028, 3, 31))
    assert aks.end_of_standard.written == "2027-03" and "given as 2027-03" in aks.end_of_standard.describe()
    assert _parse_date("2028-02", True, "x") == D(2028, 2, 29)


def test_estimated_dates_say_their_rule() -> None:
    gke = kube_version("1.32").clouds["gcp"].end_of_extended
    assert gke.estimated and "24 months after availability in the Regular channel" in gke.describe()
    assert kube_version("1.32").clouds["aws"].end_of_extended.estimated is None


def test_malformed_rows_are_refused_with_their_place() -> None:
    with pytest.raises(VersionDataError, match=r"versions.9.9.aws.released: an unknown date needs `unknown:`"):
        _dated({"date": None}, {}, False, "versions.9.9.aws.released")
    with pytest.raises(VersionDataError, match=r"source 'nowhere' is not in `sources`"):
        _dated({"date": "2026-01-01", "source": "nowhere"}, {}, False, "x")
    with pytest.raises(VersionDataError, match=r"neither YYYY-MM-DD nor YYYY-MM"):
        _parse_date("Mar 2026", True, "x")


@pytest.mark.parametrize(("minor", "provider", "on", "phase", "upstream_ended"), [
    ("1.32", "aws", D(2026, 3, 22), "standard", True),     # upstream ended 2026-02-28, EKS standard until 2026-03-23
    ("1.32", "aws", D(2026, 3, 23), "extended", True),     # EKS bills extended support from the start of that day
    ("1.32", "aws", D(2027, 3, 23), "ended", True),
    ("1.32", "azure", D(2026, 4, 1), "extended", True),    # AKS "Mar 2026" = 2026-03-31
    ("1.35", "aws", D(2026, 11, 30), "standard", False),
    ("1.35", "gcp", D(2027, 4, 11), "extended", True),
    ("1.36", "aws", D(2026, 11, 30), "unknown", False),    # EKS dates of 1.36 not in the copies read
    ("1.37", "azure", D(2026, 9, 30), "not-released", False),
])
def test_support_phase_on_a_day(minor, provider, on, phase, upstream_ended) -> None:
    status = support_status(minor, provider, on)
    assert (status.phase, status.upstream_ended) == (phase, upstream_ended)


def test_the_spec_version_was_chosen_in_standard_support_everywhere_on_the_day_the_table_was_read() -> None:
    assert supported_everywhere(D(2026, 11, 30)) == ["1.35"]
    assert support_status("1.99", "aws", D(2026, 11, 30)) is None


def test_extended_support_prices_carry_their_source() -> None:
    eks = extended_support("aws")
    assert (eks.service, eks.usd_per_cluster_hour, eks.replaces_usd_per_cluster_hour, eks.verified) == ("EKS", 0.60, 0.10, True)
    assert "0.60 USD per cluster per hour" in eks.source.what
    for provider in ("gcp", "azure"):
        ext = extended_support(provider)
        assert ext.usd_per_cluster_hour == 0.60 and ext.verified is False and ext.corroboration is not None


def test_today_is_injectable_and_a_bad_value_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("PLINTH_TODAY", "2027-01-02")
    assert today() == D(2027, 1, 2)
    monkeypatch.setenv("PLINTH_TODAY", "soon")
    with pytest.raises(ValueError, match=r"PLINTH_TODAY='soon': expected a date YYYY-MM-DD"):
        today()
    monkeypatch.delenv("PLINTH_TODAY")
    assert today() == dt.date.today()
