# Two commands: `make run` (the whole system locally) and `make test`.
# Both set everything up on a fresh machine: system packages, the virtualenv, the project.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSTEM_PACKAGES := mosquitto bubblewrap poppler-utils zbar-tools fonts-dejavu-core \
                   libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
                   chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint typecheck bench openapi layer synth system-deps clean

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

run: system-deps $(STAMP)
	$(BIN)/python -m openevent.local

test: system-deps $(STAMP)
	$(BIN)/pytest -n 2 --durations=15

test-fast: $(STAMP)
	$(BIN)/pytest -n 2 -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy layers edge_agent
	for g in auth events orders lab; do $(BIN)/mypy functions/$$g/app.py || exit 1; done

typecheck: lint

bench: system-deps $(STAMP)
	$(BIN)/python bench/cold_import.py
	$(BIN)/python bench/requests.py
	$(BIN)/python bench/orders.py
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/lab.py

# The core package and its runtime dependencies, laid out as a Lambda layer (infra/).
layer: $(STAMP)
	rm -rf build/layer && mkdir -p build/layer/python
	$(BIN)/pip install -q --target build/layer/python ".[pdf,payments]"

# CloudFormation for the whole deployment, from infra/ (CDK, Python); needs node for jsii.
synth: layer
	python3 -m venv .venv-infra
	.venv-infra/bin/pip install -q -r infra/requirements.txt -e .
	cd infra && AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} CDK_OUTDIR=cdk.out ../.venv-infra/bin/python app.py
	@echo "template: infra/cdk.out/OpenEvent.template.json"

openapi: $(STAMP)
	$(BIN)/python -m openevent.openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
