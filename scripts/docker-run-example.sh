#!/usr/bin/env bash
# Runs the README's container example against the built-in Halo simulator and prints the record count:
#
#   docker run --rm -v "$PWD/secrets:/secrets" source-haloitsm:dev read --config /secrets/config.json --catalog /secrets/catalog.json
#
# `docker` is the podman shim from scripts/container-engine.sh where no Docker daemon runs (its
# containers share the host network, so the connector reaches the simulator on 127.0.0.1).
# The command runs in a temporary directory with its own secrets/ folder (your secrets/ is not touched).
#
# Environment: IMAGE (default source-haloitsm:dev; built with scripts/build-image.sh when missing),
#              TICKETS (default 250), PYTHON (default .venv/bin/python).
# Exit codes: 0 the count equals the simulator's truth; 3 no container engine (developer machine);
#             other: failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-source-haloitsm:dev}"
TICKETS="${TICKETS:-250}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"

set +e
ENV_LINES="$("$ROOT/scripts/container-engine.sh" env)"
rc=$?
set -e
[ $rc = 0 ] || exit $rc
eval "$ENV_LINES"

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  IMAGE="$IMAGE" "$ROOT/scripts/build-image.sh" >/dev/null
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/haloitsm-example.XXXXXX")"
SIM_PID=""
cleanup() {
  if [ -n "$SIM_PID" ]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The simulator runs on the host until this script ends (at most 15 minutes).
(cd "$ROOT" && exec "$PY" -c '
import json, sys, time
from integration_tests.halo_simulator import HaloSimulator
sim = HaloSimulator(tickets=int(sys.argv[2]), seed=42, client_id="demo-client",
                    client_secret="demo-secret", tenant="demo")
sim.start()
try:
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump({"base_url": sim.base_url, "truth": len(sim.truth())}, f)
    import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(900)
finally:
    sim.stop()
' "$WORK/sim.json" "$TICKETS") &
SIM_PID=$!
for _ in $(seq 1 300); do
  [ -s "$WORK/sim.json" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || { echo "docker-run-example: the simulator did not start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$WORK/sim.json" ] || { echo "docker-run-example: the simulator did not start in 30 s" >&2; exit 1; }
BASE_URL="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["base_url"])' "$WORK/sim.json")"
TRUTH="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["truth"])' "$WORK/sim.json")"

# With podman the containers share the host network (containers.conf); a real Docker daemon
# needs --network host to reach the simulator on the host's 127.0.0.1.
NET=()
[ "$HALOITSM_ENGINE" = docker ] && NET=(--network host)

cd "$WORK"
mkdir -p secrets
chmod 755 secrets
cat >secrets/config.json <<EOF
{"base_url": "$BASE_URL", "tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret", "rate_limit": 6000}
EOF
chmod 644 secrets/config.json   # the container runs as the non-root user `airbyte`

# A catalog of the `tickets` stream, from the image's own `discover`.
docker run --rm ${NET[@]+"${NET[@]}"} -v "$PWD/secrets:/secrets" "$IMAGE" discover --config /secrets/config.json >discover.jsonl
"$PY" - discover.jsonl secrets/catalog.json <<'EOF'
import json, sys
catalog = next(json.loads(l)["catalog"] for l in open(sys.argv[1]) if l.startswith("{") and json.loads(l).get("type") == "CATALOG")
streams = [s for s in catalog["streams"] if s["name"] == "tickets"] or catalog["streams"][:1]
json.dump({"streams": [{"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"} for s in streams]},
          open(sys.argv[2], "w"))
EOF
chmod 644 secrets/catalog.json

echo "+ docker run --rm -v \$PWD/secrets:/secrets $IMAGE read --config /secrets/config.json --catalog /secrets/catalog.json" >&2
T0=$SECONDS
docker run --rm ${NET[@]+"${NET[@]}"} -v "$PWD/secrets:/secrets" "$IMAGE" read --config /secrets/config.json --catalog /secrets/catalog.json >read.jsonl
COUNT="$(grep -c '"type": *"RECORD"' read.jsonl || true)"
echo "records: $COUNT (simulator truth: $TRUTH tickets; read took $((SECONDS - T0)) s)"
[ "$COUNT" = "$TRUTH" ] || { echo "docker-run-example: FAILED: record count differs from the simulator's truth" >&2; grep '"TRACE"' read.jsonl | head -3 >&2; exit 1; }
