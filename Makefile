# fluxos — `make run` starts a node on the embedded devnet, `make test` runs the suite.
# Both set the machine up first (setup/prepare: Debian packages, Syncthing for the tests),
# `make test` also starts the services the tests use (setup/services: dockerd).
VENV   ?= .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: run test test-fast prepare-run prepare-test prepare-bench lint format bench clean

# when `make test` began, for its closing line (how long the set-up and the tests took)
export FLUXOS_SETUP_BEGAN := $(shell date +%s)

prepare-run:
	@bash setup/prepare run

prepare-test:
	@bash setup/prepare test

prepare-bench:
	@bash setup/prepare bench

$(STAMP): pyproject.toml | prepare-run
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/fluxos start $(ARGS)

test: prepare-test $(STAMP)
	@bash setup/services $(VENV)/bin/pytest $(ARGS)

# the inner loop: everything but the long end-to-end tests (@pytest.mark.slow)
test-fast: prepare-test $(STAMP)
	@bash setup/services $(VENV)/bin/pytest -m "not slow" $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench: prepare-bench $(STAMP)
	@for script in bench/[!_]*.py; do \
		echo "== $$script"; \
		$(VENV)/bin/python $$script || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
