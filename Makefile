# capmon: the two commands of the README are `make demo` and `make test`.
# Both set up what is missing (idempotent) and reuse what an earlier run installed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser lint test test-unit test-integration demo bench stack-up stack-down stack-status clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Debian's chromium for the browser tests (a test tool's own browser download does not work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium" >&2; exit 1; fi; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/capmon schemas --check

test: setup browser lint
	$(BIN)/pytest -q -p no:cacheprovider

test-unit: setup
	$(BIN)/pytest -q -m "not integration and not browser"

test-integration: setup browser
	$(BIN)/pytest -q -m "integration or browser"

demo: setup browser
	$(BIN)/capmon demo

bench: setup
	$(BIN)/capmon bench

stack-up: setup
	$(BIN)/capmon stack up
stack-down: setup
	$(BIN)/capmon stack down
stack-status: setup
	$(BIN)/capmon stack status

clean:
	-$(BIN)/capmon stack down
	rm -rf var artifacts
