#!/usr/bin/env bash
# Container engine for source-haloitsm: podman (no daemon needed), or docker when a daemon runs.
#
#   scripts/container-engine.sh env     ensure an engine, print `export ...` lines:
#                                       eval "$(scripts/container-engine.sh env)"
#   scripts/container-engine.sh ensure  ensure an engine (installs podman/runc with apt if missing)
#   scripts/container-engine.sh base [ARCH]
#                                       ensure the local stand-in base image (for ARCH, amd64 or
#                                       arm64; default this machine's), print its name
#   scripts/container-engine.sh emulation ARCH
#                                       ensure this machine runs ARCH binaries (QEMU user emulation
#                                       through binfmt_misc; installs qemu-user-static and
#                                       binfmt-support with apt); exit 4 with the reason if it can't
#   scripts/container-engine.sh info    print what was found
#
# Exit codes: 0 ok; 3 no engine and none could be installed on a developer's machine (skip);
# 1 error. With CI=true a missing engine that cannot be installed is an error (exit 1), never a skip.
#
# Nothing under /etc is changed: the engine settings live in .build/containers/containers.conf
# (runtime runc, ulimits 1024, host network namespace) and are used through CONTAINERS_CONF.
# A `docker` shim (scripts/docker -> podman) is linked into .build/bin, which `env` puts first on
# PATH, so tools that call `docker` (the CDK image tests, the README example) use podman.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${HALOITSM_BUILD_DIR:-$ROOT/.build}"
CONF_DIR="$STATE_DIR/containers"
BIN_DIR="$STATE_DIR/bin"
CONF_FILE="$CONF_DIR/containers.conf"
CACHE_DIR="${HALOITSM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/source-haloitsm}"

# The local stand-in for docker.io/airbyte/python-connector-base (used only when the registry
# base can't be pulled). Bump LOCAL_BASE_RECIPE when the recipe below changes.
LOCAL_BASE_IMAGE="${LOCAL_BASE_IMAGE:-localhost/python-connector-base:local}"
LOCAL_BASE_RECIPE="bookworm-python3.11-v1"

log() { echo "container-engine: $*" >&2; }

is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }

unavailable() {
  # No engine: fail in CI, skip (exit 3) on a developer's machine.
  if is_ci; then
    log "ERROR: $* (CI=true: a container engine is required)"
    exit 1
  fi
  log "SKIP: $* - image tests are skipped on this machine. Install podman (apt-get install podman runc) or start a Docker daemon to run them."
  exit 3
}

docker_daemon_up() {
  # A real docker daemon (not our shim).
  local d
  d="$(PATH="$(echo "$PATH" | tr ':' '\n' | grep -vxF "$BIN_DIR" | paste -sd:)" command -v docker || true)"
  [ -n "$d" ] && [ "$(readlink -f "$d")" != "$(readlink -f "$ROOT/scripts/docker")" ] \
    && timeout 10 "$d" info >/dev/null 2>&1
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
    sudo="sudo -n"
  fi
  log "installing $* with apt-get"
  # `apt-get update` only when the package lists are missing or older than a day.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
    $sudo apt-get update -qq >&2 || return 1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2
}

write_conf() {
  mkdir -p "$CONF_DIR" "$BIN_DIR"
  local tmp="$CONF_FILE.tmp.$$"
  cat >"$tmp" <<'EOF'
# Written by scripts/container-engine.sh (used through CONTAINERS_CONF; nothing under /etc changes).
[containers]
# The defaults exceed the hard limits of small CI machines.
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
# Containers share the host network: the connector reaches a simulator on 127.0.0.1.
netns = "host"

[engine]
# crun refuses some cgroup v1 layouts; runc works everywhere we tried.
runtime = "runc"
EOF
  mv -f "$tmp" "$CONF_FILE"
  ln -sfn "$ROOT/scripts/docker" "$BIN_DIR/docker"
}

