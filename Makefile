# Every target does its own set-up: a virtual environment in .venv/ installed from the lock file.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench lock clean chromium docs

$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## The main job on the embedded defaults (no account, no network beyond loopback).
demo: $(STAMP)
	$(BIN)/broker-integration demo

## Lint, type-check, build the API reference strictly and run the whole test suite (the report tests
## drive Debian's headless Chromium; the store tests run on SQLite and on a throw-away PostgreSQL cluster).
test: $(STAMP) chromium
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	bash scripts/with-postgresql.sh $(BIN)/pytest -q

## Debian's Chromium for the HTML report test (installs with apt-get when missing; needs root).
chromium:
	bash scripts/ensure-chromium.sh

## The API reference site from the docstrings, into build/docs (a broken reference fails the build).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

## Re-pin every dependency after editing pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements/lock.txt

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
