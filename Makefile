# Rapport's developer commands. Everything installs into .venv; nothing touches the system Python.
#
#   make demo     run the demo on http://127.0.0.1:8000 (ARGS="--port 8001" to change its options)
#   make test     run the whole test suite (ARGS="tests/unit -k merge" to run a part)
#   make lint     ruff, mypy and the import contracts (lint-imports)
#   make bench    every benchmark in bench/ (BENCH=bench/ingest.py ARGS="--events 50000" for one)
#   make lock     re-compile the locks, requirements/*.txt, after editing pyproject.toml (check-lock: CI's check)
#   make upgrade-lock   move the locks to the newest versions that fit (PACKAGES="typer rich" for only those)
#
# Installs take exactly the versions pinned in requirements/ (see scripts/lock), then Rapport itself with
# --no-deps. pip runs again only when the lock or pyproject.toml changes: each install leaves a stamp named
# after their hash.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

key = $(shell cat $(1) | sha256sum | cut -c1-16)
DEMO_STAMP := $(VENV)/.installed-demo-$(call key,pyproject.toml requirements/demo.txt)
DEV_STAMP := $(VENV)/.installed-dev-$(call key,pyproject.toml requirements/dev.txt)
# pip-tools, which compiles the locks, has a venv of its own: its pip and click stay out of Rapport's.
LOCK_VENV := $(VENV)/lock-tools
LOCK_STAMP := $(LOCK_VENV)/.installed-$(call key,requirements/tools.txt)
PACKAGES ?=
LINT_PATHS := $(wildcard src tests bench)
# Benchmarks are bench/*.py; helpers start with an underscore, and tools that need arguments are skipped.
BENCH_TOOLS := bench/pyspy_top.py
BENCH ?= $(filter-out bench/_% $(BENCH_TOOLS),$(sort $(wildcard bench/*.py)))

.PHONY: demo test lint bench system-deps browser-sdks install-dev install-demo lock upgrade-lock check-lock clean help

help:
	@sed -n '3,8p' Makefile | sed 's/^# //'

# The demo's survey answers quote real review snippets from VADER's human-rated ground truth, which
# ships only in vaderSentiment's source archive: fetched once from the package index into
# ~/.cache/rapport (checked against its SHA-256). Without it the demo uses sentences of its own.
demo: $(DEMO_STAMP)
	@$(BIN)/python -c "from rapport.texts import groundtruth; groundtruth.locate()" 2>/dev/null \
	  || echo "(VADER's ground truth could not be fetched: the demo's survey answers use their own sentences)"
	$(BIN)/rapport demo $(ARGS)

test: system-deps browser-sdks $(DEV_STAMP)
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

# The official browser libraries, from tests/clients/browser/package-lock.json, bundled by esbuild.
browser-sdks:
	@scripts/build-browser-sdks

install-dev: $(DEV_STAMP)
install-demo: $(DEMO_STAMP)

$(BIN)/python:
	@echo "$(PYTHON) -m venv $(VENV)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "could not create $(VENV): on Debian/Ubuntu run: sudo apt-get install python3-venv" >&2; exit 1; }

# install NAME: exactly what requirements/NAME.txt pins, then Rapport itself. The lock pins the build
# backend too, so Rapport is built with it rather than with whatever setuptools is newest.
define install
	@echo "pip install -r requirements/$(1).txt && pip install --no-deps --no-build-isolation -e ."
	@$(BIN)/pip install -q -r requirements/$(1).txt
	@$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-$(1)-*
	@touch $@
endef

$(DEMO_STAMP): | $(BIN)/python
	$(call install,demo)

$(DEV_STAMP): | $(BIN)/python
	$(call install,dev)

lock: $(LOCK_STAMP)
	LOCK_PIP_COMPILE=$(LOCK_VENV)/bin/pip-compile scripts/lock

upgrade-lock: $(LOCK_STAMP)
	LOCK_PIP_COMPILE=$(LOCK_VENV)/bin/pip-compile scripts/lock --upgrade $(PACKAGES)

check-lock: $(LOCK_STAMP)
	LOCK_PIP_COMPILE=$(LOCK_VENV)/bin/pip-compile scripts/lock --check

$(LOCK_STAMP):
	@[ -x $(LOCK_VENV)/bin/python ] || { echo "$(PYTHON) -m venv $(LOCK_VENV)"; $(PYTHON) -m venv $(LOCK_VENV); }
	@echo "pip install -r requirements/tools.txt (into $(LOCK_VENV))"
	@$(LOCK_VENV)/bin/pip install -q -r requirements/tools.txt
	@rm -f $(LOCK_VENV)/.installed-*
	@touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
