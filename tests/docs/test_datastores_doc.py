"""docs/datastores.md is generated from the spec and committed fresh."""

from __future__ import annotations

from plinth.docs.datastores import render_markdown, reports


def test_every_store_says_what_each_failure_does(prod) -> None:
    for report in reports(prod):
        assert [o.failure for o in report.outcomes] == ["pod", "node", "zone", "region"], report.title
        assert all(o.rto and o.rpo for o in report.outcomes), report.title


def test_numbers_come_from_the_spec(prod) -> None:
    text = render_markdown(prod)
    # PostgreSQL after region loss: archive_timeout 60 s plus the DR copy's replication bound (S3 RTC, 15 min)
    assert "up to 16m: WAL archived at least every 1m (archive_timeout), copied to us-west-2 within 15m" in text
    assert "up to 1d 15m: daily backup (every 1d)" in text  # ClickHouse after region loss: the daily backup
    assert "up to 10s of acknowledged writes" in text  # Redis: asynchronous, bounded by min-replicas-max-lag
    changed = prod.model_copy(update={"datastores": prod.datastores.model_copy(update={
        "postgres": prod.datastores.postgres.model_copy(update={"archive_timeout_seconds": 300})})})
    assert "up to 20m: WAL archived at least every 5m (archive_timeout)" in render_markdown(changed)
