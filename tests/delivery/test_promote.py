"""`plinth promote`: sets one digest in platform.yaml, keeps every other byte and comment, validates the
result, and lets a digest into prod only after staging runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plinth.delivery.promote import PromotionError, promote
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC, REPO

DIGEST = "sha256:" + "d" * 64
OTHER = "sha256:" + "e" * 64


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(DEFAULT_SPEC.read_text())
    return path


def _plinth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "plinth.cli", *args], capture_output=True, text=True, cwd=REPO)


def _environments_start(text: str) -> int:
    return text.splitlines().index("environments:")


def test_staging_promotion_sets_the_digest_and_changes_nothing_else(spec: Path) -> None:
    before = spec.read_text()
    result = promote(spec, "auth", DIGEST, "staging")
    assert result.changed and result.previous is None
    after = spec.read_text()
    start = _environments_start(before)
    assert after.splitlines()[:start] == before.splitlines()[:start], "only the environments block may change"
    assert "# The design's Stage Deploy: canary at 10 %, then full promotion." in after, "comments must survive"
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["    services:", "      auth:", "        image:", f"          digest: {DIGEST}"]
    platforms = load_all(spec)
    assert platforms["staging"].services["auth"].image.digest == DIGEST
    assert platforms["prod"].services["auth"].image.digest is None
    assert platforms["staging"].services["config"].image.digest is None


def test_a_second_promotion_replaces_the_digest_in_place(spec: Path) -> None:
    promote(spec, "auth", DIGEST, "staging")
    once = spec.read_text()
    again = promote(spec, "auth", OTHER, "staging")
    assert again.previous == DIGEST
    assert spec.read_text() == once.replace(DIGEST, OTHER)
    assert not promote(spec, "auth", OTHER, "staging").changed
    assert spec.read_text() == once.replace(DIGEST, OTHER)


def test_prod_takes_only_a_digest_staging_runs(spec: Path) -> None:
    with pytest.raises(PromotionError, match="staging runs no digest") as refused:
        promote(spec, "auth", DIGEST, "prod")
    assert refused.value.exit_code == 1
    promote(spec, "auth", DIGEST, "staging")
    with pytest.raises(PromotionError, match=f"staging runs {DIGEST}"):
        promote(spec, "auth", OTHER, "prod")
    promote(spec, "auth", DIGEST, "prod")
    prod = load_all(spec)["prod"]
    assert prod.services["auth"].image.digest == DIGEST
    assert "  prod: {}" not in spec.read_text(), "the empty flow map becomes a block"


def test_cli_exit_codes_and_messages(spec: Path) -> None:
    ok = _plinth("promote", "--spec", str(spec), "--service", "auth", "--digest", DIGEST, "--env", "staging")
    assert ok.returncode == 0 and "environments.staging.services.auth.image.digest" in ok.stdout
    refused = _plinth("promote", "--spec", str(spec), "--service", "config", "--digest", DIGEST, "--env", "prod")
    assert refused.returncode == 1 and "refusing to promote config" in refused.stderr
    for args, message in (
        (("--service", "auth", "--digest", "sha256:abc", "--env", "staging"), "--digest: expected sha256:<64 lowercase hex digits>"),
        (("--service", "billing", "--digest", DIGEST, "--env", "staging"), "--service: no service 'billing'"),
        (("--service", "auth", "--digest", DIGEST, "--env", "qa"), "--env: no environment 'qa'"),
    ):
        bad = _plinth("promote", "--spec", str(spec), *args)
        assert bad.returncode == 2, bad.stderr
        assert message in bad.stderr
        assert "Traceback" not in bad.stderr


def test_an_invalid_spec_is_not_touched(spec: Path) -> None:
    spec.write_text(spec.read_text().replace("min_replicas: 3\n      max_replicas: 10", "min_replicas: 30\n      max_replicas: 10", 1))
    before = spec.read_text()
    with pytest.raises(PromotionError, match="not a valid spec before the promotion"):
        promote(spec, "auth", DIGEST, "staging")
    assert spec.read_text() == before
    assert sorted(p.name for p in spec.parent.iterdir()) == ["platform.yaml"], "no temporary file may be left behind"


def test_a_reformatting_edit_is_refused_rather_than_made(spec: Path) -> None:
    text = spec.read_text().replace("    load: {organisations: 50}", "    load: {organisations: 50,\n           }")
    spec.write_text(text)
    with pytest.raises(PromotionError, match="does not survive a YAML round trip"):
        promote(spec, "auth", DIGEST, "staging")
    assert spec.read_text() == text
