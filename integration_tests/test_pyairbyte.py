"""The connector through PyAirbyte: examples/pyairbyte_example.py run under .venv-pyairbyte.

PyAirbyte lives in an environment of its own (scripts/pyairbyte-venv.sh; `make pyairbyte-venv`),
because it pins its own versions of libraries the connector also uses. The example starts the Halo
simulator in its own process (the repository is put on PYTHONPATH), reads every stream (tickets, or
one stream per ticket type, and the 12 reference lists, with every custom field) into a DuckDB cache,
runs examples/service_desk_analysis.sql on it, updates and creates tickets and updates users in the
simulator, reads again incrementally, and writes what it found to a summary file that these tests
check:

- after the full refresh and after the incremental read, each stream in the cache holds one row per
  primary key, and its keys equal the simulator's (ids; (slaid, priorityid) for priorities);
- both analysis queries (mean time to close by team, open backlog by status) return rows, the two
  split the tickets between them, and no ticket's status_id, team_id or agent_id is missing from its
  list;
- the incremental read delivered every updated and created ticket and every updated user, and was
  incremental (far fewer records than the full refresh).

    .venv/bin/python -m pytest integration_tests/test_pyairbyte.py

Skipped when .venv-pyairbyte does not exist. The image variant (`-m image_tests`) runs the
connector image source-haloitsm:dev through the container engine instead of the console script.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from integration_tests.fault_report import FIGURES

ROOT = Path(__file__).resolve().parent.parent
PYAIRBYTE_PYTHON = ROOT / ".venv-pyairbyte" / "bin" / "python"
EXAMPLE = ROOT / "examples" / "pyairbyte_example.py"
CONNECTOR = ROOT / ".venv" / "bin" / "source-haloitsm"

needs_pyairbyte = pytest.mark.skipif(
    not PYAIRBYTE_PYTHON.exists(),
    reason=f"PyAirbyte environment {PYAIRBYTE_PYTHON.parent.parent.name} not found: create it with "
    "scripts/pyairbyte-venv.sh (make pyairbyte-venv), about 780 MB and 75 s",
)


def run_example(tmp_path: Path, *args: str, env_extra: dict | None = None, timeout: int = 600) -> dict:
    summary = tmp_path / "summary.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AIRBYTE_OFFLINE_MODE": "1",
        "DO_NOT_TRACK": "1",
        "NO_COLOR": "1",
        **(env_extra or {}),
    }
    proc = subprocess.run(
        [str(PYAIRBYTE_PYTHON), str(EXAMPLE), "--tickets", "800", "--cache-dir", str(tmp_path / "cache"),
         "--summary", str(summary), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    (tmp_path / "example.log").write_text(output)
    assert summary.exists(), f"the example wrote no summary (exit {proc.returncode}):\n{output[-4000:]}"
    result = json.loads(summary.read_text())
    result["exit_code"] = proc.returncode
    result["output"] = output
    return result


REFERENCE_STREAMS = [
    "statuses", "ticket_types", "priorities", "slas", "teams", "agents", "clients", "sites", "users",
    "categories", "outcomes", "custom_field_definitions",
]


def assert_cache_equals_simulator(result: dict, ticket_streams: list[str]) -> None:
    tail = result["output"][-3000:]
    for stage in ("full_refresh", "after_incremental"):
        for stream, row in sorted(result.get(stage, {}).items()):
            FIGURES.append(
                f"PyAirbyte ({result.get('mode', 'console script')}) {stage:<17} {stream:<24} "
                f"DuckDB cache {row['rows']:>5} rows {row['cached']:>5} keys  simulator truth {row.get('truth', '?'):>5}"
            )
    assert sorted(result["full_refresh"]) == sorted(ticket_streams + REFERENCE_STREAMS + ["actions"]), tail
    assert sorted(result["ticket_streams"]) == sorted(ticket_streams), tail
    assert result["full_refresh"]["priorities"]["key"] == ["slaid", "priorityid"], result["full_refresh"]["priorities"]
    for stage in ("full_refresh", "after_incremental"):
        assert sorted(result[stage]) == sorted(result["full_refresh"]), f"{stage}: {sorted(result[stage])}"
        for stream, row in result[stage].items():
            assert row["truth"] > 0, f"{stage} {stream}: the simulator has no rows for it"
            # One row per primary key (PyAirbyte merges on it), and the keys are the simulator's.
            assert (row["rows"], row["cached"], row["missing"], row["unexpected"]) == (row["truth"], row["truth"], [], []), \
                f"{stage} {stream}: {row}"
    assert result["custom_field_columns"], "no cf_ column on the ticket streams (custom_fields: all)"


def assert_analysis(result: dict, analysis_key: str, stage: str) -> None:
    analysis = result[analysis_key]
    by_team = analysis["mean_time_to_close_by_team"]
    backlog = analysis["open_backlog_by_status"]
    unresolved = analysis["unresolved_ids"][0]
    tickets = sum(result[stage][s]["truth"] for s in result["ticket_streams"])
    FIGURES.append(
        f"PyAirbyte ({result.get('mode')}) {stage:<17} analysis: {len(by_team)} teams, {len(backlog)} open statuses; "
        f"unresolved status_id {unresolved['status_id']}, team_id {unresolved['team_id']}, agent_id {unresolved['agent_id']}"
    )
    assert by_team and backlog, f"{stage}: an analysis query returned no rows: {analysis}"
    assert all(row["closed_tickets"] > 0 and row["mean_hours_to_close"] is not None and row["mean_hours_to_close"] >= 0
               for row in by_team), by_team
    assert not any(str(row["team"]).startswith("(team_id") for row in by_team), by_team
    assert not any(str(row["status"]).startswith("(status_id") for row in backlog), backlog
    # Every ticket of the ticket streams is in the analysis, closed or open, never both.
    assert unresolved["tickets"] == tickets, (unresolved, tickets)
    assert sum(r["closed_tickets"] for r in by_team) + sum(r["open_tickets"] for r in backlog) == tickets, (by_team, backlog)
    assert (unresolved["status_id"], unresolved["team_id"], unresolved["agent_id"]) == (0, 0, 0), unresolved


def assert_example_passed(result: dict, ticket_streams: list[str]) -> None:
    tail = result["output"][-3000:]
    assert_cache_equals_simulator(result, ticket_streams)
    assert_analysis(result, "analysis", "full_refresh")
    assert_analysis(result, "analysis_after_incremental", "after_incremental")
    assert result["changed"], "the simulator changed no tickets"
    assert result["changed_missed"] == [], f"changed tickets the incremental read did not deliver: {result['changed_missed']}"
    assert result["changed_users"], "the simulator changed no users"
    assert result["changed_users_missed"] == [], f"changed users the incremental read did not deliver: {result['changed_users_missed']}"
    assert result["changed_users_differ"] == [], f"users whose cached inactive flag is not Halo's: {result['changed_users_differ']}"
    # Tickets deleted in Halo: PyAirbyte keeps their rows, marked with _ab_cdc_deleted_at; with the
    # deduplicating destinations' rule applied, none is left (and the counts above equal Halo's).
    assert result["deleted"], "the simulator deleted no tickets"
    assert result["marked_deleted"] > 0, result["marked_deleted"]
    assert result["deleted_left"] == [] and result["deleted_unmarked"] == [], (result["deleted_left"], result["deleted_unmarked"])
    # The incremental read is incremental: a few windows' worth of records (plus the small reference
    # lists, read whole every time), not the whole history.
    assert 0 < result["incremental_records"] < result["full_refresh_records"] / 2, tail
    assert result["ok"] is True and result["exit_code"] == 0, tail


@needs_pyairbyte
def test_pyairbyte_loads_every_stream_joins_them_then_reads_the_changes(tmp_path):
    assert CONNECTOR.exists(), f"{CONNECTOR} is missing: run `make venv`"
    result = run_example(tmp_path)
    assert_example_passed(result, ["tickets"])


@needs_pyairbyte
def test_pyairbyte_ticket_type_streams(tmp_path):
    result = run_example(tmp_path, "--by-type")
    assert_example_passed(result, ["incidents", "service_requests", "problems", "changes"])


@pytest.mark.image_tests
@needs_pyairbyte
def test_pyairbyte_with_the_image(tmp_path):
    """The same through the image: PyAirbyte calls `docker run` (the podman shim)."""
    engine = subprocess.run(
        ["bash", "-c", 'out="$("$0" env)" || exit $?; eval "$out"; docker image inspect "$1" >/dev/null && echo ok',
         str(ROOT / "scripts" / "container-engine.sh"), os.environ.get("SOURCE_HALOITSM_IMAGE", "source-haloitsm:dev")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if engine.returncode != 0:
        message = f"no container engine or no image source-haloitsm:dev (make image): {engine.stderr.strip()[-300:]}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    image = os.environ.get("SOURCE_HALOITSM_IMAGE", "source-haloitsm:dev")
    result = run_example(tmp_path, "--image", image)
    assert result["mode"] == "image"
    assert_example_passed(result, ["tickets"])
