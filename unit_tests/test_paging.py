"""Paging one window: Halo's cap at 100, a page repeated past the end, stopping at record_count,
502/504 answered with a smaller page_size, bodies that are not Halo's."""
import datetime as dt

from unit_tests.conftest import catalog, make_config, make_tickets, run_connector


def _pages(halo, **match):
    return [r["params"] for r in halo.ticket_requests if all(r["params"].get(k) == v for k, v in match.items())]


def test_a_short_page_capped_by_halo_is_not_the_end(fake_halo, tmp_path):
    # Halo silently caps pages at 100 whatever page_size says (HALO_API_FACTS.md 2.1, S9): here at 40.
    halo = fake_halo(make_tickets(500, dt.datetime(2024, 2, 1), dt.timedelta(minutes=10), closed_every=10**9), page_cap=40)
    out = run_connector("read", make_config(page_size=100), tmp_path, catalog("tickets"))
    assert sorted(r["id"] for r in out.records) == list(range(1, 501))


def test_paging_stops_at_record_count_and_sends_an_explicit_order(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(250, dt.datetime(2024, 2, 1), dt.timedelta(minutes=10), closed_every=10**9))
    out = run_connector("read", make_config(page_size=100), tmp_path, catalog("tickets"))
    assert len(out.records) == 250
    open_pages = _pages(halo, open_only="true")
    assert [p["page_no"] for p in open_pages] == ["1", "2", "3"]  # 100 + 100 + 50 = record_count
    assert all(p["pageinate"] == "true" and p["order"] == "id" and p["orderdesc"] == "false" for p in open_pages)
    assert [p["page_no"] for p in _pages(halo, closed_only="true")] == ["1"]


def test_a_page_repeated_past_the_end_stops_paging(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(150, dt.datetime(2024, 2, 1), dt.timedelta(minutes=10), closed_every=10**9))
    original = halo.matching

    # record_count says more than there is, and pages past the end repeat the last page (S3).
    def repeat_last(entry):
        params = entry["params"]
        rows = original(params)
        size = int(params["page_size"])
        last = max(1, (len(rows) + size - 1) // size)
        page_no = min(int(params["page_no"]), last)
        page = rows[(page_no - 1) * size : page_no * size]
        return {"json": {"page_no": page_no, "page_size": size, "record_count": len(rows) + 500,
                         "tickets": [halo.render(t) for t in page], "include_children": False}}

    halo.before_page = repeat_last
    out = run_connector("read", make_config(page_size=100), tmp_path, catalog("tickets"))
    assert sorted(r["id"] for r in out.records) == list(range(1, 151))
    assert len(_pages(halo, open_only="true")) <= 4


def test_502_retries_the_page_with_a_smaller_page_size(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(300, dt.datetime(2024, 2, 1), dt.timedelta(minutes=10), closed_every=10**9))
    failed = []

    def gateway_error_on_big_page_2(entry):
        p = entry["params"]
        if p.get("open_only") == "true" and p["page_size"] == "100" and p["page_no"] == "2":
            failed.append(p)
            return {"status": 502, "json": None}
        return None

    halo.before_page = gateway_error_on_big_page_2
    out = run_connector("read", make_config(page_size=100), tmp_path, catalog("tickets"))
    assert sorted(r["id"] for r in out.records) == list(range(1, 301))
    sizes = [(p["page_size"], p["page_no"]) for p in _pages(halo, open_only="true")]
    assert ("100", "2") in sizes and ("50", "3") in sizes  # records 101-150 asked again as page 3 of 50


def test_html_with_status_200_is_retried_then_read(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(120, dt.datetime(2024, 2, 1), dt.timedelta(minutes=10), closed_every=10**9))
    calls = []

    def html_once(entry):
        calls.append(entry)
        if len(calls) in (2, 3):
            return {"text": "<html><body>Halo is updating</body></html>" if len(calls) == 2 else '{"tickets": [{"id"', "status": 200}
        return None

    halo.before_page = html_once
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    assert sorted(r["id"] for r in out.records) == list(range(1, 121))
    assert any("not JSON" in line or "unreadable body" in line for line in out.logs)


def test_a_body_without_tickets_fails_as_transient_after_retries_without_moving_state(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(50, dt.datetime(2024, 2, 1), dt.timedelta(minutes=10)))
    halo.before_page = lambda entry: {"json": {"record_count": 5}}
    out = run_connector("read", make_config(max_retries=2), tmp_path, catalog("tickets", sync_mode="incremental"))
    assert out.records == []
    assert out.errors[-1]["failure_type"] == "transient_error"
    assert "'tickets'" in out.errors[-1]["message"]
    assert not [s for s in out.states if s.get("stream", {}).get("stream_state")]
