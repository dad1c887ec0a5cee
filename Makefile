# Spito's front door. Every target is idempotent; `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# jsii warns on every run that Node 20 is past end of life; Node 22+ is recommended (README).
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
PORT ?= 8080
export PORT STAGE

.PHONY: help deps dev test synth diff bench lint deploy destroy faults clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt service/requirements.txt
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deps: $(VENV)/.installed node_modules/.installed ## create .venv and node_modules when missing or stale

dev: deps ## run Spito locally on http://127.0.0.1:$(PORT) (dynalite, local S3, the service) until Ctrl-C
	$(PY) -m scripts.dev

test: deps ## the whole suite; non-zero exit on any failure
	$(PY) -m pytest -n 2

clean: ## remove build output and local data (keeps .venv and node_modules)
	rm -rf cdk.out .local web/dist .pytest_cache .mypy_cache .ruff_cache
