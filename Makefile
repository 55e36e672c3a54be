# The same commands locally and in CI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= ./var
PYTEST_ARGS ?=
# Every pass ends with its slowest tests, so CI's own output shows where its time goes (it must
# stay under 60 minutes on 2 cores).
DURATIONS := --durations=25

.PHONY: run install test test-sqlite test-postgresql test-runtime test-deploy check lint typecheck tenancy-check web-check architecture-check workflow-check migration-lint monitoring-check lock lock-upgrade lock-check bench bench-profile bench-floor bench-soak bench-solver bench-deploy bench-data bench-trust bench-restore bench-logs config-docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,solver]"
	touch $(STAMP)

install: $(STAMP)

## Serve on http://$(HOST):$(PORT) with an embedded SQLite database and a demo organisation.
run: $(STAMP)
	mkdir -p $(DATA_DIR)
	DATABASE_URL=$${DATABASE_URL:-sqlite:///$(DATA_DIR)/signupflow.db} \
		$(BIN)/signupflow serve --host $(HOST) --port $(PORT)

## The whole suite: once on SQLite and once on a real PostgreSQL server, side by side, then the
## runtime tests (real server processes in the production profile, with PostgreSQL and Redis
## they own), then the container tests. Each pass is one pytest process that spends much of its
## time waiting on the servers it drives: on 2 cores the two passes took 22 min side by side
## against 40 one after the other. Each pass's output is printed whole when it ends.
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql
	$(MAKE) --no-print-directory test-runtime
	$(MAKE) --no-print-directory test-deploy

test-sqlite: $(STAMP)
	TEST_DATABASE=sqlite $(BIN)/pytest --ignore=tests/runtime --ignore=tests/deploy $(DURATIONS) $(PYTEST_ARGS)

# The browser tests run their own server on SQLite: once, in the SQLite pass.
test-postgresql: $(STAMP)
	TEST_DATABASE=postgresql $(BIN)/pytest --ignore=tests/runtime --ignore=tests/deploy --ignore=tests/web $(DURATIONS) $(PYTEST_ARGS)

test-runtime: $(STAMP)
	TEST_DATABASE=postgresql $(BIN)/pytest tests/runtime $(DURATIONS) $(PYTEST_ARGS)

## Images, Compose stacks and deploys on a real Docker engine (stand-in base images, no registry).
test-deploy: $(STAMP)
	$(BIN)/pytest tests/deploy $(DURATIONS) $(PYTEST_ARGS)

check: lint typecheck tenancy-check web-check architecture-check workflow-check migration-lint lock-check monitoring-check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Organisation filters are written only in tenancy.py (see docs/conventions.md).
tenancy-check:
	@! grep -rnE 'organi[sz]ation_id *==' src --include='*.py' | grep -v 'src/signupflow/tenancy.py' \
		|| (echo "organisation filters outside tenancy.py (use tenancy.scoped)"; exit 1)

## Children are added to the page only by dom.js (h, replace), which skips null and undefined:
## the DOM's own methods print them as the words "null" and "undefined" (issue #16).
web-check:
	@! grep -rnE '\.(replaceChildren|append|prepend|before|after|replaceWith|insertAdjacent[A-Za-z]*)\(' web/js \
		--include='*.js' | grep -v '^web/js/dom.js:' \
		|| (echo "DOM children added outside web/js/dom.js (use h() or replace())"; exit 1)

## Seat counts only in the ledger, no web imports in services, no import cycles, tests stay
## tests (tests/architecture.py reads the source; no database).
architecture-check: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/test_architecture.py

## GitHub Actions workflows: the schema GitHub applies, zizmor's security audits (offline; no
## finding of medium or higher) and shellcheck on the scripts they and .ci/run call.
workflow-check: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --min-severity medium .github/workflows
	$(BIN)/shellcheck .github/scripts/*.sh .ci/run .ci/setup

## Every migration's PostgreSQL SQL through squawk: a step that takes a long lock or breaks the
## release still running is refused unless marked CONTRACT (docs/migrations.md). No database.
migration-lint: $(STAMP)
	$(BIN)/signupflow db lint

## Alert and recording rules: promtool check + test rules, every alert tested and in the
## runbook, the Grafana dashboard against its schema and the rules (deploy/monitoring/check.py).
monitoring-check: $(STAMP)
	$(BIN)/python deploy/monitoring/check.py

## The image's hash-pinned dependency locks (deploy/docker/*.lock), compiled with uv from
## pyproject.toml; lock keeps current pins where it can, lock-upgrade takes the newest allowed.
lock: $(STAMP)
	$(BIN)/python deploy/docker/locks.py compile

lock-upgrade: $(STAMP)
	$(BIN)/python deploy/docker/locks.py compile --upgrade

## Offline: fails when pyproject.toml's dependencies changed and `make lock` was not run.
lock-check: $(STAMP)
	$(BIN)/python deploy/docker/locks.py check

## The standard workload over HTTP before (the code before issue #15) and after, both databases, and one organisation of 1,000 on PostgreSQL (BENCH_* in bench/http_bench.py).
bench: $(STAMP)
	$(BIN)/python -m bench.http_bench

## Where a list request's time goes, before and after issue #15: py-spy --gil under wrk at 64 connections (BENCH_DURATION, BENCH_ENDPOINTS).
bench-profile: $(STAMP)
	$(BIN)/python -m bench.profile_bench

## The floor under a read on this machine (raw ASGI, plain FastAPI async and def routes answering list people's bytes) beside the real list, and that list's own CPU in process (BENCH_ROUNDS, default 3).
bench-floor: $(STAMP)
	$(BIN)/python -m bench.floor_bench

## The mixed read/write soak at 64 connections on PostgreSQL, minute by minute, with each worker's memory (BENCH_SOAK_S, default 600); fails on an error, memory growth or a slower last minute.
bench-soak: $(STAMP)
	$(BIN)/python -m bench.soak_bench

## The solver on the standard workload and the large one (1,000 volunteers x 250 events).
bench-solver: $(STAMP)
	$(BIN)/python -m bench.solver_bench

## Deploys and rollbacks under a load that never retries (BENCH_DEPLOYS, default 20; BENCH_ROLLBACKS, default 5), after forced edge reloads for comparison (BENCH_RELOADS, default 5), on a real Docker engine.
bench-deploy: $(STAMP)
	$(BIN)/python -m bench.deploy_bench

## Migration, backup, verify, restore and pgBackRest at the seed's scale (BENCH_ORGS, default 1000).
bench-data: $(STAMP)
	$(BIN)/python -m bench.data_bench

## Issue #11's figures, before and after: a 50 MiB body, 12 sign-ups, solves starving a tenant.
bench-trust: $(STAMP)
	$(BIN)/python -m bench.trust_bench

## pgBackRest full backup and restore of a multi-GB database (BENCH_RESTORE_GB, default 3), extrapolated to 50 GB.
bench-restore: $(STAMP)
	$(BIN)/python -m bench.restore_bench

## docs/configuration.md from the settings models (tests/test_configuration_reference.py fails when they drift).
config-docs: $(STAMP)
	$(BIN)/signupflow config reference --output docs/configuration.md

## The log store: a generated day at 50 requests/s, its size on disk and its searches (docs/logs.md).
bench-logs: $(STAMP)
	$(BIN)/python -m bench.log_bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
