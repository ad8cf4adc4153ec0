# csm_analytics: two commands do everything. `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
WORKSPACE_PORT ?= 8501
TEST_WORKERS ?= 3
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: help install generate materialize run test bench evaluate screenshots clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/\$$(PORT)/$(PORT)/g' -e 's/\$$(WORKSPACE_PORT)/$(WORKSPACE_PORT)/g' | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml setup.cfg
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the package (only when pyproject/setup.cfg change)

generate: install ## write the default demo world into data/raw (skipped when current)
	$(BIN)/csm-analytics generate

materialize: install ## generate the world if missing, then materialize every asset; non-zero on failure
	$(BIN)/csm-analytics materialize

run: install ## materialize (skipped when the warehouse is current), then serve the Dagster UI on http://127.0.0.1:$(PORT) and the CSM workspace on http://127.0.0.1:$(WORKSPACE_PORT)
	$(BIN)/csm-analytics materialize --if-stale
	@mkdir -p data/workspace; \
	setsid $(BIN)/csm-analytics workspace --port $(WORKSPACE_PORT) > data/workspace/streamlit.log 2>&1 & ws=$$!; \
	trap 'kill -- -'$$ws' 2>/dev/null' EXIT INT TERM; \
	echo "Dagster UI:    http://127.0.0.1:$(PORT)"; \
	echo "CSM workspace: http://127.0.0.1:$(WORKSPACE_PORT)  (demo users in README.md; log data/workspace/streamlit.log)"; \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(PORT)

test: install ## check the import layers, then run the test suite on TEST_WORKERS processes (default 3; 1 for one)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

bench: install ## run the benchmarks and write docs/benchmarks.md (the workspace's section too)
	$(BIN)/python -m csm_analytics.bench
	$(BIN)/python -m csm_analytics.bench.workspace --accounts 100000

evaluate: install ## pool the model figures over 5 generated worlds (2,000 accounts each) into docs/evaluation.md
	$(BIN)/python -m csm_analytics.evaluation

screenshots: install ## render a QBR pack, a daily brief, the executive report and every workspace page to docs/screenshots/*.png
	@command -v chromium >/dev/null || { apt-get install -y -q chromium >/dev/null 2>&1 || sudo apt-get install -y -q chromium; }
	@test -f data/warehouse.duckdb -a -f data/serving/serving.duckdb || $(MAKE) materialize
	$(BIN)/python -m csm_analytics.reports.screenshots
	$(BIN)/python -m csm_analytics.workspace.screenshots

clean: ## remove generated data (keeps .venv)
	rm -rf data/raw data/warehouse.duckdb data/warehouse.duckdb.wal data/warehouse.duckdb.materialized.json data/dagster_home data/outbox data/alerts data/models data/reports data/telco data/serving
