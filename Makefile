# Every target sets itself up: a missing .venv is created and the project installed into it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: run test lint bench format check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Switchboard needs Python 3.11 or newer; set PYTHON=python3.X")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

run: $(STAMP)
	$(PY) -m bot

# The suite runs in parallel workers (pytest-xdist), then the tests that judge real time
# (marked `realtime` in tests/worker_groups.py) apart from the rest. TEST_WORKERS=0 runs all in
# one process.
# Two workers per core: about half of a worker's time goes waiting on the bot processes, MCP
# servers and PostgreSQL it starts, so one per core leaves the cores idle half the run.
# loadgroup: a module whose fixture starts servers once for all its tests is kept on one
# worker (named in tests/worker_groups.py), instead of each worker starting its own.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(8, 2 * len(os.sched_getaffinity(0))))' 2>/dev/null || echo auto)
# The suite starts ~100 Python processes; with bytecode caching off (some CI images set this)
# each one compiles the bot and pytest rewrites every test module again, in each worker.
TEST_ENV := env -u PYTHONDONTWRITEBYTECODE
# Where the realtime tests live (tests/worker_groups.py lists them): collecting only those paths
# spares the second run collecting the whole suite to deselect all but sixty tests. They run
# after the rest, a worker per group (tests/worker_groups.py says why that keeps them honest); on
# a single core, one after another.
REALTIME_PATHS = $(shell $(PY) -c 'from tests.worker_groups import REALTIME_GROUPS; print(*REALTIME_GROUPS)')
REALTIME_WORKERS = $(if $(filter 0,$(TEST_WORKERS)),0,$(shell $(PY) -c 'import os; from tests.worker_groups import REALTIME_GROUPS as g; print(len(set(g.values())) if len(os.sched_getaffinity(0)) > 1 else 0)'))

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not realtime"
	$(TEST_ENV) $(PY) -m pytest -n $(REALTIME_WORKERS) --dist loadgroup -m realtime $(REALTIME_PATHS)

lint: $(STAMP)
	$(VENV)/bin/ruff check bot cogs tests bench
	$(VENV)/bin/ruff format --check bot cogs tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile

format: $(STAMP)
	$(VENV)/bin/ruff check --fix bot cogs tests bench
	$(VENV)/bin/ruff format bot cogs tests bench

bench: $(BENCH_STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
