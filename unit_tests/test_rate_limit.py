"""One budget for every request (token requests, every stream, every worker), and Halo's 429.

The budget against the simulator, which logs when each request reached it; the 429 answers with the
CDK's HttpMocker (halo_mock.py), which sets Retry-After as a test needs it. Waits are checked through
what the connector logs and, at most, a lower bound on how long the read took."""
import datetime as dt
import time

from airbyte_cdk.test.mock_http import HttpMocker

import source_haloitsm.rate_limit as rate_limit
from integration_tests.harness import catalog, run_connector, sim_config
from unit_tests.halo_mock import NOW, START, config, mock_window, rate_limited, tickets, tickets_page, tickets_request, token_request, token_response

TICKETS = catalog("tickets")


def _most_in_any_window(times, seconds):
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


def test_every_request_shares_one_rolling_budget(simulator, tmp_path, monkeypatch):
    # The budget's window is 60 s; shrink it to 1 s so the test runs in a few seconds.
    monkeypatch.setattr(rate_limit, "WINDOW", dt.timedelta(seconds=1))
    sim = simulator(tickets=400, seed=7)
    cfg = sim_config(sim, rate_limit=6, page_size=25, parallel_requests=4,
                        ticket_types=[{"name": "a", "type_id": 1}, {"name": "b", "type_id": 2}])
    out = run_connector("read", cfg, tmp_path, catalog("a", "b"))
    assert not out.errors, out.errors
    truth = sim.truth()
    assert {r["id"] for r in out.records_of("a")} == {i for i, t in truth.items() if t["tickettype_id"] == 1}
    assert {r["id"] for r in out.records_of("b")} == {i for i, t in truth.items() if t["tickettype_id"] == 2}
    times = [e["time"] for e in sim.request_log]  # every request: tokens, ticket types, both streams' pages
    assert any(e["path"] == "/auth/token" for e in sim.request_log)
    assert len(times) >= 15
    # At most 6 requests start in any 1 s. Measured where they arrive, so a window of 0.8 s leaves
    # 0.2 s for the time between the connector taking its budget and the simulator logging the request.
    assert _most_in_any_window(times, 0.8) <= 6, sorted(times)


def _read_with_one_429(tmp_path, answer_429):
    """A read whose first page of open tickets is answered 429 once, then normally."""
    cfg = config()
    rows = tickets(range(1, 21), START + dt.timedelta(days=1), dt.timedelta(hours=3))
    with HttpMocker() as http:
        http.post(token_request(cfg).build(), token_response("t-1").build())
        limited = tickets_request().window(START, NOW).part("open_only").build()
        http.get(limited, [answer_429, tickets_page(rows).build()])
        mock_window(http, START, NOW, {"closed_only": []})
        started = time.monotonic()
        out = run_connector("read", cfg, tmp_path, TICKETS)
        elapsed = time.monotonic() - started
        http.assert_number_of_calls(limited, 2)
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == list(range(1, 21))
    return out, elapsed


def test_429_waits_for_retry_after(frozen_clock, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "1")
    out, elapsed = _read_with_one_429(tmp_path, rate_limited().header("Retry-After", "4").build())
    assert elapsed >= 4.0
    # A wait of 5 s or more is announced before it starts (4 s plus the CDK's extra second).
    waits = [line for line in out.logs if line.startswith("Waiting ")]
    assert any("429" in line and "Retry-After 4 s" in line for line in waits), waits


def test_429_without_retry_after_backs_off_for_halos_five_minute_window(frozen_clock, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.14")  # Halo-sized 30 s -> 4.2 s
    out, elapsed = _read_with_one_429(tmp_path, rate_limited().build())
    assert elapsed >= 4.2
    waits = [line for line in out.logs if line.startswith("Waiting ")]
    # 30 s (scaled to 4.2 s, plus the CDK's extra second): announced as 5 s.
    assert any(line.startswith("Waiting 5 s") and "without Retry-After" in line and "5-minute" in line for line in waits), waits


def test_a_long_wait_for_the_budget_is_announced(simulator, tmp_path, monkeypatch):
    # 5 requests per 10 s: the token, the two first pages and the two of the listing of deleted
    # tickets use the budget, the next page waits for most of 10 s, more than the 5 s after which a
    # wait is announced.
    monkeypatch.setattr(rate_limit, "WINDOW", dt.timedelta(seconds=10))
    sim = simulator(tickets=400, seed=8)
    out = run_connector("read", sim_config(sim, rate_limit=5, parallel_requests=4), tmp_path, TICKETS)
    assert not out.errors, out.errors
    assert len(out.records) == len(sim.truth())
    announced = [line for line in out.logs if "for the request budget" in line]
    assert len(announced) == 1, out.logs  # once, although four workers wait
    assert announced[0].startswith("Waiting ") and "5 requests were sent in the last 10 s" in announced[0]
    assert "'rate_limit'" in announced[0]
