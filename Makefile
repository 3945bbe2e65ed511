# attendance-sync: `make test` and `make run` need nothing but Python 3.12 and git.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12: on PATH, or the pyenv install of it when the pyenv shim points elsewhere.
PYTHON ?= $(shell for p in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM_CLI_VERSION := 1.170.0
# checkov in a virtualenv of its own too: its pins conflict with the project's.
POLICY_VENV := .venv-policy
CHECKOV_VERSION := 3.3.30
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: help install browser test lint format build check-params run demo openapi fuzz-api soak soak-rush bench bench-edge screenshots policy clean check-python

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.12 not found: install it (python3.12 on PATH) or pass PYTHON=/path/to/python3.12"; exit 1; }

$(BIN)/.installed: pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed ## create .venv with everything the project needs

# The dashboard's browser tests need Chromium: Debian's package, installed here when it is missing and
# this is a Debian machine we may install on (root with apt-get). Elsewhere, say how; the tests then
# skip, except in CI, where they fail.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
browser: ## Chromium for the dashboard's browser tests (Debian's chromium package)
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "Chromium not found at $(CHROMIUM) and cannot be installed here (needs root and apt-get):"; \
		echo "  install it (sudo apt-get install chromium chromium-driver) or pass CHROMIUM=/path/to/chromium;"; \
		echo "  the browser tests are skipped until then (and fail in CI)."; \
	fi

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Two workers a core: the end-to-end tests mostly wait (on schedules, paced workers, a CRM's retries), so
# a core serves two. Each test file runs whole on one worker, and each worker starts its own local stack
# for the end-to-end tests that share one.
test: lint browser ## lint, then every test
	$(BIN)/pytest -n $$(( 2 * $$(nproc) )) --dist loadfile --no-loadscope-reorder

run: install ## the whole system locally: moto AWS :4566, HTTP API :3000, mock CRM :5001 (Ctrl-C stops)
	$(BIN)/python -m local_stack

demo: install ## a day of punches through a running stack (or one it starts), with a CRM outage
	$(BIN)/python -m local_stack.demo

openapi: install ## regenerate docs/openapi.json from the handlers' routes
	$(BIN)/python -m local_stack.openapi

fuzz-api: install ## the API contract fuzz at a larger budget: schemathesis, every check, against a fresh local stack
	$(BIN)/python -m tests.contract.fuzz_api --max-examples 300

soak: install ## chaos soak (10,200 punches from four sources, about 8 min), then the rush (soak-rush); prints sent, delivered, lost, twice
	$(BIN)/python -m bench.soak --scale 3400
	$(BIN)/python -m bench.rush --punches 10000

soak-rush: install ## 10,000 punches at once against a CRM allowing 20 a second (about 10 min): paced, none lost or twice
	$(BIN)/python -m bench.rush --punches 10000

bench: install ## the benchmark suite: prints a table and writes the figures into docs/PERFORMANCE.md
	$(BIN)/python -m bench.run

bench-edge: install ## edge poller figures: first sync of 50,000 records, idle cycle
	$(BIN)/python -m bench.edge_poller_bench --records 50000

screenshots: install browser ## the README's dashboard screenshots (docs/screenshots/) from a seeded local stack
	$(BIN)/python -m bench.dashboard_screenshots

$(SAM_VENV)/.installed: Makefile | check-python
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

build: $(SAM_VENV)/.installed install ## sam validate --lint and sam build (offline, no container)
	$(SAM_VENV)/bin/sam validate --lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(SAM_VENV)/bin/sam build --parallel

# The overrides `sam deploy` would send, from samconfig.toml (CONFIG_ENV: sam's --config-env), checked
# against the template's rules and the zones as the functions read them, before a deploy takes them.
CONFIG_ENV ?= default
check-params: install ## samconfig.toml's parameter_overrides checked before sam deploy (CONFIG_ENV=default)
	$(BIN)/python -m local_stack.check_params --config-env $(CONFIG_ENV)

$(POLICY_VENV)/.installed: Makefile | check-python
	$(PYTHON) -m venv $(POLICY_VENV)
	$(POLICY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(POLICY_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

# Every check that does not fit this system is skipped in its resource's Metadata, with the reason
# (docs/SECURITY.md lists them): any failed check fails the target. Offline: no download of extra data.
policy: $(POLICY_VENV)/.installed ## checkov on template.yaml: fails on any failed check
	$(POLICY_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

clean: ## remove virtualenvs and build output
	rm -rf $(VENV) $(SAM_VENV) $(POLICY_VENV) .aws-sam .pytest_cache .ruff_cache
