"""Paging one window: Halo's cap at 100, a page repeated past the end, stopping at record_count,
502/504 answered with a smaller page_size, bodies that are not Halo's.

Behaviour over many pages against the simulator (its request log shows what was asked); exact
answers Halo may give (an overstated record_count, a body without the ticket list) with the CDK's
HttpMocker (halo_mock.py)."""
import datetime as dt
import math
from collections import defaultdict

from airbyte_cdk.test.mock_http import HttpMocker

from integration_tests.harness import catalog, run_connector, sim_config
from unit_tests.halo_mock import (
    NOW,
    START,
    config,
    mock_window,
    number_of_calls,
    tickets,
    tickets_page,
    tickets_request,
    token_request,
    token_response,
)

TICKETS = catalog("tickets")
PARTS = ("open_only", "closed_only")


def _part(params):
    return next(p for p in PARTS if params.get(p) == "true")


def _window_requests(sim):
    """The requests of the windows, not of the listing of deleted tickets every read makes (deletions.py)."""
    return [e for e in sim.api_requests("/api/tickets") if "deleted" not in e["params"]]


def _pages(sim):
    """(part, page_no, page_size, fault, params) of every window request, in the order Halo got them."""
    return [
        (_part(e["params"]), int(e["params"]["page_no"]), int(e["params"]["page_size"]), e["fault"], e["params"])
        for e in _window_requests(sim)
    ]


def test_a_short_page_capped_by_halo_is_not_the_end(simulator, tmp_path):
    # Halo silently caps pages at 100 whatever page_size says (docs/halo-api.md 2.1, haloitsm-mcp): here at 40.
    sim = simulator(tickets=500, seed=11, max_page_size=40)
    out = run_connector("read", sim_config(sim, page_size=100), tmp_path, TICKETS)
    assert not out.errors, out.errors
    ids = [r["id"] for r in out.records]
    assert sorted(ids) == sorted(sim.truth())
    pages = _pages(sim)
    assert {size for _, no, size, _, _ in pages if no == 1} == {100}  # asked for 100, got 40
    assert max(no for _, no, _, _, _ in pages) > 3  # the rest was read on, 40 at a time


def test_paging_stops_at_record_count_and_sends_an_explicit_order(simulator, tmp_path):
    sim = simulator(tickets=500, seed=12, span_days=30)  # one window, both parts several pages long
    out = run_connector("read", sim_config(sim, page_size=100), tmp_path, TICKETS)
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == sorted(sim.truth())
    in_part = {"open_only": sum(not r["hasbeenclosed"] for r in out.records), "closed_only": sum(r["hasbeenclosed"] for r in out.records)}
    requests = _window_requests(sim)
    assert len({(e["params"].get("lastupdatefromdate"), e["params"]["lastupdatetodate"]) for e in requests}) == 1  # one window
    asked = defaultdict(list)
    for part, page_no, page_size, _, params in _pages(sim):
        assert page_size == 100
        assert (params["pageinate"], params["order"], params["orderdesc"]) == ("true", "id", "false"), params
        asked[part].append(page_no)
    for part, count in in_part.items():
        assert count > 100, "the scenario needs several pages in each part"
        # Every page record_count implies, once, and none past it (250 tickets: pages 1, 2, 3).
        assert sorted(asked[part]) == list(range(1, math.ceil(count / 100) + 1)), (part, count, asked[part])


