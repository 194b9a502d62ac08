"""The expected records of Airbyte's acceptance tests (CAT) are what the connector produces.

acceptance-test-config.yml's `basic_read` entries name files of expected records
(integration_tests/expected_records/), which CAT compares with a full-refresh read of every discovered
stream, against the simulator started with the fixed arguments of integration_tests/cat_records.py.
Here the same read runs in process and its records must equal the committed files exactly, so the
files cannot drift from the connector (or the simulator). A difference means: rerun
`.venv/bin/python scripts/write-expected-records.py` and review the diff.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from integration_tests import cat_records
from integration_tests.cat_records import ROOT


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return cat_records.generate(tmp_path_factory.mktemp("cat-records"))


def _records(text: str):
    return [json.loads(line) for line in text.splitlines()]


def test_every_basic_read_config_has_expected_records():
    acceptance = yaml.safe_load(cat_records.ACCEPTANCE_TEST_CONFIG.read_text())["acceptance_tests"]
    entries = acceptance["basic_read"]["tests"]
    assert [entry["config_path"] for entry in entries] == [config for config, _ in cat_records.basic_read_entries()]
    for entry in entries:
        # High strictness: no custom catalog, the schema validated, and the file is the whole read.
        assert "configured_catalog_path" not in entry
        assert entry.get("validate_schema", True) is True
        assert entry["expect_records"] == {"path": entry["expect_records"]["path"], "exact_order": False, "extra_records": False}


@pytest.mark.parametrize("config_path, records_path", cat_records.basic_read_entries())
def test_expected_records_equal_what_the_connector_reads(regenerated, config_path: str, records_path: str):
    committed = (ROOT / records_path).read_text()
    fresh = regenerated[records_path].text
    # What CAT compares (each record's stream and data); emitted_at is fixed in both.
    expected, actual = _records(committed), _records(fresh)
    by_stream = lambda records: Counter(r["stream"] for r in records)  # noqa: E731
    assert by_stream(actual) == by_stream(expected), f"{records_path}: records per stream differ from a fresh read"
    for was, now in zip(expected, actual):
        assert now == was, f"{records_path}: a record differs from a fresh read"
    # And the file is byte for byte what scripts/write-expected-records.py writes.
    assert fresh == committed
    assert len(committed.encode()) < 1_000_000, f"{records_path} is over 1 MB: fewer simulated tickets?"


def test_every_discovered_stream_has_expected_records(regenerated):
    """No stream of a basic_read config is empty (none is declared in empty_streams)."""
    for _, records_path in cat_records.basic_read_entries():
        streams = {r["stream"] for r in _records(regenerated[records_path].text)}
        assert {"actions", "statuses", "users", "custom_field_definitions"} <= streams, records_path


def test_every_field_of_a_record_is_declared_in_its_stream_schema(regenerated):
    """CAT's basic_read fails on a top-level field its stream's schema does not declare
    (`fail_on_extra_columns`, on by default), though the schemas allow extra properties: a field Halo
    sends that no schema declares would not reach a destination's typed columns."""
    undeclared = {}
    for _, records_path in cat_records.basic_read_entries():
        schemas = regenerated[records_path].schemas
        for record in _records(regenerated[records_path].text):
            extra = set(record["data"]) - set(schemas[record["stream"]]["properties"])
            if extra:
                undeclared.setdefault(record["stream"], set()).update(extra)
    assert undeclared == {}


def test_the_documented_simulator_command_is_the_one_the_records_come_from():
    """The simulator command that acceptance-test-config.yml and docs/acceptance-tests.md give for CAT
    uses the arguments the expected records were written with."""
    command = cat_records.simulator_command()
    assert command in cat_records.ACCEPTANCE_TEST_CONFIG.read_text()
    assert command in (ROOT / "docs" / "acceptance-tests.md").read_text()


def test_the_records_do_not_depend_on_the_wall_clock(tmp_path):
    """The simulator's data ends at the fixed --end whatever the time, and a full refresh reads up to
    Halo's present: with Halo's clock a week later (as when CAT runs days after the files were written;
    the simulator moves its clock a week at most) the read is the same. A full refresh emits no
    deletion records (only incremental reads do)."""
    later = cat_records.generate(tmp_path, extra_args=("--clock-offset", str(7 * 86400)))
    for _, records_path in cat_records.basic_read_entries():
        committed = (ROOT / records_path).read_text()
        assert later[records_path].text == committed, records_path
        for record in _records(committed):
            assert record["data"].get("_ab_cdc_deleted_at") is None
            assert record["emitted_at"] == cat_records.emitted_at()


def test_expected_record_files_are_all_listed():
    listed = {Path(path).name for _, path in cat_records.basic_read_entries()}
    on_disk = {p.name for p in (ROOT / "integration_tests" / "expected_records").iterdir()}
    assert on_disk == listed
