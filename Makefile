# vgwidgets: `make lab` opens the course in JupyterLab; `make test` runs every test.
# Both first set up .venv (a virtual environment made with $(PYTHON), Python >= 3.10) and
# install vgwidgets into it, editable, with the test and lab extras. The install runs again
# only when pyproject.toml changes.

PYTHON ?= python3
# Extra options for JupyterLab, e.g. LAB_ARGS="--port=8890 --no-browser".
LAB_ARGS ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vgwidgets-installed
PIP_QUIET := --quiet --disable-pip-version-check
export MPLBACKEND := Agg

.PHONY: help lab test test-unit test-notebooks install clean

help:
	@echo "make lab             set up .venv and open notebooks/ in JupyterLab"
	@echo "make test            set up .venv and run tests/ and the notebooks"
	@echo "make test-unit       only tests/"
	@echo "make test-notebooks  only the notebooks (nbval)"
	@echo "make clean           remove .venv and caches"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "vgwidgets needs Python >= 3.10; $(PYTHON) is $$($(PYTHON) --version 2>&1)." \
		  "Run make with PYTHON=python3.12 (or another)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Could not make $(VENV); on Debian or" \
		"Ubuntu, install the python3-venv package first." >&2; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing vgwidgets and its dependencies into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install $(PIP_QUIET) -e ".[test,lab]"
	@touch $@

install: $(STAMP)

lab: $(STAMP)
	@mkdir -p notebooks
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/

# Both parts run even when the first fails; the target fails if either does.
test: $(STAMP)
	@status=0; \
	$(MAKE) --no-print-directory test-unit || status=1; \
	$(MAKE) --no-print-directory test-notebooks || status=1; \
	exit $$status

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/

# nbval runs every cell of every notebook and compares only cells marked NBVAL_CHECK_OUTPUT.
# With no notebook, pytest would collect nothing and exit 5: say so and pass instead.
test-notebooks: $(STAMP)
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then \
		echo "$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/"; \
		$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/; \
	else \
		echo "notebooks/ holds no notebook yet: nothing for nbval to run"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
