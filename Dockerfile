# Container image of the HaloITSM Airbyte source (source-haloitsm).
#
# Build (any machine with network access to docker.io and PyPI):
#   docker build -t source-haloitsm:dev .
# Build without network inside the build (what scripts/build-image.sh does):
#   1. on the host, with Python 3.11 (the base image's Python):
#        pip wheel -w .build/wheels . && mkdir -p .build/project && mv .build/wheels/source_haloitsm-*.whl .build/project/
#      and .build/wheels/requirements.txt pinning each dependency (name==version). Wheels of other
#      platforms may sit beside them (a release adds linux/arm64 ones): pip picks the image's own.
#   2. docker build -t source-haloitsm:dev .   (or podman build --network none ...)
#      Wheels in .build/wheels (dependencies) and .build/project (this connector) are installed
#      with `pip install --no-index`; without them pip installs from source and PyPI.
# Releases (amd64 + arm64 on the real base, pushed to your registry): `make release IMAGE=...`.
# Needs BuildKit (Docker's default builder since 23.0) or podman/buildah for `RUN --mount`.
# Build against another base (e.g. a local stand-in when docker.io can't be reached):
#   docker build --build-arg BASE_IMAGE=localhost/python-connector-base:local -t source-haloitsm:dev .
#
# The default base is pinned by digest and must equal connectorBuildOptions.baseImage in
# metadata.yaml (unit_tests/test_metadata.py checks this).
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

# Stage `context` sorts the build context: pre-built wheels (if any) go to /wheels, the connector's
# own wheel to /pkg, or, without wheels, its source to /pkg/src. It never ends up in the image.
FROM ${BASE_IMAGE} AS context
COPY . /src/
RUN set -eu; mkdir -p /wheels /pkg; \
    if ls /src/.build/project/source_haloitsm-*.whl >/dev/null 2>&1; then \
        mv /src/.build/wheels/*.whl /src/.build/wheels/requirements.txt /wheels/ 2>/dev/null || true; \
        mv /src/.build/project/source_haloitsm-*.whl /pkg/; \
    else \
        rm -rf /src/.build; mv /src /pkg/src; \
    fi; \
    find /wheels -type f -print0 | sort -z | xargs -0r sha256sum >/wheels.sha256

FROM ${BASE_IMAGE}
USER root
WORKDIR /airbyte/integration_code
# 1. Dependencies, from the pre-built wheels (bind-mounted, so they stay out of the image). The
#    checksum list copied first makes the layer cache follow the wheels' content.
COPY --from=context /wheels.sha256 /tmp/wheels.sha256
RUN --mount=type=bind,from=context,source=/wheels,target=/wheels \
    if [ -f /wheels/requirements.txt ]; then \
        echo "installing dependencies from pre-built wheels (no network)"; \
        python -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-cache-dir --no-index \
            --find-links /wheels -r /wheels/requirements.txt; \
    else \
        echo "no pre-built wheels: dependencies come from PyPI in the next step"; \
    fi; \
    rm -f /tmp/wheels.sha256
# 2. The connector (packages and console scripts land in /usr/local, as in Airbyte's images).
COPY --from=context /pkg /tmp/pkg
RUN if ls /tmp/pkg/source_haloitsm-*.whl >/dev/null 2>&1; then \
        python -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-cache-dir --no-index /tmp/pkg/source_haloitsm-*.whl; \
    else \
        echo "installing from source with pip (needs network access to PyPI)"; \
        python -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-cache-dir /tmp/pkg/src; \
    fi \
    && rm -rf /tmp/pkg \
    && python -c "import source_haloitsm, airbyte_cdk"
COPY main.py ./
RUN chmod -R a+rX /airbyte/integration_code

# The version equals pyproject.toml's and metadata.yaml's dockerImageTag (unit_tests/test_release.py).
# The name is the image's repository: source-haloitsm locally, the registry's name in a release
# (scripts/release.sh passes --build-arg AIRBYTE_IMAGE_NAME=<registry>/<name>).
ARG AIRBYTE_IMAGE_NAME=source-haloitsm
LABEL io.airbyte.version=0.1.0
LABEL io.airbyte.name=${AIRBYTE_IMAGE_NAME}

USER airbyte
ENV AIRBYTE_ENTRYPOINT="python /airbyte/integration_code/main.py"
ENTRYPOINT ["python", "/airbyte/integration_code/main.py"]
