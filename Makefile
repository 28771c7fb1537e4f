# Rapport's developer commands. Everything installs into .venv; nothing touches the system Python.
#
#   make demo     run the demo on http://127.0.0.1:8000 (ARGS="--port 8001" to change its options)
#   make test     run the whole test suite (ARGS="tests/unit -k merge" to run a part)
#   make lint     ruff and mypy
#   make bench    every benchmark in bench/ (BENCH=bench/ingest.py ARGS="--events 50000" for one)
#
# pip runs again only when pyproject.toml changes: each install leaves a stamp named after the hash of
# pyproject.toml and the extras it installed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

KEY := $(shell sha256sum pyproject.toml | cut -c1-16)
DEMO_STAMP := $(VENV)/.installed-demo-$(KEY)
DEV_STAMP := $(VENV)/.installed-dev-$(KEY)
LINT_PATHS := $(wildcard src tests bench)
# Benchmarks are bench/*.py; helpers start with an underscore, and tools that need arguments are skipped.
BENCH_TOOLS := bench/pyspy_top.py
BENCH ?= $(filter-out bench/_% $(BENCH_TOOLS),$(sort $(wildcard bench/*.py)))

.PHONY: demo test lint bench system-deps install-dev install-demo clean help

help:
	@sed -n '3,6p' Makefile | sed 's/^# //'

demo: $(DEMO_STAMP)
	$(BIN)/rapport demo $(ARGS)

test: system-deps $(DEV_STAMP)
	$(BIN)/pytest $(ARGS)

lint: $(DEV_STAMP)
	@status=0; \
	echo "$(BIN)/ruff check $(LINT_PATHS)"; $(BIN)/ruff check $(LINT_PATHS) || status=1; \
	echo "$(BIN)/mypy"; $(BIN)/mypy || status=1; \
	echo "$(BIN)/lint-imports"; $(BIN)/lint-imports || status=1; \
	exit $$status

bench: $(DEV_STAMP)
	@set -e; if [ -z "$(strip $(BENCH))" ]; then echo "no benchmark scripts in bench/ yet"; exit 0; fi; \
	for script in $(BENCH); do echo "== $$script $(ARGS)"; $(BIN)/python $$script $(ARGS); done

system-deps:
	@scripts/install-system-deps

install-dev: $(DEV_STAMP)
install-demo: $(DEMO_STAMP)

$(BIN)/python:
	@echo "$(PYTHON) -m venv $(VENV)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "could not create $(VENV): on Debian/Ubuntu run: sudo apt-get install python3-venv" >&2; exit 1; }

$(DEMO_STAMP): | $(BIN)/python
	@echo "pip install -e '.[demo]'"
	@$(BIN)/pip install -q -e '.[demo]'
	@rm -f $(VENV)/.installed-demo-*
	@touch $@

$(DEV_STAMP): | $(BIN)/python
	@echo "pip install -e '.[dev]'"
	@$(BIN)/pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-dev-*
	@touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
