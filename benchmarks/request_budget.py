"""How many API requests a full refresh and an incremental read cost, counted in the simulator's log.

Two cases in one run, each against its own simulator (`--seed 42`): 20,000 tickets and 5,000 tickets,
both spread over two years (730 days). For each, a full refresh of `tickets` (sync mode full_refresh)
and a first incremental read without state; printed: the API requests each made (token requests listed
separately), the least a reader could make, ceil(N / page_size) with N the tickets the simulator holds
(deleted ones excluded), and the ratio of the two next to its target: <= 1.1x for the large case,
<= 1.2x for the small one (full refresh). Every id must come once: missing and duplicate ids are
printed too. Then, on the large case, `--changes` tickets change and an incremental read from the state
of the first one must deliver them in a handful of requests. Last, a full sync of every stream (with
every custom field) and an incremental sync of every stream with no changes, per stream: records,
requests and the allowance (a reference stream: ceil(rows/100) + 1). Then the actions of 20,000 tickets
(about 100,000) over two years: a full sync by time and by ticket next to the per-ticket baseline, and an
incremental sync after a day's changes. Then 20 syncs every 2 minutes of every stream, 10 without
changes and 10 with a few, per sync. Figures are printed, never asserted.

The connector runs in this process (`integration_tests.harness.run_connector`), the simulator on its
own threads; request counts do not depend on timing, the seconds printed do.

Run: python -m benchmarks.request_budget [--tickets 20000] [--small-tickets 5000] [--span-days 730]
     [--small-span-days 730] [--page-size 100] [--parallel 4] [--changes 100]
"""
from __future__ import annotations

import argparse
import io
import logging
import math
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

from integration_tests.halo_simulator import HaloSimulator


def _counts(sim: HaloSimulator) -> tuple:
    log = list(sim.request_log)
    api = sum(1 for e in log if e["path"].lower().startswith("/api/"))
    tokens = sum(1 for e in log if e["path"].lower().startswith("/auth/"))
    return api, tokens


def _failure(out) -> str:
    """'' when the read succeeded, else why it did not."""
    if out.exit_error is None and not out.errors:
        return ""
    errors = out.errors
    message = (errors[-1].get("message") or errors[-1].get("internal_message")) if errors else str(out.exit_error)
    return f"connector FAILED: {message}"


def _read(harness, sim, config, workdir: Path, sync_mode: str, state=None):
    sim.reset_log()
    started = time.monotonic()
    try:
        out = harness.run_connector("read", config, workdir, harness.catalog("tickets", sync_mode=sync_mode), state=state)
    except Exception as exc:  # the harness itself fell over: report it, go on with the other figures
        return None, f"connector FAILED: {type(exc).__name__}: {exc}", time.monotonic() - started
    return out, _failure(out), time.monotonic() - started


def run_case(harness, tickets: int, span_days: float, target: float, args, changes: int) -> None:
    with HaloSimulator(tickets=tickets, seed=42, span_days=span_days) as sim, tempfile.TemporaryDirectory() as tmp:
        config = {
            "base_url": sim.base_url, "tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret",
            "page_size": args.page_size, "parallel_requests": args.parallel, "rate_limit": 6000,
        }
        truth = sim.truth()
        least = math.ceil(len(truth) / args.page_size)
        print(f"{tickets} tickets over {span_days:.0f} days ({len(truth)} not deleted), page_size {args.page_size}, "
              f"parallel_requests {args.parallel}; least possible ceil({len(truth)}/{args.page_size}) = {least} requests",
              flush=True)
        first_incremental = None
        for sync_mode, label in (("full_refresh", "full refresh"), ("incremental", "first incremental (no state)")):
            out, failure, seconds = _read(harness, sim, config, Path(tmp) / sync_mode, sync_mode)
            api, tokens = _counts(sim)
            if failure:
                print(f"  {label}: {failure} ({api} API requests + {tokens} token before it, {seconds:.1f} s)")
                continue
            ids = Counter(r["id"] for r in out.records)
            ratio = api / least if least else float("nan")
            verdict = ""
            if sync_mode == "full_refresh":
                verdict = f"   (target <= {target}x: {'met' if ratio <= target else 'NOT met'})"
            else:
                first_incremental = out
            print(f"  {label}: {api} API requests (+{tokens} token) = {ratio:.3f}x the least{verdict}")
            print(f"    delivered {len(ids)} distinct ids of {len(truth)}, missing {len(set(truth) - set(ids))}, "
                  f"duplicates {sum(c - 1 for c in ids.values())}; {seconds:.1f} s, {len(out.records) / seconds:.0f} records/s",
                  flush=True)

        if changes and first_incremental is not None:
            changed = set(sim.mutate(update=changes))
            out, failure, seconds = _read(harness, sim, config, Path(tmp) / "after", "incremental",
                                          state=harness.final_state(first_incremental))
            api, tokens = _counts(sim)
            if failure:
                print(f"  incremental after {len(changed)} tickets changed: {failure}")
            else:
                got = {r["id"] for r in out.records}
                print(f"  incremental after {len(changed)} tickets changed: delivered {len(out.records)} records, "
                      f"{len(changed & got)} of the {len(changed)} changed, in {api} API requests (+{tokens} token)")


