# Two commands do all set-up on a fresh machine:
#   make run   - install and run the service on the embedded default (SQLite, console SMS, demo data)
#   make test  - install and run ruff, mypy and the whole test suite on SQLite and on PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_SERVER ?= postgresql+psycopg://postgres@127.0.0.1:5432/

.PHONY: run test install lint typecheck test-sqlite test-postgres system-deps bench-signup audit clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	ZB_ENV=development $(BIN)/zorgbrigade db upgrade
	ZB_ENV=development $(BIN)/zorgbrigade demo --if-empty
	ZB_ENV=development ZB_PUBLIC_URL=http://$(HOST):$(PORT) $(BIN)/zorgbrigade serve --host $(HOST) --port $(PORT)

system-deps:
	@scripts/system_deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test-sqlite: install
	ZB_TEST_DB=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider

test-postgres: install system-deps
	ZB_TEST_DB=postgresql ZB_TEST_PG_SERVER=$(PG_SERVER) $(BIN)/python -m pytest -q -p no:cacheprovider

test: lint typecheck test-sqlite test-postgres

# Known vulnerabilities of every installed package, from PyPI's own advisory data (pip-audit's
# default service). --strict: a package that could not be looked up fails the audit too.
audit: install
	$(BIN)/pip-audit --strict --local --skip-editable --progress-spinner off

bench-signup: install system-deps
	$(BIN)/python -m bench.signup

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache zorgbrigade.db*
