"""What redaction costs: whole-process records/second of a read with every detector on, next to the same
read with redaction off, against the same simulator, in one run.

A simulator process serves N tickets (`--seed 42`); every ticket's details hold an e-mail address and a
phone number, and some tickets and custom fields hold the planted personal data of
integration_tests/halo_simulator/data.py (PLANTED_PII), so the detectors find something in every ticket.
The installed console script reads `tickets` (full refresh, rate_limit 6000, parallel_requests 4,
page_size 100: the read of benchmarks/throughput.py; with `--custom-fields`, every custom field as a
column too, so the text custom fields and Halo's `customfields` array are scanned as well) twice per round:

* off: no `redaction` setting;
* on:  `redaction` with every detector (email, phone, payment_card, iban, ip_address) and the default
  phone_regions, nothing dropped.

Each process is timed from its start to its exit and its CPU comes from `os.wait4`
(benchmarks/_support.py); rounds alternate the order; medians are compared: target on/off >= 0.8 (records
per second). The ratio of CPU per record is printed too: on a machine whose cores are busy with other
work the wall clock is noisy, and the connector's CPU per record is what a core of its own would give. Then,
in this process, the CPU each detector alone costs a ticket row (summary, details, idsummary). Figures are
printed, never asserted.

Run: python -m benchmarks.redaction [--tickets 50000] [--rounds 3] [--parallel 4] [--custom-fields] [--timeout 900]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._support import Simulator, connector_config, outcome, run_counted

TARGET = 0.8
DETECTORS = ["email", "phone", "payment_card", "iban", "ip_address"]


def _catalog() -> dict:
    stream = {"name": "tickets", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
              "source_defined_cursor": True, "default_cursor_field": ["last_update"]}
    return {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite",
                         "cursor_field": ["last_update"]}]}


def _command(config: dict, workdir: Path) -> list:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(_catalog()))
    script = Path(sys.executable).parent / "source-haloitsm"
    return [str(script) if script.exists() else "source-haloitsm", "read", "--config", str(workdir / "config.json"),
            "--catalog", str(workdir / "catalog.json")]


def _line(name: str, run: dict, truth: int) -> str:
    rate = run["records"] / max(run["seconds"], 1e-9)
    short = f"; {truth - run['records']} records SHORT of the truth" if run["records"] < truth else ""
    return (f"  {name:<4} {run['records']:>7} records in {run['seconds']:6.2f} s = {rate:7.0f} records/s; "
            f"CPU {run['cpu']:6.2f} s ({run['cpu'] / max(run['records'], 1) * 1e6:5.1f} us a record); {outcome(run)}{short}")


def _per_detector(tickets: int = 3000) -> None:
    """Each detector alone, then all five, on simulator ticket rows as the stream hands them over (the
    redaction of a row: summary, details, idsummary), in this process."""
    import orjson

    from integration_tests.halo_simulator.data import TicketStore
    from source_haloitsm.redaction import RedactionSettings, RowRedactor

    store = TicketStore(tickets, seed=42)
    rows = [orjson.loads(store.ticket_bytes(j)) for j in range(tickets)]
    chars = sum(len(r["summary"]) + len(r["details"]) + len(r["idsummary"]) for r in rows) / tickets
    print(f"in process, {tickets} simulator ticket rows ({chars:.0f} characters of free text a row), "
          "us of CPU per row:")
    for chosen in [[d] for d in DETECTORS] + [DETECTORS]:
        redact = RowRedactor(RedactionSettings(detectors=tuple(chosen)), "tickets")
        for row in rows:  # warm: the first look at a phone number asks libphonenumber, later ones the cache
            redact(dict(row))
        best = float("inf")
        for _ in range(5):
            copies = [dict(row) for row in rows]
            started = time.process_time()
            for row in copies:
                redact(row)
            best = min(best, time.process_time() - started)
        print(f"  {chosen[0] if len(chosen) == 1 else 'all five':<13} {best / tickets * 1e6:6.1f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redaction", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50000, help="tickets in the simulator")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs; the order alternates")
    parser.add_argument("--parallel", type=int, default=4, help="the connector's parallel_requests")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed")
    parser.add_argument("--custom-fields", action="store_true",
                        help="read every custom field as a column too (more text to scan a ticket)")
    args = parser.parse_args(argv)

    runs = {"off": [], "on": []}
    with Simulator(args.tickets) as sim, tempfile.TemporaryDirectory() as tmp:
        truth = sim.truth_count()
        base = connector_config(sim.base_url, parallel_requests=args.parallel, page_size=100,
                                **({"custom_fields": ["all"]} if args.custom_fields else {}))
        commands = {
            "off": _command(base, Path(tmp) / "off"),
            "on": _command({**base, "redaction": {"detectors": DETECTORS}}, Path(tmp) / "on"),
        }
        print(f"simulator: {args.tickets} tickets, {truth} not deleted; tickets"
              f"{' with every custom field' if args.custom_fields else ''}; "
              f"parallel_requests {args.parallel}; redaction on = every detector ({', '.join(DETECTORS)})", flush=True)
        for round_no in range(1, args.rounds + 1):
            order = ("off", "on") if round_no % 2 else ("on", "off")
            print(f"round {round_no}:", flush=True)
            for name in order:
                sim.post("/_sim/reset_log")
                run = run_counted(commands[name], args.timeout)
                runs[name].append(run)
                print(_line(name, run, truth), flush=True)

    def median(name: str, key: str) -> float:
        good = [r for r in runs[name] if r["failure"] is None]
        if not good:
            return 0.0
        return statistics.median(r["records"] / r["seconds"] if key == "rate" else r["cpu"] / max(r["records"], 1) * 1e6 for r in good)

    off, on = median("off", "rate"), median("on", "rate")
    print("medians over the successful runs:")
    print(f"  redaction off: {off:7.0f} records/s, {median('off', 'cpu'):5.1f} us CPU a record")
    print(f"  redaction on:  {on:7.0f} records/s, {median('on', 'cpu'):5.1f} us CPU a record")
    if off and on:
        ratio = on / off
        cpu_ratio = median("off", "cpu") / median("on", "cpu")
        print(f"on/off = {ratio:.2f}   (target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'}); by CPU a record "
              f"(what a dedicated core would give): {cpu_ratio:.2f}", flush=True)
    else:
        print(f"on/off = n/a: a variant had no successful run   (target >= {TARGET})", flush=True)
    _per_detector()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
