# The club service platform. README command 1 is `make up`, command 2 is `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.8
PYTHON ?= python3
RUN := set -a && . ./.env.local && set +a &&

.PHONY: help install infra up demo down stop wipe test bench lint status docs tools deploy-check outside-subscriber

help:
	@echo "make up      install, start Kafka + PostgreSQL + the four services, run the demo day (README command 1)"
	@echo "make demo    run the demo day again against the running platform (DEMO_ARGS=--members 6)"
	@echo "make test    run every test against real Kafka and PostgreSQL (README command 2)"
	@echo "make down    stop the services, Kafka and PostgreSQL (data kept; 'make wipe' deletes it)"
	@echo "make bench   run the benchmarks (ratios against raw baselines)"
	@echo "make deploy-check  validate deploy/ without Docker: Dockerfiles, compose.yaml, Helm chart"

# uv from PyPI, pinned; then the workspace from the lock file, exactly.
install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@uv sync --frozen --quiet

infra: install
	@$(PYTHON) deploy/local/infra.py up
	@$(RUN) uv run --frozen club kafka-access apply

# The services as four processes, then the demo day through their APIs; they keep running.
up: infra
	@$(RUN) uv run --frozen python deploy/local/services.py up
	@$(RUN) uv run --frozen python deploy/local/demo.py $(DEMO_ARGS)

demo:
	@$(RUN) uv run --frozen python deploy/local/demo.py $(DEMO_ARGS)

down stop:
	@if [ -f .env.local ] && [ -x .venv/bin/python ]; then $(RUN) uv run --frozen python deploy/local/services.py down; fi
	@$(PYTHON) deploy/local/infra.py down

status:
	@$(PYTHON) deploy/local/infra.py status; \
	 if [ -x .venv/bin/python ]; then uv run --frozen python deploy/local/services.py status; fi

wipe:
	@if [ -f .env.local ] && [ -x .venv/bin/python ]; then $(RUN) uv run --frozen python deploy/local/services.py down; fi
	@$(PYTHON) deploy/local/infra.py wipe

# The tools deploy/ is validated with (helm, kubeconform, dockerfile-check, compose-config and
# the Kubernetes schemas), pinned, into .local/tools; a second run takes no time.
tools:
	@bash deploy/tools/install.sh

# deploy/ without a Docker engine: Dockerfiles (BuildKit's rules), compose.yaml (compose-go),
# the Helm chart (helm lint, helm template, kubeconform), the PostgreSQL init script.
deploy-check: install tools
	@uv run --frozen pytest tests/deploy $(PYTEST_ARGS)

# The Node.js subscriber of tests/e2e/test_outside_subscriber_node.py: Node from Debian when
# missing, its packages exactly as tests/outside_subscriber/package-lock.json pins them.
outside-subscriber:
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	@cd tests/outside_subscriber && npm ci --no-audit --no-fund --loglevel=error

# A failed tool install does not stop the other tests: tests/deploy fails and says why.
test: infra outside-subscriber
	@bash deploy/tools/install.sh || echo "[deploy-tools] not installed: tests/deploy will fail and say why"
	@$(RUN) uv run --frozen pytest $(PYTEST_ARGS)

bench: infra
	@$(RUN) uv run --frozen python -m tests.benchmarks $(BENCH_ARGS)

# AsyncAPI, OpenAPI and the event catalogue, generated from the code (tests/docs checks them).
docs: install
	@uv run --frozen python docs/generate.py

lint: install
	@uv run --frozen ruff check .
