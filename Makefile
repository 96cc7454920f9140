# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck unit slow bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/lookalike run

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# The default suite: everything except tests marked slow (those run in `make test` too, see below).
unit: $(VENV)/.installed
	$(BIN)/pytest -m "not slow"

test: lint typecheck $(VENV)/.installed
	$(BIN)/pytest

# Benchmarks write JSON and Markdown to benchmarks/results/. The query, embedding and indexing
# ones read the index and checkpoint that the pipeline run leaves in LOOKALIKE_HOME.
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.pipeline
	$(BIN)/python -m benchmarks.queries
	$(BIN)/python -m benchmarks.embeddings
	$(BIN)/python -m benchmarks.precision
	$(BIN)/python -m benchmarks.catalog
	$(BIN)/python -m benchmarks.cli

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
