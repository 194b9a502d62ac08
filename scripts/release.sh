#!/usr/bin/env bash
# Releases the connector image to a registry of yours, for Airbyte to pull:
#
#   make release IMAGE=<registry>/<name>:<version>      # e.g. ghcr.io/acme/source-haloitsm:0.1.0
#
# 1. checks IMAGE: a registry host, a name and a tag equal to the project's version (pyproject.toml,
#    metadata.yaml dockerImageTag and the Dockerfile's io.airbyte.version label, which must agree);
# 2. for each platform of PLATFORMS (default linux/amd64,linux/arm64): pulls the real base,
#    airbyte/python-connector-base pinned by digest (the Dockerfile's default), and REFUSES to go on
#    when it cannot: a release is never built on the local stand-in base; a platform other than this
#    machine's is built under QEMU emulation, and the release REFUSES when this machine cannot
#    emulate it (a release without arm64 does not run on Apple-silicon abctl or Graviton);
# 3. builds each platform (scripts/build-image.sh), labels io.airbyte.name=<registry>/<name>;
# 4. pushes one multi-platform image (a manifest list) to IMAGE, reads the list back from the
#    registry and checks every platform is in it, runs `spec` from the pushed image;
# 5. prints what to enter in Airbyte (Settings > Sources > + New connector > Add a new Docker
#    connector): display name, Docker repository name, tag, documentation URL.
#
# Log in first: `podman login <registry>` (or `docker login <registry>`).
#
# Environment:
#   IMAGE                 required: <registry>/<name>:<version>
#   PLATFORMS             default linux/amd64,linux/arm64. PLATFORMS=linux/amd64 releases amd64 only,
#                         on purpose (the output says so).
#   PULL_TIMEOUT          seconds for each pull of the base (default 300)
#   TLS_VERIFY            true|false for push and inspect (default true; false for a registry on
#                         127.0.0.1 / localhost, which speaks plain http)
#   ALLOW_STAND_IN_BASE=1 TEST ONLY: when the real base cannot be pulled, build on the local stand-in
#                         base instead. Accepted only for a registry on 127.0.0.1 or localhost, so a
#                         stand-in image never reaches a registry Airbyte pulls from.
#                         (integration_tests/test_release.py uses it offline.)
# Exit codes: 0 released; 2 bad IMAGE or settings; 3 no container engine; 5 refused (no real base,
# or a platform this machine cannot build); other: failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
T0=$SECONDS
log() { echo "release [+$((SECONDS - T0))s]: $*" >&2; }
die() { local rc="$1"; shift; echo "release: ERROR: $*" >&2; exit "$rc"; }
with_timeout() { if command -v timeout >/dev/null 2>&1; then timeout "$@"; else shift; "$@"; fi; }

IMAGE="${IMAGE:-}"
PLATFORMS="${PLATFORMS:-linux/amd64,linux/arm64}"
PULL_TIMEOUT="${PULL_TIMEOUT:-300}"
ALLOW_STAND_IN_BASE="${ALLOW_STAND_IN_BASE:-0}"

