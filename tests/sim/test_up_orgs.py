"""`plinth sim up --orgs N`: the environment scaled to N organisations, its pools created with the planner's node
counts (as `plinth sim sync --orgs` creates them); a bad count is bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from plinth.charts.workflow import Hydrator
from plinth.kube.scheduling import POOL_LABEL
from plinth.plan.growth import scale_platform
from plinth.render.pipeline import render_platform
from plinth.sim.run import planned_nodes
from tests.conftest import CHART_DIR, DEFAULT_SPEC, needs_charts

REPO = Path(__file__).resolve().parents[2]


def _plinth(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", "sim", *args], capture_output=True, text=True,
                          env=env or dict(os.environ), cwd=REPO, timeout=600)


@pytest.mark.parametrize(("command", "value"), [("up", "0"), ("up", "-5"), ("sync", "0")])
def test_a_count_that_is_not_positive_is_bad_input(command: str, value: str) -> None:
    result = _plinth(command, "--orgs", value, "--name", f"orgs{os.getpid()}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--orgs: expected a positive number of organisations, got {value}" in result.stderr
    assert "Traceback" not in result.stderr


@needs_charts
def test_a_count_past_the_specs_bounds_is_bad_input() -> None:
    result = _plinth("up", "--orgs", "100000000000", "--name", f"orgs{os.getpid()}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--orgs 100000000000: at 100,000,000,000 organisations the grown platform breaks the spec's bounds" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sim
@needs_charts
def test_up_creates_the_planners_nodes_for_the_scaled_environment(sim_versions, prod, tmp_path: Path, monkeypatch) -> None:
    hydrator = Hydrator(DEFAULT_SPEC, CHART_DIR)
    grown = scale_platform(prod, 10_000, hydrator)
    rendered = render_platform(grown)
    plan = planned_nodes(grown, None, rendered, hydrator.hydrate({"prod": grown}, rendered).objects)
    assert plan["apps"][0] > prod.node_pools["apps"].min_nodes, "10,000 organisations need more apps nodes than the spec's"
    total = sum(at_min for at_min, _ in plan.values())
    env = {**os.environ, "PLINTH_SIM_STATE": str(tmp_path)}
    monkeypatch.setenv("PLINTH_SIM_STATE", str(tmp_path))
    name = f"orgs{os.getpid()}"
    up = _plinth("up", "--name", name, "--orgs", "10000", "--kubernetes", sim_versions.minor, "--detach", env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"{total} nodes (prod, 10,000 organisations" in " ".join(up.stdout.split())
        nodes = _plinth("kubectl", "--name", name, "--", "get", "nodes", "-o", "json", env=env)
        assert nodes.returncode == 0, nodes.stderr
        per_pool = Counter(n["metadata"]["labels"][POOL_LABEL] for n in json.loads(nodes.stdout)["items"])
        assert per_pool == {pool: at_min for pool, (at_min, _) in plan.items()}
    finally:
        down = _plinth("down", "--name", name, env=env)
    assert down.returncode == 0, down.stdout + down.stderr
