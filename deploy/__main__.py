"""Pulumi entry point: ``pulumi up`` in this folder builds the stack's environment of ../platform.yaml."""

from plinth.cloud.program import main

main()
