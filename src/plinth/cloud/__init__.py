"""The cloud layer: instance catalog shared by the planner and the Pulumi programs."""
