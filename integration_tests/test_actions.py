"""The actions stream against the simulator: history by time at a cost that follows the days and the
actions (not the tickets), the switch to 12-hour windows and to ticket-by-ticket reads when Halo does
not answer date ranges, incremental syncs that bring new, edited and deleted actions, the settings,
and the key (ticket_id, id)."""
from __future__ import annotations

import datetime as dt
import math
import os
from collections import Counter

import pytest

from integration_tests.harness import catalog, final_state, run_connector, sim_config
from source_haloitsm.actions import windows

os.environ.setdefault("SOURCE_HALOITSM_BACKOFF_SCALE", "0.01")

ACTIONS = catalog("actions", sync_mode="incremental")
UTC = dt.timezone.utc


def keys(records):
    return [(r["ticket_id"], r["id"]) for r in records]


def action_requests(sim):
    return [e for e in sim.request_log if e["path"].lower() == "/api/actions"]


def test_windows_are_whole_days_or_halves_aligned_to_midnight():
    lower = dt.datetime(2025, 3, 30, 17, 5, tzinfo=UTC)
    upper = dt.datetime(2025, 4, 2, 9, 0, 0, 500, tzinfo=UTC)
    days = windows(lower, upper)
    assert [w.start for w in days][0] == lower and days[-1].end == upper
    assert [w.end for w in days[:-1]] == [dt.datetime(2025, 3, 31, tzinfo=UTC), dt.datetime(2025, 4, 1, tzinfo=UTC), dt.datetime(2025, 4, 2, tzinfo=UTC)]
    halves = windows(lower, upper, dt.timedelta(hours=12))
    assert len(halves) == 6 and all(w.end.hour in (0, 12) for w in halves[:-1])
    assert all(a.end == b.start for a, b in zip(halves, halves[1:]))


@pytest.mark.parametrize("limit,span_hours", [(0, 24), (1, 12)], ids=["no-range-limit", "one-day-limit"])
def test_history_is_read_by_time_at_about_a_request_a_window_plus_one_per_hundred_actions(simulator, tmp_path, limit, span_hours):
    sim = simulator(tickets=600, seed=51, span_days=90, actions_max_range_days=limit)
    out = run_connector("read", sim_config(sim, start_date=(dt.date.today() - dt.timedelta(days=100)).isoformat()), tmp_path, ACTIONS)
    assert not out.errors, out.errors
    delivered = keys(out.records)
    assert len(delivered) == len(set(delivered)) and set(delivered) == set(sim.truth("actions"))
    requests = action_requests(sim)
    days = 101  # start_date .. today
    windows_read = math.ceil(days * 24 / span_hours)
    assert len(requests) <= windows_read + math.ceil(len(delivered) / 100) + 2 + (limit == 1), (len(requests), windows_read)
    assert len(requests) < len(sim.truth()) / 2  # far below one per ticket
    assert all("ticket_id" not in e["params"] and "startdate" in e["params"] for e in requests)
    refused = [e for e in requests if e["status"] == 400]
    assert len(refused) == (1 if limit == 1 else 0)  # the day-and-a-second range, once


@pytest.mark.parametrize("mode", ["refuse", "empty"])
def test_an_instance_that_does_not_answer_date_ranges_is_read_ticket_by_ticket_saying_so_once(simulator, tmp_path, mode):
    sim = simulator(tickets=300, seed=52, span_days=60, actions_range=mode)
    out = run_connector("read", sim_config(sim), tmp_path, ACTIONS)
    assert not out.errors, out.errors
    assert set(keys(out.records)) == set(sim.truth("actions"))
    per_ticket = [e for e in action_requests(sim) if "ticket_id" in e["params"]]
    assert len({e["params"]["ticket_id"] for e in per_ticket}) == len(sim.truth())
    warnings = [m["log"]["message"] for m in out.of_type("LOG") if m["log"]["level"] == "WARN" and "ticket by ticket" in m["log"]["message"]]
    assert len(warnings) == 1, warnings


