# source-haloitsm developer commands. Only python3, make and git are needed on the machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

.PHONY: help venv demo test unit integration standard image pyairbyte bench-simulator bench clean

help:
	@echo "make demo   - start the built-in Halo simulator and run spec, check, discover, a full and an incremental read"
	@echo "make test   - run every test (unit, simulator, integration, standard tests, image, PyAirbyte)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) -m integration_tests.demo

test: venv
	$(PY) -m pytest -q unit_tests integration_tests

bench-simulator: venv
	$(PY) -m benchmarks.simulator_throughput

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
