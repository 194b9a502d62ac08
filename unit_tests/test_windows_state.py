"""Windows and state: what is asked of Halo, what is emitted, and what the state says afterwards.

Against the simulator, whose data ends where the connector's frozen clock says "now" (or, where a
test needs tickets updated at a chosen instant, at an instant still in the future: the simulator
moves updated tickets to max(its clock, the end of its data)). Record shapes with the CDK's
HttpMocker (halo_mock.py), which sends exactly the row a test writes."""
import datetime as dt

from airbyte_cdk.test.mock_http import HttpMocker

from integration_tests.harness import catalog, final_state, run_connector, sim_config
from source_haloitsm.datetimes import UTC, parse_halo_datetime
from unit_tests.halo_mock import (
    DAY,
    NOW,
    START,
    ceil_second,
    config,
    halo_time,
    mock_window,
    query_time,
    ticket,
    token_request,
    token_response,
)

TICKETS = catalog("tickets")
INCREMENTAL = catalog("tickets", sync_mode="incremental")


def _stream_states(out, stream="tickets"):
    return [s["stream"]["stream_state"] for s in out.states if s["stream"]["stream_descriptor"]["name"] == stream]


def _state_msg(value, stream="tickets"):
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"last_update": value}}}]


def _at(text):
    """A datetime as Halo or the connector wrote it -> aware UTC."""
    return parse_halo_datetime(text)


def _midnight(value):
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _ticket_requests(sim):
    """The window requests (not the listing of deleted tickets an incremental read ends with)."""
    return [e["params"] for e in sim.api_requests("/api/tickets") if "deleted" not in e["params"]]


def _live(records):
    """The records of live tickets (not those reporting a deletion, deletions.py)."""
    return [r for r in records if r.get("_ab_cdc_deleted_at") is None]


def test_full_refresh_delivers_every_ticket_once_and_checkpoints_after_each_window(frozen_clock, simulator, tmp_path):
    sim = simulator(tickets=1500, seed=21, end=NOW.isoformat())
    out = run_connector("read", sim_config(sim, page_size=20), tmp_path, TICKETS)
    assert not out.errors, out.errors
    ids = [r["id"] for r in out.records]
    assert sorted(ids) == sorted(sim.truth()) and len(ids) == len(set(ids))
    states = [_at(s["last_update"]) for s in _stream_states(out)]
    # one per window, moving forward (the last repeated once more: it adds the deleted tickets' ids)
    assert len(states) >= 3 and states[:-1] == sorted(set(states)) and states[-1] == states[-2]
    assert states[-1] == NOW
    # Every record before a state message lies before that state's bound.
    emitted = []
    for message in out.messages:
        if message["type"] == "RECORD":
            emitted.append(_at(message["record"]["data"]["last_update"]))
        if message["type"] == "STATE":
            bound = _at(message["state"]["stream"]["stream_state"]["last_update"])
            assert all(value < bound for value in emitted), bound


def test_windows_are_aligned_to_midnight_and_cover_the_boundary_second(frozen_clock, simulator, tmp_path):
    # Dense enough for windows of one day. Halo is set to compare lastupdatefromdate with '>' and
    # lastupdatetodate with '<' (which Halo does is unknown), and tickets sit exactly on a midnight.
    end = _midnight(dt.datetime.now(UTC)) + 2 * DAY  # still ahead: tickets updated now land on it
    sim = simulator(tickets=3000, seed=22, span_days=10, end=end.isoformat(), lastupdate_from_op=">", lastupdate_to_op="<")
    live = sorted(sim.truth())
    on_midnight = sim.mutate(ids=[live[5], live[1500], live[-10]])
    assert {sim.truth()[i]["last_update"] for i in on_midnight} == {halo_time(end)}
    now = end + dt.timedelta(hours=3, seconds=7, microseconds=250000)
    frozen_clock(now)
    start = _midnight(end - 5 * DAY)
    out = run_connector("read", sim_config(sim, page_size=10, start_date=start.strftime("%Y-%m-%d")), tmp_path, TICKETS)
    assert not out.errors, out.errors
    ids = [r["id"] for r in out.records]
    expected = {i for i, t in sim.truth().items() if _at(t["last_update"]) >= start}
    assert set(ids) == expected and len(ids) == len(set(ids))  # each ticket once, the midnight ones too
    assert set(on_midnight) <= set(ids)
    requests = _ticket_requests(sim)
    for params in requests:
        # Each window starts at a midnight and is asked from one second before it ...
        assert params["lastupdatefromdate"].endswith("T23:59:59Z"), params
        # ... and ends at a midnight, except the last one, which ends at the start of the read.
        assert params["lastupdatetodate"].endswith("T00:00:00Z") or params["lastupdatetodate"] == query_time(ceil_second(now)), params
    assert min(p["lastupdatefromdate"] for p in requests) == query_time(start - dt.timedelta(seconds=1))
    states = [_at(s["last_update"]) for s in _stream_states(out)]
    assert end in states  # a window ended on the midnight the tickets sit on
    # (the last state is repeated once more: it adds the deleted tickets' ids)
    assert all(s == _midnight(s) for s in states[:-2]) and states[-1] == states[-2] == now


