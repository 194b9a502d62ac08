"""Shared plumbing of the subprocess benchmarks: a simulator in its own process, and a child process
whose stdout is drained in large reads and whose RECORD lines are counted.

Not a benchmark itself; `throughput` and `parallelism` use it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

RECORD_LINE = b'\n{"type":"RECORD"'  # a RECORD line is one that starts with this mark


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulator:
    """`python -m integration_tests.halo_simulator` as a separate process, started with `extra`
    switches and stopped on exit of the `with` block (always)."""

    def __init__(self, tickets: int, extra: Optional[List[str]] = None, start_timeout: float = 180.0):
        self.tickets = tickets
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "integration_tests.halo_simulator", "--port", str(self.port),
                     "--tickets", str(tickets), "--seed", "42"] + list(extra or [])
        self.start_timeout = start_timeout
        self.proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> "Simulator":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the simulator exited with {self.proc.returncode}: {' '.join(self.args)}")
                try:
                    if self.get("/_sim/health", timeout=2).get("tickets") == self.tickets:
                        return self
                except OSError:
                    pass
                time.sleep(0.3)
            raise RuntimeError(f"the simulator with {self.tickets} tickets did not answer /_sim/health "
                               f"within {self.start_timeout:.0f} s")
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def get(self, path: str, timeout: float = 60):
        with urllib.request.urlopen(self.base_url + path, timeout=timeout) as answer:
            return json.load(answer)

    def post(self, path: str, body: Optional[dict] = None, timeout: float = 60):
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body or {}).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.load(answer)

    def truth_count(self) -> int:
        """Tickets the simulator holds, deleted ones excluded: what a full read must deliver."""
        return len(self.get("/_sim/truth"))

    def request_counts(self) -> Dict[str, int]:
        """API and token requests in the simulator's log (since the last reset)."""
        log = self.get("/_sim/log")
        api = sum(1 for e in log if e["path"].lower().startswith("/api/"))
        auth = sum(1 for e in log if e["path"].lower().startswith("/auth/"))
        return {"api": api, "auth": auth}


def connector_config(base_url: str, **overrides) -> dict:
    config = {"base_url": base_url, "tenant": "demo", "client_id": "demo-client", "client_secret": "demo-secret",
              "rate_limit": 6000, "parallel_requests": 4, "page_size": 100}
    config.update(overrides)
    return config


def _tickets_catalog_and_script() -> tuple:
    """`harness.catalog("tickets")` and `harness.console_script()`. The harness imports the connector
    package; while that package does not import (mid-change), the same catalog and the script next to
    this interpreter are used, so the benchmark still runs the console script and reports its failure."""
    try:
        from integration_tests.harness import catalog, console_script

        return catalog("tickets"), console_script()
    except Exception:
        stream = {"name": "tickets", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"],
                  "source_defined_cursor": True, "default_cursor_field": ["last_update"]}
        entry = {"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite",
                 "cursor_field": ["last_update"]}
        script = Path(sys.executable).parent / "source-haloitsm"
        return {"streams": [entry]}, str(script) if script.exists() else "source-haloitsm"


def connector_read_args(config: dict, workdir: Path) -> List[str]:
    """The console script's `read` command line for `config` and a full-refresh catalog of `tickets`."""
    catalog, script = _tickets_catalog_and_script()
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    return [script, "read", "--config", str(workdir / "config.json"), "--catalog", str(workdir / "catalog.json")]


def run_counted(args: List[str], timeout: float) -> dict:
    """Runs `args` with stdout on a pipe drained in 1 MiB reads; counts the lines starting with
    `{"type":"RECORD"` by scanning bytes. Wall time is from just before the start to the reaping of the
    process; CPU is the child's own user+sys (os.wait4). A child still running after `timeout` seconds
    is killed (reported as `timed_out`). The last 64 KiB of stdout and of stderr are kept to explain a
    failure."""
    with tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        timed_out = threading.Event()

        def _kill() -> None:
            if proc.poll() is None:
                timed_out.set()
                proc.kill()

        watchdog = threading.Timer(timeout, _kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            records = 0
            total = 0
            tail = b"\n"  # the first line starts right after this virtual newline
            last = b""
            read = proc.stdout.read
            while True:
                chunk = read(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                data = tail + chunk
                records += data.count(RECORD_LINE)
                tail = data[-(len(RECORD_LINE) - 1):]  # too short to hold a whole mark: none counted twice
                last = (last + chunk)[-65536:]
            proc.stdout.close()
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.monotonic() - started
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0, os.SEEK_END)
        err.seek(max(0, err.tell() - 65536))
        stderr_tail = err.read()
    return {
        "records": records,
        "exit": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out.is_set(),
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stdout_bytes": total,
        "failure": None if os.waitstatus_to_exitcode(status) == 0 and not timed_out.is_set()
        else explain_failure(last, stderr_tail, timed_out.is_set(), timeout),
    }


def explain_failure(stdout_tail: bytes, stderr_tail: bytes, timed_out: bool, timeout: float) -> str:
    """One line: the last Airbyte error TRACE on stdout, else the last line of stderr."""
    if timed_out:
        return f"killed after {timeout:.0f} s"
    for line in reversed(stdout_tail.splitlines()):
        if b'"TRACE"' in line and b'"ERROR"' in line:
            try:
                error = json.loads(line)["trace"]["error"]
                return (error.get("message") or error.get("internal_message") or "error TRACE")[:300]
            except (ValueError, KeyError, TypeError):
                continue
    lines = [l for l in stderr_tail.decode("utf-8", "replace").splitlines() if l.strip()]
    return lines[-1][:300] if lines else "no error message"


def outcome(run: dict) -> str:
    """'ok' or 'FAILED (exit N: why)' for a `run_counted` result."""
    if run["failure"] is None:
        return "ok"
    return f"FAILED (exit {run['exit']}: {run['failure']})"
