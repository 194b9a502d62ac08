"""The connector through PyAirbyte: examples/pyairbyte_example.py run under .venv-pyairbyte.

PyAirbyte lives in an environment of its own (scripts/pyairbyte-venv.sh; `make pyairbyte-venv`),
because it pins its own versions of libraries the connector also uses. The example starts the Halo
simulator in its own process (the repository is put on PYTHONPATH), reads every ticket into a DuckDB
cache, updates and creates tickets in the simulator, reads again incrementally, and writes what it
found to a summary file that these tests check:

- after the full refresh, each stream's ids in the cache equal the simulator's tickets (of its type);
- the incremental read delivered every updated and created ticket;
- after it, the cache again equals the simulator.

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


def assert_cache_equals_simulator(result: dict, streams: list[str]) -> None:
    tail = result["output"][-3000:]
    for stage in ("full_refresh", "after_incremental"):
        for stream, row in sorted(result.get(stage, {}).items()):
            FIGURES.append(
                f"PyAirbyte ({result.get('mode', 'console script')}) {stage:<17} {stream:<17} "
                f"DuckDB cache {row['cached']:>5}  simulator truth {row['truth']:>5}"
            )
    assert sorted(result["full_refresh"]) == sorted(streams), tail
    for stage in ("full_refresh", "after_incremental"):
        for stream, row in result[stage].items():
            assert row["truth"] > 0, f"{stage} {stream}: the simulator has no tickets for it"
            assert (row["cached"], row["missing"], row["unexpected"]) == (row["truth"], [], []), f"{stage} {stream}: {row}"
    assert result["changed"], "the simulator changed no tickets"
    assert result["changed_missed"] == [], f"changed tickets the incremental read did not deliver: {result['changed_missed']}"
    # The incremental read is incremental: a few windows' worth of records, not the whole history.
    assert 0 < result["incremental_records"] < result["full_refresh_records"] / 2, tail
    assert result["ok"] is True and result["exit_code"] == 0, tail


@needs_pyairbyte
def test_pyairbyte_reads_every_ticket_then_the_changed_ones(tmp_path):
    assert CONNECTOR.exists(), f"{CONNECTOR} is missing: run `make venv`"
    result = run_example(tmp_path)
    assert_cache_equals_simulator(result, ["tickets"])


@needs_pyairbyte
def test_pyairbyte_ticket_type_streams(tmp_path):
    result = run_example(tmp_path, "--by-type")
    assert_cache_equals_simulator(result, ["incidents", "service_requests", "problems", "changes"])


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
    assert_cache_equals_simulator(result, ["tickets"])
