"""The README's first command, `make demo`, runs `python -m integration_tests.demo`: it must keep working
and keep saying the truth (here with fewer tickets, for time)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_reads_every_ticket_and_then_the_changed_ones():
    done = subprocess.run([sys.executable, "-m", "integration_tests.demo", "--tickets", "600"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "connection: SUCCEEDED" in out
    live = int(re.search(r"so a read should deliver (\d+)\.", out).group(1))
    assert f"simulator truth: {live} tickets; missing from the read: 0" in out
    changed = re.search(r"changed tickets delivered: (\d+) of (\d+)", out)
    assert changed and changed.group(1) == changed.group(2) != "0", out[-2000:]
    # every stream's records are distinct on its primary key
    rows = re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+\w", out, re.M)
    assert len(rows) >= 2 * 11, rows  # every stream in the full read, and those with records in the incremental one
    for stream, records, distinct in rows:
        assert records == distinct, (stream, records, distinct)
    assert "final state:" in out
