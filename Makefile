# vgwidgets: `make lab` opens the course in JupyterLab; `make test` runs every test.
# Both first set up .venv (a virtual environment made with $(PYTHON), Python >= 3.10) and
# install vgwidgets into it, editable, with the test and lab extras. The install runs again
# only when pyproject.toml changes.

PYTHON ?= python3
# Extra options for JupyterLab, e.g. LAB_ARGS="--port=8890 --no-browser".
LAB_ARGS ?=
# JupyterLab refuses to start as root (a container, a cloud VM) unless told it may.
LAB_ROOT := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vgwidgets-installed
PIP_QUIET := --quiet --disable-pip-version-check
export MPLBACKEND := Agg

# JAX's persistent compilation cache, shared by every test process and notebook kernel of a run
# (kernels inherit the environment): most tests and lessons compile the same programs, and a
# program compiled once is loaded from disk after. The last two settings make JAX cache every
# program however quick its compilation or small its executable (the defaults skip CPU ones).
# The cache keys hold the jax and jaxlib versions, so .venv and .venv-colab share it safely.
# Compile counts stay right with it on: engine.count_compilations counts a cache hit too.
JAX_CACHE := $(CURDIR)/.cache/jax
test test-unit test-notebooks test-colab: export JAX_COMPILATION_CACHE_DIR := $(JAX_CACHE)
test test-unit test-notebooks test-colab: export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS := 0
test test-unit test-notebooks test-colab: export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES := -1

# The Colab leg (make test-colab): a second virtual environment with Colab's ipywidgets and
# ipykernel and the oldest jax, jaxlib, optax, matplotlib and numpy that pyproject.toml allows
# (tests/test_entry_points.py checks these pins against its floors). Their wheels exist for Python
# 3.10 and 3.11 only; make test runs this leg when $(COLAB_PYTHON) is one of those.
COLAB_PYTHON ?= $(PYTHON)
COLAB_VENV := .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.vgwidgets-installed
COLAB_PINS := ipywidgets==7.7.1 ipykernel==6.17.1 jax==0.4.30 jaxlib==0.4.30 optax==0.2.5 \
	matplotlib==3.7.0 numpy==1.24.4
# The tests that build widgets (every file naming them, so a new one is picked up); the notebooks
# run in full besides. Left out, because the old versions change nothing they check: the
# browser tests (Voila and JupyterLab need ipywidgets 8), the benchmark's (it times this machine),
# the layering test (it reads source files) and the public-API test (it imports names).
COLAB_TESTS = $(filter-out tests/test_browser.py tests/test_bench.py tests/test_layering.py \
	tests/test_public_api.py, $(shell grep -lE 'vgwidgets\.widgets|Explorer|FixComparison' \
	tests/test_*.py))
# Deselected there too: the layering check of the engine and experiments, which touch neither
# matplotlib nor ipywidgets (what they import is this repository's code, and the old jax, optax
# and numpy import neither), so the first leg's run of it covers both; the checks that draw
# (matplotlib 3.7, ipywidgets 7.7.1) stay.
COLAB_DESELECT := \
	--deselect tests/test_layers.py::test_engine_and_experiments_load_neither_matplotlib_nor_ipywidgets
# 50 random changes per explorer instead of 100 (tests/test_abuse.py says why).
COLAB_ABUSE_CHANGES := 50

.PHONY: help lab test test-unit test-notebooks test-colab browser-deps install clean

help:
	@echo "make lab             set up .venv and open notebooks/ in JupyterLab"
	@echo "make test            set up .venv and run tests/ and the notebooks"
	@echo "make test-unit       only tests/"
	@echo "make test-notebooks  only the notebooks (nbval)"
	@echo "make test-colab      widget tests and notebooks with Colab's ipywidgets 7.7.1 and the"
	@echo "                     oldest jax, optax and matplotlib allowed (.venv-colab, Python 3.10/3.11)"
	@echo "make clean           remove .venv and caches"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "vgwidgets needs Python >= 3.10; $(PYTHON) is $$($(PYTHON) --version 2>&1)." \
		  "Run make with PYTHON=python3.12 (or another)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not make $(VENV); on Debian or" \
		"Ubuntu, install the python3-venv package first." >&2; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing vgwidgets and its dependencies into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install $(PIP_QUIET) -e ".[test,lab,browser]"
	@touch $@

