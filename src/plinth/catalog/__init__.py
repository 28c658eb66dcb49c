"""Neutral facts about the clouds' machines, read by the planner, the checks, the cloud layer and the
simulated cluster alike: which instance type runs a node pool, and what one node offers pods."""
