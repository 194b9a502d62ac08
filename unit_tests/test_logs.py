"""What the connector logs on every command, beside its own lines."""
from __future__ import annotations

import logging
import subprocess

from integration_tests.harness import console_script
from source_haloitsm.entrypoint import MemoryMonitorStartLineFilter


def test_spec_prints_the_spec_and_no_memory_monitor_line():
    proc = subprocess.run([console_script(), "spec"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert "MemoryMonitor" not in proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith('{"type":"SPEC"'), lines[:3]


def test_the_memory_monitors_warnings_still_pass():
    def record(level: int) -> logging.LogRecord:
        return logging.LogRecord("airbyte", level, "/x/airbyte_cdk/utils/memory_monitor.py", 1, "m", None, None)

    keep = MemoryMonitorStartLineFilter().filter
    assert not keep(record(logging.INFO))
    assert keep(record(logging.WARNING))
    other = logging.LogRecord("airbyte", logging.INFO, "/x/source_haloitsm/streams.py", 1, "m", None, None)
    assert keep(other)
