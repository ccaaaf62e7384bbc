# The two README commands: `make run` (synth, then the local endpoint, the API and the page) and `make test`.
# Every target sets up what it needs first, so both work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup system-packages run run-velib synth serve up package train test test-fast lint check-templates bench cost \
	rehearse clean

setup: $(VENV)/.installed node_modules/.installed

# Debian's redis-server and headless chromium, for the web tests (a real Redis, a real browser), and jq, which the
# deploy workflows' steps use and their test runs; only what is missing is installed (a GitHub runner's Ubuntu
# already has Google Chrome, which the browser test also takes, and jq).
system-packages:
	@missing="$$(command -v redis-server >/dev/null || echo redis-server) \
		$$(command -v chromium >/dev/null || command -v google-chrome >/dev/null || echo chromium) \
		$$(command -v jq >/dev/null || echo jq)"; \
	if [ -n "$$(echo $$missing)" ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

package: setup
	$(PY) -m cdk_app package

synth: setup
	npx cdk synth --no-notices --quiet

serve: setup
	$(PY) -m cdk_app serve

up: setup
	$(PY) -m cdk_app up

run: synth up

# The real city: the collector on Vélib's live feed, with the endpoint, the API and the page.
run-velib: synth
	$(PY) -m cdk_app up --stations velib

# cdk synth (cdk-nag runs inside it), then cfn-lint and checkov on every synthesized template, in every
# serving mode: serverless, warm hours by pings and by provisioned concurrency, real-time; with the collector, and
# with the weekly retraining on its history; an A/B on serverless (a second endpoint) and on real-time (a second
# variant, autoscaled at a 30 % share), whose challenger is artifacts/ with its weights scaled.
WARM_HOURS := Mon-Fri 07:00-10:00,16:30-20:00
RETRAIN_SCHEDULE := cron(0 3 ? * MON *)
CHALLENGER_ARTIFACTS := build/challenger-artifacts
define check_mode
	npx cdk synth --no-notices --quiet -o cdk.out/$(1) -c github_repository=example/velib-forecast $(2)
	$(VENV)/bin/cfn-lint cdk.out/$(1)/*.template.json
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact \
		--framework cloudformation -d cdk.out/$(1)
endef

check-templates: setup $(CHECKOV_VENV)/.installed
	$(call check_mode,serverless,)
	$(call check_mode,warm-ping,-c "warm_hours=$(WARM_HOURS)")
	$(call check_mode,warm-provisioned,-c "warm_hours=$(WARM_HOURS)" -c warm_strategy=provisioned \
		-c provisioned_concurrency=2)
	$(call check_mode,realtime,-c endpoint_type=realtime)
	$(call check_mode,collector,-c collector=true)
	$(call check_mode,retrain,-c collector=true -c "retrain_schedule=$(RETRAIN_SCHEDULE)")
	rm -rf $(CHALLENGER_ARTIFACTS) && $(PY) -m cdk_app.rehearsal.challenger_model $(CHALLENGER_ARTIFACTS)
	$(call check_mode,ab-serverless,-c collector=true -c challenger_version=$(CHALLENGER_ARTIFACTS))
	$(call check_mode,ab-realtime,-c endpoint_type=realtime -c challenger_version=$(CHALLENGER_ARTIFACTS) \
		-c challenger_weight=0.3)

train: setup
	$(PY) -m cdk_app train

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/actionlint .github/workflows/*.yml

# Every tier: unit (no server, no CDK app), synth (templates, cdk-nag, linters), integration (serving stack,
# emulator, workflows).
test: setup system-packages $(CHECKOV_VENV)/.installed lint
	$(PY) -m pytest

# Unit and synth tiers only: a minute or two, no server started.
test-fast: setup $(CHECKOV_VENV)/.installed
	$(PY) -m pytest tests/unit tests/synth

bench: setup
	$(PY) -m cdk_app bench

cost: setup
	$(PY) -m cdk_app cost

rehearse: setup
	$(PY) -m cdk_app rehearse

# build/history is the collector's history: data, not a build product, so clean keeps it.
clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
	find build -mindepth 1 -maxdepth 1 ! -name history -exec rm -rf {} + 2>/dev/null || true
