"""`plinth plan` stays bounded: --orgs past the limit, too many curve points, a platform that outgrows the spec's
bounds and a spec that fails to render are exit 2 with a message, fast, never a traceback or a memory blow-up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plinth.cli import app
from plinth.render.pipeline import RenderError
from tests.conftest import DEFAULT_SPEC


@pytest.mark.parametrize("orgs,fragment", [
    ("1000000000000", "more than the 1,000,000"),
    (",".join(str(100 + i) for i in range(60)), "at most 50 points"),
    ("²", "expected a positive whole number"),
    ("9" * 5000, "expected a positive whole number"),
])
def test_orgs_out_of_bounds_is_bad_input_before_any_planning(orgs: str, fragment: str) -> None:
    started = time.process_time()
    result = CliRunner().invoke(app, ["plan", "--spec", str(DEFAULT_SPEC), "--orgs", orgs])
    assert result.exit_code == 2, result.output
    assert fragment in result.output and time.process_time() - started < 5
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_platform_grown_past_the_replica_bound_is_a_message() -> None:
    result = CliRunner().invoke(app, ["plan", "--spec", str(DEFAULT_SPEC), "--env", "prod", "--orgs", "1000000", "--cloud", "aws"])
    assert result.exit_code == 2, result.output
    assert "at 1,000,000 organisations the grown platform breaks the spec's bounds" in result.output
    assert "max_replicas" in result.output


def test_a_spec_that_fails_to_render_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import plinth.plan.capacity as capacity
    import plinth.plan.planner as planner

    def broken(_platform):
        raise RenderError("two objects at prod/x.yaml")

    # a grown platform (2,000 organisations) is rendered afresh by the planner
    monkeypatch.setattr(capacity, "render_platform", broken)
    monkeypatch.setattr(planner, "render_platform", broken)
    result = CliRunner().invoke(app, ["plan", "--spec", str(DEFAULT_SPEC), "--env", "prod", "--orgs", "2000", "--cloud", "aws"])
    assert result.exit_code == 2, result.output
    assert "plan: two objects at prod/x.yaml" in result.output
