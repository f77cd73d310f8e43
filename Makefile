# The club service platform. README command 1 is `make up`, command 2 is `make test`.
SHELL := /bin/bash
UV_VERSION := 0.13.8
PYTHON ?= python3
# Playwright never fetches a browser of its own (no CDN here): the tests drive Debian's
# chromium (`make browser`).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# Three sets of local infrastructure (deploy/local/infra.py), each with its own state, ports
# and address file: the platform (`make up`: .env.local), the tests' own (`make test`:
# .env.test) and a three-broker cluster (`make test-cluster`: .env.cluster). A test never
# sees the platform's broker, so it cannot write to the platform's topics.
INFRA := $(PYTHON) deploy/local/infra.py
PLATFORM := CLUB_INFRA_PROFILE=platform
TESTS := CLUB_INFRA_PROFILE=tests
CLUSTER := CLUB_INFRA_PROFILE=cluster
RUN := set -a && . ./.env.local && set +a &&
RUN_TESTS := set -a && . ./.env.test && set +a &&
RUN_CLUSTER := set -a && . ./.env.cluster && set +a &&

.PHONY: help install infra test-infra cluster-infra up demo down stop wipe test test-cluster \
	bench lint status docs tools deploy-check outside-subscriber screenshots browser i18n

help:
	@echo "make up      install, start Kafka + PostgreSQL + the four services + the console, run the demo day (README command 1)"
	@echo "make demo    run the demo day again against the running platform (DEMO_ARGS=--members 6)"
	@echo "make test    run every test against real Kafka and PostgreSQL of the tests' own (README command 2)"
	@echo "make test-cluster  the cluster tests: three brokers, two replicas of each service, faults"
	@echo "make down    stop the console, the services, Kafka and PostgreSQL (data kept; 'make wipe' deletes it)"
	@echo "make bench   run the benchmarks (ratios against raw baselines)"
	@echo "make deploy-check  validate deploy/ without Docker: Dockerfiles, compose.yaml, Helm chart"
	@echo "make i18n    extract the console's messages; list those no Chinese catalogue translates"

# uv from PyPI, pinned; then the workspace from the lock file, exactly.
install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@uv sync --frozen --quiet

infra: install
	@$(PLATFORM) $(INFRA) up
	@$(RUN) uv run --frozen club kafka-access apply

# The tests' own broker and PostgreSQL (.local/tests, ports CLUB_TEST_*), beside the platform's.
test-infra: install
	@$(TESTS) $(INFRA) up
	@$(RUN_TESTS) uv run --frozen club kafka-access apply

# Three KRaft brokers forming the controller quorum (.local/cluster, ports CLUB_CLUSTER_*).
cluster-infra: install
	@$(CLUSTER) $(INFRA) up
	@$(RUN_CLUSTER) uv run --frozen club kafka-access apply

# The services as four processes and the console as a fifth (when Keycloak runs: it signs
# people in there), then the demo day through their APIs; they keep running. It ends with the
# demo users, their passwords and the console's address (or why the console is not running).
up: infra
	@$(RUN) uv run --frozen python deploy/local/services.py up
	@$(RUN) uv run --frozen python deploy/local/demo.py $(DEMO_ARGS)
	@$(PYTHON) deploy/local/keycloak.py info

demo:
	@$(RUN) uv run --frozen python deploy/local/demo.py $(DEMO_ARGS)

# Every profile: the platform's services and infrastructure, the tests', the cluster's.
down stop:
	@if [ -f .env.local ] && [ -x .venv/bin/python ]; then $(RUN) uv run --frozen python deploy/local/services.py down; fi
	@$(PLATFORM) $(INFRA) down
	@$(TESTS) $(INFRA) down
	@$(CLUSTER) $(INFRA) down

status:
	@$(PLATFORM) $(INFRA) status; \
	 if [ -x .venv/bin/python ]; then $(PLATFORM) uv run --frozen python deploy/local/services.py status; fi

wipe:
	@if [ -f .env.local ] && [ -x .venv/bin/python ]; then $(RUN) uv run --frozen python deploy/local/services.py down; fi
	@$(PLATFORM) $(INFRA) wipe
	@$(TESTS) $(INFRA) wipe
	@$(CLUSTER) $(INFRA) wipe

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

# The real browser of the browser tests (tests/browser.py): Debian's chromium and CJK fonts,
# installed when missing (Playwright cannot download its own browser here); present, a check.
browser:
	@$(PYTHON) deploy/local/browser.py install

# The README's pictures: the console's browser tests, saving their screenshots in docs/.
screenshots: test-infra browser
	@$(RUN_TESTS) CLUB_SCREENSHOTS=docs/screenshots uv run --frozen pytest tests/console $(PYTEST_ARGS)

# On the tests' own infrastructure, never the platform's. A failed tool install does not
# stop the other tests: tests/deploy fails and says why.
test: test-infra outside-subscriber browser
	@bash deploy/tools/install.sh || echo "[deploy-tools] not installed: tests/deploy will fail and say why"
	@$(RUN_TESTS) uv run --frozen pytest $(PYTEST_ARGS)

# The cluster tests (marker `cluster`, left out of `make test`): three brokers, two
# replicas of each service, brokers and replicas killed under a club day's load.
test-cluster: cluster-infra
	@$(RUN_CLUSTER) uv run --frozen pytest tests/cluster -m cluster $(PYTEST_ARGS)

# On the tests' broker, never the platform's: the benchmarks delete the history of the topics
# they wrote to when they end.
bench: test-infra
	@$(RUN_TESTS) uv run --frozen python -m tests.benchmarks $(BENCH_ARGS)

# AsyncAPI, OpenAPI and the event catalogue, generated from the code (tests/docs checks them).
docs: install
	@uv run --frozen python docs/generate.py

lint: install
	@uv run --frozen ruff check .

# The console's messages (services/console/babel.cfg: its code, `_()` and `N_()`, and its
# templates) extracted with pybabel, then held against the Chinese catalogues, one .po per area
# of the console (locale/zh_CN/LC_MESSAGES/*.po). `pybabel update` is not used: it would put
# every message into every area's file. This lists each message no catalogue translates (and
# where it is used), for a person to add to the right area's file, and fails while there is one.
I18N_POT := .local/console-messages.pot
i18n: install
	@mkdir -p $(dir $(I18N_POT))
	@uv run --frozen pybabel -q extract -F services/console/babel.cfg -k N_ --sort-by-file \
		-o $(I18N_POT) services/console
	@uv run --frozen python services/console/scripts/i18n_check.py $(I18N_POT)
