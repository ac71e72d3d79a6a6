# The two commands of the README: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

.PHONY: demo test lint typecheck unit install bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,mlflow,bench]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/iris.py

lint: $(STAMP)
	$(PY) -m ruff check sparktune tests benchmarks examples docs/make_images.py
	$(PY) -m ruff format --check sparktune tests benchmarks examples docs/make_images.py

typecheck: $(STAMP)
	$(PY) -m mypy

# pytest exits 5 when it collects no test; that is not a failure of the suite.
test: lint typecheck
	$(PY) -m pytest tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

bench: $(STAMP)
	$(PY) benchmarks/speed.py --quick

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
