"""Read HaloITSM tickets with PyAirbyte into a local DuckDB cache, then read again incrementally.

Runs under the PyAirbyte environment (scripts/pyairbyte-venv.sh makes it), from the repository root:

    scripts/pyairbyte-venv.sh
    PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py               # built-in simulator
    PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py --by-type     # one stream per ticket type
    PYTHONPATH=. .venv-pyairbyte/bin/python examples/pyairbyte_example.py --image       # the container image
    .venv-pyairbyte/bin/python examples/pyairbyte_example.py --config secrets/config.json   # a real Halo

Without --config it starts the Halo simulator of this repository in this process (it needs the
repository on PYTHONPATH), reads every ticket, compares the per-stream counts and ids with what the
simulator holds, updates and creates some tickets in the simulator, reads again (incremental, from
the state PyAirbyte keeps in the cache) and checks that the changed tickets came. It exits 1 when
a comparison fails. With --config it reads your Halo and prints the counts (and, with --incremental,
a second, incremental read).

The connector is run by its console script (.venv/bin/source-haloitsm, from `make venv`), or with
--image by the image source-haloitsm:dev (`make image`) through the container engine of
scripts/container-engine.sh.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Optional, Set

# Before `import airbyte`: no connector registry look-up (get_source would fail offline), no telemetry.
os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import airbyte as ab  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EXECUTABLE = ROOT / ".venv" / "bin" / "source-haloitsm"
DEFAULT_IMAGE = "source-haloitsm:dev"
# The simulator's ticket types (integration_tests/halo_simulator/data.py) as --by-type streams.
TYPE_STREAMS = [
    {"name": "incidents", "type_id": 1, "fields": ["summary", "status_id", "dateoccurred", "agent_id"]},
    {"name": "service_requests", "type_id": 2, "fields": ["summary", "priority_id"]},
    {"name": "problems", "type_id": 3},
    {"name": "changes", "type_id": 4},
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a connector config (JSON) for a real Halo; default: start the simulator")
    parser.add_argument("--incremental", action="store_true", help="with --config: also run a second, incremental read")
    parser.add_argument("--tickets", type=int, default=1500, help="tickets in the simulator (default 1500)")
    parser.add_argument("--by-type", action="store_true", help="one stream per ticket type instead of the single 'tickets' stream")
    parser.add_argument("--update", type=int, default=20, help="tickets the simulator updates before the incremental read")
    parser.add_argument("--create", type=int, default=5, help="tickets the simulator creates before the incremental read")
    parser.add_argument("--executable", type=Path, default=DEFAULT_EXECUTABLE, help="the connector's console script")
    parser.add_argument("--image", nargs="?", const=DEFAULT_IMAGE, help=f"run the connector image instead (default {DEFAULT_IMAGE})")
    parser.add_argument("--cache-dir", type=Path, help="where the DuckDB cache lives (default: PyAirbyte's, ./.cache/default_cache)")
    parser.add_argument("--summary", type=Path, help="write the counts and comparisons to this JSON file")
    return parser.parse_args(argv)


def start_simulator(tickets: int):
    try:
        from integration_tests.halo_simulator import HaloSimulator
    except ImportError as exc:
        sys.exit(f"Cannot import the Halo simulator ({exc}). Run from the repository root with PYTHONPATH=. or pass --config.")
    return HaloSimulator(tickets=tickets, seed=42, client_id="demo-client", client_secret="demo-secret", tenant="demo").start()


def simulator_config(base_url: str, by_type: bool) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "base_url": base_url,
        "tenant": "demo",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        # A local simulator has no rate limit; Halo-hosted allows about 300 requests per 5 minutes.
        "rate_limit": 6000,
    }
    if by_type:
        config["ticket_types"] = TYPE_STREAMS
    return config


def use_container_engine() -> None:
    """Puts the docker shim of scripts/container-engine.sh first on PATH (podman without a daemon)."""
    script = ROOT / "scripts" / "container-engine.sh"
    proc = subprocess.run(
        ["bash", "-c", 'out="$("$0" env)" || exit $?; eval "$out"; env -0', str(script)],
        capture_output=True,
    )
    if proc.returncode != 0:
        sys.exit(f"No container engine: {script} env failed ({proc.stderr.decode(errors='replace').strip()[-500:]})")
    for item in proc.stdout.decode().split("\0"):
        if "=" in item:
            key, value = item.split("=", 1)
            os.environ[key] = value


def get_source(config: Dict[str, Any], args: argparse.Namespace) -> ab.Source:
    if args.image:
        use_container_engine()
        # Host network: the container reaches a simulator (or proxy) listening on this machine's loopback.
        return ab.get_source("source-haloitsm", config=config, docker_image=args.image, use_host_network=True)
    if not args.executable.exists():
        sys.exit(f"{args.executable} does not exist: run `make venv` first, or pass --executable.")
    return ab.get_source("source-haloitsm", config=config, local_executable=str(args.executable))


def cached_rows(cache, stream: str):
    """id, last_update and extraction time of every row of a stream in the cache (a pandas frame)."""
    frame = cache[stream].to_pandas()
    return frame[["id", "last_update", "_airbyte_extracted_at"]]


def expected_ids(truth: Dict[int, Dict[str, Any]], stream_type: Optional[int]) -> Set[int]:
    return {int(i) for i, row in truth.items() if stream_type is None or row["tickettype_id"] == stream_type}


def compare(cache, streams, truth, type_of) -> Dict[str, Dict[str, Any]]:
    report = {}
    for stream in streams:
        ids = {int(i) for i in cached_rows(cache, stream)["id"]}
        want = expected_ids(truth, type_of.get(stream))
        report[stream] = {
            "cached": len(ids),
            "truth": len(want),
            "missing": sorted(want - ids)[:20],
            "unexpected": sorted(ids - want)[:20],
        }
    return report


def print_table(title: str, report: Dict[str, Dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'stream':<18} {'in cache':>9} {'in Halo':>9}  result")
    for stream, row in report.items():
        ok = not row["missing"] and not row["unexpected"]
        verdict = "equal" if ok else f"DIFFERENT: missing {row['missing']}, unexpected {row['unexpected']}"
        print(f"  {stream:<18} {row['cached']:>9} {row['truth']:>9}  {verdict}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.cache_dir:
        cache = ab.DuckDBCache(db_path=args.cache_dir / "default_cache.duckdb", cache_dir=args.cache_dir)
    else:
        cache = ab.get_default_cache()

    sim = None
    if args.config:
        config = json.loads(args.config.read_text())
    else:
        sim = start_simulator(args.tickets)
        config = simulator_config(sim.base_url, args.by_type)
        print(f"Halo simulator with {args.tickets} tickets at {sim.base_url}")
    summary: Dict[str, Any] = {"mode": "image" if args.image else "executable"}
    try:
        source = get_source(config, args)
        source.check()
        source.select_all_streams()
        streams = list(source.get_selected_streams())
        print(f"Connector: {args.image or args.executable}; streams: {', '.join(streams)}; cache: {cache.db_path}")

        # 1. Everything, as a full refresh: the cache may hold state from an earlier run (of another
        #    simulator), which would otherwise make this read incremental.
        started = time.monotonic()
        result = source.read(cache=cache, force_full_refresh=True)
        summary["full_refresh_seconds"] = round(time.monotonic() - started, 1)
        summary["full_refresh_records"] = result.processed_records
        if sim is None:
            for stream in streams:
                print(f"  {stream:<18} {len(cache[stream]):>9} records")
            if args.incremental:
                result = source.read(cache=cache)
                print(f"Incremental read: {result.processed_records} records")
            return 0

        type_of = {entry["name"]: entry["type_id"] for entry in config.get("ticket_types") or []}
        report = compare(cache, streams, sim.truth(), type_of)
        summary["full_refresh"] = report
        print_table(f"Full refresh: {result.processed_records} records in {summary['full_refresh_seconds']} s", report)

        # 2. Change some tickets in Halo, then read from the state kept in the cache.
        sim.mutate(update=args.update, create=args.create)
        changed = sim.mutations[-1]  # {"updated": [ids], "created": [ids], "deleted": []}
        changed_ids = {int(i) for i in changed["updated"] + changed["created"]}
        print(f"\nUpdated {len(changed['updated'])} and created {len(changed['created'])} tickets in the simulator.")
        # The connector reads up to the current second (exclusive of the part of a second still
        # running); a change made in the same second is read by the next sync. Wait it out here.
        time.sleep(1.1)
        before = dt.datetime.now(dt.timezone.utc)
        started = time.monotonic()
        result = source.read(cache=cache)
        summary["incremental_seconds"] = round(time.monotonic() - started, 1)
        summary["incremental_records"] = result.processed_records
        truth = sim.truth()
        came: Set[int] = set()
        per_stream = {}
        for stream in streams:
            rows = cached_rows(cache, stream)
            extracted = rows["_airbyte_extracted_at"]
            if getattr(extracted.dt, "tz", None) is None:
                extracted = extracted.dt.tz_localize("UTC")
            fresh = {int(i) for i in rows[extracted >= before]["id"]}
            came |= fresh
            per_stream[stream] = len(fresh)
        changed_by_stream = Counter(
            stream for i in changed_ids for stream in streams
            if type_of.get(stream) is None or truth[i]["tickettype_id"] == type_of[stream]
        )
        print(f"Incremental read: {result.processed_records} records in {summary['incremental_seconds']} s")
        for stream in streams:
            print(f"  {stream:<18} {per_stream[stream]:>5} records came, {changed_by_stream.get(stream, 0)} tickets changed")
        missed = sorted(changed_ids - came)
        summary["changed"] = sorted(changed_ids)
        summary["changed_missed"] = missed
        summary["incremental_per_stream"] = per_stream
        print("  every changed ticket came" if not missed else f"  CHANGED TICKETS THAT DID NOT COME: {missed}")

        report = compare(cache, streams, truth, type_of)
        summary["after_incremental"] = report
        print_table("After the incremental read", report)
        ok = not missed and all(not r["missing"] and not r["unexpected"] for rep in (summary["full_refresh"], report) for r in rep.values())
        summary["ok"] = ok
        print("\nOK: the cache equals the simulator's tickets." if ok else "\nFAILED: see the differences above.")
        return 0 if ok else 1
    finally:
        if args.summary:
            args.summary.write_text(json.dumps(summary, indent=2, default=str))
        if sim is not None:
            sim.stop()


if __name__ == "__main__":
    sys.exit(main())
