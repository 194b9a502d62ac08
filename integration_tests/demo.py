"""`make demo`: the connector's main job against the built-in Halo simulator.

Starts the simulator on 127.0.0.1, then runs the installed console script the way Airbyte does:
spec, check, discover, a full refresh read, then (after some tickets change in the simulator) an
incremental read from the state the first read emitted. Prints per-stream record counts, how they
compare with the simulator's truth, and the final state.

Options: python -m integration_tests.demo [--tickets N] [--changes N] [--ticket-types] [--keep DIR]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import tempfile
import time
from collections import Counter
from pathlib import Path

from integration_tests.halo_simulator import HaloSimulator
from integration_tests.harness import console_script, final_state, run_console_script


def _configured_catalog(discovered: dict, sync_mode: str) -> dict:
    return {
        "streams": [
            {
                "stream": stream,
                "sync_mode": sync_mode,
                "destination_sync_mode": "append_dedup" if sync_mode == "incremental" else "overwrite",
                "cursor_field": stream.get("default_cursor_field", ["last_update"]),
                "primary_key": stream.get("source_defined_primary_key", [["id"]]),
            }
            for stream in discovered["streams"]
        ]
    }


def _step(title: str, command: str, workdir: Path) -> None:
    print(f"\n== {title}\n$ {shlex.quote(console_script())} {command}".replace(str(workdir), "$WORKDIR"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Run source-haloitsm against the built-in Halo simulator.")
    parser.add_argument("--tickets", type=int, default=5000, help="tickets in the simulator (default 5000)")
    parser.add_argument("--changes", type=int, default=25, help="tickets updated before the incremental read")
    parser.add_argument("--ticket-types", action="store_true", help="one stream per ticket type instead of 'tickets'")
    parser.add_argument("--keep", type=Path, help="keep config, catalog, state and output in this folder")
    args = parser.parse_args()

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        demo(args, args.keep)
    else:  # the work folder goes away at the end, also on failure
        with tempfile.TemporaryDirectory(prefix="haloitsm-demo-") as tmp:
            demo(args, Path(tmp))


def demo(args: argparse.Namespace, workdir: Path) -> None:
    with HaloSimulator(tickets=args.tickets, seed=42) as sim:
        config = {
            "base_url": sim.base_url,
            "tenant": "demo",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            # The simulator's history: two years up to now (days before it would cost the actions
            # stream a request each and hold nothing).
            "start_date": (dt.date.today() - dt.timedelta(days=730)).isoformat(),
            # The simulator does not limit requests; against a real Halo keep the default of 30 a minute.
            "rate_limit": 6000,
            "parallel_requests": 4,
        }
        if args.ticket_types:
            config["ticket_types"] = [
                {"name": "incidents", "type": "Incident", "fields": ["summary", "status_id", "priority_id", "dateoccurred", "dateclosed", "agent_id", "team"]},
                {"name": "service_requests", "type": "Service Request"},
            ]
        live = len(sim.truth())
        print(f"Halo simulator at {sim.base_url} with {args.tickets} tickets, {args.tickets - live} of them deleted: "
              f"Halo's ticket list shows the other {live}, so a read should deliver {live}.")
        print(f"work folder: {workdir}" + ("" if args.keep else " (removed at the end; --keep DIR keeps it)"))

        _step("spec", "spec", workdir)
        spec = run_console_script("spec", config, workdir / "spec")
        props = spec.of_type("SPEC")[0]["spec"]["connectionSpecification"]["properties"]
        print(f"settings: {', '.join(props)}")

        _step("check", f"check --config {workdir}/check/config.json", workdir)
        check = run_console_script("check", config, workdir / "check")
        print(f"connection: {check.connection_status['status']} {check.connection_status.get('message') or ''}")
        if check.connection_status["status"] != "SUCCEEDED":
            raise SystemExit(1)

        _step("discover", f"discover --config {workdir}/discover/config.json", workdir)
        discovered = run_console_script("discover", config, workdir / "discover").of_type("CATALOG")[0]["catalog"]
        for stream in discovered["streams"]:
            print(f"stream {stream['name']}: {len(stream['json_schema']['properties'])} fields, sync modes {stream['supported_sync_modes']}")

        _step("read (full refresh)", f"read --config {workdir}/full/config.json --catalog {workdir}/full/catalog.json", workdir)
        started = time.monotonic()
        full = run_console_script("read", config, workdir / "full", _configured_catalog(discovered, "full_refresh"))
        seconds = time.monotonic() - started
        _report(full, sim, seconds, discovered, config)

        changed = sim.mutate(update=args.changes)
        print(f"\n{len(changed)} tickets updated in Halo meanwhile.")
        state = final_state(full)
        _step("read (incremental, from the state above)", f"read --config ... --catalog ... --state {workdir}/incremental/state.json", workdir)
        started = time.monotonic()
        incremental = run_console_script("read", config, workdir / "incremental", _configured_catalog(discovered, "incremental"), state=state)
        seconds = time.monotonic() - started
        _report(incremental, sim, seconds, discovered, config, changed=set(changed))
        print("\nfinal state:")
        print(json.dumps(final_state(incremental), indent=2))
        if args.keep:
            (workdir / "final_state.json").write_text(json.dumps(final_state(incremental), indent=2))


def _report(out, sim, seconds: float, discovered: dict, config: dict, changed=None) -> None:
    if out.returncode != 0 or out.errors:
        print(out.stderr[-2000:])
        for error in out.errors:
            print(f"ERROR: {error['message']}")
        raise SystemExit(1)
    truth = sim.truth()
    keys = {s["name"]: [path[0] for path in s.get("source_defined_primary_key") or [["id"]]] for s in discovered["streams"]}
    counts = Counter(m["record"]["stream"] for m in out.of_type("RECORD"))
    requests_made = sum(1 for e in sim.request_log if e["path"].lower().startswith("/api/"))
    width = max(len("stream"), *map(len, counts)) if counts else len("stream")
    print(f"{'stream':<{width}} {'records':>8} {'distinct keys':>14}  key")
    for stream, count in sorted(counts.items()):
        key = keys.get(stream, ["id"])
        distinct = len({tuple(r.get(k) for k in key) for r in out.records_of(stream)})
        print(f"{stream:<{width}} {count:>8} {distinct:>14}  {', '.join(key)}")
    ticket_streams = [t["name"] for t in config.get("ticket_types") or []] or ["tickets"]
    delivered = {r["id"] for stream in ticket_streams for r in out.records_of(stream)}
    if changed is None:
        print(f"simulator truth: {len(truth)} tickets; missing from the read: {len(set(truth) - delivered)}")
    else:
        print(f"changed tickets delivered: {len(changed & delivered)} of {len(changed)}")
    print(f"{len(out.states)} state messages; {requests_made} API requests so far; {seconds:.1f} s")


if __name__ == "__main__":
    main()
