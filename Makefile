# Two commands on a fresh machine:  `make demo` (joignable served, demo data) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The same package with its routing core compiled by mypyc (see setup.py), in a venv of its own:
# the core's tests run against it too, and the benchmarks measure it.
FAST := .venv-fast
FAST_STAMP := $(FAST)/.installed
CORE_TESTS := tests/property tests/unit/test_routing.py tests/unit/test_bad_input.py \
	tests/unit/test_callbacks_and_widening.py tests/unit/test_audit.py tests/unit/test_kpis.py \
	tests/integration/test_center.py tests/integration/test_crash.py

.PHONY: demo test test-compiled lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(FAST_STAMP): pyproject.toml setup.py $(shell find src -name '*.py')
	test -x $(FAST)/bin/python || $(PY) -m venv $(FAST)
	$(FAST)/bin/python -m pip install --quiet --upgrade pip 'setuptools>=77,<81'
	$(FAST)/bin/python -m pip install --quiet '.[test]'
	JOIGNABLE_COMPILE=1 $(FAST)/bin/python -m pip install --quiet --no-build-isolation \
		--no-deps --force-reinstall .
	touch $(FAST_STAMP)

# The web API on a seeded demo organisation (logins printed at first start); the terminal
# wallboard demo stays reachable as `joignable demo`.
demo: $(STAMP)
	$(BIN)/joignable serve --db joignable-demo.db

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -q --junitxml=.test-results.xml
	$(MAKE) test-compiled

# The core's tests against the compiled build: same source, so the same results are expected.
test-compiled: $(FAST_STAMP)
	$(FAST)/bin/python -c "import sys; from benchmarks.scenario import core_build; \
		b = core_build(); print('core:', b); sys.exit(b != 'compiled')"
	$(FAST)/bin/pytest -q -p no:cacheprovider --junitxml=.test-results-compiled.xml $(CORE_TESTS)

bench: $(FAST_STAMP)
	$(FAST)/bin/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) $(FAST) build .test-results*.xml .pytest_cache .mypy_cache .ruff_cache
