"""Tickets deleted in Halo leave the destination (source_haloitsm/deletions.py).

Each test applies what a deduplicating destination does with what was delivered: the latest record per
primary key wins, and a key whose latest record has `_ab_cdc_deleted_at` set is dropped. What remains
must be Halo's live data, whether or not Halo moves a ticket's `last_update` when it is deleted (a
simulator switch: unknown in Halo).
"""
from __future__ import annotations

from typing import Dict, Iterable, Mapping, Tuple

import pytest

from integration_tests.harness import catalog, final_state, run_connector, sim_config

DELETED_AT = "_ab_cdc_deleted_at"
INCREMENTAL = catalog("tickets", sync_mode="incremental")


def mirror(records: Iterable[Mapping], key: Tuple[str, ...] = ("id",)) -> Dict:
    """The destination's rows after deduplication: the latest record per key, deletions dropped."""
    latest: Dict = {}
    for record in records:
        latest[tuple(record[k] for k in key)] = record
    return {k: r for k, r in latest.items() if r.get(DELETED_AT) is None}


def deletion_listing(sim):
    return [e for e in sim.api_requests("/api/tickets") if e["params"].get("deleted") == "true"]


@pytest.mark.parametrize("moves", [False, True], ids=["last_update-unchanged", "last_update-moves"])
def test_tickets_deleted_between_syncs_are_dropped_by_the_destination(simulator, tmp_path, moves):
    sim = simulator(tickets=1500, seed=61, delete_moves_last_update=moves)
    first = run_connector("read", sim_config(sim), tmp_path / "1", INCREMENTAL)
    assert not first.errors, first.errors
    assert not [r for r in first.records if r.get(DELETED_AT)]  # nothing this read emitted was deleted
    sim.mutate(update=10)
    sim.mutate(delete=20)
    deleted = sim.mutations[-1]["deleted"]
    sim.reset_log()
    second = run_connector("read", sim_config(sim), tmp_path / "2", INCREMENTAL, state=final_state(first))
    assert not second.errors, second.errors
    reported = [r for r in second.records if r.get(DELETED_AT)]
    assert sorted(r["id"] for r in reported) == sorted(deleted)  # each once, and only those
    assert all(r["last_update"] >= r[DELETED_AT] or moves for r in reported)
    rows = mirror(first.records + second.records)
    assert {k[0] for k in rows} == set(sim.truth()) and not set(deleted) & {k[0] for k in rows}
    # the cost: one listing of the deleted tickets, both status parts (16 deleted tickets fit a page each)
    assert len(deletion_listing(sim)) == 2
    # a third sync finds nothing new to report
    third = run_connector("read", sim_config(sim), tmp_path / "3", INCREMENTAL, state=final_state(second))
    assert not [r for r in third.records if r.get(DELETED_AT)]


def test_a_first_sync_reports_the_tickets_deleted_while_it_read_them(simulator, tmp_path):
    """30 tickets are deleted after the 12th page: some were already emitted. Those (and only those:
    not the tickets deleted before the sync) come again as deletions at the end of the same sync."""
    sim = simulator(tickets=1500, seed=62, mutate_schedule=[{"after": 12, "delete": 30}])
    out = run_connector("read", sim_config(sim, page_size=50, parallel_requests=1), tmp_path, INCREMENTAL)
    assert not out.errors, out.errors
    deleted_during = set(sim.mutations[0]["deleted"])
    emitted_live = {r["id"] for r in out.records if r.get(DELETED_AT) is None}
    reported = {r["id"] for r in out.records if r.get(DELETED_AT)}
    assert reported == deleted_during & emitted_live and reported
    assert {k[0] for k in mirror(out.records)} == set(sim.truth())


def test_a_full_refresh_emits_only_live_tickets_and_keeps_the_deleted_ones_in_its_state(simulator, tmp_path):
    """A full refresh emits the live tickets only; its listing of the deleted ones goes into the
    state, so an incremental sync from that state (PyAirbyte reads that way) reports only newer ones."""
    sim = simulator(tickets=800, seed=63)
    out = run_connector("read", sim_config(sim), tmp_path / "full", catalog("tickets"))
    assert not out.errors, out.errors
    assert {r["id"] for r in out.records} == set(sim.truth()) and not [r for r in out.records if DELETED_AT in r]
    assert len(deletion_listing(sim)) == 2
    sim.mutate(delete=3)
    after = run_connector("read", sim_config(sim), tmp_path / "incremental", INCREMENTAL, state=final_state(out))
    assert {r["id"] for r in after.records if r.get(DELETED_AT)} == set(sim.mutations[-1]["deleted"])


