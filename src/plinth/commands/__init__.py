"""Command groups of the `plinth` CLI, and what they share."""
