# Spito's front door. Every target is idempotent; `make help` lists them.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# jsii prints a banner on every run once Node is past end of life; Node 22+ is recommended
# (docs/CONTRIBUTING.md). The end-of-life banner is silenced per major version (a comma-separated list), the
# deprecation notice that precedes it by any value.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
# checkov has its own virtualenv: its pins (boto3, packaging) conflict with the service's.
CHECKOV := .tools/checkov/bin/checkov
STAGE ?= dev
PORT ?= 8080
export PORT STAGE

.PHONY: help deps dev test synth diff bench lint deploy destroy faults clean web browser haproxy shellcheck

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

$(CHECKOV): requirements-checkov.txt
	[ -x .tools/checkov/bin/python ] || python3 -m venv .tools/checkov
	.tools/checkov/bin/python -m pip install -q -r requirements-checkov.txt
	touch $@

# The service's locked wheels for this machine, so the fleet bootstrap test installs offline.
WHEELHOUSE := .tools/wheels
$(WHEELHOUSE)/.downloaded: service/requirements.lock
	rm -rf $(WHEELHOUSE)
	$(PY) -m pip download -q --require-hashes --only-binary=:all: -d $(WHEELHOUSE) -r service/requirements.lock
	touch $@

deps: $(VENV)/.installed node_modules/.installed $(CHECKOV) $(WHEELHOUSE)/.downloaded ## create .venv and node_modules when missing or stale

# The web app has its own package.json and lock (web/); its build output is never committed.
WEB_SOURCES := web/index.html web/vite.config.ts web/tsconfig.json $(shell find web/src web/public -type f)

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# Rebuilt only when a source or the lock changed; Vite empties web/dist, so index.html is the stamp.
web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build
	touch $@

web: web/dist/index.html ## build the web app into web/dist (hashed files) when it is stale

browser: ## install Debian's Chromium for the browser tests when missing (downloaded builds don't work here)
	deps/ensure-apt.sh chromium

# docs/WEB-APP.md's picture of the app is the screenshot the browser test of a short link saves.
.PHONY: screenshots
screenshots: deps web browser ## regenerate docs/web-app.png (docs/WEB-APP.md's picture) from the browser tests
	$(PY) -m pytest -q tests/browser/test_web_app.py -k test_short_link_from_the_form_leads_to_its_target
	cp test-results/browser/shorten-result.png docs/web-app.png

shellcheck: ## install ShellCheck (make lint, and the pre-commit hook's test) when missing
	deps/ensure-apt.sh shellcheck

haproxy: ## install HAProxy, the ALB's stand-in in the fault harness, when missing
	deps/ensure-apt.sh haproxy

faults: deps haproxy ## break a local fleet behind HAProxy on purpose: one result line per scenario (docs/RELIABILITY.md)
	$(PY) -m faults

dev: deps web ## run Spito locally on http://127.0.0.1:$(PORT) (dynalite, local S3, the service) until Ctrl-C
	$(PY) -m devstack.supervisor

test: deps web browser haproxy shellcheck ## the whole suite; non-zero exit on any failure
	$(PY) -m pytest -n 2 --dist loadfile

lint: deps web/node_modules/.installed shellcheck ## ruff (lint + format check), mypy strict, shellcheck, actionlint, the web app's tsc + prettier; changes no file
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	git grep -lzE '^#!(/usr)?/bin/(env )?(ba|da)?sh$$' | xargs -0 -r shellcheck
	$(VENV)/bin/actionlint
	cd web && npm run lint

# Offline: no lookups, no credentials, no notices fetched. cfn-lint and checkov must report nothing;
# their exceptions are per resource, with reasons, in the templates' Metadata.
synth: deps web ## synthesize every stack of STAGE into cdk.out offline; stacks and resource counts; cfn-lint; checkov
	rm -rf cdk.out
	$(CDK) synth --context stage=$(STAGE) --output cdk.out --quiet --no-notices > /dev/null
	$(PY) -m ci.synth_summary cdk.out
	$(VENV)/bin/cfn-lint cdk.out/*.template.json
	$(CHECKOV) --directory cdk.out --framework cloudformation --quiet --compact --skip-download

BASE ?= main
# DIFF_OUTPUT=FILE also writes the report there (the PR workflow posts that file).
diff: deps web ## the infrastructure change of the working tree against BASE (a git ref), as the PR comment's Markdown
	$(PY) -m ci.pr_diff --base $(BASE) --stage $(STAGE) $(if $(DIFF_OUTPUT),--output $(DIFF_OUTPUT))

# What deploy and destroy run first: the credentials check before anything else (even the web
# build the edge stack deploys), so without them they stop at once; then STAGE synthesized into
# cdk.out and the bootstrap of every environment it targets checked (docs/DEPLOY.md). The
# synth skips notices: the cdk command that follows prints them.
define checked_synth
	$(PY) -m ci.deploy_guard credentials
	$(MAKE) --no-print-directory web
	$(CDK) synth --context stage=$(STAGE) --output cdk.out --quiet --no-notices
	$(PY) -m ci.deploy_guard bootstrap --assembly cdk.out
endef

# cfn-lint is the templates' only linter (app.py turns the CDK's built-in copy of its rules off).
deploy: deps ## deploy every stack of STAGE to AWS, after checking credentials, the CDK bootstrap of each target and cfn-lint
	$(checked_synth)
	$(VENV)/bin/cfn-lint cdk.out/*.template.json
	$(CDK) deploy --app cdk.out --all --require-approval broadening

destroy: deps ## delete every stack of STAGE from AWS after the same checks (asks first; prod's table and buckets are retained)
	$(checked_synth)
	$(CDK) destroy --app cdk.out --all

bench: deps web ## benchmarks as ratios against baselines measured in the same run (docs/BENCHMARKS.md)
	deps/ensure-apt.sh wrk nginx
	$(PY) -m bench.service
	$(PY) -m bench.synth --stage $(STAGE)

clean: ## remove build output and local data (keeps .venv and node_modules)
	rm -rf cdk.out .local web/dist .pytest_cache .mypy_cache .ruff_cache
