# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files make the installs idempotent: they rerun only when pyproject.toml changes.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

lint: $(VENV)/.test-installed
	$(BIN)/ruff check vaultline tests bench
	$(BIN)/mypy

# The rotation tests need a real PostgreSQL (initdb/pg_ctl from Debian's packages).
test: lint
	@command -v pg_ctl >/dev/null || test -x /usr/lib/postgresql/15/bin/pg_ctl || \
		{ apt-get update -qq && apt-get install -y -qq postgresql; }
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n 2 -q

clean:
	rm -rf $(VENV) build *.egg-info