# stream -> the API path its requests go to (the simulator logs paths)
STREAM_PATHS = {
    "tickets": "/api/tickets", "statuses": "/api/status", "ticket_types": "/api/tickettype", "priorities": "/api/priority",
    "slas": "/api/sla", "teams": "/api/team", "agents": "/api/agent", "clients": "/api/client", "sites": "/api/site",
    "users": "/api/users", "categories": "/api/category", "outcomes": "/api/outcome",
    "custom_field_definitions": "/api/fieldinfo",
}


def every_stream(harness, tickets: int, args) -> None:
    """A full sync of every stream, then an incremental sync of every stream with no changes: requests per
    stream next to its allowance (tickets: ceil(N/100) x 1.1; a reference stream: ceil(rows/100) + 1)."""
    with HaloSimulator(tickets=tickets, seed=42) as sim, tempfile.TemporaryDirectory() as tmp:
        config = {
            "base_url": sim.base_url, "tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret",
            "page_size": args.page_size, "parallel_requests": args.parallel, "rate_limit": 6000, "custom_fields": ["all"],
        }
        streams = list(STREAM_PATHS)
        print(f"every stream, {tickets} tickets, custom_fields all; requests per stream (token requests apart):", flush=True)
        first = None
        for label, sync_mode, state in (("full sync", "full_refresh", None), ("first incremental", "incremental", None),
                                        ("incremental, no changes", "incremental", "first")):
            sim.reset_log()
            started = time.monotonic()
            out = harness.run_connector("read", config, Path(tmp) / label.replace(" ", "_").replace(",", ""),
                                        harness.catalog(*streams, sync_mode=sync_mode),
                                        state=harness.final_state(first) if state else None)
            seconds = time.monotonic() - started
            failure = _failure(out)
            if failure:
                print(f"  {label}: {failure}")
                continue
            if sync_mode == "incremental" and state is None:
                first = out
            log = list(sim.request_log)
            paths = Counter(e["path"].lower() for e in log)
            tokens = sum(1 for e in log if e["path"].lower().startswith("/auth/"))
            total = sum(n for p, n in paths.items() if p.startswith("/api/"))
            print(f"  {label}: {total} API requests (+{tokens} token), {len(out.records)} records, {seconds:.1f} s")
            print(f"    {'stream':<26}{'records':>8}{'requests':>9}   allowed")
            listing = sum(1 for e in log if e["path"].lower() == "/api/tickets" and e["params"].get("deleted") == "true")
            for stream in streams:
                rows = len(out.records_of(stream))
                requests = paths.get(STREAM_PATHS[stream], 0)
                if stream == "tickets":
                    requests -= listing
                    allowed = "<= 2 (no changes)" if state else f"<= {1.1 * math.ceil(rows / args.page_size):.0f} (1.1 x ceil({rows}/{args.page_size}))"
                else:
                    allowed = f"<= {math.ceil(rows / args.page_size) + 1} (ceil({rows}/{args.page_size}) + 1)"
                print(f"    {stream:<26}{rows:>8}{requests:>9}   {allowed}")
            if listing:
                print(f"    {'(deleted tickets listing)':<26}{'':>8}{listing:>9}   one per incremental sync, both status parts")
            extra = {p: n for p, n in paths.items() if p.startswith("/api/") and p not in STREAM_PATHS.values()}
            if extra:
                print(f"    other: {extra}")


