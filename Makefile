# The README's two commands. Each does all of its own set-up on a fresh Debian machine.
.PHONY: run test setup-core setup-test clean

SPEC ?= platform.yaml

run: setup-core
	.venv/bin/plinth run --spec $(SPEC)

test: setup-test
	.venv/bin/python -m pytest -q

setup-core:
	@scripts/setup.sh core

setup-test:
	@scripts/setup.sh test

clean:
	rm -rf .venv .pytest_cache