# --- 1. what is released ---------------------------------------------------------------------------
[ -n "$IMAGE" ] || die 2 "IMAGE is not set. Usage: make release IMAGE=<registry>/<name>:<version>, e.g. IMAGE=ghcr.io/acme/source-haloitsm:$(sed -nE 's/^version *= *"(.+)"/\1/p' pyproject.toml)"
case "$IMAGE" in *@*) die 2 "IMAGE=$IMAGE: give a tag, not a digest" ;; esac
TAG="${IMAGE##*:}"
REPOSITORY="${IMAGE%:*}"
{ [ "$TAG" != "$IMAGE" ] && [ -n "$TAG" ] && [[ "$TAG" != */* ]]; } || die 2 "IMAGE=$IMAGE has no tag: add :<version>"
REGISTRY="${REPOSITORY%%/*}"
if [ "$REGISTRY" = "$REPOSITORY" ] || { [[ "$REGISTRY" != *.* ]] && [[ "$REGISTRY" != *:* ]] && [ "$REGISTRY" != localhost ]; }; then
  die 2 "IMAGE=$IMAGE does not name a registry: write it in full, e.g. docker.io/<your-user>/source-haloitsm:$TAG or ghcr.io/<org>/source-haloitsm:$TAG"
fi
REGISTRY_HOST="${REGISTRY%:*}"
LOCAL_REGISTRY=0
case "$REGISTRY_HOST" in 127.0.0.1|localhost) LOCAL_REGISTRY=1 ;; esac

VERSION="$(sed -nE 's/^version *= *"(.+)"$/\1/p' pyproject.toml | head -1)"
META_TAG="$(sed -nE 's/^ *dockerImageTag: *"?([^"]+)"? *$/\1/p' metadata.yaml | head -1)"
LABEL_VERSION="$(sed -nE 's/^LABEL io\.airbyte\.version=(.+)$/\1/p' Dockerfile | head -1)"
[ "$VERSION" = "$META_TAG" ] && [ "$VERSION" = "$LABEL_VERSION" ] \
  || die 2 "versions disagree: pyproject.toml $VERSION, metadata.yaml dockerImageTag $META_TAG, Dockerfile io.airbyte.version $LABEL_VERSION"
[ "$TAG" = "$VERSION" ] || die 2 "IMAGE's tag '$TAG' is not the project's version $VERSION (pyproject.toml, metadata.yaml, Dockerfile): release $REPOSITORY:$VERSION, or bump the version first"

DOCS_URL="$(sed -nE 's/^ *documentationUrl: *(.+)$/\1/p' metadata.yaml | head -1)"
SPEC_DOCS_URL="$(sed -nE 's/^ *"documentationUrl": *"([^"]+)".*$/\1/p' source_haloitsm/spec.json | head -1)"
[ "$DOCS_URL" = "$SPEC_DOCS_URL" ] || die 2 "documentation URLs disagree: metadata.yaml $DOCS_URL, spec.json $SPEC_DOCS_URL (scripts/set-project-url.sh sets both)"
DISPLAY_NAME="$(sed -nE 's/^ *name: *(.+)$/\1/p' metadata.yaml | head -1)"

if [ "$ALLOW_STAND_IN_BASE" = 1 ] && [ "$LOCAL_REGISTRY" != 1 ]; then
  die 2 "ALLOW_STAND_IN_BASE=1 is for tests and only accepted for a registry on 127.0.0.1 or localhost, not $REGISTRY"
fi
TLS_VERIFY="${TLS_VERIFY:-$([ "$LOCAL_REGISTRY" = 1 ] && echo false || echo true)}"

IFS=',' read -r -a PLATFORM_LIST <<<"$PLATFORMS"
for p in "${PLATFORM_LIST[@]}"; do
  case "$p" in linux/amd64|linux/arm64) ;; *) die 2 "PLATFORMS: $p is not linux/amd64 or linux/arm64" ;; esac
done
log "releasing $IMAGE (version $VERSION) for ${PLATFORMS}"

# --- 2. engine, emulation, base --------------------------------------------------------------------
set +e
ENV_LINES="$(CI=true "$ROOT/scripts/container-engine.sh" env)"
rc=$?
set -e
[ $rc = 0 ] || die 3 "no container engine (scripts/container-engine.sh says why above)"
eval "$ENV_LINES"
ENGINE="$HALOITSM_ENGINE"
log "engine: $ENGINE"
if [ "$ENGINE" = podman ] && [ "$TLS_VERIFY" = false ]; then
  # Plain http to this one registry for every podman command (push, inspect, run --pull).
  mkdir -p "$ROOT/.build"
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REGISTRY" >"$ROOT/.build/release-registries.conf"
  export CONTAINERS_REGISTRIES_CONF="$ROOT/.build/release-registries.conf"
fi

DEFAULT_BASE="$(sed -nE 's/^ARG BASE_IMAGE=(.+)$/\1/p' Dockerfile | head -1)"
[[ "$DEFAULT_BASE" == *@sha256:* ]] || die 2 "the Dockerfile's base ($DEFAULT_BASE) is not pinned by digest"
if [ -n "${BASE_IMAGE:-}" ] && [ "$BASE_IMAGE" != "$DEFAULT_BASE" ]; then
  die 2 "BASE_IMAGE=$BASE_IMAGE: a release is built on the Dockerfile's base ($DEFAULT_BASE) only"
fi

# Every platform is checked before anything is built or pushed.
declare -A BASE_OF
STAND_IN=0
for p in "${PLATFORM_LIST[@]}"; do
  arch="${p#linux/}"
  set +e
  if [ "$ENGINE" = docker ]; then
    # Docker (Docker Desktop emulates in its VM): the builder lists what it can build.
    native="$(docker info --format '{{.Architecture}}' 2>/dev/null | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
    why=""; rc=0
    if [ "$native" != "$arch" ] && ! docker buildx inspect --bootstrap 2>/dev/null | grep -Eq "^Platforms:.*linux/$arch\b"; then
      why="Docker's builder does not list linux/$arch"; rc=4
    fi
  elif [ "$(uname -s)" = Linux ]; then
    why="$("$ROOT/scripts/container-engine.sh" emulation "$arch" 2>&1)"
    rc=$?
  else
    why=""; rc=0  # podman machine (macOS): its VM emulates; a failing build stops the release
  fi
  set -e
  if [ $rc != 0 ]; then
    others="$(printf '%s\n' "${PLATFORM_LIST[@]}" | grep -vx "$p" | paste -sd, - || true)"
    die 5 "this machine cannot build $p: ${why:-QEMU emulation is unavailable}.
  Refusing to release without $arch: Airbyte on Apple silicon (abctl) and on arm64 servers (Graviton)
  could not run the image. Release from a machine that can emulate $arch (Debian/Ubuntu as root:
  apt-get install qemu-user-static binfmt-support; Docker Desktop emulates it already), or release
  without it, knowingly: PLATFORMS=${others:-<platforms>} make release IMAGE=$IMAGE"
  fi
  log "pulling the base for $p: $DEFAULT_BASE (timeout ${PULL_TIMEOUT}s)"
  pulled=0
  if [ "$ENGINE" = podman ]; then
    with_timeout "$PULL_TIMEOUT" podman pull -q --platform "$p" "$DEFAULT_BASE" >/dev/null 2>"$ROOT/.build/release-pull.log" && pulled=1
  else
    with_timeout "$PULL_TIMEOUT" docker pull -q --platform "$p" "$DEFAULT_BASE" >/dev/null 2>"$ROOT/.build/release-pull.log" && pulled=1
  fi
  if [ $pulled = 1 ]; then
    BASE_OF[$p]="$DEFAULT_BASE"
  elif [ "$ALLOW_STAND_IN_BASE" = 1 ]; then
    log "WARNING: the real base cannot be pulled for $p; ALLOW_STAND_IN_BASE=1 (test only, registry $REGISTRY): building on the local stand-in"
    BASE_OF[$p]="$("$ROOT/scripts/container-engine.sh" base "$arch")"
    STAND_IN=1
  else
    die 5 "cannot pull the real base $DEFAULT_BASE for $p ($(tail -1 "$ROOT/.build/release-pull.log")).
  Refusing to release: an image on the local stand-in base (what \`make image\` uses offline) is for
  tests only. Release from a machine that reaches docker.io (log in if your network requires it)."
  fi
done
[ "$ENGINE" = podman ] || [ "$STAND_IN" = 0 ] || die 2 "ALLOW_STAND_IN_BASE=1 needs podman (Docker's buildx cannot see a locally imported base)"

# --- 3. build --------------------------------------------------------------------------------------
LOCAL_NAME="localhost/source-haloitsm-release"
for p in "${PLATFORM_LIST[@]}"; do
  arch="${p#linux/}"
  if [ "${BASE_OF[$p]}" = "$DEFAULT_BASE" ]; then
    # The base's name points at the platform pulled last: pull this platform's again (cached).
    with_timeout "$PULL_TIMEOUT" "$ENGINE" pull -q --platform "$p" "$DEFAULT_BASE" >/dev/null
  fi
  log "building $p on ${BASE_OF[$p]}"
  IMAGE="$LOCAL_NAME:$VERSION-$arch" PLATFORM="$p" BASE_IMAGE="${BASE_OF[$p]}" AIRBYTE_IMAGE_NAME="$REPOSITORY" \
    "$ROOT/scripts/build-image.sh" >"$ROOT/.build/release-build-$arch.log" 2>&1 \
    || { tail -30 "$ROOT/.build/release-build-$arch.log" >&2; die 1 "the build for $p failed (log: .build/release-build-$arch.log)"; }
  if [ "$ENGINE" = podman ]; then
    got="$(podman image inspect --format '{{.Architecture}}' "$LOCAL_NAME:$VERSION-$arch")"
    [ "$got" = "$arch" ] || die 1 "the $p build has architecture $got"
  fi
done

# --- 4. push one multi-platform image, read it back -----------------------------------------------
if [ "$ENGINE" = podman ]; then
  LIST="$LOCAL_NAME:$VERSION"
  podman manifest rm "$LIST" >/dev/null 2>&1 || podman rmi "$LIST" >/dev/null 2>&1 || true
  podman manifest create "$LIST" >/dev/null
  for p in "${PLATFORM_LIST[@]}"; do
    podman manifest add "$LIST" "containers-storage:$LOCAL_NAME:$VERSION-${p#linux/}" >/dev/null
  done
  log "pushing $IMAGE"
  podman manifest push --all --quiet --tls-verify="$TLS_VERIFY" --digestfile "$ROOT/.build/release-digest" \
    "$LIST" "docker://$IMAGE" >&2
  DIGEST="$(cat "$ROOT/.build/release-digest")"
  PUSHED="$(podman manifest inspect "$IMAGE")"
else
  # Docker (not tried here: no Docker daemon on the machine this was written on): each platform
  # is pushed under <tag>-<arch>, then one list of them under <tag>.
  refs=()
  for p in "${PLATFORM_LIST[@]}"; do
    docker tag "$LOCAL_NAME:$VERSION-${p#linux/}" "$IMAGE-${p#linux/}"
    docker push -q "$IMAGE-${p#linux/}" >&2
    refs+=("$IMAGE-${p#linux/}")
  done
  log "pushing $IMAGE (a list of ${refs[*]})"
  docker buildx imagetools create -t "$IMAGE" "${refs[@]}" >&2
  PUSHED="$(docker buildx imagetools inspect --raw "$IMAGE")"
  DIGEST="$(docker buildx imagetools inspect --format '{{.Manifest.Digest}}' "$IMAGE")"
fi
MISSING="$(python3 - "$PLATFORMS" "$PUSHED" <<'PYEOF'
import json, sys
wanted = sys.argv[1].split(",")
index = json.loads(sys.argv[2])
have = {f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index.get("manifests", []) if m.get("platform")}
print(" ".join(w for w in wanted if w not in have))
PYEOF
)"
[ -z "$MISSING" ] || die 1 "the registry's manifest list of $IMAGE lacks: $MISSING"
log "the registry lists $PLATFORMS for $IMAGE"

# The pushed image answers `spec` with the documentation URL of this release.
SPEC_URL="$("$ENGINE" run --rm --pull=always "$IMAGE" spec 2>/dev/null \
  | python3 -c 'import json,sys; print(next(json.loads(l)["spec"].get("documentationUrl","") for l in sys.stdin if l.startswith("{") and json.loads(l).get("type")=="SPEC"))' || true)"
[ "$SPEC_URL" = "$DOCS_URL" ] || die 1 "the pushed image's spec has documentationUrl '$SPEC_URL', not $DOCS_URL"
log "the pushed image answers spec (documentationUrl $SPEC_URL)"

# The documentation URL must open for Airbyte's users; offline it cannot be checked from here.
if command -v curl >/dev/null 2>&1 && curl -fsIL --max-time 10 -o /dev/null "$DOCS_URL" 2>/dev/null; then
  DOCS_NOTE="(it answers)"
else
  DOCS_NOTE="(NOT reachable from here: check it opens, or set the project's URL with scripts/set-project-url.sh before releasing)"
fi

# --- 5. what to enter in Airbyte -------------------------------------------------------------------
cat <<EOF

Released $IMAGE for $PLATFORMS$([ "$STAND_IN" = 1 ] && echo " ON THE LOCAL STAND-IN BASE (test only: never add it to an Airbyte)")
In Airbyte: Settings > Sources > + New connector > Add a new Docker connector
  Connector display name:       $DISPLAY_NAME
  Docker repository name:       $REPOSITORY
  Docker image tag:             $TAG
  (the tag's content, to pin:   $REPOSITORY@$DIGEST)
  Connector documentation URL:  $DOCS_URL
                                $DOCS_NOTE
Airbyte must be able to pull from $REGISTRY (docs/haloitsm.md: registry authentication).
EOF
[ "${#PLATFORM_LIST[@]}" -gt 1 ] || echo "NOTE: only $PLATFORMS was released (PLATFORMS): Airbyte on other architectures cannot run it."
echo "RELEASED_IMAGE=$IMAGE"
echo "PLATFORMS=$PLATFORMS"
echo "DIGEST=$DIGEST"
echo "STAND_IN_BASE=$STAND_IN"
