#!/usr/bin/env bash
# The container image, tested for real: builds it with podman (docker where a daemon runs), then runs
# our image tests (spec/check/discover/read and the README's container commands as written), the CDK's
# image tests (`--connector-image`, `--read-from-streams`), PyAirbyte reading through the image, and
# `make release` of linux/amd64 to a registry on 127.0.0.1 (the arm64 release: `make release-test`).
# On a developer's machine without an engine it is skipped with a message; in CI (CI=true) a missing
# engine that cannot be installed fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
env_lines="$(scripts/container-engine.sh env)"
rc=$?
if [ "$rc" = 3 ]; then
  echo "image tests SKIPPED: no container engine here (scripts/container-engine.sh says why); CI installs podman."
  exit 0
fi
[ "$rc" = 0 ] || exit "$rc"
eval "$env_lines"
set -e
scripts/build-image.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider -p airbyte_cdk.test.standard_tests.pytest_hooks \
  -m "image_tests and not release_arm64" \
  integration_tests/test_image.py integration_tests/test_standard.py integration_tests/test_pyairbyte.py \
  integration_tests/test_release.py \
  --connector-image=source-haloitsm:dev --read-from-streams=all \
  --read-scenarios=sample_config,config_ticket_types,config_date_range
