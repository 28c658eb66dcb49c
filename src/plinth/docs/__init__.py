"""Documents generated from the spec and the rendered tree (architecture, diagram, report)."""