def test_a_page_repeated_past_the_end_stops_paging(frozen_clock, tmp_path):
    # record_count says 250, but there are 150 open tickets; past the end Halo sends the last page
    # again (django-psa; docs/halo-api.md 2.1). The page that repeats the previous one ends the
    # part: every ticket once, no error.
    cfg = config()
    rows = tickets(range(1, 151), START + dt.timedelta(days=1), dt.timedelta(hours=2))
    with HttpMocker() as http:
        http.post(token_request(cfg).build(), token_response("t-1").build())
        last = tickets_page(rows[100:]).page(2, 100).record_count(250).build()
        pages = [
            (tickets_request().window(START, NOW).part("open_only").page(1, 100).build(), tickets_page(rows[:100]).record_count(250).build()),
            (tickets_request().window(START, NOW).part("open_only").page(2, 100).build(), last),
            (tickets_request().window(START, NOW).part("open_only").page(3, 100).build(), last),  # past the end
        ]
        for request, response in pages:
            http.get(request, response)
        mock_window(http, START, NOW, {"closed_only": []})
        out = run_connector("read", cfg, tmp_path, TICKETS)
        calls = [number_of_calls(http, request) for request, _ in pages]
    assert not out.errors, out.errors
    ids = [r["id"] for r in out.records]
    assert sorted(ids) == list(range(1, 151))  # each once: the repeated page added nothing
    assert calls == [1, 1, 1], calls  # and nothing was asked twice or beyond


def test_502_retries_the_page_with_a_smaller_page_size(simulator, tmp_path):
    # One worker: the first request for a 2nd page is the first part's (both parts have 3 pages).
    sim = simulator(tickets=500, seed=12, span_days=30, faults=["502:on=1:page=2"])
    out = run_connector("read", sim_config(sim, page_size=100, parallel_requests=1), tmp_path, TICKETS)
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == sorted(sim.truth())
    pages = _pages(sim)
    failed = [p for p in pages if p[3] == "502"]
    assert len(failed) == 1
    part, page_no, page_size, _, params = failed[0]
    assert (page_no, page_size) == (2, 100)
    # Records 101-200 asked again as pages 3 and 4 of 50, with the same window and order.
    later = pages[pages.index(failed[0]) + 1 :]
    same_query = [(no, size) for p, no, size, fault, other in later if p == part and fault is None
                  and {k: v for k, v in other.items() if k not in ("page_no", "page_size")} == {k: v for k, v in params.items() if k not in ("page_no", "page_size")}]
    assert (3, 50) in same_query and (4, 50) in same_query, same_query


def test_html_with_status_200_is_retried_then_read(simulator, tmp_path):
    # A login page with status 200, and a JSON body cut in half: each asked for again.
    sim = simulator(tickets=300, seed=13, faults=["html:on=2", "truncated:on=4"])
    out = run_connector("read", sim_config(sim, parallel_requests=1), tmp_path, TICKETS)
    assert not out.errors, out.errors
    assert sorted(r["id"] for r in out.records) == sorted(sim.truth())
    requests = sim.api_requests("/api/tickets")
    bad = [i for i, e in enumerate(requests) if e["fault"] in ("html", "truncated")]
    assert [requests[i]["fault"] for i in bad] == ["html", "truncated"]
    for i in bad:
        assert any(e["params"] == requests[i]["params"] and e["fault"] is None for e in requests[i + 1 :]), requests[i]["params"]


def test_a_body_without_tickets_fails_as_transient_after_retries_without_moving_state(frozen_clock, tmp_path):
    cfg = config(max_retries=1)
    saved = (NOW - dt.timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "tickets"}, "stream_state": {"last_update": saved}}}]
    start = dt.datetime.fromisoformat(saved) - dt.timedelta(minutes=5)  # the incremental look-back
    with HttpMocker() as http:
        http.post(token_request(cfg).build(), token_response("t-1").build())
        asked = {}
        for part in PARTS:
            asked[part] = tickets_request().window(start, NOW).part(part).build()
            http.get(asked[part], tickets_page([]).record_count(5).without_tickets().build())
        out = run_connector("read", cfg, tmp_path, catalog("tickets", sync_mode="incremental"), state=state)
        calls = {part: number_of_calls(http, request) for part, request in asked.items()}
    assert out.records == []
    assert out.errors[-1]["failure_type"] == "transient_error"
    assert out.errors[-1]["stream_descriptor"]["name"] == "tickets"
    message = out.errors[-1]["message"]
    assert "'tickets' list" in message and "resumes" in message, message  # what was wrong, what happens next
    assert max(calls.values()) == 2, calls  # asked once, retried max_retries times, then given up
    assert [s["stream"]["stream_state"] for s in out.states if s["stream"]["stream_state"]] in ([], [{"last_update": saved}])
