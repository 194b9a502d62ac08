"""The rest of Halo's data model against the simulator: every reference list whole (inactive rows
included), every id a ticket carries resolving, custom fields as typed columns at no extra request,
the per-ticket fallback when Halo ignores `include_custom_fields`, incremental reference lists, and
what each costs in requests."""
from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter

import pytest

from integration_tests.harness import catalog, final_state, run_connector, sim_config
from source_haloitsm.custom_fields import column_name

os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.01")

REFERENCE = [
    "statuses", "ticket_types", "priorities", "slas", "teams", "agents", "clients", "sites", "users", "categories",
    "outcomes", "custom_field_definitions",
]
PATHS = {
    "statuses": "/api/status", "ticket_types": "/api/tickettype", "priorities": "/api/priority", "slas": "/api/sla",
    "teams": "/api/team", "agents": "/api/agent", "clients": "/api/client", "sites": "/api/site", "users": "/api/users",
    "categories": "/api/category", "outcomes": "/api/outcome", "custom_field_definitions": "/api/fieldinfo",
}


def truth_keys(sim, stream):
    truth = sim.truth(stream)
    if stream == "priorities":  # {priorityid: {slaid: row}}
        return {(slaid, priorityid) for priorityid, by_sla in truth.items() for slaid in by_sla}
    return set(truth)


def keys(records, stream):
    if stream == "priorities":
        return [(r["slaid"], r["priorityid"]) for r in records]
    return [r["id"] for r in records]


def test_every_reference_list_is_read_whole_with_its_inactive_rows(simulator, tmp_path):
    sim = simulator(tickets=300, seed=31)
    out = run_connector("read", sim_config(sim), tmp_path, catalog(*REFERENCE))
    assert not out.errors, out.errors
    for stream in REFERENCE:
        delivered = keys(out.records_of(stream), stream)
        assert len(delivered) == len(set(delivered)), stream
        assert set(delivered) == truth_keys(sim, stream), stream
    # Halo lists these only when asked (the simulator's hide_inactive): they are here.
    assert any(a["isdisabled"] for a in out.records_of("agents"))
    assert any(a["id"] == 1 for a in out.records_of("agents"))  # "Unassigned"
    assert any(u["inactive"] for u in out.records_of("users")) and any(c["inactive"] for c in out.records_of("clients"))
    assert any(t.get("active") is False for t in out.records_of("ticket_types"))
    # decimal ids and datetimes normalised as on tickets
    site = out.records_of("sites")[0]
    assert isinstance(site["client_id"], int)
    user = next(u for u in out.records_of("users") if u.get("ulastupdate"))
    assert user["ulastupdate"].endswith("+00:00") and isinstance(user["site_id"], int)


def test_every_id_a_ticket_carries_resolves_to_a_name(simulator, tmp_path):
    sim = simulator(tickets=1500, seed=32)
    out = run_connector("read", sim_config(sim), tmp_path, catalog("tickets", *REFERENCE))
    assert not out.errors, out.errors
    ids = {stream: set(keys(out.records_of(stream), stream)) for stream in REFERENCE}
    tickets = out.records_of("tickets")
    assert len(tickets) == len(sim.truth())
    unresolved = Counter()
    for t in tickets:
        for field, stream in (("agent_id", "agents"), ("team_id", "teams"), ("status_id", "statuses"), ("client_id", "clients"),
                              ("site_id", "sites"), ("user_id", "users"), ("sla_id", "slas"), ("tickettype_id", "ticket_types")):
            if t[field] not in ids[stream]:
                unresolved[field] += 1
        if (t["sla_id"], t["priority_id"]) not in ids["priorities"]:
            unresolved["priority_id"] += 1
        for n in (1, 2, 3, 4):
            if t[f"categoryid_{n}"] and t[f"categoryid_{n}"] not in ids["categories"]:
                unresolved[f"categoryid_{n}"] += 1
    assert not unresolved, unresolved


def test_a_reference_list_costs_at_most_a_request_per_hundred_rows_plus_one(simulator, tmp_path):
    sim = simulator(tickets=300, seed=33)
    out = run_connector("read", sim_config(sim), tmp_path, catalog(*REFERENCE))
    assert not out.errors, out.errors
    requests = Counter(e["path"].lower() for e in sim.request_log)
    for stream in REFERENCE:
        rows = len(out.records_of(stream))
        assert 1 <= requests[PATHS[stream]] <= math.ceil(rows / 100) + 1, (stream, rows, requests[PATHS[stream]])
    assert len(out.records_of("users")) > 300  # a list Halo pages, read in several pages


