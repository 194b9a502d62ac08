"""Whole-process records/second of the connector next to a plain loop, against the same simulator.

A simulator process serves N tickets (`--seed 42`). Two programs read all of them, each as its own
subprocess whose stdout is a pipe this process drains in 1 MiB reads, counting the lines that start
with `{"type":"RECORD"`:

* plain loop (`python -m benchmarks.plain_loop BASE_URL`): one token, one `requests.Session`, pages
  of 100 by id over the `open_only` and `closed_only` parts, `orjson` in and out, buffered stdout;
* connector (`source-haloitsm read`, the installed console script): full refresh of `tickets`,
  rate_limit 6000, parallel_requests 4 (option), page_size 100.

Each process is timed from its start to its exit (wall clock, interpreter start-up included) and its
own user+sys CPU comes from `os.wait4`. The pair runs `--rounds` times, the order alternating, and the
medians are compared: target connector/plain >= 0.75. Figures are printed, never asserted: this
machine is small and noisy, and the simulator shares its cores with the reader.

Run: python -m benchmarks.throughput [--tickets 50000] [--rounds 3] [--parallel 4] [--timeout 900]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks._support import Simulator, connector_config, connector_read_args, outcome, run_counted

TARGET = 0.75


def _line(name: str, run: dict, truth: int) -> str:
    rate = run["records"] / max(run["seconds"], 1e-9)
    short = f"; {truth - run['records']} records SHORT of the truth" if run["records"] < truth else ""
    return (f"  {name:<9} {run['records']:>7} records in {run['seconds']:6.2f} s = {rate:7.0f} records/s; "
            f"CPU {run['cpu']:6.2f} s ({run['cpu'] / max(run['seconds'], 1e-9):.0%} of wall), "
            f"peak RSS {run['peak_rss_mb']:.0f} MB; {outcome(run)}{short}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50000, help="tickets in the simulator")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs; the order alternates")
    parser.add_argument("--parallel", type=int, default=4, help="the connector's parallel_requests")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed")
    args = parser.parse_args(argv)

    runs = {"plain": [], "connector": []}
    with Simulator(args.tickets) as sim, tempfile.TemporaryDirectory() as tmp:
        truth = sim.truth_count()
        commands = {
            "plain": [sys.executable, "-m", "benchmarks.plain_loop", sim.base_url, "--page-size", str(args.page_size)],
            "connector": connector_read_args(
                connector_config(sim.base_url, parallel_requests=args.parallel, page_size=args.page_size), Path(tmp)),
        }
        print(f"simulator: {args.tickets} tickets, {truth} not deleted (/_sim/truth); page_size {args.page_size}; "
              f"connector parallel_requests {args.parallel}", flush=True)
        for round_no in range(1, args.rounds + 1):
            order = ("plain", "connector") if round_no % 2 else ("connector", "plain")
            print(f"round {round_no}:", flush=True)
            for name in order:
                sim.post("/_sim/reset_log")  # keep the simulator's log from growing over the rounds
                run = run_counted(commands[name], args.timeout)
                runs[name].append(run)
                print(_line(name, run, truth), flush=True)

    def median_rate(name: str) -> float:
        good = [r["records"] / r["seconds"] for r in runs[name] if r["failure"] is None]
        return statistics.median(good) if good else 0.0

    plain, connector = median_rate("plain"), median_rate("connector")
    print("medians over the successful runs:")
    for name, rate in (("plain", plain), ("connector", connector)):
        ok = [r for r in runs[name] if r["failure"] is None]
        delivered = sorted({r["records"] for r in runs[name]})
        cpu = f"median CPU {statistics.median(r['cpu'] for r in ok):.2f} s" if ok else "no CPU figure"
        print(f"  {name:<9} {rate:7.0f} records/s ({len(ok)} of {len(runs[name])} runs ok; "
              f"records delivered {', '.join(map(str, delivered))}; truth {truth}); {cpu}")
    if plain and connector:
        ratio = connector / plain
        print(f"connector/plain = {ratio:.2f}   (target >= {TARGET}: {'met' if ratio >= TARGET else 'NOT met'})")
    else:
        print(f"connector/plain = n/a: {'the connector' if not connector else 'the plain loop'} had no successful run"
              f"   (target >= {TARGET})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
