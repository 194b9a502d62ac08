"""How a full read of the connector scales with parallel_requests on a slow API.

For each worker count, a fresh simulator process serves N tickets over two years (`--seed 42`) and adds
`--latency` seconds to every /auth and /api request (a WAN-like Halo). The installed console script
`source-haloitsm read` (full refresh of `tickets`, rate_limit 6000, page_size 100) runs as a subprocess;
its RECORD lines are counted on its stdout. Printed per run: wall seconds, records delivered against
the simulator's truth, API and token requests from the simulator's log (`/api/...` and `/auth/...`),
and the speed-up over one worker (target: 4 workers >= 3.5x one worker). With 300 ms a request the
one-worker run takes a minute or more. Figures are printed, never asserted.

Run: python -m benchmarks.parallelism [--workers 1 4] [--tickets 20000] [--latency 0.3] [--span-days 730]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks._support import Simulator, connector_config, connector_read_args, outcome, run_counted

TARGET_WORKERS, TARGET_SPEEDUP = 4, 3.5


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parallelism", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4], help="parallel_requests values to run")
    parser.add_argument("--tickets", type=int, default=20000, help="tickets in the simulator")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds the simulator adds to every request")
    parser.add_argument("--span-days", type=float, default=730.0, help="days the tickets' dates spread over")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed")
    args = parser.parse_args(argv)

    print(f"{args.tickets} tickets over {args.span_days:.0f} days, {args.latency * 1000:.0f} ms a request, "
          f"page_size {args.page_size}, rate_limit 6000; a fresh simulator for each run", flush=True)
    results = {}
    for workers in args.workers:
        extra = ["--latency", str(args.latency), "--span-days", str(args.span_days)]
        with Simulator(args.tickets, extra) as sim, tempfile.TemporaryDirectory() as tmp:
            truth = sim.truth_count()
            config = connector_config(sim.base_url, parallel_requests=workers, page_size=args.page_size)
            run = run_counted(connector_read_args(config, Path(tmp)), args.timeout)
            run.update(sim.request_counts(), truth=truth)
        results[workers] = run
        print(f"  {workers:>2} worker{'s' if workers != 1 else ' '}: {run['seconds']:6.1f} s, "
              f"{run['records']} records (truth {truth}), {run['api']} API requests + {run['auth']} token; "
              f"{run['records'] / max(run['seconds'], 1e-9):.0f} records/s, CPU {run['cpu']:.1f} s; {outcome(run)}",
              flush=True)

    base_workers = 1 if 1 in results else min(results)
    base = results[base_workers]
    print(f"speed-up over {base_workers} worker{'s' if base_workers != 1 else ''} (wall time; failed runs not compared):")
    for workers, run in results.items():
        if run["failure"] is not None or base["failure"] is not None:
            print(f"  {workers:>2} worker{'s' if workers != 1 else ' '}: n/a ({'this run' if run['failure'] else 'the reference run'} failed)")
            continue
        speedup = base["seconds"] / run["seconds"]
        target = ""
        if workers == TARGET_WORKERS and base_workers == 1:
            target = f"   (target {TARGET_WORKERS} workers >= {TARGET_SPEEDUP}x one worker: " \
                     f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})"
        print(f"  {workers:>2} worker{'s' if workers != 1 else ' '}: x{speedup:.2f}{target}")
    if base_workers != 1 or TARGET_WORKERS not in results:
        print(f"  (target: {TARGET_WORKERS} workers >= {TARGET_SPEEDUP}x one worker; run --workers 1 {TARGET_WORKERS} to see it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
