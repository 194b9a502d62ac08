"""CPU of starting the connector (`spec`), with and without each part of source_haloitsm/startup.py.

Every command pays for loading the CDK before it does any work. Four variants of `spec` run, each as
its own interpreter, `--rounds` times in turn (interleaved, so drift hits them alike); the CPU is the
child's own user+sys from `os.wait4`, and the median of each is printed next to the CDK loaded as it
is. The messages are the same in every variant: the output of `spec` is compared.

Run: python -m benchmarks.startup [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

VARIANTS = {
    "the CDK as it is": "",
    "attribute docs skipped": "startup.skip_attribute_docs()",
    "package __init__ deferred": "startup.defer_cdk_init()",
    "both (what run.py does)": "startup.prepare()",
}

PROGRAM = """
import gc, sys
gc.disable()
from source_haloitsm import startup
{hook}
from source_haloitsm.entrypoint import launch
launch(["spec"])
"""


def _cpu_of(hook: str) -> tuple:
    """(stdout, CPU seconds, wall seconds) of one run, the CPU from os.wait4."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM.format(hook=hook)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"variant failed: {hook!r}: {err.decode()[-500:]}")
    return out, usage.ru_utime + usage.ru_stime, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    cpu = {name: [] for name in VARIANTS}
    wall = {name: [] for name in VARIANTS}
    outputs = {}
    for _ in range(args.rounds):
        for name, hook in VARIANTS.items():
            out, seconds, elapsed = _cpu_of(hook)
            cpu[name].append(seconds)
            wall[name].append(elapsed)
            outputs[name] = out
    base = statistics.median(cpu["the CDK as it is"])
    print(f"`spec`, {args.rounds} runs of each variant, medians (CPU = user+sys of the process):")
    for name in VARIANTS:
        c, w = statistics.median(cpu[name]), statistics.median(wall[name])
        print(f"  {name:<27} CPU {c:5.2f} s  wall {w:5.2f} s  ({c - base:+.2f} s CPU)")
    same = len(set(outputs.values())) == 1
    print(f"spec output identical in every variant: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
