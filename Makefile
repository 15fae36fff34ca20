# Every target does its own set-up: a virtual environment in .venv/ installed from the lock file.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench lock clean chromium

$(STAMP): requirements/lock.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## The main job on the embedded defaults (no account, no network beyond loopback).
demo: $(STAMP)
	$(BIN)/broker-integration demo

## Lint, type-check and run the whole test suite (the report test drives Debian's headless Chromium).
test: $(STAMP) chromium
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/pytest -q

## Debian's Chromium for the HTML report test (installs with apt-get when missing; needs root).
chromium:
	bash scripts/ensure-chromium.sh

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
