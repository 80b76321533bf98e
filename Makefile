# Every target installs what it needs: a fresh machine with Python 3.11 and make is enough.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
STACK ?= dev

# uv uses the machine's Python, never a downloaded one, and the lock file as written.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: setup test lint plan docs demo clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV)  ## Create .venv from uv.lock (idempotent).
	$(UV) sync --frozen --all-groups

test: setup  ## Run the whole test suite.
	$(UV) run --frozen --no-sync pytest -n 2

lint: setup  ## ruff lint and format check.
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync ruff format --check .

plan: setup  ## Offline plan of STACK under Pulumi's mock engine: build/plan/$(STACK)/.
	$(UV) run --frozen --no-sync python -m infra.plan --stack $(STACK)

docs: setup  ## Regenerate the config block of Pulumi.yaml and the README's key table from infra/config.py.
	$(UV) run --frozen --no-sync python -m infra.config_reference .

demo: setup  ## The main job on the local default (no Azure account).
	$(UV) run --frozen --no-sync python -m infra.plan --stack dev

clean:
	rm -rf build .venv $(TOOLS)