def _look_back(out) -> tuple:
    """(records the look-back did not send again, records it sent) from the streams' last log lines."""
    skipped = sent = 0
    for message in out.of_type("LOG"):
        text = message["log"]["message"]
        found = re.search(r"Look-back [^:]*: (\d+) record\(s\) the previous sync emitted were not sent again; (\d+) record", text)
        if found:
            skipped += int(found.group(1))
            sent += int(found.group(2))
    return skipped, sent


def _actions_ticket_list(out) -> int:
    for message in out.of_type("LOG"):
        found = re.search(r"(\d+) request\(s\) of the ticket list", message["log"]["message"])
        if found:
            return int(found.group(1))
    return 0


def frequent_syncs(harness, tickets: int, args) -> None:
    """Syncs every 2 minutes (BigPanda's connector's default cadence): every stream, incremental, 10
    syncs with no changes, then 10 with a few (3 tickets updated, 1 created, 1 deleted, 5 actions added,
    1 user updated). Halo's clock is moved 2 minutes before each sync (the simulator's clock_offset), so
    no sync waits. Per sync: API requests of each kind, token requests, records, and what the look-back
    did (state.py)."""
    with HaloSimulator(tickets=tickets, seed=42) as sim, tempfile.TemporaryDirectory() as tmp:
        config = {
            "base_url": sim.base_url, "tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret",
            "page_size": args.page_size, "parallel_requests": args.parallel, "rate_limit": 6000,
        }
        streams = ["tickets", "actions"] + [s for s in STREAM_PATHS if s != "tickets"]
        chosen = harness.catalog(*streams, sync_mode="incremental")
        first = harness.run_connector("read", config, Path(tmp) / "first", chosen)
        if _failure(first):
            print(f"2-minute syncs: the first sync failed: {_failure(first)}")
            return
        state = harness.final_state(first)
        print(f"syncs every 2 minutes, every stream incremental, {tickets} tickets ({len(first.records)} records in the first sync);")
        print("  API requests per sync: tickets (both status parts), the listing of deleted tickets (shared), actions (+ its "
              "ticket list), the 12 reference streams; + token")
        print(f"  {'sync':>4}  {'changes':<28}{'tickets':>8}{'deleted':>8}{'actions':>8}{'refs':>6}{'total':>7}{'token':>6}"
              f"{'records':>9}  look-back (not sent again / sent)")
        for n in range(1, 21):
            sim.configure(clock_offset=120.0 * n)
            changes = "none"
            if n > 10:
                sim.mutate(update=3, create=1, actions_add=5, users=1)
                sim.mutate(delete=1)
                changes = "3 upd, 1 new, 1 del, 5 act, 1 usr"
            sim.reset_log()
            out = harness.run_connector("read", config, Path(tmp) / f"sync{n}", chosen, state=state)
            failure = _failure(out)
            if failure:
                print(f"  {n:>4}  {failure}")
                return
            state = harness.final_state(out)
            log = list(sim.request_log)
            listing = sum(1 for e in log if e["path"].lower() == "/api/tickets" and e["params"].get("deleted") == "true")
            ticket_list = _actions_ticket_list(out)  # the actions stream's own reading of the ticket list
            tickets_ = sum(1 for e in log if e["path"].lower() == "/api/tickets") - listing - ticket_list
            actions = sum(1 for e in log if e["path"].lower() == "/api/actions") + ticket_list
            api = sum(1 for e in log if e["path"].lower().startswith("/api/"))
            tokens = sum(1 for e in log if e["path"].lower().startswith("/auth/"))
            skipped, sent = _look_back(out)
            print(f"  {n:>4}  {changes:<28}{tickets_:>8}{listing:>8}{actions:>8}{api - tickets_ - listing - actions:>6}{api:>7}"
                  f"{tokens:>6}{len(out.records):>9}  {skipped} / {sent}", flush=True)
        print("  (tickets: the window's two status parts; actions: the ticket list's two parts plus one request per changed "
              "or newly deleted ticket; the reference lists without a date filter are read whole, 1 request each)")


