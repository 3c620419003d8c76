# Quick start: `make run` (the whole study) and `make test` (every test, as CI runs them).
RECIPE ?= recipes/imdb-sarcasm.yaml
ARGS ?=
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test test-fast bench

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/sarcgen run $(RECIPE) $(ARGS)

test: setup
	.venv/bin/python -m pytest -m "slow or not slow" $(ARGS)

test-fast: setup
	.venv/bin/python -m pytest $(ARGS)
