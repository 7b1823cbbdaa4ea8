# Vanishing Gradients: the two commands a learner needs are `make lab` and `make test`.
# Everything else here serves maintainers.

# Python 3.11-3.13. By default the one for which the pinned torch is on this machine's disk
# (3.11 on the reference machine), else the newest supported: scripts/choose_python.sh.
PYTHON ?= $(shell sh scripts/choose_python.sh)
# Exact versions for this repository's setup and CI (pyproject.toml states the ranges).
PIP_INSTALL = $(BIN)/python -m pip install -qq -c constraints.txt
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
LINT_PATHS := $(wildcard helpers gradwatch tests notebooks scripts benchmarks conftest.py)
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg

# The venv's kernel comes first, before any user-wide "python3" kernel that may point elsewhere.
export JUPYTER_PATH := $(CURDIR)/$(VENV)/share/jupyter
# Notebooks show progress bars in JupyterLab only; runs under tests and `make execute` stay quiet.
QUIET := VG_QUIET=1

.PHONY: lab test unit validate notebooks browser test-browser-all test-colab site test-site portability lint format execute solutions bench bench-all clean

$(STAMP): pyproject.toml gradwatch/pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13) and "Python 3.11, 3.12 or 3.13 is required; set PYTHON=/path/to/python")'
	@test -x $(BIN)/python || { echo "== creating $(VENV) with $(PYTHON) (Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'))"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -qq --upgrade pip
	$(PIP_INSTALL) -e ./gradwatch -e ".[dev]"
	@touch $(STAMP)

# The toolkit's optional integrations, installed for its tests only (a learner's `make lab` does not
# need them): tensorboard, Lightning and Hugging Face's Trainer, about 280 MB.
EXTRAS := $(VENV)/.extras
$(EXTRAS): $(STAMP)
	$(PIP_INSTALL) -e "./gradwatch[tensorboard,lightning,huggingface]"
	@touch $(EXTRAS)

# The website's tools (Sphinx, myst-nb, the book theme), for `make site` and its test only.
SITE_TOOLS := $(VENV)/.site
$(SITE_TOOLS): $(STAMP)
	$(PIP_INSTALL) -e ".[site]"
	@touch $(SITE_TOOLS)

## lab: create the environment if needed and open JupyterLab on the first notebook
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/01_sigmoid_derivatives.ipynb \
		$(if $(filter 0,$(shell id -u)),--allow-root) \
		$(if $(or $(DISPLAY),$(WAYLAND_DISPLAY),$(filter Darwin,$(shell uname -s))),,--no-browser)

## test: lint, unit tests, nbval over every notebook, and the course in a real browser
test: lint unit notebooks browser

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# Two workers: the notebooks are single-threaded, and loadscope keeps each one in one kernel.
unit: $(EXTRAS)
	$(QUIET) $(BIN)/python -m pytest tests gradwatch/tests --ignore=tests/browser --ignore=tests/colab --ignore=tests/site -q -n 2

## validate: the toolkit's labelled runs: each label's own evidence on seeds 0-2, then diagnose's table
validate: $(STAMP)
	$(BIN)/python -m pytest gradwatch/validation -q -n 2
	cd gradwatch && ../$(BIN)/python -m validation.run --seeds 0 1 2

notebooks: $(STAMP)
	$(QUIET) $(BIN)/python -m pytest $(NBVAL_ARGS) notebooks -q -n 2 --dist loadscope

# The notebooks with an explorer widget, whole, through JupyterLab; test-browser-all runs every
# notebook there (nbval already executes each one in `make notebooks`).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -q -rs

## site: the course as a static website in build/site (from the stored outputs, offline)
site: $(SITE_TOOLS)
	$(BIN)/python scripts/build_site.py
	@echo "open build/site/index.html"

## test-site: build the website and check its pages and internal links (CI runs it)
test-site: $(SITE_TOOLS)
	$(BIN)/python -m pytest tests/site -q

## test-colab: the Colab route in a fresh environment that already has torch (CI runs it)
test-colab: $(STAMP)
	$(BIN)/python -m pytest tests/colab -q

## test-browser-all: every notebook through JupyterLab in headless Chromium (CI runs it)
test-browser-all: $(STAMP)
	VG_BROWSER_ALL=1 $(BIN)/python -m pytest tests/browser -q -rs

## portability: nbval and the training-outcome tests under four floating-point paths
## (NB=path for one notebook, FLOAT_PATH=two-threads for one path)
portability: $(STAMP)
	$(QUIET) $(BIN)/python scripts/portability.py $(if $(FLOAT_PATH),--path $(FLOAT_PATH)) $(NB)

## format: apply ruff's formatter and safe fixes
format: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

## execute: re-run every notebook (or NB=path) in a fresh kernel and save its outputs
execute: $(STAMP)
	$(QUIET) $(BIN)/python scripts/execute_notebooks.py $(or $(NB),$(NOTEBOOKS))

## solutions: regenerate docs/solutions.md from the exercise registry
solutions: $(STAMP)
	$(QUIET) $(BIN)/python scripts/write_solutions.py

## bench: speed and memory figures (not part of the tests); bench-all also times `make test`
bench: $(STAMP)
	$(QUIET) $(BIN)/python -m benchmarks

bench-all: $(STAMP)
	VG_BENCH_MAKE_TEST=1 VG_BENCH_SLOW=1 $(MAKE) bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
