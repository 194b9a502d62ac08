"""Windows and state: what is asked of Halo, what is emitted, and what the state says afterwards."""
import datetime as dt

from source_haloitsm.datetimes import UTC
from unit_tests.conftest import catalog, make_config, make_tickets, run_connector


def _stream_states(out, stream="tickets"):
    return [s["stream"]["stream_state"] for s in out.states if s["stream"]["stream_descriptor"]["name"] == stream]


def _state_msg(value, stream="tickets"):
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"last_update": value}}}]


def test_full_refresh_delivers_every_ticket_once_and_checkpoints_after_each_window(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(1200, dt.datetime(2024, 3, 1), dt.timedelta(hours=2)))
    out = run_connector("read", make_config(page_size=20), tmp_path, catalog("tickets"))
    ids = [r["id"] for r in out.records]
    assert sorted(ids) == list(range(1, 1201)) and len(ids) == len(set(ids))
    states = [dt.datetime.fromisoformat(s["last_update"]) for s in _stream_states(out)]
    assert len(states) >= 3 and states == sorted(states)
    # Every record before a state message lies before that state's bound.
    position = 0
    for message in out.messages:
        if message["type"] == "RECORD":
            position += 1
        if message["type"] == "STATE":
            bound = dt.datetime.fromisoformat(message["state"]["stream"]["stream_state"]["last_update"])
            emitted = [r for r in out.records[:position]]
            assert all(dt.datetime.fromisoformat(r["last_update"]) < bound for r in emitted)


def test_windows_are_aligned_to_midnight_and_cover_the_boundary_second(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(1200, dt.datetime(2024, 3, 1), dt.timedelta(hours=2)))
    run_connector("read", make_config(page_size=20), tmp_path, catalog("tickets"))
    bounds = {(r["params"].get("lastupdatefromdate"), r["params"]["lastupdatetodate"]) for r in halo.ticket_requests}
    inner = [b for b in bounds if b[0] and not b[0].startswith("2023-12-31T23:59:59")]
    assert inner, bounds
    for low, high in inner:
        assert low.endswith("T23:59:59Z"), low  # the window starts at midnight, asked from one second before
    assert all(high.endswith("T00:00:00Z") for _, high in bounds if not high.startswith("2026") and not high.startswith(str(dt.date.today().year)))


def test_incremental_resumes_from_state_and_never_moves_it_backwards(fake_halo, tmp_path):
    tickets = make_tickets(600, dt.datetime(2024, 3, 1), dt.timedelta(hours=6))
    halo = fake_halo(tickets)
    state_value = "2024-05-01T00:00:00+00:00"
    out = run_connector("read", make_config(), tmp_path, catalog("tickets", sync_mode="incremental"), state=_state_msg(state_value))
    got = {r["id"] for r in out.records}
    expected = {t["id"] for t in tickets if t["last_update"] >= dt.datetime(2024, 4, 30, 23, 55)}
    assert expected <= got
    assert all(dt.datetime.fromisoformat(r["last_update"]) >= dt.datetime(2024, 4, 30, 23, 55, tzinfo=UTC) for r in out.records)
    first_from = min(r["params"]["lastupdatefromdate"] for r in halo.ticket_requests)
    assert first_from == "2024-04-30T23:54:59Z"  # state - 5 min lookback - 1 s
    assert dt.datetime.fromisoformat(_stream_states(out)[-1]["last_update"]) > dt.datetime.fromisoformat(state_value)


def test_a_future_state_reads_nothing_and_keeps_the_state(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(50, dt.datetime(2024, 3, 1), dt.timedelta(hours=6)))
    future = "2099-01-01T00:00:00+00:00"
    out = run_connector("read", make_config(), tmp_path, catalog("tickets", sync_mode="incremental"), state=_state_msg(future))
    assert out.records == [] and halo.ticket_requests == []
    assert _stream_states(out)[-1] == {"last_update": future}


