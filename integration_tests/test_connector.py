"""The connector against the Halo simulator: full refresh, incremental after changes, ticket_types
streams with fields, and windows read in parallel. Assertions compare with the simulator's truth."""
import datetime as dt
import os


from integration_tests.harness import catalog, final_state, run_connector, run_console_script, sim_config

os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.01")


def _delivered(out, stream="tickets"):
    return {r["id"]: r["last_update"] for r in out.records_of(stream)}


def _as_utc(naive):
    return dt.datetime.fromisoformat(naive).replace(tzinfo=dt.timezone.utc)


def test_full_refresh_delivers_every_ticket_once_with_its_last_update(simulator, tmp_path):
    sim = simulator(tickets=3000, seed=7)
    out = run_connector("read", sim_config(sim), tmp_path, catalog("tickets"))
    assert not out.errors, out.errors
    truth = sim.truth()
    ids = [r["id"] for r in out.records]
    assert len(ids) == len(set(ids)) == len(truth)
    delivered = _delivered(out)
    assert set(delivered) == set(truth)
    assert all(dt.datetime.fromisoformat(delivered[i]) == _as_utc(t["last_update"]) for i, t in truth.items())


def test_incremental_after_changes_delivers_the_changed_tickets_in_a_few_requests(simulator, tmp_path):
    sim = simulator(tickets=2000, seed=8)
    first = run_connector("read", sim_config(sim), tmp_path / "1", catalog("tickets", sync_mode="incremental"))
    assert {r["id"] for r in first.records} == set(sim.truth())
    changed = set(sim.mutate(update=40)) | set(sim.mutate(create=5))
    sim.reset_log()
    second = run_connector("read", sim_config(sim), tmp_path / "2", catalog("tickets", sync_mode="incremental"), state=final_state(first))
    delivered = _delivered(second)
    assert changed <= set(delivered)
    truth = sim.truth()
    assert all(dt.datetime.fromisoformat(delivered[i]) == _as_utc(truth[i]["last_update"]) for i in changed)
    ticket_requests = [e for e in sim.request_log if e["path"].lower().startswith("/api/tickets")]
    assert len(ticket_requests) <= 4, ticket_requests
    assert len(second.records) < 100


def test_ticket_type_streams_with_fields(simulator, tmp_path):
    sim = simulator(tickets=1500, seed=9)
    config = sim_config(sim, ticket_types={
        "incidents": {"type_id": 1, "fields": ["summary", "status_id", "dateoccurred"]},
        "service_requests": {"type_id": 2},
    })
    check = run_connector("check", config, tmp_path)
    assert check.connection_status["status"] == "SUCCEEDED", check.connection_status
    discover = run_connector("discover", config, tmp_path)
    schemas = {s["name"]: s["json_schema"] for s in discover.of_type("CATALOG")[0]["catalog"]["streams"]}
    assert set(schemas["incidents"]["properties"]) == {"id", "last_update", "summary", "status_id", "dateoccurred", "_ab_cdc_deleted_at"}
    assert len(schemas["service_requests"]["properties"]) > 90
    out = run_connector("read", config, tmp_path, catalog("incidents", "service_requests"))
    truth = sim.truth()
    for stream, type_id in (("incidents", 1), ("service_requests", 2)):
        expected = {i for i, t in truth.items() if t["tickettype_id"] == type_id}
        assert set(_delivered(out, stream)) == expected and expected
    assert all(set(r) <= {"id", "last_update", "summary", "status_id", "dateoccurred"} for r in out.records_of("incidents"))


def test_windows_are_read_in_parallel(simulator, tmp_path):
    # With latency on every request, parallel workers show up as requests in flight at once
    # (0.1 s is long enough for the overlap to show on a loaded machine).
    sim = simulator(tickets=1500, seed=10, latency=0.1)
    out = run_connector("read", sim_config(sim, parallel_requests=4, page_size=20), tmp_path, catalog("tickets"))
    assert {r["id"] for r in out.records} == set(sim.truth())
    assert sim.max_concurrency >= 4  # the planner and several window workers

    serial = simulator(tickets=1500, seed=10, latency=0.1)
    run_connector("read", sim_config(serial, parallel_requests=1, page_size=20), tmp_path / "serial", catalog("tickets"))
    assert serial.max_concurrency <= 2  # the planner and one worker


