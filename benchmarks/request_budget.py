"""How many API requests a full refresh and an incremental read cost, counted in the simulator's log.

Issue 3's figure: 20,000 tickets over two years; a full refresh must deliver every id exactly once in at
most 1.3 x ceil(20000 / page_size) + 30 requests; an incremental read after 100 tickets change must
deliver those 100 in a handful of requests.

Run: python -m benchmarks.request_budget [--tickets 20000] [--page-size 100] [--parallel 4]
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections import Counter
from pathlib import Path

from integration_tests.halo_simulator import HaloSimulator
from integration_tests.harness import catalog, final_state, run_connector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--span-days", type=float, default=730.0)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()

    with HaloSimulator(tickets=args.tickets, seed=42, span_days=args.span_days) as sim, tempfile.TemporaryDirectory() as tmp:
        config = {
            "base_url": sim.base_url, "tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret",
            "page_size": args.page_size, "parallel_requests": args.parallel, "rate_limit": 6000,
        }
        truth = sim.truth()
        started = time.monotonic()
        full = run_connector("read", config, Path(tmp) / "full", catalog("tickets", sync_mode="incremental"))
        seconds = time.monotonic() - started
        ids = Counter(r["id"] for r in full.records)
        api = [e for e in sim.request_log if e["path"].lower().startswith("/api/")]
        tokens = [e for e in sim.request_log if e["path"].lower().startswith("/auth/")]
        budget = 1.3 * math.ceil(len(truth) / args.page_size) + 30
        print(f"full refresh: {len(truth)} tickets in the simulator over {args.span_days:.0f} days, page_size {args.page_size}, "
              f"{args.parallel} parallel windows")
        print(f"  delivered {len(ids)} distinct ids, missing {len(set(truth) - set(ids))}, duplicates {sum(c - 1 for c in ids.values())}")
        print(f"  API requests {len(api)} (+{len(tokens)} token); allowed 1.3 x ceil({len(truth)}/{args.page_size}) + 30 = {budget:.0f}"
              f"  -> {'OK' if len(api) + len(tokens) <= budget else 'OVER'}")
        print(f"  {seconds:.1f} s, {len(full.records) / seconds:.0f} records/s")

        changed = set(sim.mutate(update=args.changes))
        sim.reset_log()
        incremental = run_connector("read", config, Path(tmp) / "inc", catalog("tickets", sync_mode="incremental"), state=final_state(full))
        got = {r["id"] for r in incremental.records}
        api = [e for e in sim.request_log if e["path"].lower().startswith("/api/")]
        tokens = [e for e in sim.request_log if e["path"].lower().startswith("/auth/")]
        print(f"incremental after {len(changed)} tickets changed: delivered {len(incremental.records)} records, "
              f"{len(changed & got)} of the {len(changed)} changed, in {len(api)} API requests (+{len(tokens)} token)")


if __name__ == "__main__":
    main()