# Prints the engine name (podman|docker) or fails.
ensure_engine() {
  if [ "${HALOITSM_ENGINE:-}" = "docker" ] || { [ -z "${HALOITSM_ENGINE:-}" ] && docker_daemon_up; }; then
    docker_daemon_up || unavailable "HALOITSM_ENGINE=docker but no Docker daemon answers"
    echo docker
    return
  fi
  if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
    apt_install podman runc || true
  fi
  command -v podman >/dev/null 2>&1 || unavailable "podman is not installed and could not be installed"
  command -v runc >/dev/null 2>&1 || unavailable "runc is not installed and could not be installed"
  write_conf
  if ! CONTAINERS_CONF="$CONF_FILE" podman info >/dev/null 2>&1; then
    CONTAINERS_CONF="$CONF_FILE" podman info >&2 || true
    unavailable "podman is installed but does not work here"
  fi
  echo podman
}

debian_mirror() {
  local m=""
  m="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
  [ -n "$m" ] || m="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -E 's/\[[^]]*\]//' | awk '{print $2}' | grep -E '/debian/?$' | head -1 || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

host_arch() { case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac; }

# Makes this machine run binaries of ARCH (amd64|arm64) through QEMU user emulation, as image builds
# for a foreign platform need: binfmt_misc mounted, qemu-user-static registered with the F flag (the
# interpreter is opened at registration, so it works inside containers). Exit 4: not possible here.
ensure_emulation() {
  local arch="$1" qarch
  [ "$arch" = "$(host_arch)" ] && return 0
  case "$arch" in arm64) qarch=aarch64 ;; amd64) qarch=x86_64 ;; *) log "ERROR: unknown architecture $arch"; exit 1 ;; esac
  local entry=/proc/sys/fs/binfmt_misc/qemu-$qarch
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  fi
  if [ ! -e "$entry" ] || ! grep -qx enabled "$entry"; then
    { command -v update-binfmts >/dev/null 2>&1 && [ -e "/usr/libexec/qemu-binfmt/$qarch-binfmt-P" ]; } \
      || apt_install qemu-user-static binfmt-support || true
    command -v update-binfmts >/dev/null 2>&1 && update-binfmts --enable "qemu-$qarch" >/dev/null 2>&1 || true
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
    log "no binfmt_misc on this machine (it cannot be mounted here): $arch binaries cannot be emulated"
    exit 4
  fi
  if [ ! -e "$entry" ] || ! grep -qx enabled "$entry"; then
    log "QEMU emulation of $arch is not registered (install qemu-user-static and binfmt-support, as root)"
    exit 4
  fi
  if ! grep -q '^flags:.*F' "$entry"; then
    log "QEMU emulation of $arch is registered without the F flag: it does not work inside containers"
    exit 4
  fi
}

