"""charts.lock.yaml: written from the chart directory, committed, and checked (`plinth charts lock --check`)."""

from __future__ import annotations

import os
import subprocess
import sys

from plinth.charts.chartdir import ChartDir
from plinth.charts.lock import LOCK_FILE, lock_data, lock_differences, read_lock
from tests.charts.conftest import CHARTS, needs_charts
from tests.conftest import DEFAULT_SPEC

pytestmark = needs_charts


def test_the_committed_lock_is_what_the_chart_directory_gives(cold, platforms) -> None:
    fresh = lock_data(platforms["prod"], ChartDir(CHARTS), cold)
    assert lock_differences(read_lock(DEFAULT_SPEC.parent / LOCK_FILE), fresh) == []
    argocd = fresh["charts"]["argocd"]
    assert (argocd["version"], argocd["app_version"]) == ("9.5.4", "v3.3.8")
    assert "argoproj.io/Application:v1alpha1" in argocd["crds"]
    assert "quay.io/argoproj/argocd:v3.3.8" in argocd["images"]
    assert fresh["charts"]["barman-cloud"]["images"] == ["ghcr.io/cloudnative-pg/plugin-barman-cloud:v0.14.0"]


def test_lock_check_reports_a_stale_lock(tmp_path, hydration_cache, cold) -> None:
    spec = tmp_path / "platform.yaml"
    spec.write_text(DEFAULT_SPEC.read_text())
    lock = (DEFAULT_SPEC.parent / LOCK_FILE).read_text()
    # the cold hydration's cache (no render here) and the chart directory
    env = {**os.environ, "PLINTH_CACHE_DIR": str(hydration_cache), "PLINTH_CHART_DIR": str(CHARTS)}
    command = [sys.executable, "-m", "plinth.cli", "charts", "lock", "--check", "--spec", str(spec)]
    (tmp_path / LOCK_FILE).write_text(lock)
    assert subprocess.run(command, capture_output=True, text=True, env=env, timeout=600).returncode == 0
    (tmp_path / LOCK_FILE).write_text(lock.replace("app_version: v3.3.8", "app_version: v3.5.1"))
    stale = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert stale.returncode == 1
    assert "stale: changed charts.lock.yaml (run `plinth charts lock`)" in stale.stderr.replace("\n", "")