def test_incremental_resumes_from_state_and_never_moves_it_backwards(frozen_clock, simulator, tmp_path):
    sim = simulator(tickets=600, seed=23, span_days=60, end=NOW.isoformat())
    saved = _midnight(NOW - 10 * DAY)
    lookback = saved - dt.timedelta(minutes=5)
    out = run_connector("read", sim_config(sim), tmp_path, INCREMENTAL, state=_state_msg(saved.isoformat()))
    assert not out.errors, out.errors
    got = {r["id"] for r in out.records}
    expected = {i for i, t in sim.truth().items() if _at(t["last_update"]) >= lookback}
    assert expected and expected <= got
    assert all(_at(r["last_update"]) >= lookback for r in out.records)
    first_from = min(p["lastupdatefromdate"] for p in _ticket_requests(sim))
    assert first_from == query_time(lookback - dt.timedelta(seconds=1))  # state - 5 min look-back - 1 s
    states = [_at(s["last_update"]) for s in _stream_states(out)]
    assert states and all(s > saved for s in states) and states[-1] == NOW


def test_a_future_state_reads_nothing_and_keeps_the_state(frozen_clock, simulator, tmp_path):
    sim = simulator(tickets=50, end=NOW.isoformat())
    future = (NOW + DAY).isoformat()
    out = run_connector("read", sim_config(sim), tmp_path, INCREMENTAL, state=_state_msg(future))
    assert not out.errors, out.errors
    assert out.records == [] and sim.api_requests("/api") == []
    assert _stream_states(out)[-1]["last_update"] == future


def test_tickets_sharing_the_cursor_second_are_not_lost_at_the_next_read(frozen_clock, simulator, tmp_path):
    # 300 tickets share one second, and the first read ends inside it. After the read, tickets are
    # updated and created within that second, before the state's instant (Halo's clock is not ours).
    second = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # still ahead
    sim = simulator(tickets=400, seed=24, span_days=5, end=second.isoformat())
    live = sorted(sim.truth())
    shared = sim.mutate(ids=live[:300])
    assert {sim.truth()[i]["last_update"] for i in shared} == {halo_time(second)}
    frozen_clock(second + dt.timedelta(milliseconds=400))
    first = run_connector("read", sim_config(sim, page_size=50), tmp_path / "first", INCREMENTAL)
    assert not first.errors, first.errors
    assert {r["id"] for r in _live(first.records)} == set(sim.truth())
    state = _at(_stream_states(first)[-1]["last_update"])
    assert state.replace(microsecond=0) == second  # the read ended inside the shared second

    earlier = live[300:340]
    assert all(_at(sim.truth()[i]["last_update"]) < second for i in earlier)
    sim.mutate(ids=earlier, create=5)  # now at `second`, before the state
    created = sim.mutations[-1]["created"]
    frozen_clock(second + dt.timedelta(seconds=2))
    again = run_connector("read", sim_config(sim, page_size=50), tmp_path / "second", INCREMENTAL, state=final_state(first))
    assert not again.errors, again.errors
    latest = {r["id"]: _at(r["last_update"]) for r in again.records}
    assert set(earlier) | set(created) <= set(latest)
    assert all(latest[i] == second for i in earlier + created)