def test_several_streams_are_read_at_once_and_emitted_one_after_the_other(simulator, tmp_path):
    sim = simulator(tickets=1500, seed=11, latency=0.05)
    streams = [{"name": "incidents", "type_id": 1}, {"name": "changes", "type_id": 4}]
    out = run_connector("read", sim_config(sim, page_size=20, ticket_types=streams), tmp_path, catalog("incidents", "changes"))
    assert not out.errors, out.errors

    def seqs(type_id):
        return [e["seq"] for e in sim.request_log if e["path"].lower() == "/api/tickets" and e["params"].get("requesttype_id") == type_id]

    # The second stream's requests began while the first stream was still being read ...
    assert min(seqs("4")) < max(seqs("1"))
    # ... and the Airbyte output still has each stream's records together, first stream first.
    order = [m["record"]["stream"] for m in out.of_type("RECORD")]
    assert order == ["incidents"] * order.count("incidents") + ["changes"] * order.count("changes")
    truth = sim.truth()
    assert {r["id"] for r in out.records_of("changes")} == {i for i, t in truth.items() if t["tickettype_id"] == 4}


def test_records_keep_nulls_and_state_messages_count_exactly_the_records_before_them(simulator, tmp_path):
    """Through the installed console script, as users and PyAirbyte run it."""
    sim = simulator(tickets=3000, seed=12)
    out = run_console_script("read", sim_config(sim, page_size=50), tmp_path, catalog("tickets"))
    assert out.returncode == 0, out.stderr[-2000:]
    since_last_state = 0
    for message in out.messages:
        if message["type"] == "RECORD":
            since_last_state += 1
        elif message["type"] == "STATE":
            assert message["state"]["sourceStats"]["recordCount"] == since_last_state
            since_last_state = 0
    assert len(out.states) > 1 and since_last_state == 0
    assert len(out.records) == len(sim.truth())
    open_ticket = next(r for r in out.records if r["status_id"] in (1, 2, 3))
    assert "dateclosed" in open_ticket and open_ticket["dateclosed"] is None  # sent by Halo as "no date"


def out_requests(sim):
    return [e for e in sim.request_log if e["path"].lower() == "/api/tickets"]


def test_ticket_types_named_by_name_in_any_case_or_by_id(simulator, tmp_path):
    sim = simulator(tickets=800, seed=13)
    streams = [{"name": "incidents", "type": "incident"}, {"name": "changes", "type": "4"}, {"name": "requests", "type_id": 2}]
    config = sim_config(sim, ticket_types=streams)
    assert run_connector("check", config, tmp_path / "check").connection_status["status"] == "SUCCEEDED"
    out = run_connector("read", config, tmp_path / "read", catalog("incidents", "changes", "requests"))
    assert not out.errors, out.errors
    truth = sim.truth()
    for stream, type_id in (("incidents", 1), ("changes", 4), ("requests", 2)):
        assert {r["id"] for r in out.records_of(stream)} == {i for i, t in truth.items() if t["tickettype_id"] == type_id}
    reads = [e for e in out_requests(sim) if "requesttype_id" in e["params"]]
    assert {e["params"]["requesttype_id"] for e in reads} == {"1", "2", "4"}


def test_an_unknown_ticket_type_name_is_a_config_error_listing_halos_types(simulator, tmp_path):
    sim = simulator(tickets=50, seed=14)
    config = sim_config(sim, ticket_types=[{"name": "incidents", "type": "Incidnet"}])
    check = run_connector("check", config, tmp_path / "check").connection_status
    read = run_connector("read", config, tmp_path / "read", catalog("incidents"))
    assert check["status"] == "FAILED"
    assert read.errors and read.errors[-1]["failure_type"] == "config_error"
    for message in (check["message"], read.errors[-1]["message"]):
        assert "'ticket_types' entry 'incidents'" in message and "'Incidnet'" in message
        assert "1 (Incident)" in message and "4 (Change)" in message
    assert not [e for e in sim.request_log if e["path"].lower() == "/api/tickets" and "requesttype_id" in e["params"]]