def test_custom_fields_come_with_the_ticket_pages_typed_at_no_extra_request(simulator, tmp_path):
    sim = simulator(tickets=1200, seed=34)
    plain = run_connector("read", sim_config(sim), tmp_path / "plain", catalog("tickets"))
    # (the listing of deleted tickets every read ends with is the same in both reads: left out)
    plain_requests = sum(1 for e in sim.request_log if e["path"].lower() == "/api/tickets" and "deleted" not in e["params"])
    sim.reset_log()
    config = sim_config(sim, custom_fields=["all"])
    discover = run_connector("discover", config, tmp_path / "discover")
    sim.reset_log()
    out = run_connector("read", config, tmp_path / "custom", catalog("tickets"))
    assert not out.errors, out.errors
    ticket_requests = [e for e in sim.request_log if e["path"].lower().startswith("/api/tickets") and "deleted" not in e["params"]]
    assert len(ticket_requests) == plain_requests  # the same pages, nothing per ticket
    assert all(e["path"].lower() == "/api/tickets" and e["params"].get("include_custom_fields") for e in ticket_requests)
    assert len(out.records) == len(plain.records)

    definitions = sim.truth("custom_field_definitions")
    schema = next(s for s in discover.of_type("CATALOG")[0]["catalog"]["streams"] if s["name"] == "tickets")["json_schema"]
    values = sim.truth("ticket_custom_fields")
    checked = Counter()
    for record in out.records:
        for field_id, definition in definitions.items():
            column = column_name(definition["name"])
            assert column in schema["properties"] and column in record
            value, expected = record[column], values.get(record["id"], {}).get(field_id)
            kind = definition["type"]
            if expected is None:
                assert value is None, (record["id"], column, value)
            elif kind == 4:  # date: ISO 8601 UTC
                assert dt.datetime.fromisoformat(value) == dt.datetime.fromisoformat(expected).replace(tzinfo=dt.timezone.utc)
            elif kind == 6:  # checkbox: a boolean
                assert value is expected
            elif kind == 2:  # single selection: the option's name
                assert value == next(o["name"] for o in definition["values"] if o["id"] == expected)
            else:
                assert value == str(expected)
            checked[kind] += expected is not None
    assert all(checked[k] > 0 for k in (0, 1, 2, 4, 6)), checked
    assert schema["properties"][column_name("CFdueDate")]["format"] == "date-time"
    assert schema["properties"][column_name("CFvip")]["type"] == ["null", "boolean"]
    assert all(isinstance(r["customfields"], list) for r in out.records)  # Halo's raw array is kept


def test_an_instance_that_ignores_include_custom_fields_is_read_ticket_by_ticket_with_one_warning(simulator, tmp_path):
    sim = simulator(tickets=150, seed=35, ignore_include_custom_fields=True)
    out = run_connector("read", sim_config(sim, custom_fields=["CFimpact", "Due date"]), tmp_path, catalog("tickets"))
    assert not out.errors, out.errors
    details = [e for e in sim.request_log if e["path"].lower().startswith("/api/tickets/")]
    assert len(details) == len(out.records) == len(sim.truth())
    warnings = [m for m in out.of_type("LOG") if m["log"]["level"] == "WARN" and "include_custom_fields" in m["log"]["message"]]
    assert len(warnings) == 1
    assert any(f"{len(details)} request(s) GET /api/Tickets/{{id}}" in line for line in out.logs)
    values = sim.truth("ticket_custom_fields")
    impacts = {r["id"]: r["cf_impact"] for r in out.records}
    assert sum(v is not None for v in impacts.values()) == sum(165 in values.get(i, {}) for i in impacts)


def test_an_unknown_custom_field_is_a_config_error_with_the_close_matches(simulator, tmp_path):
    sim = simulator(tickets=50, seed=36)
    config = sim_config(sim, custom_fields=["CFimpcat"])
    check = run_connector("check", config, tmp_path / "check").connection_status
    read = run_connector("read", config, tmp_path / "read", catalog("tickets"))
    assert check["status"] == "FAILED"
    assert read.errors and read.errors[-1]["failure_type"] == "config_error"
    for message in (check["message"], read.errors[-1]["message"]):
        assert "'custom_fields'" in message and "'CFimpcat'" in message and "did you mean 'CFimpact'" in message


def test_users_clients_and_sites_are_read_incrementally_from_their_last_update(simulator, tmp_path):
    sim = simulator(tickets=200, seed=37)
    streams = ("users", "clients", "sites")
    config = sim_config(sim)
    first = run_connector("read", config, tmp_path / "1", catalog(*streams, sync_mode="incremental"))
    assert not first.errors, first.errors
    assert {s: len(first.records_of(s)) for s in streams} == {s: len(sim.truth(s)) for s in streams}
    sim.mutate(users=5, clients=2, sites=3)
    sim.reset_log()
    second = run_connector("read", config, tmp_path / "2", catalog(*streams, sync_mode="incremental"), state=final_state(first))
    assert not second.errors, second.errors
    mutation = sim.mutations[-1]
    for stream, key in (("users", "users"), ("clients", "clients"), ("sites", "sites")):
        got = {r["id"] for r in second.records_of(stream)}
        assert mutation[key] and set(mutation[key]) <= got, (stream, mutation[key], got)
        assert len(got) < len(sim.truth(stream)) / 2  # only what changed (and the look-back)
    asked = [e for e in sim.request_log if e["path"].lower() in ("/api/users", "/api/client", "/api/site")]
    assert len(asked) == 3 and all("lastupdatefromdate" in e["params"] for e in asked)


@pytest.mark.parametrize("shape", ["array", "object"])
def test_categories_in_either_shape(simulator, tmp_path, shape):
    sim = simulator(tickets=50, seed=38, category_shape=shape)
    out = run_connector("read", sim_config(sim), tmp_path, catalog("categories"))
    assert not out.errors, out.errors
    assert {r["id"] for r in out.records} == set(sim.truth("categories"))


@pytest.mark.parametrize("settings,expected", [
    ({}, 2),
    ({"ticket_types": [{"name": "incidents", "type": "Incident"}]}, 3),
    ({"custom_fields": ["CFimpact"]}, 3),
    ({"ticket_types": [{"name": "incidents", "type": "Incident"}], "custom_fields": ["all"]}, 4),
], ids=["plain", "ticket_types", "custom_fields", "both"])
def test_check_costs_a_token_a_ticket_and_one_request_per_thing_to_resolve(simulator, tmp_path, settings, expected):
    sim = simulator(tickets=50, seed=39)
    status = run_connector("check", sim_config(sim, **settings), tmp_path).connection_status
    assert status["status"] == "SUCCEEDED", status
    assert len(sim.request_log) == expected, [e["path"] for e in sim.request_log]
