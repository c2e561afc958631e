# Two commands do all set-up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv, install vbhc, run the whole pipeline on a synthetic registry
#   make test   - create .venv, install vbhc with test extras, run the test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   ?= demo
export MLFLOW_DISABLE_TELEMETRY := true
export MLFLOW_ENABLE_TELEMETRY := false
export DO_NOT_TRACK := 1

.PHONY: demo test install install-test benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/vbhc run pipelines/demo.yaml --out $(DEMO)

test: install-test
	$(BIN)/python -m pytest

benchmarks: install-test
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DEMO) vbhc-mlruns .pytest_cache
