# The README's two commands: `make serve` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# Tests run in parallel (pytest-xdist); the heavy ones share one worker (xdist_group "heavy").
PYTEST_ARGS ?= -n 4 --dist loadgroup

.PHONY: serve test lint system-deps openapi image-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade 'pip>=25.1'   # dependency groups (pyproject's [dependency-groups])

$(VENV)/.serve: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[conformance]' --group dev
	touch $@

serve: $(VENV)/.serve
	$(BIN)/mockvps serve $(ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check mockvps tests
	$(BIN)/ruff format --check mockvps tests
	$(BIN)/mypy
	$(BIN)/mockvps openapi --check

# curl, wrk, chromium, chromium-driver: installed where it can (root on Debian/Ubuntu), else one command to run.
system-deps:
	@scripts/system-deps.sh

# pytest exits 5 when it collects nothing: for this suite that is a failure, and says so.
test: system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

# Build the container with podman, run the contract suite against it, check SIGTERM (needs root and podman).
image-test: $(VENV)/.test
	PYTHON=$(BIN)/python docker/test-image.sh

openapi: $(VENV)/.serve
	$(BIN)/mockvps openapi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
