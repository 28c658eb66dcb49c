"""Promote an image digest into an environment by editing ``platform.yaml`` (what CI calls; never kubectl).

The edit sets ``environments.<env>.services.<service>.image.digest``. Only the ``environments:`` block
is re-serialised (ruamel round-trip, comments kept); every other byte of the file stays as written, so
the commit CI makes is a one-line diff a reviewer can read. The edited file is validated as a whole
(every environment resolved) before it replaces the original, atomically.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from plinth.spec.loader import SpecError, load_all, read_yaml

DIGEST_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
ENVIRONMENTS_KEY = "environments"


class PromotionError(Exception):
    """A promotion that must not happen (bad input, or a digest that has not passed the environment before)."""

    def __init__(self, message: str, exit_code: int = 2):
        self.exit_code = exit_code
        super().__init__(message)


@dataclass(frozen=True)
class Promotion:
    """What a promotion changed."""

    service: str
    environment: str
    digest: str
    previous: str | None
    """Digest the environment ran before (None: it ran the tag)."""

    @property
    def changed(self) -> bool:
        """False when the environment already had this digest (nothing written)."""
        return self.previous != self.digest


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _block(yaml: YAML, key: str, value: object) -> str:
    doc = CommentedMap()
    doc[key] = value
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue()


def _child_map(parent: CommentedMap, key: str) -> CommentedMap:
    node = parent.get(key)
    if node is None:
        node = CommentedMap()
        parent[key] = node
    if not isinstance(node, CommentedMap):
        raise PromotionError(f"{key}: expected a mapping in the spec, found {type(node).__name__}")
    node.fa.set_block_style()
    return node


def promoted_text(spec_path: Path, service: str, digest: str, environment: str) -> tuple[str, Promotion]:
    """The spec file's new text with the digest set, and what changed; raises PromotionError."""
    if not DIGEST_PATTERN.match(digest):
        raise PromotionError(f"--digest: expected sha256:<64 lowercase hex digits>, got {digest!r}")
    try:
        platforms = load_all(spec_path)
    except SpecError as exc:
        raise PromotionError(f"{spec_path} is not a valid spec before the promotion:\n{exc}") from None
    if environment not in platforms:
        raise PromotionError(f"--env: no environment {environment!r} in {spec_path} (expected one of: {', '.join(sorted(platforms))})")
    current = platforms[environment]
    if service not in current.services:
        raise PromotionError(f"--service: no service {service!r} in {spec_path} (expected one of: {', '.join(sorted(current.services))})")
    if environment == "prod":
        staged = platforms.get("staging")
        staged_digest = staged.services[service].image.digest if staged else None
        if staged_digest != digest:
            raise PromotionError(
                f"refusing to promote {service}@{digest} to prod: staging runs {staged_digest or 'no digest'}; "
                "a digest reaches prod only after its staging rollout", exit_code=1)

    text = spec_path.read_text(encoding="utf-8")
    yaml = _yaml()
    doc = read_yaml(spec_path)
    keys = list(doc)
    if ENVIRONMENTS_KEY not in doc:
        raise PromotionError(f"{spec_path}: no `environments:` block")
    position = keys.index(ENVIRONMENTS_KEY)
    lines = text.splitlines(keepends=True)
    start = doc.lc.key(ENVIRONMENTS_KEY)[0]
    end = doc.lc.key(keys[position + 1])[0] if position + 1 < len(keys) else len(lines)
    original_block = "".join(lines[start:end])
    if _block(yaml, ENVIRONMENTS_KEY, doc[ENVIRONMENTS_KEY]) != original_block:
        raise PromotionError(
            f"{spec_path}: the `environments:` block does not survive a YAML round trip unchanged (a multi-line "
            "flow mapping?); write it in block style so promotions stay one-line diffs")

    env_node = _child_map(doc[ENVIRONMENTS_KEY], environment)
    image = _child_map(_child_map(_child_map(env_node, "services"), service), "image")
    previous = current.services[service].image.digest
    image["digest"] = digest
    new_text = "".join(lines[:start]) + _block(yaml, ENVIRONMENTS_KEY, doc[ENVIRONMENTS_KEY]) + "".join(lines[end:])
    return new_text, Promotion(service, environment, digest, previous)


def promote(spec_path: Path | str, service: str, digest: str, environment: str) -> Promotion:
    """Set the digest of ``service`` in ``environment``, validate the whole spec, write atomically. A spec that is a
    symbolic link stays one: the file it points to is replaced (in its own folder, so the rename stays atomic)."""
    spec_path = Path(spec_path)
    new_text, promotion = promoted_text(spec_path, service, digest, environment)
    if not promotion.changed:
        return promotion
    target = spec_path.resolve() if spec_path.is_symlink() else spec_path
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        try:
            platforms = load_all(tmp)
        except SpecError as exc:
            raise PromotionError(f"the promoted spec would be invalid:\n{exc}") from None
        if platforms[environment].services[service].image.digest != digest:
            raise PromotionError(f"internal error: {environment}.{service} does not resolve to {digest} after the edit")
        os.chmod(tmp, target.stat().st_mode & 0o777)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return promotion
