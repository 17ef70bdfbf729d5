# The README's two commands are `make run` and `make test`; `make help` lists the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
N ?= 100000
PORT ?= 5000
MINUTES ?= 10
DATABASE ?= sqlite
# setuptools' notice about editable installs says nothing to someone running the portal
QUIET_PIP := PYTHONWARNINGS=ignore

.PHONY: help install run test lint format bench soak translations clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(QUIET_PIP) $(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(QUIET_PIP) $(BIN)/pip install --quiet -e '.[test,bench,dev]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the portal

run: install ## Set up SQLite + Whoosh in instance/, load the demo data, serve http://127.0.0.1:$(PORT) (make run PORT=8000)
	$(BIN)/portal demo
	PORTAL_DEVELOPMENT=1 $(BIN)/portal serve --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed-dev ## Run every test (SQLite, PostgreSQL, real HTTP servers, Chromium)
	$(BIN)/pytest

lint: $(VENV)/.installed-dev ## Check style (ruff), import directions (import-linter) and types (mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(VENV)/.installed-dev ## Format the code with ruff
	$(BIN)/ruff format .

bench: $(VENV)/.installed-dev ## Benchmark at N processes (make bench N=1000000); see README "Performance"
	$(BIN)/python -m bench.run --processes $(N)

translations: $(VENV)/.installed-dev ## Extract the interface's words into portal/translations/messages.pot (see babel.cfg)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --omit-header -o portal/translations/messages.pot .

soak: $(VENV)/.installed-dev ## Soak at N processes for MINUTES under load, with ingests, kill -9 and bad inputs (make soak N=100000 MINUTES=10 DATABASE=postgresql)
	$(BIN)/python -m bench.soak --processes $(N) --minutes $(MINUTES) --database $(DATABASE)

clean: ## Remove the virtualenv, the local database and index
	rm -rf $(VENV) instance *.egg-info
