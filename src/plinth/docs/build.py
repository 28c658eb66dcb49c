"""Build docs/architecture.md and its diagram from the spec and the rendered tree (an artifact of ``plinth generate``)."""

from __future__ import annotations

from plinth.docs.architecture import architecture_markdown
from plinth.docs.diagram import architecture_svg
from plinth.render.pipeline import render_platform
from plinth.spec.model import Platform


def component_placements(rendered) -> list[tuple[str, str]]:
    """(namespace, component) pairs of what is deployed: each Application's destination."""
    pairs = set()
    for item in rendered:
        obj = item.obj
        if obj["kind"] == "Application" and obj["spec"]["project"] != "platform":
            pairs.add((obj["spec"]["destination"]["namespace"], obj["metadata"]["name"]))
    return sorted(pairs)


def generated_docs(platform: Platform) -> dict[str, str]:
    """Relative path under ``docs/`` → content of every generated document."""
    rendered = render_platform(platform)
    return {
        "architecture.md": architecture_markdown(platform, rendered),
        "architecture.svg": architecture_svg(platform, component_placements(rendered)),
    }
