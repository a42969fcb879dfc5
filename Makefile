# Two commands: `make run` (the whole system locally) and `make test`.
# Both set everything up on a fresh machine: system packages, the virtualenv, the project.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
INFRA_STAMP := .venv-infra/.installed
SYSTEM_PACKAGES := mosquitto bubblewrap poppler-utils zbar-tools fonts-dejavu-core \
                   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
                   chromium nodejs
# The Open Event web app: its pinned upstream source is in the repository; builds are cached
# outside it, one per source sha256 (`make run` builds it in the background the first time).
FRONTEND_SRC   := web/open-event-frontend
FRONTEND_CACHE ?= $(HOME)/.cache/openevent-frontend
export OPENEVENT_FRONTEND_CACHE := $(FRONTEND_CACHE)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint imports typecheck bench openapi layer package synth deploy destroy \
        system-deps node-deps clean lab-console-vendor checkin-vendor frontend \
        frontend-source-check test-frontend

# Debian packages: the MQTT broker, the lab sandbox, PDF and QR tools for tests, a font, and
# Chromium for the browser tests (Playwright drives Debian's build; it downloads no browser).
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[local,pdf,payments,lab,bench,dev]"
	touch $(STAMP)

# Node and npm build the web app (Debian's nodejs/npm unless a node is already installed).
node-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  $(MAKE) -s system-deps SYSTEM_PACKAGES="nodejs npm"

# The API, the lab console and the web app at / (built in the background on the first start).
run: system-deps node-deps $(STAMP)
	OPENEVENT_MODULES=$${OPENEVENT_MODULES-ticket,payment,donation} \
	$(BIN)/python -m openevent.local

test: system-deps $(STAMP) $(INFRA_STAMP) frontend imports
	OPENEVENT_REQUIRE_FRONTEND=1 $(BIN)/pytest -n 2 --durations=15

# The Open Event web app (Ember), built once per source sha256 into a cache outside the
# repository (node_modules are reused); `make run` then serves it at / beside the API.
frontend-source-check:
	@cd $(FRONTEND_SRC) && sha256sum --check --quiet SHA256SUMS || \
	  { echo "$(FRONTEND_SRC): the tarball does not match SHA256SUMS"; exit 2; }

frontend: node-deps frontend-source-check
	@sha=$$(cut -d' ' -f1 $(FRONTEND_SRC)/SHA256SUMS); \
	if [ "$$(cat $(FRONTEND_CACHE)/dist/.built-from 2>/dev/null)" = "$$sha" ]; then \
	  echo "web app: $(FRONTEND_CACHE)/dist (cached build of $$sha)"; \
	else \
	  echo "building the web app from $(FRONTEND_SRC) (~10 min the first time) ..."; \
	  bash $(FRONTEND_SRC)/build.sh $(FRONTEND_CACHE); \
	fi

# Browser tests: Playwright driving Debian's Chromium through the real app against make run.
test-frontend: system-deps $(STAMP) frontend
	OPENEVENT_REQUIRE_FRONTEND=1 $(BIN)/pytest -n 2 -m browser --durations=15

test-fast: $(STAMP)
	$(BIN)/pytest -n 2 -m "not slow"

# The import contracts of pyproject.toml (layers, no cycles, what may import what).
imports: $(STAMP)
	PYTHONPATH=layers:. $(BIN)/lint-imports --no-cache

lint: $(STAMP) imports
	$(BIN)/ruff check .
	$(BIN)/mypy layers edge_agent
	for g in auth events orders lab; do $(BIN)/mypy functions/$$g/app.py || exit 1; done

typecheck: lint

bench: system-deps $(STAMP)
	$(BIN)/python bench/cold_import.py
	$(BIN)/python bench/requests.py
	$(BIN)/python bench/orders.py --buyers 2000 --seats 1000 --shards 8
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/lab.py
	$(BIN)/python bench/checkin.py
	$(BIN)/python bench/lab.py --stream

# What Lambda runs (infra/package.py): per-group code zips, dependency layers resolved for
# Lambda (manylinux2014 x86_64, CPython 3.11; cached by requirements), the renderer's image
# context. Output and sizes: build/lambda/manifest.json.
package: $(STAMP)
	$(BIN)/python -m infra.package

layer: package

# CloudFormation for the whole deployment, from infra/ (CDK, Python; node runs jsii), with
# cdk-nag's report beside it. Deploy/destroy use the CDK CLI from npm and AWS credentials;
# the renderer's image is built by the CLI, so deploy needs docker. Context:
#   make deploy MAIL_SENDER=tickets@example.org [FRONTEND_DIR=../open-event-frontend/dist]
#               [ALARM_EMAIL=ops@example.org] [PUBLIC_URL=https://<the Url output>]
CDK := npx --yes aws-cdk@2
CDK_CONTEXT = $(if $(MAIL_SENDER),-c mail_sender=$(MAIL_SENDER)) \
              $(if $(FRONTEND_DIR),-c frontend_dir=$(abspath $(FRONTEND_DIR))) \
              $(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) \
              $(if $(PUBLIC_URL),-c public_url=$(PUBLIC_URL))

$(INFRA_STAMP): infra/requirements.txt pyproject.toml
	$(PYTHON) -m venv .venv-infra
	.venv-infra/bin/pip install -q -r infra/requirements.txt -e .
	touch $(INFRA_STAMP)

synth: package $(INFRA_STAMP)
	cd infra && AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} CDK_OUTDIR=cdk.out \
	  JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1 ../.venv-infra/bin/python app.py
	$(BIN)/python -m infra.policies
	@echo "template: infra/cdk.out/OpenEvent.template.json"

deploy: package $(INFRA_STAMP)
	@test -n "$(MAIL_SENDER)" || { echo "set MAIL_SENDER (an address or domain SES may send as)"; exit 1; }
	cd infra && $(CDK) bootstrap $(CDK_CONTEXT) && \
	  $(CDK) deploy OpenEvent --require-approval never --outputs-file cdk.out/outputs.json \
	    $(CDK_CONTEXT)
	@$(PYTHON) -c 'import json; o = json.load(open("infra/cdk.out/outputs.json"))["OpenEvent"]; \
	  print("\nOpen Event is deployed: open", o["OutUrl"] + "/", "(web app, API at /v1)")'

# Refuses while lab hosts are registered (naming them); DEREGISTER_LAB_HOSTS=1 removes them.
# Tables and the documents/media/web buckets are kept (RETAIN): see infra/README.md.
destroy: package $(INFRA_STAMP)
	$(BIN)/python -m infra.register_lab_host --before-destroy \
	  $(if $(DEREGISTER_LAB_HOSTS),--deregister)
	cd infra && $(CDK) destroy OpenEvent --force $(CDK_CONTEXT)

openapi: $(STAMP)
	$(BIN)/python -m openevent.local.openapi_file

# Re-fetch the lab console's pinned front-end libraries (uPlot, CodeMirror) from npm.
lab-console-vendor:
	web/lab/vendor/update.sh

checkin-vendor:
	web/checkin/vendor/update.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
