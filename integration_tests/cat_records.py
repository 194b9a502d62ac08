"""The records Airbyte's acceptance tests (CAT) expect from each `basic_read` config.

At `test_strictness_level: high`, CAT's `basic_read` reads every stream of the discovered catalog
(full refresh; no custom catalog is allowed) and compares what it gets with a file of expected
records: `expect_records.path` of the entry in acceptance-test-config.yml. Those files are written
here, from a simulator started with fixed arguments (`CAT_SIMULATOR_ARGS`: a fixed seed and a fixed
end of its generated history), so the simulator that serves CAT reproduces them exactly.

    .venv/bin/python scripts/write-expected-records.py     # rewrites integration_tests/expected_records/
    .venv/bin/python -m integration_tests.halo_simulator --port 18765 <CAT_SIMULATOR_ARGS>   # serves CAT

`integration_tests/test_cat_records.py` regenerates the files in memory and asserts they equal the
committed ones, so they cannot drift from what the connector produces.

The records do not depend on the wall clock: a full refresh emits Halo's rows as they are, and the
simulator's rows are fixed by its seed and `--end` (deletion records, with `_ab_cdc_deleted_at`, come
only from incremental reads). `emitted_at` is set to the end of the simulated history, so the files do
not change from one run to the next (CAT does not compare it).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from integration_tests.halo_simulator.__main__ import simulator_from_argv
from integration_tests.harness import run_connector

ROOT = Path(__file__).resolve().parent.parent
ACCEPTANCE_TEST_CONFIG = ROOT / "acceptance-test-config.yml"
# The simulator serving CAT: 60 tickets (with their actions and the reference lists, about 0.5 to
# 0.8 MB of records per config), seed 42, history ending at a fixed instant.
CAT_SIMULATOR_ARGS: Tuple[str, ...] = ("--tickets", "60", "--seed", "42", "--end", "2026-06-01T00:00:00")
# The port every config under integration_tests/ points at.
CAT_PORT = 18765


def simulator_command(python: str = ".venv/bin/python") -> str:
    """The command that serves CAT (what docs/acceptance-tests.md shows)."""
    return " ".join([python, "-m", "integration_tests.halo_simulator", "--port", str(CAT_PORT), *CAT_SIMULATOR_ARGS])


def emitted_at() -> int:
    end = CAT_SIMULATOR_ARGS[CAT_SIMULATOR_ARGS.index("--end") + 1]
    return int(dt.datetime.fromisoformat(end).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def basic_read_entries() -> List[Tuple[str, str]]:
    """(config_path, expected records path) of each `basic_read` entry of acceptance-test-config.yml."""
    acceptance = yaml.safe_load(ACCEPTANCE_TEST_CONFIG.read_text())["acceptance_tests"]
    entries = []
    for entry in acceptance["basic_read"]["tests"]:
        path = (entry.get("expect_records") or {}).get("path")
        if path:
            entries.append((entry["config_path"], path))
    return entries


def cat_catalog(streams: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The configured catalog CAT's basic_read builds from discovery
    (`build_configured_catalog_from_discovered_catalog_and_empty_streams`): every stream in its first
    supported sync mode (full refresh for every stream of this connector), append, the default cursor
    and the source's primary key."""
    configured = []
    for stream in streams:
        entry: Dict[str, Any] = {
            "stream": stream,
            "sync_mode": stream["supported_sync_modes"][0],
            "destination_sync_mode": "append",
        }
        if stream.get("default_cursor_field"):
            entry["cursor_field"] = stream["default_cursor_field"]
        if stream.get("source_defined_primary_key"):
            entry["primary_key"] = stream["source_defined_primary_key"]
        configured.append(entry)
    return {"streams": configured}


def _order(value: Any) -> Tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) and not isinstance(value, bool) else (1, str(value))


@dataclasses.dataclass
class Expected:
    text: str  # the file: one line per record
    schemas: Dict[str, Dict[str, Any]]  # each discovered stream's JSON schema


def read_expected(config: Dict[str, Any], tmp: Path) -> Expected:
    """The expected-records file of one config: a full-refresh read of every discovered stream, one
    line per record, grouped by stream in catalog order and sorted by primary key."""
    discovered = run_connector("discover", config, tmp)
    assert not discovered.errors, discovered.errors
    streams = discovered.of_type("CATALOG")[0]["catalog"]["streams"]
    out = run_connector("read", config, tmp, cat_catalog(streams))
    assert not out.errors and out.exit_error is None, out.errors or out.exit_error
    position = {stream["name"]: i for i, stream in enumerate(streams)}
    keys = {stream["name"]: [path[0] for path in stream.get("source_defined_primary_key") or []] for stream in streams}
    records = [(m["record"]["stream"], m["record"]["data"]) for m in out.of_type("RECORD")]
    records.sort(key=lambda r: (position[r[0]], [_order(r[1].get(k)) for k in keys[r[0]]]))
    stamp = emitted_at()
    text = "".join(
        json.dumps({"stream": stream, "data": data, "emitted_at": stamp}, ensure_ascii=False, separators=(",", ":")) + "\n"
        for stream, data in records
    )
    return Expected(text, {stream["name"]: stream["json_schema"] for stream in streams})


def generate(tmp: Optional[Path] = None, extra_args: Sequence[str] = ()) -> Dict[str, Expected]:
    """{expected records path: its records and the schemas} for every basic_read entry, from a simulator started with
    CAT_SIMULATOR_ARGS on a free port (the configs' base_url is pointed at it; no record holds it).
    `extra_args` are added to the simulator's command line (a test moves Halo's clock with them)."""
    sim = simulator_from_argv(["--port", "0", *CAT_SIMULATOR_ARGS, *extra_args]).start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(tmp or scratch)
            files = {}
            for config_path, records_path in basic_read_entries():
                config = json.loads((ROOT / config_path).read_text())
                config["base_url"] = sim.base_url
                files[records_path] = read_expected(config, work)
            return files
    finally:
        sim.stop()
