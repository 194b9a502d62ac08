#!/usr/bin/env bash
# A throw-away container registry on 127.0.0.1 (Debian's `docker-registry`, the CNCF distribution
# registry), for testing `make release` without a registry of your own.
#
#   scripts/local-registry.sh start DIR    install docker-registry with apt when missing, start it on a
#                                          free 127.0.0.1 port with its config and storage in DIR,
#                                          print REGISTRY=127.0.0.1:<port> once it answers
#   scripts/local-registry.sh stop DIR     stop the registry started with DIR
#
# Plain http, no authentication, no deletion: for tests on this machine only. Exit codes: 0 ok;
# 3 docker-registry is missing and cannot be installed here; 1 error.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"
DIR="${2:-}"
[ -n "$cmd" ] && [ -n "$DIR" ] || { echo "usage: $0 start|stop DIR" >&2; exit 1; }
log() { echo "local-registry: $*" >&2; }

find_registry() {
  command -v docker-registry 2>/dev/null || { [ -x /usr/bin/docker-registry ] && echo /usr/bin/docker-registry; } || true
}

case "$cmd" in
  start)
    BIN="$(find_registry)"
    if [ -z "$BIN" ]; then
      if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        log "installing docker-registry with apt-get"
        if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
          apt-get update -qq >&2 || true
        fi
        # policy-rc.d-less machines would start the packaged service on port 5000: it is not used.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >&2 || true
      fi
      BIN="$(find_registry)"
      [ -n "$BIN" ] || { log "docker-registry is not installed and cannot be installed here (apt-get install docker-registry, as root)"; exit 3; }
    fi
    mkdir -p "$DIR/data"
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    cat >"$DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/data
http:
  addr: 127.0.0.1:$PORT
EOF
    "$BIN" serve "$DIR/config.yml" >"$DIR/registry.log" 2>&1 &
    echo $! >"$DIR/pid"
    for _ in $(seq 1 100); do
      if python3 -c 'import sys, urllib.request; urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/", timeout=1)' "$PORT" 2>/dev/null; then
        echo "REGISTRY=127.0.0.1:$PORT"
        exit 0
      fi
      kill -0 "$(cat "$DIR/pid")" 2>/dev/null || { cat "$DIR/registry.log" >&2; log "the registry exited"; exit 1; }
      sleep 0.1
    done
    log "the registry did not answer in 10 s"; cat "$DIR/registry.log" >&2; exit 1
    ;;
  stop)
    if [ -s "$DIR/pid" ]; then
      kill "$(cat "$DIR/pid")" 2>/dev/null || true
      rm -f "$DIR/pid"
    fi
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 1 ;;
esac
