# fluxos — `make run` starts a node on the embedded devnet, `make test` runs the suite.
VENV   ?= .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/fluxos start $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench: $(STAMP)
	@for script in bench/[!_]*.py; do \
		echo "== $$script"; \
		$(VENV)/bin/python $$script || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
