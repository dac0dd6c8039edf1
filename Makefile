# Two entry points on a fresh machine: `make demo` and `make test`.
# Everything installs into a virtual environment of its own (.venv); nothing relies on
# what happens to be installed on the machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.test-installed
DEMO_DIR ?= demo-out

.PHONY: demo test bench clean fixtures

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

# Test dependencies include real TensorFlow (tensorflow-cpu), the oracle for interop
# tests. The flowsaver package itself never imports it.
$(TEST_STAMP): $(STAMP)
	$(PIP) install -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(PY) examples/demo.py $(DEMO_DIR)
	$(VENV)/bin/flowsaver inspect $(DEMO_DIR)
	$(VENV)/bin/flowsaver verify $(DEMO_DIR)

test: $(TEST_STAMP)
	$(PY) -m pytest

bench: $(TEST_STAMP)
	$(PIP) install -q -e '.[bench]'
	$(PY) bench/bench_bundle.py

# Regenerate the committed fixtures with real TensorFlow.
fixtures: $(TEST_STAMP)
	$(PY) tests/fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .hypothesis
