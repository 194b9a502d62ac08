# Container image of the HaloITSM Airbyte source (source-haloitsm).
#
# Build (any machine with network access to docker.io and PyPI):
#   docker build -t source-haloitsm:dev .
# Build without network inside the build (what scripts/build-image.sh does):
#   1. on the host, with Python 3.11:  pip wheel -w .build/wheels .
#      (builds the wheel of this project plus every dependency)
#   2. docker|podman build -t source-haloitsm:dev .
#      When .build/wheels holds wheels they are installed with `pip install --no-index`,
#      otherwise the project is installed from source with pip (needs PyPI).
# Build against another base (e.g. a local stand-in when docker.io can't be reached):
#   docker build --build-arg BASE_IMAGE=localhost/python-connector-base:local -t source-haloitsm:dev .
#
# The default base is pinned by digest and must equal connectorBuildOptions.baseImage in
# metadata.yaml (unit_tests/test_metadata.py checks this).
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

FROM ${BASE_IMAGE} AS builder
USER root
WORKDIR /airbyte/integration_code
# .dockerignore keeps secrets, virtualenvs and git out; it lets .build/wheels in.
COPY . ./
RUN set -eu; \
    if ls .build/wheels/source_haloitsm-*.whl >/dev/null 2>&1; then \
        echo "installing from the pre-built wheels in .build/wheels (no network)"; \
        python -m pip install --no-cache-dir --no-index --find-links .build/wheels source-haloitsm; \
    else \
        echo "no pre-built wheels: installing from source with pip (needs network access to PyPI)"; \
        python -m pip install --no-cache-dir .; \
    fi; \
    python -c "import source_haloitsm, airbyte_cdk; print('installed', source_haloitsm.__file__)"

FROM ${BASE_IMAGE}
USER root
WORKDIR /airbyte/integration_code
# Packages and console scripts land in /usr/local, as in Airbyte's own connector images.
COPY --from=builder /usr/local /usr/local
COPY main.py ./
RUN python -c "import source_haloitsm" && chmod -R a+rX /airbyte/integration_code

LABEL io.airbyte.version=0.1.0
LABEL io.airbyte.name=airbyte/source-haloitsm

USER airbyte
ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"
ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]