def test_ticket_type_streams_share_one_listing_and_report_their_own_deletions(simulator, tmp_path):
    sim = simulator(tickets=1500, seed=64)
    config = sim_config(sim, ticket_types=[{"name": "incidents", "type": "1"}, {"name": "requests", "type": "2"}])
    both = catalog("incidents", "requests", sync_mode="incremental")
    first = run_connector("read", config, tmp_path / "1", both)
    assert not first.errors, first.errors
    sim.mutate(delete=40)
    deleted = sim.mutations[-1]["deleted"]
    sim.reset_log()
    second = run_connector("read", config, tmp_path / "2", both, state=final_state(first))
    assert not second.errors, second.errors
    truth = sim.truth(include_deleted=True)
    for stream, type_id in (("incidents", 1), ("requests", 2)):
        reported = {r["id"] for r in second.records_of(stream) if r.get(DELETED_AT)}
        assert reported == {i for i in deleted if truth[i]["tickettype_id"] == type_id}, stream
    assert len(deletion_listing(sim)) == 2  # one listing for both streams


@pytest.mark.parametrize("listed", [True, False], ids=["halo-lists-their-actions", "halo-hides-their-actions"])
def test_the_actions_of_deleted_tickets_follow_where_halo_lists_them(simulator, tmp_path, listed):
    sim = simulator(tickets=500, seed=65, span_days=60, deleted_ticket_actions="listed" if listed else "hidden")
    streams = catalog("tickets", "actions", sync_mode="incremental")
    first = run_connector("read", sim_config(sim), tmp_path / "1", streams)
    assert not first.errors, first.errors
    sim.mutate(delete=6, update=4)
    deleted = set(sim.mutations[-1]["deleted"])
    second = run_connector("read", sim_config(sim), tmp_path / "2", streams, state=final_state(first))
    assert not second.errors, second.errors
    actions = first.records_of("actions") + second.records_of("actions")
    rows = mirror(actions, ("ticket_id", "id"))
    reported = {r["ticket_id"] for r in second.records_of("actions") if r.get(DELETED_AT)}
    summary = [m["log"]["message"] for m in second.of_type("LOG") if m["log"]["message"].startswith("Stream 'actions': done")]
    if listed:
        assert set(rows) == set(sim.truth("actions")) and reported == deleted
    else:
        # Halo gives no way to name them: they stay, and the log says so and what to do.
        assert not reported and {k[0] for k in rows} - set(sim.truth()) == deleted
        assert "join actions to tickets" in summary[0]


def test_a_state_without_deleted_ids_gets_every_deleted_ticket_reported_once(simulator, tmp_path):
    """A state without `deleted_ids` (from a version before deletions were reported): which deletions
    the destination has seen is unknown, so the next incremental sync reports every deleted ticket,
    and the one after only new ones."""
    sim = simulator(tickets=1200, seed=66)
    full = run_connector("read", sim_config(sim), tmp_path / "1", catalog("tickets"))
    assert not full.errors, full.errors
    old_state = [{**m, "stream": {**m["stream"], "stream_state": {"last_update": m["stream"]["stream_state"]["last_update"]}}}
                 for m in final_state(full)]
    sim.mutate(delete=7)
    second = run_connector("read", sim_config(sim), tmp_path / "2", INCREMENTAL, state=old_state)
    assert not second.errors, second.errors
    every_deleted = {i for i, t in sim.truth(include_deleted=True).items() if t["deleted"]}
    assert {r["id"] for r in second.records if r.get(DELETED_AT)} == every_deleted
    assert {k[0] for k in mirror(full.records + second.records)} == set(sim.truth())
    sim.mutate(delete=2)
    third = run_connector("read", sim_config(sim), tmp_path / "3", INCREMENTAL, state=final_state(second))
    assert {r["id"] for r in third.records if r.get(DELETED_AT)} == set(sim.mutations[-1]["deleted"])