def test_tickets_sharing_the_cursor_second_are_not_lost_at_the_next_read(fake_halo, tmp_path):
    # 300 tickets share one second; the first read ends inside that second; more tickets are then
    # updated within the same second after the read.
    now = dt.datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    second = now - dt.timedelta(seconds=30)
    tickets = [{"id": i + 1, "last_update": second + dt.timedelta(milliseconds=i), "closed": i % 2 == 0} for i in range(300)]
    halo = fake_halo(tickets)
    first = run_connector("read", make_config(page_size=50), tmp_path, catalog("tickets", sync_mode="incremental"))
    assert {r["id"] for r in first.records} == set(range(1, 301))
    state = _stream_states(first)[-1]["last_update"]
    cursor = dt.datetime.fromisoformat(state).replace(tzinfo=None)
    updated_at = dt.datetime.now(UTC).replace(tzinfo=None)
    assert updated_at - cursor < dt.timedelta(seconds=1)  # within the cursor's second
    for t in tickets[:40]:  # updated after the read
        t["last_update"] = updated_at
    second_read = run_connector("read", make_config(page_size=50), tmp_path, catalog("tickets", sync_mode="incremental"), state=_state_msg(state))
    assert set(range(1, 41)) <= {r["id"] for r in second_read.records}


def test_a_ticket_leaving_its_window_while_it_is_paged_does_not_make_another_one_skipped(fake_halo, tmp_path):
    tickets = make_tickets(400, dt.datetime(2024, 3, 1), dt.timedelta(minutes=5), closed_every=10**9)
    halo = fake_halo(tickets)
    moved = []

    def delete_ticket_5_after_first_page(entry):
        if entry["params"].get("page_no") == "2" and not moved:
            tickets[4]["deleted"] = True  # leaves the window: every later ticket shifts up one place
            moved.append(5)
        return None

    halo.before_page = delete_ticket_5_after_first_page
    out = run_connector("read", make_config(page_size=50, parallel_requests=1), tmp_path, catalog("tickets"))
    ids = {r["id"] for r in out.records}
    assert ids >= set(range(1, 401)) - {5}, sorted(set(range(1, 401)) - ids)
    assert 5 in ids  # it was on page 1, read before it left
    assert any("reading the window again" in line for line in out.logs)


def test_estimate_trace_comes_from_record_count(fake_halo, tmp_path):
    halo = fake_halo(make_tickets(321, dt.datetime(2024, 3, 1), dt.timedelta(hours=6)))
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    estimates = [m["trace"]["estimate"] for m in out.of_type("TRACE") if m["trace"]["type"] == "ESTIMATE"]
    assert estimates == [{"name": "tickets", "type": "STREAM", "row_estimate": 321}]


def test_ticket_type_streams_filter_by_type_and_keep_only_their_fields(fake_halo, tmp_path):
    tickets = make_tickets(200, dt.datetime(2024, 3, 1), dt.timedelta(hours=6))
    for t in tickets:
        t["type"] = 1 if t["id"] % 4 else 2
    halo = fake_halo(tickets)
    config = make_config(ticket_types={"incidents": {"type_id": 1, "fields": ["summary"]}, "requests": {"type_id": 2}})
    out = run_connector("read", config, tmp_path, catalog("incidents", "requests"))
    incidents, requests_ = out.records_of("incidents"), out.records_of("requests")
    assert {r["id"] for r in incidents} == {t["id"] for t in tickets if t["type"] == 1}
    assert {r["id"] for r in requests_} == {t["id"] for t in tickets if t["type"] == 2}
    assert all(set(r) == {"id", "last_update", "summary"} for r in incidents)
    assert {r["params"]["requesttype_id"] for r in halo.ticket_requests} == {"1", "2"}


def test_datetimes_are_utc_with_offset_and_sentinels_become_null(fake_halo, tmp_path):
    halo = fake_halo([{"id": 1, "last_update": dt.datetime(2024, 3, 1, 8, 30, 15, 120000), "closed": False,
                       "dateoccurred": "2024-02-29T23:00:00", "targetdate": "1900-01-01T00:00:00",
                       "lastincomingemail": "0001-01-01T00:00:00", "site_id": 18.0}])
    out = run_connector("read", make_config(), tmp_path, catalog("tickets"))
    record = out.records[0]
    assert record["last_update"] == "2024-03-01T08:30:15.120000+00:00"
    assert record["dateoccurred"] == "2024-02-29T23:00:00+00:00"
    assert "targetdate" not in record or record["targetdate"] is None  # the CDK drops null keys
    assert "lastincomingemail" not in record or record["lastincomingemail"] is None
    assert record["site_id"] == 18 and isinstance(record["site_id"], int)
