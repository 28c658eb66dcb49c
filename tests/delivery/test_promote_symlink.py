"""`plinth promote` writes through a symlinked spec: the link stays a link and the file it points to gets the digest."""

from __future__ import annotations

from pathlib import Path

from plinth.delivery.promote import promote
from plinth.spec.loader import load_all
from tests.conftest import DEFAULT_SPEC

DIGEST = "sha256:" + "d" * 64


def test_a_symlinked_spec_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "specs" / "platform.yaml"
    real.parent.mkdir()
    real.write_text(DEFAULT_SPEC.read_text())
    real.chmod(0o640)
    link = tmp_path / "platform.yaml"
    link.symlink_to(real)
    result = promote(link, "auth", DIGEST, "staging")
    assert result.changed
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert load_all(real)["staging"].services["auth"].image.digest == DIGEST
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["platform.yaml"]
