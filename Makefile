# Kennisbank: `make run` sets up, indexes articles/ and serves; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kb-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run index test lint check clean

setup: $(STAMP)

# Re-installs only when the dependency list changes; a second `make setup` does nothing.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: the CPU wheel; an unpinned torch pulls gigabytes of CUDA packages.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

index: setup
	$(BIN)/kb index

run: index
	$(BIN)/kb suggest "Klopt het dat baking soda kanker geneest?? mn tante zweert erbij" --channel x --name Sam

lint: setup
	$(BIN)/kb lint

test: setup
	$(BIN)/python -m pytest

check: setup
	$(BIN)/ruff check kb indexer api eval tests
	$(BIN)/mypy kb indexer

clean:
	rm -rf .kb $(VENV)
