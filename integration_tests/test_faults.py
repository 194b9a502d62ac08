"""Nothing lost: the connector against a misbehaving Halo simulator.

Every case runs the real connector (its entry point in process through `run_connector`, or the
installed console script as a subprocess) and compares what was delivered with the simulator's
ground truth (`sim.truth()`, deleted tickets excluded). The guarantee checked everywhere: after the
read, plus at most one incremental read from the state it emitted, every ticket of the truth was
delivered with its latest `last_update`. Duplicates are counted (at-least-once, keyed by `id`) and
reported in the table printed at the end of the run (integration_tests/fault_report.py), never
required to be zero.

Back-off waits are scaled down (SOURCE_HALOITSM_BACKOFF_SCALE) so Halo-sized waits take fractions
of a second; ticket counts are small; every simulator and subprocess stops by itself.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional

import pytest

from integration_tests.fault_report import account, account_actions, account_keys
from integration_tests.halo_simulator.data import sql_round
from integration_tests import harness
from integration_tests.harness import _write_args, catalog, console_script, final_state, run_connector, run_console_script

pytestmark = pytest.mark.usefixtures("time_limit")

INCREMENTAL = catalog("tickets", sync_mode="incremental")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.01")


def sim_config(sim, **overrides):
    return harness.sim_config(sim, **{"request_timeout": 5, **overrides})


def read_then_resume(sim, tmp_path, case: str, config: dict, note: str = "", between=None):
    """An incremental read from scratch, then one incremental read from the state it emitted; both
    deliveries are compared with the truth (taken after the second read). `between(sim)` runs
    between the reads."""
    first = run_connector("read", config, tmp_path / "first", INCREMENTAL)
    assert not first.errors, [e.get("message") for e in first.errors]
    assert first.states, "the first read emitted no state"
    if between:
        between(sim)
    second = run_connector("read", config, tmp_path / "second", INCREMENTAL, state=final_state(first))
    assert not second.errors, [e.get("message") for e in second.errors]
    records = first.records + second.records
    row = account(case, sim.truth(), records, reads=2, note=note)
    assert row.lost == 0, f"{case}: {row.lost} tickets lost, e.g. {row.lost_ids}"
    return first, second


# ---------------------------------------------------------------- transient faults

def test_transient_faults_on_ten_percent_of_requests(simulator, tmp_path):
    """500, 502, 503 and dropped connections on ~10% of API requests (and on some token requests),
    plus a few answers delayed beyond request_timeout: retries absorb all of them."""
    sim = simulator(tickets=1500, seed=21, fault_seed=5, faults=[
        "500:p=0.025:auth=true",
        "502:p=0.025",
        "503:p=0.025",
        "drop:p=0.025",
        # and each kind at least once, whatever the random draws
        "500:on=7", "502:on=9", "503:on=13", "drop:on=17",
        "delay:on=3,11,29:seconds=2",
    ])
    first, _ = read_then_resume(sim, tmp_path, "transient 5xx/drop/timeout 10%", sim_config(sim, request_timeout=1, page_size=50))
    fired = {}
    for fault in sim.config()["faults"]:
        fired[fault["kind"]] = fired.get(fault["kind"], 0) + fault["fired"]
    assert all(fired[k] > 0 for k in ("500", "502", "503", "drop", "delay")), fired


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_429_storm_from_the_rolling_window(simulator, tmp_path, monkeypatch, retry_after):
    """The simulator allows 20 requests per rolling 2 s; the connector is told it may send 6000 a
    minute, so it runs into 429s all the time and must wait them out (with or without Retry-After).
    Token requests count against the window too, and tokens live 3 s, so they are renewed in the storm
    (when a token request meets a 429 depends on timing)."""
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.02")
    sim = simulator(tickets=1200, seed=22, rate_limit=20, rate_window=2.0, retry_after=retry_after, rate_limit_auth=True,
                    token_ttl=3)  # token requests count and get 429s too
    read_then_resume(sim, tmp_path, f"429 storm, {'with' if retry_after else 'without'} Retry-After",
                     sim_config(sim, page_size=50, max_retries=8))
    assert any(e["status"] == 429 for e in sim.request_log), "the storm never happened"


@pytest.mark.parametrize("ttl,uses", [(2, 5), (3600, 2)], ids=["ttl-2s-5-uses", "2-uses"])
def test_tokens_expire_every_few_seconds_and_after_a_few_uses(simulator, tmp_path, ttl, uses):
    """Tokens live 2 s, or serve only 2 requests while 4 workers and the planner share them: a worker
    retrying with a new token may find it used up by the others already. Neither is a configuration
    problem; the read gets new tokens and goes on."""
    sim = simulator(tickets=1500, seed=23, token_ttl=ttl, token_max_uses=uses, latency=0.02)
    read_then_resume(sim, tmp_path, f"tokens: ttl {ttl} s, {uses} uses, 4 workers", sim_config(sim, page_size=25))
    assert len(sim.issued_tokens) > 5
    assert any(e["status"] == 401 for e in sim.request_log), "no token was ever rejected"


def test_a_token_that_expires_while_requests_wait_for_the_budget_is_never_sent(simulator, tmp_path, monkeypatch):
    """Four workers wait for the request budget while their token runs out. Each request is signed
    as it goes out (client.py), so no request carries the expired token: no 401 at all, where signing
    when the request was prepared sent it once per waiting worker. The budget's minute is shortened
    to 3 seconds so the waits are short."""
    from source_haloitsm import rate_limit

    monkeypatch.setattr(rate_limit, "WINDOW", dt.timedelta(seconds=3))
    sim = simulator(tickets=300, seed=26, token_ttl=2)
    config = sim_config(sim, page_size=10, rate_limit=8)
    out = run_connector("read", config, tmp_path, INCREMENTAL)
    assert not out.errors, [e.get("message") for e in out.errors]
    row = account("tokens expire during budget waits", sim.truth(), out.records, reads=1)
    assert row.lost == 0
    assert len(sim.issued_tokens) >= 3  # tokens ran out during the read
    rejected = Counter(e["token"] for e in sim.request_log if e["status"] == 401)
    assert not rejected, f"requests went out with an expired token: {dict(rejected)}"


def _overstate_record_count(sim, extra: int):
    """Ticket-list answers say `extra` more records than the query has (Halo counting tickets it then
    does not return); returns a counter of answers to pages past the real end."""
    import re

    original = sim._tickets
    seen = {"past_end": 0, "first_pages": 0}
    lock = threading.Lock()

    def wrapped(q):
        response = original(q)
        head = response.body[0]
        match = re.search(rb'"record_count":(\d+)', head)
        total = int(match.group(1))
        size = min(int(q.get("page_size", 50)), sim.max_page_size)
        page_no = int(q.get("page_no", 1))
        with lock:
            seen["first_pages"] += page_no == 1
            seen["past_end"] += total > 0 and (page_no - 1) * size >= total
        response.body[0] = head.replace(match.group(0), b'"record_count":%d' % (total + extra))
        return response

    sim._tickets = wrapped
    return seen


@pytest.mark.parametrize("overstated", [False, True], ids=["deletions", "record_count-overstated"])
def test_pages_past_the_end_repeat_the_last_page(simulator, tmp_path, overstated):
    """Halo may answer a page past the end with the last page again (django-psa saw it, docs/halo-api.md 2.1). The reader asks past the
    end when deletions shrink record_count while it pages, or when record_count says more than Halo
    returns; either way it stops without losing or looping."""
    sim = simulator(tickets=1500, seed=24, repeat_last_page=True,
                    mutate_schedule=[] if overstated else [{"every": 4, "delete": 2}])
    counts = _overstate_record_count(sim, 7) if overstated else None
    read_then_resume(sim, tmp_path, f"pages past the end repeat ({'count +7' if overstated else 'deletions'})",
                     sim_config(sim, page_size=30), between=lambda s: s.configure(mutate_schedule=[]))
    if counts:
        assert counts["past_end"] > 0, counts  # the reader did go past the end ...
        assert counts["past_end"] <= 2 * counts["first_pages"], counts  # ... and stopped there


def test_tickets_updated_created_and_deleted_while_paging(simulator, tmp_path):
    """Every 5th ticket page, 3 tickets are updated, 1 created and 1 deleted, for the whole first read.
    Updated and created tickets move past the read's upper bound, so they belong to the next read;
    changes made while the second read runs would belong to a third, so they stop before it."""
    sim = simulator(tickets=2000, seed=25, mutate_schedule=[{"every": 5, "update": 3, "create": 1, "delete": 1}])
    read_then_resume(sim, tmp_path, "updates/creates/deletes while paging", sim_config(sim, page_size=40),
                     between=lambda s: s.configure(mutate_schedule=[]))
    changed = sum(len(m["updated"]) + len(m["created"]) + len(m["deleted"]) for m in sim.mutations)
    assert changed > 20, sim.mutations


# ---------------------------------------------------------------- malformed bodies

def _without_tickets_every(sim, k: int):
    """Every k-th ticket-list answer is a 200 whose body has no `tickets` (the simulator has no such
    fault kind, so its handler is wrapped for this test)."""
    from integration_tests.halo_simulator.server import jresp

    original = sim._tickets
    calls = {"n": 0, "fired": 0}
    lock = threading.Lock()

    def wrapped(q):
        with lock:
            calls["n"] += 1
            fire = calls["n"] % k == 0
            if fire:
                calls["fired"] += 1
        if fire:
            return jresp({"page_no": 1, "page_size": 100, "record_count": 17, "message": "Object moved"})
        return original(q)

    sim._tickets = wrapped
    return calls


def test_malformed_bodies(simulator, tmp_path):
    """HTML with status 200, JSON cut in half, a body cut off mid-transfer, and a body without
    `tickets`: each is retried, none is taken for an empty page."""
    sim = simulator(tickets=1500, seed=26, fault_seed=6, faults=["html:p=0.04", "truncated:p=0.04", "partial:p=0.03"])
    calls = _without_tickets_every(sim, 9)
    read_then_resume(sim, tmp_path, "malformed bodies (html/cut/no tickets)", sim_config(sim, page_size=40))
    fired = {f["kind"]: f["fired"] for f in sim.config()["faults"]}
    assert all(v > 0 for v in fired.values()) and calls["fired"] > 0, (fired, calls)


# ---------------------------------------------------------------- many tickets in one second

def _set_last_update(sim, ids_by_ms):
    store = sim.store
    with store.lock:
        touched = []
        for ms, ids in ids_by_ms.items():
            for tid in ids:
                store.lu[tid - 1] = ms
                touched.append(tid)
        store._bump(touched)


@pytest.mark.parametrize("from_op,to_op", [(">=", "<="), (">", "<="), (">=", "<"), (">", "<")])
def test_hundreds_of_tickets_share_one_second(simulator, tmp_path, from_op, to_op):
    """Hundreds of tickets share a last_update second on window boundaries (exactly midnight, a
    fraction after it, the last ms before it) and across many pages; after the read, hundreds more
    are updated within the state's second, before and after the state value. Under every server
    comparison for lastupdatefromdate / lastupdatetodate nothing is lost."""
    sim = simulator(tickets=2400, seed=27, span_days=8, lastupdate_from_op=from_op, lastupdate_to_op=to_op)
    live = [i for i, t in sim.truth().items()]
    rng = random.Random(27)
    rng.shuffle(live)
    end = dt.datetime.fromtimestamp(sim.store.end_ms / 1000, dt.timezone.utc)
    midnights = [(end - dt.timedelta(days=d)).replace(hour=0, minute=0, second=0, microsecond=0) for d in (2, 4)]
    plan = {}
    for m in midnights:
        ms = int(m.timestamp() * 1000)
        for offset in (0, 500, -3):  # 00:00:00.000, 00:00:00.500, 23:59:59.997 the day before
            plan[sql_round(ms + offset)] = [live.pop() for _ in range(120)]
    _set_last_update(sim, plan)
    config = sim_config(sim, page_size=20)  # windows of ~400 records: one day each around the piles

    first = run_connector("read", config, tmp_path / "first", INCREMENTAL)
    assert not first.errors, first.errors
    window_ends = [line for line in first.logs if "window [" in line]
    assert any(m.strftime("%Y-%m-%dT00:00:00Z)") in line for m in midnights for line in window_ends), window_ends[:5]

    state = parse_state(final_state(first))
    second_start = state.replace(microsecond=0)
    within = [sql_round(int(second_start.timestamp() * 1000) + k) for k in range(0, 1000, 7)]
    _set_last_update(sim, {ms: [live.pop() for _ in range(2)] for ms in within})
    while dt.datetime.now(dt.timezone.utc) < second_start + dt.timedelta(seconds=1.2):
        time.sleep(0.1)
    second = run_connector("read", config, tmp_path / "second", INCREMENTAL, state=final_state(first))
    assert not second.errors, second.errors
    row = account(f"one second x hundreds ({from_op} / {to_op})", sim.truth(), first.records + second.records, reads=2)
    assert row.lost == 0, row.lost_ids


def parse_state(state: list) -> dt.datetime:
    return dt.datetime.fromisoformat(state[0]["stream"]["stream_state"]["last_update"])


# ---------------------------------------------------------------- SIGKILL mid-read, then resume

def _read_until_killed(config: dict, workdir: Path, kill_when, timeout: float = 90.0, catalog_obj: Optional[dict] = None):
    """Runs the console script and SIGKILLs it once `kill_when(records, last_state, committed)` is true. Returns the
    records emitted up to the last STATE before the kill (what a destination has committed), that
    state, and whether the kill happened."""
    args = [console_script()] + _write_args("read", config, workdir, catalog_obj or INCREMENTAL, None)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ})
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    records: List[dict] = []
    committed: List[dict] = []
    last_state: Optional[dict] = None
    killed = False
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            message = json.loads(line)
            if message["type"] == "RECORD":
                records.append(message["record"]["data"])
            elif message["type"] == "STATE":
                last_state = message["state"]
                committed = list(records)
            if kill_when(records, last_state, committed):
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL if killed else True
    state = None
    if last_state is not None:
        s = last_state["stream"]
        state = [{"type": "STREAM", "stream": {"stream_descriptor": s["stream_descriptor"], "stream_state": s["stream_state"]}}]
    return committed, state, killed


@pytest.mark.parametrize("when", ["first-state-after-records", "500-records"])
def test_sigkill_mid_read_then_resume(simulator, tmp_path, when):
    """The console script is killed with SIGKILL in the middle of a read; an incremental read from
    its last emitted state delivers everything, counting only records the destination would have
    committed (those before the last STATE of the killed run)."""
    sim = simulator(tickets=2500, seed=28, latency=0.03)
    config = sim_config(sim, page_size=25, parallel_requests=2)
    if when == "first-state-after-records":
        condition = lambda records, state, committed: bool(committed)  # the first STATE that commits records
    else:
        condition = lambda records, state, committed: len(records) >= 500
    committed, state, killed = _read_until_killed(config, tmp_path / "killed", condition)
    assert killed, "the read finished before it could be killed; slow the simulator down"
    resumed = run_console_script("read", config, tmp_path / "resumed", INCREMENTAL, state=state, timeout=120)
    assert resumed.returncode == 0 and not resumed.errors, resumed.stderr[-2000:]
    row = account(f"SIGKILL after {when}, resume", sim.truth(), committed + resumed.records, reads=2,
                  note=f"{len(committed)} committed before kill")
    assert row.lost == 0, row.lost_ids


# ---------------------------------------------------------------- retries exhausted

def test_retries_exhausted_end_the_sync_as_transient_and_the_next_sync_resumes(simulator, tmp_path):
    """From the 40th ticket request on, Halo never answers within request_timeout. The read ends with
    a transient_error (not a system error), its state covers only windows fully emitted, and once
    Halo recovers, one incremental read from that state delivers the rest."""
    sim = simulator(tickets=1500, seed=29, faults=[{"kind": "delay", "seconds": 2, "on": list(range(40, 400)), "path": "/api/tickets"}])
    config = sim_config(sim, request_timeout=1, max_retries=1, page_size=20, parallel_requests=2)
    first = run_connector("read", config, tmp_path / "first", INCREMENTAL)
    assert first.errors and first.errors[-1]["failure_type"] == "transient_error", first.errors
    assert "Traceback" not in first.errors[-1]["message"]
    committed = [s for s in first.states if s["stream"]["stream_state"]]
    assert committed, "no window completed before the timeouts: the test proves nothing about resuming"
    sim.configure(faults=[])
    second = run_connector("read", config, tmp_path / "second", INCREMENTAL, state=final_state(first))
    assert not second.errors, second.errors
    row = account("timeouts until retries run out, resume", sim.truth(), first.records + second.records, reads=2,
                  note="first read failed (transient)")
    assert row.lost == 0, row.lost_ids


@pytest.mark.parametrize("fault", ["html", "drop", "500"])
def test_a_glitch_while_checking_ticket_types_does_not_fail_the_read(simulator, tmp_path, fault):
    """Before reading ticket_types streams the connector asks /api/TicketType whether each type_id
    exists. A glitch on that one request (HTML with 200, a dropped connection, a 500) is no reason
    to fail the sync, least of all as a configuration error: the read goes on."""
    sim = simulator(tickets=800, seed=30, faults=[f"{fault}:on=1:path=/api/tickettype"])
    config = sim_config(sim, ticket_types=[{"name": "incidents", "type_id": 1}])
    out = run_connector("read", config, tmp_path, catalog("incidents", sync_mode="incremental"))
    assert not out.errors, out.errors
    assert any(e["fault"] == fault for e in sim.request_log), "the glitch never happened"
    truth = {i: t for i, t in sim.truth().items() if t["tickettype_id"] == 1}
    row = account(f"glitch ({fault}) checking type ids", truth, out.records_of("incidents"), reads=1)
    assert row.lost == 0, row.lost_ids


# ---------------------------------------------------------------- reference streams

REFERENCE = ("statuses", "ticket_types", "priorities", "slas", "teams", "agents", "clients", "sites", "users",
             "categories", "outcomes", "custom_field_definitions")


def test_every_reference_stream_under_every_fault(simulator, tmp_path, monkeypatch):
    """All reference lists in one read while Halo fails in every way at once: 500/502/503 and dropped
    connections, HTML, cut and truncated bodies on ~25% of requests, a rolling-window 429 (20 requests
    per 2 s, token requests included), and tokens that serve 3 requests. One row per stream: 0 lost."""
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.02")
    sim = simulator(tickets=300, seed=27, fault_seed=9, rate_limit=20, rate_window=2.0, rate_limit_auth=True,
                    token_max_uses=3, faults=["500:p=0.05", "502:p=0.05", "503:p=0.03", "drop:p=0.03", "html:p=0.04",
                                              "truncated:p=0.03", "partial:p=0.02", "500:on=2", "html:on=5", "drop:on=8",
                                              "429:on=4,11"])  # and a 429 for sure, whatever the timing
    out = run_connector("read", sim_config(sim, page_size=50, max_retries=10), tmp_path, catalog(*REFERENCE))
    assert not out.errors, [e.get("message") for e in out.errors]
    for stream in REFERENCE:
        if stream == "priorities":
            expected = {(slaid, pid) for pid, by_sla in sim.truth(stream).items() for slaid in by_sla}
            delivered = [(r["slaid"], r["priorityid"]) for r in out.records_of(stream)]
        else:
            expected, delivered = set(sim.truth(stream)), [r["id"] for r in out.records_of(stream)]
        row = account_keys(f"reference: {stream}", expected, delivered, reads=1, note="all faults at once")
        assert row.lost == 0, (stream, row.lost_ids)
    fired = Counter()
    for fault in sim.config()["faults"]:
        fired[fault["kind"]] += fault["fired"]
    assert all(fired[k] for k in ("500", "502", "drop", "html")), fired
    statuses = Counter(e["status"] for e in sim.request_log)
    assert statuses[429] and statuses[401], statuses


# ---------------------------------------------------------------- actions

ACTIONS = catalog("actions", sync_mode="incremental")


def read_actions_then_resume(sim, tmp_path, case: str, config: dict, note: str = "", between=None):
    """The history of actions (a first incremental read: by time), then an incremental read from its
    state (by changed ticket); both deliveries compared with the truth of every action."""
    first = run_connector("read", config, tmp_path / "first", ACTIONS)
    assert not first.errors, [e.get("message") for e in first.errors]
    if between:
        between(sim)
    second = run_connector("read", config, tmp_path / "second", ACTIONS, state=final_state(first))
    assert not second.errors, [e.get("message") for e in second.errors]
    row = account_actions(case, sim.truth("actions"), first.records + second.records, reads=2, note=note)
    assert row.lost == 0, f"{case}: {row.lost} actions lost, e.g. {row.lost_ids}"
    return first, second


@pytest.mark.parametrize("case", ["transient", "429-storm", "short-tokens"])
def test_actions_under_faults(simulator, tmp_path, monkeypatch, case):
    """Actions, read by time then by changed ticket, while Halo fails: 5xx, drops and timeouts on ~10% of
    requests; a rolling-window 429 (tokens included); tokens that live 2 s and serve 5 requests."""
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.02")
    switches = {
        "transient": dict(fault_seed=3, faults=["500:p=0.03", "502:p=0.03", "503:p=0.02", "drop:p=0.02",
                                                "delay:on=5,23:seconds=2", "500:on=2:path=/api/actions"]),
        "429-storm": dict(rate_limit=30, rate_window=2.0, rate_limit_auth=True, retry_after=False,
                          faults=["429:on=3:path=/api/actions"]),  # one for sure, whatever the timing
        "short-tokens": dict(token_ttl=2, token_max_uses=5, latency=0.01),
    }[case]
    sim = simulator(tickets=400, seed=41, span_days=60, **switches)
    first, _ = read_actions_then_resume(sim, tmp_path, f"actions: {case}", sim_config(sim, request_timeout=1, max_retries=8),
                                        between=lambda s: s.mutate(actions_add=20, actions_edit=10))
    statuses = Counter(e["status"] for e in sim.request_log)
    expected = {"transient": 500, "429-storm": 429, "short-tokens": 401}[case]
    assert statuses[expected], statuses


def test_actions_added_edited_and_deleted_while_they_are_read(simulator, tmp_path):
    """Every 6th request of actions adds 2, edits 2 and deletes 1 action during the first read (the
    changed tickets belong to the next one, which reads each changed ticket whole)."""
    sim = simulator(tickets=500, seed=42, span_days=60,
                    mutate_schedule=[{"every": 6, "actions_add": 2, "actions_edit": 2, "actions_delete": 1, "path": "/api/actions"}])
    read_actions_then_resume(sim, tmp_path, "actions: added/edited/deleted while paging", sim_config(sim, page_size=20),
                             between=lambda s: s.configure(mutate_schedule=[]))
    assert sum(1 for m in sim.mutations) > 5, sim.mutations


def test_actions_sigkill_mid_read_then_resume(simulator, tmp_path):
    sim = simulator(tickets=600, seed=43, span_days=90, latency=0.01)
    config = sim_config(sim, page_size=25, parallel_requests=2)
    condition = lambda records, state, committed: len(committed) >= 300
    committed, state, killed = _read_until_killed(config, tmp_path / "killed", condition, catalog_obj=ACTIONS)
    assert killed, "the read finished before it could be killed; slow the simulator down"
    # The history was read by time; the state says where that read ends, and the resumed read goes on by
    # time from the state (not one request per ticket changed since it, i.e. the rest of the history).
    saved = state[0]["stream"]["stream_state"]
    assert saved["history_to"] > saved["datetime"], saved
    sim.reset_log()
    resumed = run_console_script("read", config, tmp_path / "resumed", ACTIONS, state=state, timeout=120)
    assert resumed.returncode == 0 and not resumed.errors, resumed.stderr[-2000:]
    row = account_actions("actions: SIGKILL after 300 committed, resume", sim.truth("actions"), committed + resumed.records,
                          reads=2, note=f"{len(committed)} committed before kill")
    assert row.lost == 0, row.lost_ids
    requests = [e for e in sim.request_log if e["path"].lower() == "/api/actions"]
    by_ticket = [e for e in requests if "ticket_id" in e["params"]]
    assert requests and len(by_ticket) <= 2, (len(requests), len(by_ticket))  # nothing changed in Halo meanwhile
    resumed_from = (dt.datetime.fromisoformat(saved["datetime"]) - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(e["params"]["startdate"] >= resumed_from for e in requests if "startdate" in e["params"])  # nothing before the state
    final = [m for m in resumed.messages if m["type"] == "STATE"][-1]["state"]["stream"]["stream_state"]
    assert "history_to" not in final and final["datetime"] >= saved["history_to"], final


# ---------------------------------------------------------------- Halo's clock and deletions

@pytest.mark.parametrize("minutes,date_header", [(-60, True), (-20, True), (20, True), (60, True), (-60, False), (60, False)],
                         ids=["-60min", "-20min", "+20min", "+60min", "-60min-no-Date", "+60min-no-Date"])
def test_halo_clock_ahead_or_behind(simulator, tmp_path, minutes, date_header):
    """Halo's clock runs `minutes` ahead of (or behind) the connector's: its `last_update` values and
    its Date header carry the difference (or it sends no Date header, and the connector only knows
    the `last_update` values it reads). Between two incremental syncs tickets are updated, created and
    deleted: the second sync must bring every one of those changes, and nothing may be skipped."""
    sim = simulator(tickets=1500, seed=41, clock_offset=minutes * 60, date_header=date_header)
    changed = {}

    def change(sim):
        changed["ids"] = sim.mutate(update=40, create=10)
        sim.mutate(delete=10)
        changed["deleted"] = sim.mutations[-1]["deleted"]

    label = f"Halo's clock {minutes:+d} min" + ("" if date_header else ", no Date header")
    _, second = read_then_resume(sim, tmp_path, label, sim_config(sim), between=change)
    came = {r["id"] for r in second.records if r.get("_ab_cdc_deleted_at") is None}
    live_changes = set(changed["ids"]) - set(changed["deleted"])
    assert live_changes <= came, sorted(live_changes - came)
    reported = {r["id"] for r in second.records if r.get("_ab_cdc_deleted_at") is not None}
    assert set(changed["deleted"]) <= reported, sorted(set(changed["deleted"]) - reported)
