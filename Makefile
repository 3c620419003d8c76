# `make run`: the offline quickstart (embedded SmolLM2-135M writer, MiniLM encoder, packaged IMDB
# sample; about 15 minutes on 2 cores, no network). `make study`: the seed study (Qwen3-4B from the
# Hub, bert-base-uncased, 3,200/800/500 IMDB). `make test`: every test, as CI runs them
# (after `make lint`: ruff and mypy).
QUICKSTART ?= recipes/quickstart.yaml
STUDY ?= recipes/imdb-sarcasm.yaml
ARGS ?=
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run study lint test test-fast bench

setup:
	@scripts/setup.sh

run: setup
	HF_HUB_OFFLINE=1 .venv/bin/sarcgen run $(QUICKSTART) $(ARGS)

study: setup
	.venv/bin/sarcgen run $(STUDY) $(ARGS)

# ruff over the code and its tests; mypy as configured in pyproject.toml (strict on the shared contracts).
lint: setup
	.venv/bin/ruff check sarcgen tests benchmarks
	.venv/bin/mypy

test: setup
	.venv/bin/python -m pytest -m "slow or not slow" $(ARGS)

test-fast: setup
	.venv/bin/python -m pytest $(ARGS)
