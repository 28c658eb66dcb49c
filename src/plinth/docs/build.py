"""Build docs/architecture.md and its diagram from the spec and the rendered tree (an artifact of ``plinth generate``)."""

from __future__ import annotations

from plinth.charts.hydrate import HydratedObject
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


def generated_docs(platform: Platform, hydrated: list[HydratedObject] | None = None) -> dict[str, str]:
    """Relative path under ``docs/`` → content of every generated document (``hydrated``: what the chart Applications
    hydrate to, for the cost table; None plans without the charts and says so)."""
    rendered = render_platform(platform)
    return {
        "architecture.md": architecture_markdown(platform, rendered, hydrated),
        "architecture.svg": architecture_svg(platform, component_placements(rendered)),
    }
