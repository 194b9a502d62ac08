# source-haloitsm developer commands. Only python3, make and git are needed on the machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

.PHONY: help venv demo test unit integration standard image pyairbyte bench-simulator bench-requests bench-memory bench-throughput bench-parallelism bench-cdk-concurrent bench-redaction bench-startup clean

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

test: venv pyairbyte-venv
	$(PY) -m pytest -q -p no:cacheprovider -m "not image_tests" unit_tests integration_tests
	scripts/image-tests.sh

bench-simulator: venv
	$(PY) -m benchmarks.simulator_throughput

bench-requests: venv
	$(PY) -m benchmarks.request_budget

bench-memory: venv
	$(PY) -m benchmarks.memory

bench-throughput: venv
	$(PY) -m benchmarks.throughput

bench-parallelism: venv
	$(PY) -m benchmarks.parallelism

bench-cdk-concurrent: venv
	$(PY) -m benchmarks.cdk_concurrent

bench-redaction: venv
	$(PY) -m benchmarks.redaction

bench-startup: venv
	$(PY) -m benchmarks.startup

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# --- container image -------------------------------------------------------------------
# podman is installed with apt when missing (scripts/container-engine.sh); the registry base is
# used when it can be pulled, else a local Debian bookworm + Python 3.11 stand-in.
.PHONY: image-test image-example
image: venv
	scripts/build-image.sh

image-test: venv
	$(PY) -m pytest -q -m image_tests integration_tests/test_image.py

image-example: image
	$(PY) -m pytest -q -p no:cacheprovider -m image_tests integration_tests/test_image.py -k readme_container_commands

# --- release -----------------------------------------------------------------------------
# make release IMAGE=<registry>/<name>:<version>: linux/amd64 + linux/arm64 on the real
# airbyte/python-connector-base (pinned by digest), pushed as one multi-platform image; refuses the
# offline stand-in base and a platform this machine cannot emulate; prints what to enter in Airbyte
# (scripts/release.sh). `make test` releases amd64 to a registry on 127.0.0.1 (image tests);
# `make release-test` also builds arm64 under QEMU (about 8 minutes on a fresh machine, 1 to 4 after).
.PHONY: release release-test
release: venv
	IMAGE="$(IMAGE)" scripts/release.sh

release-test: venv
	$(PY) -m pytest -q -p no:cacheprovider -m "image_tests and release_arm64" integration_tests/test_release.py

# --- Airbyte standard tests and PyAirbyte ----------------------------------------------
# The standard tests run in process against the simulator (acceptance-test-config.yml); their
# image variants need a container engine and run with `make image-test`-style `-m image_tests`.
# PyAirbyte gets an environment of its own (.venv-pyairbyte, ~780 MB, a few minutes the first time).
.PHONY: pyairbyte-venv pyairbyte-example
standard: venv
	$(PY) -m pytest -q -m "not image_tests" integration_tests/test_standard.py

pyairbyte-venv:
	PYTHON=$(PYTHON) scripts/pyairbyte-venv.sh

pyairbyte: venv pyairbyte-venv
	$(PY) -m pytest -q -m "not image_tests" integration_tests/test_pyairbyte.py

pyairbyte-example: venv pyairbyte-venv
	PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py

# The image variants of the standard tests (spec, check, discover, read in the container), for an
# image built by `make image`; the registry comparison of the spec is skipped offline.
.PHONY: standard-image
standard-image: venv
	eval "$$(scripts/container-engine.sh env)" && $(PY) -m pytest -q -p airbyte_cdk.test.standard_tests.pytest_hooks \
	  -m image_tests integration_tests/test_standard.py --connector-image=source-haloitsm:dev \
	  --read-from-streams=all --read-scenarios=sample_config,config_ticket_types,config_date_range