install: $(STAMP)

lab: $(STAMP)
	@mkdir -p notebooks
	$(BIN)/jupyter lab $(LAB_ROOT) $(LAB_ARGS) notebooks/

# Every part runs even when one fails; the target fails if any does.
test: $(STAMP)
	@status=0; \
	$(MAKE) --no-print-directory test-unit || status=1; \
	$(MAKE) --no-print-directory test-notebooks || status=1; \
	if $(COLAB_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] not in [(3, 10), (3, 11)])'; \
	then $(MAKE) --no-print-directory test-colab || status=1; \
	else echo "Skipping make test-colab: Colab's pinned versions need Python 3.10 or 3.11;" \
		"pass one as COLAB_PYTHON=python3.11."; fi; \
	exit $$status

# tests/test_browser.py drives Debian's chromium. Under CI (CI=true, as root) it is installed
# here; elsewhere those tests skip and say what is missing.
browser-deps:
	@if [ "$$CI" = true ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for tests/test_browser.py"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
			>/dev/null; \
	fi

# tests/ and the >>> examples in vgwidgets/'s docstrings (pyproject.toml: --doctest-modules), in
# two passes: everything but the browser tests spread over the machine's cores by pytest-xdist
# (TEST_WORKERS=1 for one process), then the browser tests alone, since what they time (a page's
# redraw, a slider's drag) needs the cores to themselves. Both passes run even if the first fails.
# --dist worksteal: each worker starts on one contiguous half of the tests (a file's tests stay
# on one worker, so its module fixtures and jitted programs are built once), and a worker that
# runs out takes half of what the other has left (no worker idles while long tests queue up).
TEST_WORKERS ?= auto
UNIT_DIST := --dist worksteal
test-unit: $(STAMP) browser-deps
	@status=0; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(UNIT_DIST) -m "not browser" --durations=20 \
		tests/ vgwidgets/ \
		|| status=1; \
	$(BIN)/python -m pytest -m browser tests/test_browser.py || status=1; \
	exit $$status

# nbval runs every cell of every notebook and compares only cells marked NBVAL_CHECK_OUTPUT;
# the notebooks are spread over the cores, each whole on one (--dist loadfile: one kernel runs
# a notebook's cells in order, and the Run-All check after them).
# With no notebook, pytest would collect nothing and exit 5: say so and pass instead.
NBVAL := --nbval-lax --nbval-current-env -n $(TEST_WORKERS) --dist loadfile
test-notebooks: $(STAMP)
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		echo "$(BIN)/python -m pytest $(NBVAL) notebooks/"; \
		$(BIN)/python -m pytest $(NBVAL) notebooks/; \
	else \
		echo "notebooks/ holds no notebook yet: nothing for nbval to run"; \
	fi

$(COLAB_STAMP): pyproject.toml Makefile
	rm -rf $(COLAB_VENV)
	$(COLAB_PYTHON) -m venv $(COLAB_VENV)
	@echo "Installing vgwidgets with Colab's versions into $(COLAB_VENV): $(COLAB_PINS)"
	$(COLAB_VENV)/bin/python -m pip install $(PIP_QUIET) -e ".[test]" $(COLAB_PINS)
	@touch $@

test-colab: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -m pip list --disable-pip-version-check 2>/dev/null | \
		grep -E '^(ipywidgets|ipykernel|jax|jaxlib|optax|matplotlib|numpy) '
	VGWIDGETS_ABUSE_CHANGES=$(COLAB_ABUSE_CHANGES) $(COLAB_VENV)/bin/python -m pytest \
		-n $(TEST_WORKERS) $(UNIT_DIST) $(COLAB_DESELECT) $(COLAB_TESTS)
	$(COLAB_VENV)/bin/python -m pytest $(NBVAL) notebooks/

clean:
	rm -rf $(VENV) $(COLAB_VENV) .pytest_cache .hypothesis .cache
