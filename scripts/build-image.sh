#!/usr/bin/env bash
# Builds the connector image source-haloitsm:dev for this machine's architecture.
#
#   scripts/build-image.sh            # or: make image
#
# For running and testing locally. A release to a registry (amd64 + arm64, on the real base only)
# is `make release IMAGE=<registry>/<name>:<version>` (scripts/release.sh), which calls this script
# once per platform.
#
# - Engine: a running Docker daemon if there is one, else podman (installed with apt when
#   missing, see scripts/container-engine.sh).
# - Base: the Dockerfile's default (docker.io/airbyte/python-connector-base pinned by digest)
#   when it is present or can be pulled; otherwise a local stand-in built with debootstrap
#   (localhost/python-connector-base:local). BASE_IMAGE=... forces a base.
# - Python packages: wheels built on the host into .build/wheels (needs a Python 3.11 on the host,
#   like the base image, and PyPI or pip's cache) and .build/project (this connector), so the image
#   build itself needs no network.
#   OFFLINE_WHEELS=0 (the default on a host other than Linux) skips that and lets the build run pip
#   against PyPI instead.
#
# Environment: IMAGE (default source-haloitsm:dev), BASE_IMAGE, OFFLINE_WHEELS (1),
#              PULL_TIMEOUT (seconds, default 60), HALOITSM_ENGINE (podman|docker),
#              PLATFORM (e.g. linux/arm64: build for that platform, with its wheels fetched from
#              PyPI or pip's cache; emulated with QEMU when foreign), AIRBYTE_IMAGE_NAME (the
#              io.airbyte.name label; default source-haloitsm).
# Exit codes: 0 built; 3 no container engine on a developer's machine (skipped); other: failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGE="${IMAGE:-source-haloitsm:dev}"
PLATFORM="${PLATFORM:-}"
AIRBYTE_IMAGE_NAME="${AIRBYTE_IMAGE_NAME:-source-haloitsm}"
# Wheels built on the host fit a Linux image only when the host is Linux (macOS would build its own).
OFFLINE_WHEELS="${OFFLINE_WHEELS:-$([ "$(uname -s)" = Linux ] && echo 1 || echo 0)}"
PULL_TIMEOUT="${PULL_TIMEOUT:-60}"
WHEELS="$ROOT/.build/wheels"
PROJECT_WHEEL_DIR="$ROOT/.build/project"
T0=$SECONDS
mkdir -p "$ROOT/.build"

log() { echo "build-image [+$((SECONDS - T0))s]: $*" >&2; }

# 1. Engine (exit 3 = skip on a developer's machine, 1 = fail in CI).
set +e
ENV_LINES="$("$ROOT/scripts/container-engine.sh" env)"
rc=$?
set -e
[ $rc = 0 ] || exit $rc
eval "$ENV_LINES"
ENGINE="$HALOITSM_ENGINE"
if [ "$ENGINE" = podman ]; then ENG=(podman); else ENG=(docker); fi
log "engine: $ENGINE"