# Builds (once; cached in podman's store and as a tarball under $CACHE_DIR) a base image that
# stands in for airbyte/python-connector-base 4.0.x: Debian bookworm, Python 3.11 as `python`,
# pip usable by root, a non-root user `airbyte` (uid 1000) and /airbyte. For another architecture
# than this machine's (arm64 on amd64), debootstrap runs the packages' scripts under QEMU emulation.
ensure_local_base() {
  local engine="$1" arch="${2:-$(host_arch)}"
  local eng=(podman)
  [ "$engine" = docker ] && eng=(docker)
  local image="$LOCAL_BASE_IMAGE" suffix=""
  if [ "$arch" != "$(host_arch)" ]; then
    image="$LOCAL_BASE_IMAGE-$arch" suffix="-$arch"
    ensure_emulation "$arch"
  fi
  if [ "$("${eng[@]}" image inspect --format '{{ index .Config.Labels "io.source-haloitsm.base-recipe" }}/{{ .Architecture }}' "$image" 2>/dev/null || true)" = "$LOCAL_BASE_RECIPE/$arch" ]; then
    log "local base $image is cached"
    echo "$image"
    return
  fi
  local tarball="$CACHE_DIR/python-connector-base-$LOCAL_BASE_RECIPE$suffix.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap || true
    command -v debootstrap >/dev/null 2>&1 || { log "ERROR: debootstrap is missing and could not be installed"; exit 1; }
    [ "$(id -u)" = 0 ] || { log "ERROR: building the local base needs root (debootstrap)"; exit 1; }
    mkdir -p "$CACHE_DIR"
    local rootfs mirror t0=$SECONDS
    rootfs="$(mktemp -d "${TMPDIR:-/tmp}/haloitsm-rootfs.XXXXXX")"
    mirror="$(debian_mirror)"
    log "debootstrap bookworm ($arch) from $mirror (about 30-60 s)"
    if ! debootstrap --arch="$arch" --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$rootfs" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1; then
      tail -20 "$CACHE_DIR/debootstrap.log" >&2
      rm -rf "$rootfs"
      log "ERROR: debootstrap failed (log: $CACHE_DIR/debootstrap.log)"
      exit 1
    fi
    # Like the real base: `python` on PATH, root may pip-install into /usr/local,
    # a non-root user `airbyte` and /airbyte.
    ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
    ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
    rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
    grep -q '^airbyte:' "$rootfs/etc/group" || echo 'airbyte:x:1000:' >>"$rootfs/etc/group"
    grep -q '^airbyte:' "$rootfs/etc/passwd" || echo 'airbyte:x:1000:1000:airbyte:/home/airbyte:/bin/sh' >>"$rootfs/etc/passwd"
    grep -q '^airbyte:' "$rootfs/etc/shadow" 2>/dev/null || echo 'airbyte:!:19000::::::' >>"$rootfs/etc/shadow"
    mkdir -p "$rootfs/home/airbyte" "$rootfs/airbyte"
    chown 1000:1000 "$rootfs/home/airbyte" "$rootfs/airbyte"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* \
      "$rootfs"/var/log/* "$rootfs/debootstrap"
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    log "rootfs cached at $tarball ($((SECONDS - t0)) s)"
  fi
  log "importing $tarball as $image"
  local platform_arg=(--arch "$arch")
  [ "$engine" = docker ] && platform_arg=(--platform "linux/$arch")
  "${eng[@]}" import "${platform_arg[@]}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL io.source-haloitsm.base-recipe=$LOCAL_BASE_RECIPE" \
    --change 'LABEL org.opencontainers.image.description=Local stand-in for airbyte/python-connector-base 4.0.x (Debian bookworm, Python 3.11)' \
    --change 'CMD ["python"]' \
    "$tarball" "$image" >&2
  echo "$image"
}

print_env() {
  local engine="$1"
  echo "export HALOITSM_ENGINE=$engine"
  if [ "$engine" = podman ]; then
    echo "export CONTAINERS_CONF='$CONF_FILE'"
    echo "export PATH='$BIN_DIR':\"\$PATH\""
  fi
}

cmd="${1:-env}"
case "$cmd" in
  ensure) ensure_engine >/dev/null ;;
  env) engine="$(ensure_engine)"; print_env "$engine" ;;
  base) engine="$(ensure_engine)"; [ "$engine" = podman ] && export CONTAINERS_CONF="$CONF_FILE"; ensure_local_base "$engine" "${2:-}" ;;
  emulation) [ -n "${2:-}" ] || { echo "usage: $0 emulation amd64|arm64" >&2; exit 1; }; ensure_emulation "$2" ;;
  info)
    engine="$(ensure_engine)"
    echo "engine=$engine"
    [ "$engine" = podman ] && echo "containers_conf=$CONF_FILE" && echo "docker_shim=$BIN_DIR/docker" && podman --version
    echo "local_base=$LOCAL_BASE_IMAGE (recipe $LOCAL_BASE_RECIPE)"
    echo "debian_mirror=$(debian_mirror)"
    ;;
  *) echo "usage: $0 env|ensure|base [ARCH]|emulation ARCH|info" >&2; exit 1 ;;
esac
