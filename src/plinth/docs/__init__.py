"""Documents generated from the spec and the rendered tree (architecture, data stores, diagram, report), committed with freshness tests."""