def test_a_ticket_leaving_its_window_while_it_is_paged_does_not_make_another_one_skipped(frozen_clock, simulator, tmp_path):
    # After the first page Halo answered, 30 tickets are deleted: those after them move up, some onto
    # pages already read.
    sim = simulator(tickets=600, seed=25, span_days=30, end=NOW.isoformat(), mutate_schedule=[{"after": 1, "delete": 30}])
    out = run_connector("read", sim_config(sim, page_size=50, parallel_requests=1), tmp_path, TICKETS)
    assert not out.errors, out.errors
    ids = {r["id"] for r in out.records}
    deleted = set(sim.mutations[0]["deleted"])
    assert set(sim.truth()) <= ids, sorted(set(sim.truth()) - ids)
    assert deleted & ids  # some were on the first page, read before they left
    first_pages = [tuple(sorted(p.items())) for p in _ticket_requests(sim) if p["page_no"] == "1"]
    assert len(first_pages) > len(set(first_pages))  # a part was read again from its first page


def test_estimate_trace_comes_from_record_count(frozen_clock, simulator, tmp_path):
    sim = simulator(tickets=321, seed=26, end=NOW.isoformat())
    out = run_connector("read", sim_config(sim), tmp_path, TICKETS)
    assert not out.errors, out.errors
    estimates = [m["trace"]["estimate"] for m in out.of_type("TRACE") if m["trace"]["type"] == "ESTIMATE"]
    assert estimates == [{"name": "tickets", "type": "STREAM", "row_estimate": len(sim.truth())}]


def test_ticket_type_streams_filter_by_type_and_keep_only_their_fields(frozen_clock, simulator, tmp_path):
    sim = simulator(tickets=300, seed=27, end=NOW.isoformat())
    cfg = sim_config(sim, ticket_types={"incidents": {"type_id": 1, "fields": ["summary"]}, "requests": {"type_id": 2}})
    out = run_connector("read", cfg, tmp_path, catalog("incidents", "requests"))
    assert not out.errors, out.errors
    truth = sim.truth()
    incidents, requests_ = out.records_of("incidents"), out.records_of("requests")
    assert {r["id"] for r in incidents} == {i for i, t in truth.items() if t["tickettype_id"] == 1}
    assert {r["id"] for r in requests_} == {i for i, t in truth.items() if t["tickettype_id"] == 2}
    assert all(set(r) == {"id", "last_update", "summary"} for r in incidents)
    assert all(r["tickettype_id"] == 2 and "status_id" in r for r in requests_)
    assert {p["requesttype_id"] for p in _ticket_requests(sim)} == {"1", "2"}


def test_datetimes_are_utc_with_offset_and_sentinels_become_null(frozen_clock, tmp_path):
    updated = (NOW - dt.timedelta(hours=2)).replace(microsecond=120000)
    occurred = (NOW - 3 * DAY).replace(microsecond=0)
    row = ticket(
        1,
        updated,
        dateoccurred=halo_time(occurred),
        targetdate="1900-01-01T00:00:00",
        deadlinedate="1899-12-30T00:00:00",
        lastincomingemail="0001-01-01T00:00:00",
        dateclosed=None,
        category_3=None,
        site_id=18.0,
    )
    cfg = config()
    with HttpMocker() as http:
        http.post(token_request(cfg).build(), token_response("t-1").build())
        mock_window(http, START, NOW, {"open_only": [row], "closed_only": []})
        out = run_connector("read", cfg, tmp_path, TICKETS)
    assert not out.errors, out.errors
    [record] = out.records
    assert record["last_update"] == updated.isoformat()  # e.g. ...T12:45:15.120000+00:00
    assert record["last_update"].endswith(".120000+00:00")
    assert record["dateoccurred"] == occurred.isoformat()
    # Halo's "no date" sentinels and Halo's own nulls: present, as null.
    for field in ("targetdate", "deadlinedate", "lastincomingemail", "dateclosed", "category_3"):
        assert field in record and record[field] is None, (field, record)
    assert record["site_id"] == 18 and isinstance(record["site_id"], int)


def test_id_set_holds_exactly_the_ids_added():
    import random

    from source_haloitsm.state import IdSet

    ids = IdSet()
    added = set(random.Random(5).sample(range(2_000_000), 5000)) | {0, 7, 8, IdSet.LIMIT - 1}
    odd = {IdSet.LIMIT, -3, 18.5, "T-9", None}  # not small non-negative ints: kept aside, still found
    ids.update(list(added) + list(odd))
    probe = set(random.Random(6).sample(range(2_000_000), 5000)) | {1, 9, IdSet.LIMIT - 2, 10**12}
    assert all(i in ids for i in added | odd)
    assert [i for i in probe - added if i in ids] == []
    assert "9" not in ids and 18.0 not in ids
