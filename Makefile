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
# Compile site-packages once at install: with PYTHONDONTWRITEBYTECODE set (as on these machines) every process
# would otherwise recompile azure-native's sources on import (make plan: 10.6 s -> 7.1 s median).
export UV_COMPILE_BYTECODE := 1

.PHONY: setup setup-checkov setup-policy-pack setup-azurite setup-torch test lint plan scan diagrams docs demo clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV)  ## Create .venv from uv.lock (idempotent).
	$(UV) sync --frozen --all-groups

# checkov and the Pulumi policy pack pin what the program's environment cannot (packaging<24; protobuf~=5.29):
# each has its own uv project and lock under policy/, synced with the same uv into its own environment.
setup-checkov: $(UV)  ## Create .venv-checkov (pinned checkov) from policy/checkov/uv.lock.
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-checkov $(UV) sync --frozen --project policy/checkov

setup-policy-pack: $(UV)  ## Create .venv-policy (pulumi-policy) from policy/pack/uv.lock.
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-policy $(UV) sync --frozen --all-groups --project policy/pack

# The generated PyTorch projects' tests run in one shared environment: torch from PyPI comes with its CUDA
# libraries (~5 GB), so it is installed once per checkout, from tests/support/torch/uv.lock, never per project.
setup-torch: $(UV)  ## Create .venv-torch (torch + the template's pins) from tests/support/torch/uv.lock.
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.venv-torch $(UV) sync --frozen --project tests/support/torch

# Azurite, Microsoft's Azure Storage emulator, pinned by tests/support/azurite/package-lock.json: the tests run
# the Table and Queue boundary on it. npm ci reinstalls only when package.json or the lock file is newer than
# the install.
AZURITE := tests/support/azurite
AZURITE_STAMP := $(AZURITE)/node_modules/.package-lock.json

$(AZURITE_STAMP): $(AZURITE)/package.json $(AZURITE)/package-lock.json
	npm ci --prefix $(AZURITE) --no-audit --no-fund
	touch $@

setup-azurite: $(AZURITE_STAMP)  ## Install the pinned Azurite into tests/support/azurite/node_modules (idempotent).

test: setup setup-checkov setup-policy-pack setup-azurite setup-torch  ## Run the whole test suite, the policy gate of every stack included.
	$(UV) run --frozen --no-sync pytest -n 2

lint: setup  ## ruff lint and format check.
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync ruff format --check .

plan: setup  ## Offline plan of STACK: resource tree, ARM model, cost and diagram in build/plan/$(STACK)/.
	$(UV) run --frozen --no-sync python -m infra.plan --stack $(STACK)

scan: setup setup-checkov  ## The policy gate: checkov (ours included) over every stack, the pipelines and the repo.
	$(UV) run --frozen --no-sync python -m infra.plan.gate

diagrams: setup  ## Regenerate the committed architecture diagrams docs/architecture-{dev,prod}.md.
	$(UV) run --frozen --no-sync python -m infra.plan.diagram

docs: setup  ## Regenerate the config block of Pulumi.yaml and the README's key table from infra/config.py.
	$(UV) run --frozen --no-sync python -m infra.config_reference .

# make demo [VARIANT=pytorch] [KEEP_RUNNING=1] [WORSE=1] [DEMO_ARGS="--data-file rows.csv"]; `DEMO_ARGS=--stop`
# stops what KEEP_RUNNING=1 left up. VARIANT is the template's framework answer (pytorch runs in .venv-torch).
# See examples/local-e2e/README.md.
VARIANT ?= scikit-learn
KEEP_RUNNING ?=
WORSE ?=
DEMO_ARGS ?=
demo: setup $(if $(filter pytorch,$(VARIANT)),setup-torch)  ## The whole MLOps loop locally: MLflow server, generated project, gate, serve, drift (no Azure account).
	$(UV) run --frozen --no-sync python examples/local-e2e/run_demo.py --variant $(VARIANT) \
		$(if $(KEEP_RUNNING),--keep-running) $(if $(WORSE),--worse-candidate) $(DEMO_ARGS)

clean:
	rm -rf build .venv .venv-checkov .venv-policy .venv-torch $(TOOLS) $(AZURITE)/node_modules

.PHONY: sync-template
sync-template: setup  ## Copy pipelines/ templates and scripts into templates/mlflow-project (byte for byte).
	$(UV) run --frozen --no-sync python -m pipelines.sync_template

.PHONY: pools
pools: setup  ## Regenerate pipelines/azure-pipelines/templates/variables/pools.yml (each stack's agent pool, infra.yml's --target patterns) from the stack files.
	$(UV) run --frozen --no-sync python -m infra.pipeline_pools
