"""One budget for every request (token requests, every stream, every worker), and Halo's 429."""
import datetime as dt

import pytest

import source_haloitsm.rate_limit as rate_limit
from unit_tests.conftest import catalog, make_config, make_tickets, run_connector


def _max_in_any_window(times, seconds):
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + seconds) for start in times)


def test_every_request_shares_one_rolling_budget(fake_halo, tmp_path, monkeypatch):
    # The budget's window is 60 s; shrink it to 1 s so the test runs in a few seconds.
    monkeypatch.setattr(rate_limit, "WINDOW", dt.timedelta(seconds=1))
    tickets = make_tickets(400, dt.datetime(2024, 3, 1), dt.timedelta(hours=3))
    for t in tickets:
        t["type"] = 1 + t["id"] % 2
    halo = fake_halo(tickets)
    config = make_config(rate_limit=6, page_size=25, parallel_requests=4,
                         ticket_types=[{"name": "a", "type_id": 1}, {"name": "b", "type_id": 2}])
    out = run_connector("read", config, tmp_path, catalog("a", "b"))
    assert len(out.records) == 400
    assert len(halo.request_times) >= 15  # tokens + two streams' pages, windows read in parallel
    assert _max_in_any_window(halo.request_times, 0.98) <= 6, halo.request_times


def _answer_429_once(halo, headers):
    def hook(entry):
        if len(halo.ticket_requests) == 1:
            return {"status": 429, "json": {"error": "Rate Limit Reached - 300 Requests per rolling 5 minute window"}, "headers": headers}
        return None
    halo.before_page = hook


def test_429_waits_for_retry_after(fake_halo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "1")
    halo = fake_halo(make_tickets(20, dt.datetime(2024, 3, 1), dt.timedelta(hours=3)))
    halo.retry_after = "2"
    _answer_429_once(halo, {"Retry-After": "2"})
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    assert len(out.records) == 20
    first, second = halo.ticket_requests[0]["time"], halo.ticket_requests[1]["time"]
    assert second - first >= 2.0


def test_429_without_retry_after_backs_off_for_halos_five_minute_window(fake_halo, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_HALOITSM_BACKOFF_SCALE", "0.05")  # 30 s -> 1.5 s
    halo = fake_halo(make_tickets(20, dt.datetime(2024, 3, 1), dt.timedelta(hours=3)))
    _answer_429_once(halo, {})
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    assert len(out.records) == 20
    first, second = halo.ticket_requests[0]["time"], halo.ticket_requests[1]["time"]
    assert second - first >= 1.5
    assert any("429" in line and "Waiting 1.5" in line for line in out.logs)