def test_incremental_syncs_bring_new_edited_and_deleted_actions_from_the_changed_tickets_only(simulator, tmp_path):
    sim = simulator(tickets=400, seed=53, span_days=60)
    first = run_connector("read", sim_config(sim), tmp_path / "1", ACTIONS)
    assert not first.errors, first.errors
    sim.mutate(actions_add=6, actions_edit=4, actions_delete=2, delete=3)
    mutation = sim.mutations[-1]
    sim.reset_log()
    second = run_connector("read", sim_config(sim), tmp_path / "2", ACTIONS, state=final_state(first))
    assert not second.errors, second.errors
    truth = sim.truth("actions")
    got = {(r["ticket_id"], r["id"]): r for r in second.records}
    for key in map(tuple, mutation["actions_added"] + mutation["actions_edited"]):
        if key in truth:  # (not on a ticket deleted meanwhile)
            assert key in got, key
            assert dt.datetime.fromisoformat(got[key]["last_updated"]) == dt.datetime.fromisoformat(truth[key]["last_updated"]).replace(tzinfo=UTC)
    for ticket_id in mutation["deleted"]:  # deleted tickets: their actions do not come again
        assert not [k for k in got if k[0] == ticket_id]
    changed_tickets = {k[0] for k in got}
    assert len(changed_tickets) <= 12 + 5  # the tickets the mutations touched (and the look-back's few)
    per_ticket = {int(e["params"]["ticket_id"]) for e in action_requests(sim) if "ticket_id" in e["params"]}
    # each changed ticket's actions, and each newly deleted ticket's (Halo lists none here: deletions.py)
    assert per_ticket == changed_tickets | set(mutation["deleted"])
    assert len([e for e in action_requests(sim) if "ticket_id" in e["params"]]) == len(per_ticket)


def test_ids_repeat_across_tickets_and_the_key_is_ticket_id_and_id(simulator, tmp_path):
    sim = simulator(tickets=200, seed=54, span_days=30)
    out = run_connector("read", sim_config(sim), tmp_path, ACTIONS)
    assert not out.errors, out.errors
    ids = Counter(r["id"] for r in out.records)
    assert ids[1] > 100  # every ticket has an action 1
    assert len(set(keys(out.records))) == len(out.records)
    discover = run_connector("discover", sim_config(sim), tmp_path / "d")
    stream = next(s for s in discover.of_type("CATALOG")[0]["catalog"]["streams"] if s["name"] == "actions")
    assert stream["source_defined_primary_key"] == [["ticket_id"], ["id"]]
    assert stream["default_cursor_field"] == ["datetime"] and "incremental" in stream["supported_sync_modes"]


def test_the_settings_leave_out_system_actions_and_private_notes_and_add_html(simulator, tmp_path):
    sim = simulator(tickets=150, seed=55, span_days=30)
    everything = run_connector("read", sim_config(sim), tmp_path / "all", catalog("actions"))
    sim.reset_log()
    config = sim_config(sim, actions_include_system=False, actions_include_private=False, actions_html=True)
    out = run_connector("read", config, tmp_path / "some", catalog("actions"))
    assert not out.errors, out.errors
    assert all(e["params"].get("excludesys") == "true" and e["params"].get("excludeprivate") == "true"
               and e["params"].get("includehtmlnote") == "true" for e in action_requests(sim))
    assert not any(r["hiddenfromuser"] for r in out.records)
    assert not any(r.get("action_systemid") for r in out.records)
    assert any(r.get("action_systemid") for r in everything.records) and any(r["hiddenfromuser"] for r in everything.records)
    assert all("note_html" in r for r in out.records) and not any("note_html" in r for r in everything.records)
    assert datetime_fields_are_utc(out.records)


def datetime_fields_are_utc(records):
    for record in records:
        for field in ("datetime", "actiondatecreated", "last_updated"):
            value = record.get(field)
            if value is not None and not value.endswith("+00:00"):
                return False
    return True


def test_incremental_by_time_reads_the_new_actions_of_the_days_since_the_state(simulator, tmp_path):
    sim = simulator(tickets=400, seed=56, span_days=60, actions_max_range_days=0)
    config = sim_config(sim, actions_incremental="by_time")
    first = run_connector("read", config, tmp_path / "1", ACTIONS)
    sim.mutate(actions_add=8)
    added = [tuple(k) for k in sim.mutations[-1]["actions_added"]]
    sim.reset_log()
    second = run_connector("read", config, tmp_path / "2", ACTIONS, state=final_state(first))
    assert not second.errors, second.errors
    assert set(added) <= set(keys(second.records))
    requests = action_requests(sim)
    assert requests and all("ticket_id" not in e["params"] for e in requests) and len(requests) <= 3
    # no ticket list but the listing of deleted tickets (deletions.py)
    assert not [e for e in sim.request_log if e["path"].lower() == "/api/tickets" and e["params"].get("deleted") != "true"]