def actions_budget(harness, tickets: int, args) -> None:
    """The actions of `tickets` tickets (5 each on average) over two years: a full sync read by time (day
    windows where Halo allows a day and a second; 12-hour windows under a strict one-day limit) and read
    ticket by ticket, next to the per-ticket baseline (one request per ticket); then an incremental sync
    after a day's changes, read by changed ticket, next to what reading the same day by time would cost."""
    base = {"tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret", "page_size": args.page_size,
            "parallel_requests": args.parallel, "rate_limit": 6000}
    print(f"actions of {tickets} tickets over 730 days; requests of /api/Actions (+ the ticket list) per sync:", flush=True)
    cases = (("full, by time (no range limit: day windows)", {"actions_max_range_days": 0}, {}),
             ("full, by time (one-day limit: 12-hour windows)", {}, {}),
             ("full, by ticket", {}, {"actions_history": "by_ticket"}))
    for label, switches, settings in cases:
        with HaloSimulator(tickets=tickets, seed=42, span_days=730, **switches) as sim, tempfile.TemporaryDirectory() as tmp:
            config = {"base_url": sim.base_url, **base, **settings}
            started = time.monotonic()
            out = harness.run_connector("read", config, Path(tmp) / "full", harness.catalog("actions", sync_mode="incremental"))
            seconds = time.monotonic() - started
            failure = _failure(out)
            if failure:
                print(f"  {label}: {failure}")
                continue
            paths = Counter(e["path"].lower() for e in sim.request_log)
            truth = len(sim.truth("actions"))
            live = len(sim.truth())
            print(f"  {label}: {paths['/api/actions']} + {paths['/api/tickets']} requests for {len(out.records)} actions "
                  f"(truth {truth}) of {live} tickets; per-ticket baseline {live} (+{math.ceil(live / args.page_size) + 2}); "
                  f"{seconds:.0f} s")
            if not settings and not switches:
                sim.mutate(actions_add=150, actions_edit=20, update=40)
                state = harness.final_state(out)
                for how in ("by_changed_ticket", "by_time"):
                    sim.reset_log()
                    inc = harness.run_connector("read", {**config, "actions_incremental": how}, Path(tmp) / how,
                                                harness.catalog("actions", sync_mode="incremental"), state=state)
                    paths = Counter(e["path"].lower() for e in sim.request_log)
                    changed = len({r["ticket_id"] for r in inc.records})
                    print(f"  incremental after a day (150 actions added, 20 edited, 40 tickets updated), {how}: "
                          f"{paths['/api/actions']} + {paths['/api/tickets']} requests, {len(inc.records)} actions of {changed} tickets"
                          + ("" if how == "by_changed_ticket" else " (new actions only: the edits are not seen)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000, help="the large case (target <= 1.1x)")
    parser.add_argument("--span-days", type=float, default=730.0, help="the large case's date spread")
    parser.add_argument("--small-tickets", type=int, default=5000, help="the small case (target <= 1.2x); 0 = skip it")
    parser.add_argument("--small-span-days", type=float, default=730.0, help="the small case's date spread")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--changes", type=int, default=100, help="tickets changed before the incremental read (large case)")
    parser.add_argument("--every-stream-tickets", type=int, default=5000, help="tickets for the every-stream sync; 0 = skip it")
    parser.add_argument("--actions-tickets", type=int, default=20000, help="tickets (5 actions each) for the actions figures; 0 = skip")
    parser.add_argument("--cadence-tickets", type=int, default=5000, help="tickets for the 2-minute sync series; 0 = skip it")
    args = parser.parse_args()

    try:
        from integration_tests import harness
    except Exception as exc:  # the connector package is mid-change and does not import
        raise SystemExit(f"connector FAILED to import: {type(exc).__name__}: {exc}")

    # The CDK logs through StreamHandlers bound to the real stdout; the harness captures them only while
    # a read runs, so a line logged when its entrypoint is built would land among these figures.
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(io.StringIO()) for h in handlers]
    try:
        run_case(harness, args.tickets, args.span_days, 1.1, args, args.changes)
        if args.small_tickets:
            run_case(harness, args.small_tickets, args.small_span_days, 1.2, args, 0)
        if args.every_stream_tickets:
            every_stream(harness, args.every_stream_tickets, args)
        if args.cadence_tickets:
            frequent_syncs(harness, args.cadence_tickets, args)
        if args.actions_tickets:
            actions_budget(harness, args.actions_tickets, args)
    finally:
        for handler, stream in zip(handlers, previous):
            handler.setStream(stream)


if __name__ == "__main__":
    main()
