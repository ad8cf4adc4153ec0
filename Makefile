# csm_analytics: two commands do everything. `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: help install generate materialize run test bench evaluate screenshots clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

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

run: materialize ## materialize, then serve the Dagster UI on http://127.0.0.1:$(PORT)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(PORT)

test: install ## check the import layers, then run the test suite
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: install ## run the benchmarks and write docs/benchmarks.md
	$(BIN)/python -m csm_analytics.bench

evaluate: install ## pool the model figures over 5 generated worlds (2,000 accounts each) into docs/evaluation.md
	$(BIN)/python -m csm_analytics.evaluation

screenshots: install ## render a QBR pack, a daily brief and the executive report to docs/screenshots/*.png
	@command -v chromium >/dev/null || { apt-get install -y -q chromium >/dev/null 2>&1 || sudo apt-get install -y -q chromium; }
	@test -f data/warehouse.duckdb || $(MAKE) materialize
	$(BIN)/python -m csm_analytics.reports.screenshots

clean: ## remove generated data (keeps .venv)
	rm -rf data/raw data/warehouse.duckdb data/warehouse.duckdb.wal data/dagster_home data/outbox data/alerts data/models data/reports data/telco
