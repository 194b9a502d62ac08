"""Peak memory of the connector process for a full read at two sizes: it should stay flat.

For each size, a fresh simulator process serves N tickets; the installed console script
`source-haloitsm read` runs as a subprocess against it, its stdout counted (RECORD lines) and
discarded; the connector's peak RSS comes from `os.wait4` (the kernel's ru_maxrss of exactly that
child). Nothing here is a pass/fail threshold: machines are noisy; the figures are printed.

Run: python -m benchmarks.memory [--sizes 20000 200000] [--page-size 100] [--parallel 4]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from integration_tests.harness import catalog, console_script

RECORD_MARK = b'{"type":"RECORD"'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_simulator(tickets: int, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "integration_tests.halo_simulator", "--port", str(port), "--tickets", str(tickets), "--seed", "42"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/health", timeout=2) as answer:
                if json.load(answer).get("tickets") == tickets:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the simulator with {tickets} tickets did not start")


def measure(tickets: int, page_size: int, parallel: int, workdir: Path) -> dict:
    port = _free_port()
    sim = _start_simulator(tickets, port)
    try:
        config = {
            "base_url": f"http://127.0.0.1:{port}", "tenant": "demo", "client_id": "demo-client",
            "client_secret": "demo-secret", "page_size": page_size, "parallel_requests": parallel, "rate_limit": 6000,
        }
        (workdir / "config.json").write_text(json.dumps(config))
        (workdir / "catalog.json").write_text(json.dumps(catalog("tickets")))
        args = [console_script(), "read", "--config", str(workdir / "config.json"), "--catalog", str(workdir / "catalog.json")]
        started = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        records = 0
        tail = b""
        while True:
            chunk = proc.stdout.read(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            records += data.count(RECORD_MARK)
            tail = data[-(len(RECORD_MARK) - 1):]  # too short to hold a whole mark: a split mark is counted once
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        return {
            "tickets": tickets,
            "records": records,
            "exit": os.waitstatus_to_exitcode(status),
            "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux: kilobytes
            "seconds": seconds,
        }
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 200000])
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(size, args.page_size, args.parallel, Path(tmp))
        results.append(result)
        print(f"{result['tickets']:>8} tickets: {result['records']:>8} records, exit {result['exit']}, "
              f"peak RSS {result['peak_rss_mb']:.0f} MB, {result['seconds']:.0f} s "
              f"({result['records'] / max(result['seconds'], 1e-9):.0f} records/s)", flush=True)
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"peak RSS x{last['peak_rss_mb'] / first['peak_rss_mb']:.2f} for x{last['tickets'] / first['tickets']:.0f} tickets")


if __name__ == "__main__":
    main()