# 2. Wheels for an offline image build (in the background, while the base is resolved/built).
prepare_wheels() {
rm -f "$ROOT/.build/wheels-mode"
if [ "$OFFLINE_WHEELS" = 1 ]; then
  PY="${WHEEL_PYTHON:-}"
  if [ -z "$PY" ]; then
    for c in "$ROOT/.venv/bin/python" python3.11 python3; do
      if command -v "$c" >/dev/null 2>&1 && [ "$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = 3.11 ]; then
        PY="$c"; break
      fi
    done
  fi
  if [ -z "$PY" ]; then
    log "WARNING: no Python 3.11 on the host to build wheels for the image's Python 3.11: the build will install from PyPI"
    rm -rf "$WHEELS" "$PROJECT_WHEEL_DIR"
  else
    mkdir -p "$WHEELS" "$PROJECT_WHEEL_DIR"
    # Dependencies (.build/wheels): rebuilt when pyproject.toml changes. The connector's own wheel
    # (.build/project): when its sources change; an unchanged wheel keeps the build fully cached,
    # and changed sources only rebuild the small last layer.
    deps_key="$(sha256sum pyproject.toml | cut -c1-16)"
    src_key="$( (find source_haloitsm -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; sha256sum pyproject.toml) | sha256sum | cut -c1-16)"
    if [ "$(cat "$WHEELS/.deps-key" 2>/dev/null)" != "$deps_key" ]; then
      log "building dependency wheels with $PY into .build/wheels"
      rm -f "$WHEELS"/*.whl "$WHEELS"/.deps-key-* "$PROJECT_WHEEL_DIR"/*.whl "$PROJECT_WHEEL_DIR/.src-key"
      "$PY" -m pip wheel --quiet --disable-pip-version-check -w "$WHEELS" . >&2
      echo "$deps_key" >"$WHEELS/.deps-key"
      mv "$WHEELS"/source_haloitsm-*.whl "$PROJECT_WHEEL_DIR"/
      echo "$src_key" >"$PROJECT_WHEEL_DIR/.src-key"
    elif [ "$(cat "$PROJECT_WHEEL_DIR/.src-key" 2>/dev/null)" != "$src_key" ] || ! ls "$PROJECT_WHEEL_DIR"/source_haloitsm-*.whl >/dev/null 2>&1; then
      log "rebuilding the source-haloitsm wheel"
      rm -f "$PROJECT_WHEEL_DIR"/*.whl
      "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$PROJECT_WHEEL_DIR" . >&2
      echo "$src_key" >"$PROJECT_WHEEL_DIR/.src-key"
    else
      log "wheels are up to date"
    fi
    if [ -n "$TARGET_ARCH" ] && [ "$TARGET_ARCH" != "$HOST_ARCH" ] && [ "$(cat "$WHEELS/.deps-key-$TARGET_ARCH" 2>/dev/null)" != "$deps_key" ]; then
      log "fetching the $TARGET_ARCH wheels of the same dependency versions into .build/wheels"
      "$PY" - "$WHEELS" "$TARGET_ARCH" <<'PYEOF' >&2
import pathlib, subprocess, sys
wheels, arch = pathlib.Path(sys.argv[1]), sys.argv[2]
machine = {"arm64": "aarch64", "amd64": "x86_64"}[arch]
# Wheels built for the host's machine (x86_64 or aarch64); pure wheels (none-any) serve every platform.
host = [w for w in wheels.glob("*.whl") if not w.name.endswith("-none-any.whl") and machine not in w.name]
pins = sorted({"%s==%s" % tuple(w.name.split("-")[:2]) for w in host})
platforms = ["manylinux2014_" + machine] + ["manylinux_2_%d_%s" % (v, machine) for v in range(17, 37)]
cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
       "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
       "--abi", "abi3", "--abi", "none", "-d", str(wheels)]
for p in platforms:
    cmd += ["--platform", p]
sys.exit(subprocess.call(cmd + pins))
PYEOF
      echo "$deps_key" >"$WHEELS/.deps-key-$TARGET_ARCH"
    fi
    # The dependencies, pinned: the image installs them with --find-links, so pip picks the wheel of
    # its own platform among those of several.
    "$PY" - "$WHEELS" <<'PYEOF'
import pathlib, sys
wheels = pathlib.Path(sys.argv[1])
pins = sorted({"%s==%s" % tuple(w.name.split("-")[:2]) for w in wheels.glob("*.whl")})
(wheels / "requirements.txt").write_text("".join(p + "\n" for p in pins))
PYEOF
    echo offline >"$ROOT/.build/wheels-mode"
  fi
else
  rm -rf "$WHEELS" "$PROJECT_WHEEL_DIR"
fi

}
machine_arch() { case "$1" in x86_64|amd64) echo amd64 ;; aarch64|arm64) echo arm64 ;; *) echo "$1" ;; esac; }
HOST_ARCH="$(machine_arch "$(uname -m)")"
TARGET_ARCH=""
[ -z "$PLATFORM" ] || TARGET_ARCH="$(machine_arch "${PLATFORM#linux/}")"
prepare_wheels &
WHEELS_PID=$!

# 3. Base image.
DEFAULT_BASE="$(sed -nE 's/^ARG BASE_IMAGE=(.+)$/\1/p' Dockerfile | head -1)"
[ -n "$DEFAULT_BASE" ] || { log "ERROR: no 'ARG BASE_IMAGE=' default in Dockerfile"; exit 1; }
if [ -n "${BASE_IMAGE:-}" ]; then
  BASE="$BASE_IMAGE"
  BASE_WHY="forced by BASE_IMAGE"
elif "${ENG[@]}" image inspect "$DEFAULT_BASE" >/dev/null 2>&1; then
  BASE="$DEFAULT_BASE"
  BASE_WHY="registry base, already present"
elif log "pulling $DEFAULT_BASE (timeout ${PULL_TIMEOUT}s)" \
     && timeout "$PULL_TIMEOUT" "${ENG[@]}" pull -q "$DEFAULT_BASE" >/dev/null 2>"$ROOT/.build/pull.log"; then
  BASE="$DEFAULT_BASE"
  BASE_WHY="registry base, pulled"
else
  log "cannot pull the registry base ($(tail -1 "$ROOT/.build/pull.log" 2>/dev/null | cut -c1-160))"
  BASE="$("$ROOT/scripts/container-engine.sh" base ${TARGET_ARCH:+"$TARGET_ARCH"})"
  BASE_WHY="LOCAL STAND-IN (registry base unreachable): Debian bookworm + Python 3.11 made with debootstrap; fine for tests, never publish it (make release refuses it)"
fi
log "base image: $BASE ($BASE_WHY)"

wait "$WHEELS_PID" || { log "ERROR: building the wheels failed"; exit 1; }
NETWORK_ARGS=()
if [ "$(cat "$ROOT/.build/wheels-mode" 2>/dev/null)" = offline ]; then
  NETWORK_ARGS=(--network none)  # proves the build needs no network
elif [ "$ENGINE" = podman ]; then
  NETWORK_ARGS=(--network host)
fi

# 4. Build.
log "building $IMAGE"
PLATFORM_ARGS=()
[ -z "$PLATFORM" ] || PLATFORM_ARGS=(--platform "$PLATFORM")
# --label too: buildah's layer cache does not see a changed build-arg in a LABEL line.
"${ENG[@]}" build "${NETWORK_ARGS[@]}" ${PLATFORM_ARGS[@]+"${PLATFORM_ARGS[@]}"} \
  --build-arg "BASE_IMAGE=$BASE" --build-arg "AIRBYTE_IMAGE_NAME=$AIRBYTE_IMAGE_NAME" \
  --label "io.airbyte.name=$AIRBYTE_IMAGE_NAME" \
  -t "$IMAGE" \
  -f Dockerfile . >&2
mkdir -p "$ROOT/.build"
printf '%s\n' "$BASE" >"$ROOT/.build/image-base.txt"
log "built $IMAGE${PLATFORM:+ for $PLATFORM} FROM $BASE in $((SECONDS - T0)) s"
echo "BASE_IMAGE_USED=$BASE"
