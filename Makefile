# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The runtime alone for the demo; the test extra (Synapse, scrapyd, linters) for everything else.
# Both install the tested versions pinned in constraints.txt.
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet -c constraints.txt

.PHONY: demo test lint typecheck pytest install docs bench-extraction bench-matching bench-scale bench-crawl bench-polling bench-web clean

$(RUNTIME): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(PIP) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(RUNTIME)
	$(BIN)/monitor demo

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# The README's configuration tables, from the settings' declaration (a unit test checks them).
docs: $(RUNTIME)
	$(BIN)/python -m monitor.config.reference --write README.md

bench-extraction: $(STAMP)
	$(BIN)/python tests/bench/extraction.py

bench-matching: $(STAMP)
	$(BIN)/python tests/bench/matching.py

bench-scale: $(STAMP)
	$(BIN)/python tests/bench/scale.py

bench-crawl: $(STAMP)
	$(BIN)/python tests/bench/crawl.py

bench-polling: $(STAMP)
	$(BIN)/python tests/bench/polling.py

bench-web: $(STAMP)
	$(BIN)/python tests/bench/web.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
