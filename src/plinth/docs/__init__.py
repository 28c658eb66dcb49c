"""Documents generated from the spec (committed, with tests that they are fresh)."""
